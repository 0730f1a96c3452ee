package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/store"
	"github.com/prometheus/client_golang/prometheus"
)

// statusFixture records feed states and articles in a real store and serves the status page.
func statusFixture(t *testing.T, now time.Time, checks map[string]Check) (base string, st *store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	feeds := []store.Feed{
		{ID: "aljazeera", URL: "https://aljazeera.example/rss", LastPollAt: now.Add(-2 * time.Minute),
			LastSuccessAt: now.Add(-2 * time.Minute), NextPollAt: now.Add(8 * time.Minute), LastStatus: 200, Items: 2},
		{ID: "broken", URL: "https://broken.example/rss", LastPollAt: now.Add(-time.Minute),
			LastSuccessAt: now.Add(-26 * time.Hour), NextPollAt: now.Add(4 * time.Minute), LastStatus: 503,
			LastError: "503 Service Unavailable <b>from upstream</b>", ErrorClass: "http_status", ConsecutiveFailures: 7},
		{ID: "removed", URL: "https://removed.example/rss", LastPollAt: now.Add(-time.Hour)},
	}
	for _, f := range feeds {
		if err := st.PutFeed(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(i int, feed, title, dupOf string) string {
		id := fmt.Sprintf("%064x", i)
		a := store.Article{ID: id, FeedID: feed, CanonicalURL: fmt.Sprintf("https://%s.example/%d", feed, i),
			ClusterID: id, DuplicateOf: dupOf, Title: title,
			PublishedAt: now.Add(-time.Duration(10-i) * time.Minute), FetchedAt: now.Add(-time.Duration(10-i) * time.Minute)}
		if dupOf != "" {
			a.ClusterID = dupOf
		}
		m := store.Message{MsgID: id, Subject: "articles.new.ar." + feed, Data: []byte("{}")}
		if _, err := st.Insert(ctx, a, m); err != nil {
			t.Fatal(err)
		}
		return id
	}
	orig := insert(1, "aljazeera", "غارات إسرائيلية على جنوب لبنان", "")
	insert(2, "aljazeera", `<script>document.title="pwned"</script> عنوان & "اقتباس"`, "")
	insert(3, "wire", "غارات إسرائيلية على جنوب لبنان - وكالة", orig)

	s, err := Listen("127.0.0.1:0", prometheus.NewRegistry(), checks, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.HandleStatus(Status{
		Source: st,
		Feeds: func() []FeedInfo {
			return []FeedInfo{
				{ID: "aljazeera", Name: "الجزيرة", URL: "https://aljazeera.example/rss", Lang: "ar"},
				{ID: "broken", Name: "Broken Outlet", URL: "https://broken.example/rss", Lang: "en"},
				{ID: "wire", Name: "وكالة", URL: "https://wire.example/rss", Lang: "ar-EG"},
				{ID: "newcomer", URL: "https://new.example/rss", Lang: "ar"},
			}
		},
		Version: "v1.2.3",
		Refresh: 30 * time.Second,
		Now:     func() time.Time { return now },
	})
	go s.Serve()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return "http://" + s.Addr(), st
}

func getPage(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestStatusPage(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	checks := map[string]Check{
		"database": func(context.Context) error { return nil },
		"nats":     func(context.Context) error { return errors.New("not connected") },
	}
	base, _ := statusFixture(t, now, checks)
	resp, page := getPage(t, base+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d, want 200\n%s", resp.StatusCode, page)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("header %s: got %q, want %q", k, got, want)
		}
	}
	// squash joins the page's lines, so that a pattern may span them.
	squash := strings.Join(strings.Fields(page), " ")
	tests := []struct {
		name string
		re   string // regexp over the squashed page
	}{
		{"not ready, with the failing check", `<b class="bad">not ready</b> · database: <span class="ok">ok</span> · nats: <span class="bad">not connected</span>`},
		{"outbox depth: three rows unsent", `outbox: <b>3</b> unsent`},
		{"feed counts", `Feeds: 4 <small>\(1 ok, 1 failing, 2 never polled\)</small>`},
		{"healthy feed", `<bdi dir="auto">الجزيرة</bdi><br><small>aljazeera</small></td> <td class="ok">ok</td> <td class="time"><time datetime="2026-12-07T11:58:00Z" title="2026-12-07 11:58:00Z">2m ago</time></td>.*?in 8m</time>`},
		{"failing feed: failures, class, status, escaped error, last success", `<tr class="failing" id="feed-broken">.*?<td class="failing">failing</td> <td class="time"><time [^>]*>1d2h ago</time>.*?<td class="num">7</td> <td class="err"><b>http_status</b> \(503\): <bdi dir="auto">503 Service Unavailable &lt;b&gt;from upstream&lt;/b&gt;</bdi>`},
		{"configured but never polled, named by id", `<bdi dir="auto">newcomer</bdi><br><small>newcomer</small></td> <td class="never">never polled</td>`},
		{"newest article first, right to left, linked", `<tbody> <tr> <td class="title" dir="rtl"><a href="https://wire.example/3" rel="noreferrer noopener">غارات إسرائيلية على جنوب لبنان - وكالة</a></td> <td dir="rtl">وكالة</td>`},
		{"duplicate of which", `duplicate of <bdi dir="rtl">غارات إسرائيلية على جنوب لبنان</bdi> <small>\(<bdi dir="auto">الجزيرة</bdi>\)</small>`},
		{"script title shown as text", `dir="rtl"><a [^>]*>&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt; عنوان &amp; &#34;اقتباس&#34;</a>`},
		{"new verdict", `<span class="ok">new</span>`},
		{"refresh without script", `<meta http-equiv="refresh" content="30">`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !regexp.MustCompile(tt.re).MatchString(squash) {
				t.Errorf("page does not match %s\n%s", tt.re, page)
			}
		})
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "removed") {
		t.Errorf("page holds a script element or a feed no longer configured:\n%s", page)
	}
	if resp, _ := getPage(t, base+"/index.html"); resp.StatusCode != 404 {
		t.Errorf("/index.html: got %d, want 404", resp.StatusCode)
	}
}

// A store that cannot be read leaves a page that says so, not an empty or broken one.
func TestStatusPageStoreClosed(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	base, st := statusFixture(t, now, nil)
	st.Close()
	resp, page := getPage(t, base+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{"Feed states could not be read: store: feeds:", "Articles could not be read: store: recent articles:", `outbox: <span class="bad">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not say %q\n%s", want, page)
		}
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 12 * time.Second: "12s", 4*time.Minute + 30*time.Second: "4m30s", 2 * time.Hour: "2h",
		26*time.Hour + 5*time.Minute: "1d2h", 1500 * time.Millisecond: "2s",
	} {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestStatusPageDegradedIsReady checks that the page agrees with /readyz: a Degraded check (every
// feed failing) is shown, and the daemon is still ready.
func TestStatusPageDegradedIsReady(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	checks := map[string]Check{
		"database": func(context.Context) error { return nil },
		"feeds":    func(context.Context) error { return Degraded(errors.New("every feed failing")) },
	}
	base, _ := statusFixture(t, now, checks)
	_, page := getPage(t, base+"/")
	if !strings.Contains(page, `<b class="ok">ready</b>`) || !strings.Contains(page, "every feed failing") {
		t.Errorf("page does not say ready with the degraded check's message:\n%.2000s", page)
	}
}
