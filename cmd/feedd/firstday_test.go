package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oneItemFeed is a small RSS feed with one Arabic item linked with tracking parameters.
const oneItemFeed = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>اختبار</title><link>https://news.example/</link><description>d</description>
<item><title>غارات على جنوب لبنان</title><link>https://news.example/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D9%84%D8%A8%D9%86%D8%A7%D9%86?utm_source=rss&amp;utm_medium=feed&amp;id=7</link>
<guid>item-1</guid><pubDate>Mon, 07 Dec 2026 10:00:00 +0000</pubDate><description>نص الخبر</description></item>
</channel></rss>`

// smallFeedServer serves oneItemFeed at /ok.xml and 404 elsewhere.
func smallFeedServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		fmt.Fprint(w, oneItemFeed)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// smallConfig writes a configuration on the embedded server (nats.listen as given) with the feeds
// given as id → URL, in that order.
func smallConfig(t *testing.T, dataDir, natsListen, httpListen string, feeds ...[2]string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nshutdown_timeout: 5s\nnats:\n  url: \"\"\n  listen: %q\nhttp:\n  listen: %q\n", dataDir, natsListen, httpListen)
	fmt.Fprintf(&b, "poll:\n  timeout: 5s\n  host_gap: 0s\nfeeds:\n")
	for _, f := range feeds {
		fmt.Fprintf(&b, "  - id: %s\n    url: %s\n", f[0], f[1])
	}
	path := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedURL is an http URL on a loopback port nothing listens on.
func closedURL(t *testing.T, path string) string {
	return "http://" + freeAddr(t) + path
}

// TestOnceEveryFeedFailed: a --once run whose feeds all fail exits 3 and says why, warns once that
// every feed is failing, and logs no error about the stream at exit.
func TestOnceEveryFeedFailed(t *testing.T) {
	cfg := smallConfig(t, t.TempDir(), "", "", [2]string{"a", closedURL(t, "/a.xml")}, [2]string{"b", closedURL(t, "/b.xml")})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--once", "--timeout", "30s", "--config", cfg}, &stdout, &stderr)
	if code != exitAllFailed {
		t.Fatalf("exit %d, want %d\n%s", code, exitAllFailed, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil || s.Feeds != 2 || s.Failed != 2 {
		t.Errorf("summary %q (%v), want 2 feeds, 2 failed", stdout.String(), err)
	}
	log := stderr.String()
	if !strings.Contains(log, "feedd: every feed failed (2 of 2)") {
		t.Errorf("stderr does not say every feed failed:\n%s", log)
	}
	if n := strings.Count(log, "every feed is failing"); n != 1 {
		t.Errorf("warned %d times that every feed is failing, want once:\n%s", n, log)
	}
	for _, bad := range []string{"level=ERROR", "context canceled", "stream configuration refused", "cannot ensure stream"} {
		if strings.Contains(log, bad) {
			t.Errorf("stderr holds %q:\n%s", bad, log)
		}
	}
}

// TestOnceSomeFeedsFailed: one feed answering is enough for exit 0.
func TestOnceSomeFeedsFailed(t *testing.T) {
	srv := smallFeedServer(t)
	cfg := smallConfig(t, t.TempDir(), "", "", [2]string{"ok", srv.URL + "/ok.xml"}, [2]string{"gone", srv.URL + "/gone.xml"})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"run", "--once", "--timeout", "30s", "--config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "every feed is failing") {
		t.Errorf("one feed answered, yet:\n%s", stderr.String())
	}
}

// TestFeedsCauseFirst: `feedd feeds` shows the cause of a failure at the start of the ERROR column,
// without the URL, and --json gives every field with the error in full.
func TestFeedsCauseFirst(t *testing.T) {
	srv := smallFeedServer(t)
	refused := closedURL(t, "/refused.xml")
	cfg := smallConfig(t, t.TempDir(), "", "",
		[2]string{"ok", srv.URL + "/ok.xml"}, [2]string{"gone", srv.URL + "/gone.xml"}, [2]string{"refused", refused})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"run", "--once", "--timeout", "30s", "--config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, stderr.String())
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"feeds", "--config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("feeds: exit %d\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want a header and 3 feeds:\n%s", len(lines), stdout.String())
	}
	col := strings.Index(lines[0], "ERROR")
	errs := map[string]string{}
	for _, l := range lines[1:] {
		errs[strings.Fields(l)[0]] = strings.TrimSpace(l[col:])
	}
	if got := errs["refused"]; !strings.HasPrefix(got, "connection refused (") || strings.Contains(got, "http://") {
		t.Errorf("refused feed's ERROR column %q, want the cause first and no URL", got)
	}
	if got := errs["gone"]; got != "http status 404 Not Found" {
		t.Errorf("gone feed's ERROR column %q, want http status 404 Not Found", got)
	}
	if got := errs["ok"]; got != "" {
		t.Errorf("ok feed's ERROR column %q, want empty", got)
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"feeds", "--json", "--config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("feeds --json: exit %d\n%s", code, stderr.String())
	}
	var list []feedJSON
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil {
		t.Fatalf("feeds --json printed %q: %v", stdout.String(), err)
	}
	if len(list) != 3 {
		t.Fatalf("got %d feeds, want 3", len(list))
	}
	byID := map[string]feedJSON{}
	for _, f := range list {
		byID[f.ID] = f
	}
	if f := byID["ok"]; f.Status != "ok" || f.Items != 1 || f.LastSuccessAt == nil || f.NextPollAt == nil || f.LastError != "" {
		t.Errorf("ok feed: %+v", f)
	}
	if f := byID["refused"]; f.Status != "connect" || f.ConsecutiveFailures != 1 || !strings.Contains(f.LastError, refused) ||
		!strings.HasPrefix(f.Cause, "connection refused") || f.LastSuccessAt != nil {
		t.Errorf("refused feed: %+v", f)
	}
	if f := byID["gone"]; f.Status != "http_status" || f.HTTPStatus != 404 {
		t.Errorf("gone feed: %+v", f)
	}
}

func TestErrorCause(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"http status 404 Not Found", "http status 404 Not Found"},
		{`fetch https://www.x.net/rss: Get "https://www.x.net/rss": dial tcp: lookup www.x.net on 10.0.0.1:53: no such host`,
			"no such host (dial tcp: lookup www.x.net on 10.0.0.1:53)"},
		{`fetch https://x.net/rss: http status 503 Service Unavailable`, "http status 503 Service Unavailable"},
		{"fetch file:///a.xml: open /a.xml: no such file\nor directory", "no such file or directory (open /a.xml)"},
	}
	for _, tt := range tests {
		if got := errorCause(tt.in); got != tt.want {
			t.Errorf("errorCause(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestReadyzEveryFeedFailing: a daemon whose feeds all fail stays ready (NATS and the database are
// fine) and says in /readyz, and once in its log, that every feed is failing.
func TestReadyzEveryFeedFailing(t *testing.T) {
	httpAddr := freeAddr(t)
	cfg := smallConfig(t, t.TempDir(), "", httpAddr, [2]string{"a", closedURL(t, "/a.xml")}, [2]string{"b", closedURL(t, "/b.xml")})
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--config", cfg}, &bytes.Buffer{}, &stderr) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after the signal, want 0", code)
		}
		if n := strings.Count(stderr.String(), "every feed is failing"); n != 1 {
			t.Errorf("warned %d times that every feed is failing, want once:\n%s", n, stderr.String())
		}
	}()
	var code int
	var body string
	waitFor(t, "/readyz to say every feed is failing", 30*time.Second, func() bool {
		code, body = httpGet("http://" + httpAddr + "/readyz")
		return strings.Contains(body, "every feed failing")
	})
	if code != http.StatusOK || !strings.Contains(body, "2 feeds: connect 2") {
		t.Errorf("/readyz: %d %s", code, body)
	}
}

// TestOnceListenerTaken: with nats.listen taken by another server, run --once says which key to
// change.
func TestOnceListenerTaken(t *testing.T) {
	busy := natsServer(t, t.TempDir())
	addr := strings.TrimPrefix(busy.ClientURL(), "nats://")
	cfg := smallConfig(t, t.TempDir(), addr, "", [2]string{"a", "https://a.example/rss"})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--once", "--config", cfg}, &stdout, &stderr)
	if want := "nats.listen " + addr + " is taken"; code != 1 || !strings.Contains(stderr.String(), want) {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and %q", code, stderr.String(), want)
	}
}
