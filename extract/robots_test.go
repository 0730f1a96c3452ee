package extract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRobotsRules(t *testing.T) {
	const file = `# comments and odd spacing are fine
User-agent: *
Disallow: /private/
Allow: /private/open/
Disallow: /*.pdf$
Disallow: /search?
Sitemap: https://example.com/sitemap.xml

user-agent: OtherBot
disallow: /

User-Agent: feedd/2.0
User-Agent: SomeoneElse
Disallow: /news/draft
Allow: /news/draft/ok$
Disallow: /ar/أخبار/سري
Allow: /*/gallery
Disallow: /*gallery*/full

# a second group for feedd merges with the first
User-agent: FEEDD
Disallow: /tmp
Disallow:
`
	parsed := map[string]*robotsFile{}
	tests := []struct {
		agent, path string
		want        bool
	}{
		// feedd has its own groups: the "*" group does not apply to it.
		{"feedd", "/private/x", true},
		{"feedd", "/news/draft1", false},
		{"feedd", "/news/draft/ok", true},
		{"feedd", "/news/draft/ok/more", false},                                     // "$" anchors the end
		{"feedd", "/tmp/a", false},                                                  // from the merged second group
		{"feedd", "/ar/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D8%B3%D8%B1%D9%8A/1", false}, // raw Arabic pattern, encoded path
		{"feedd", "/ar/%d8%a3%d8%ae%d8%a8%d8%a7%d8%b1/%d8%b3%d8%b1%d9%8a", false},   // lower-case escapes
		{"feedd", "/x/gallery/full", false},                                         // longer Disallow beats shorter Allow
		{"feedd", "/x/gallery/thumbs", true},                                        // the Allow
		{"feedd", "/", true},
		{"someoneelse", "/news/draft", false},
		{"otherbot", "/anything", false},
		// Any other agent takes the "*" group.
		{"anybot", "/private/x", false},
		{"anybot", "/private/open/x", true}, // longest match wins
		{"anybot", "/files/report.pdf", false},
		{"anybot", "/files/report.pdf?x=1", true}, // "$" is the end of path and query
		{"anybot", "/search?q=1", false},
		{"anybot", "/search", true},
		{"anybot", "/news/1", true},
	}
	for _, tt := range tests {
		rf, ok := parsed[tt.agent]
		if !ok {
			rf = parseRobots([]byte(file), tt.agent)
			parsed[tt.agent] = rf
		}
		if got := rf.allowed(tt.path); got != tt.want {
			t.Errorf("%s %s: got allowed %v, want %v", tt.agent, tt.path, got, tt.want)
		}
	}
}

func TestRobotsTieAllowWins(t *testing.T) {
	rf := parseRobots([]byte("User-agent: *\nDisallow: /page\nAllow: /page\n"), "feedd")
	if !rf.allowed("/page") {
		t.Error("equal Allow and Disallow: got disallowed, want Allow to win (RFC 9309)")
	}
	for _, body := range []string{"", "garbage\n\x00\xff", "Disallow: /\n", "User-agent: other\nDisallow: /\n"} {
		if !parseRobots([]byte(body), "feedd").allowed("/a") {
			t.Errorf("%q: got disallowed, want allowed", body)
		}
	}
	if parseRobots([]byte("User-agent: *\r\nDisallow: /\r\n"), "feedd").allowed("/a") {
		t.Error("CRLF file: got allowed, want disallowed")
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/a", "/abc", true},
		{"/a$", "/abc", false},
		{"/a$", "/a", true},
		{"/*.php", "/index.php", true},
		{"/*.php", "/x/index.php?q", true},
		{"/*.php$", "/index.php?q", false},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/aXcYb", false},
		{"/a*bc$", "/abcbc", true},
		{"/a*bc$", "/abcb", false},
		{"*", "/anything", true},
		{"/fish*", "/fish", true},
		{"/fish*$", "/fishy", true},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.path); got != tt.want {
			t.Errorf("match(%q, %q): got %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// robotsServer serves robots.txt with the given status and body, counting its fetches, and any
// other path as a page.
func robotsServer(t *testing.T, status *atomic.Int64, body string) (*atomic.Int64, string) {
	t.Helper()
	var fetches atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			fetches.Add(1)
			if code := int(status.Load()); code != 200 {
				http.Error(w, "robots", code)
				return
			}
			_, _ = fmt.Fprint(w, body)
			return
		}
		htmlHandler(arabicPage)(w, r)
	})
	return &fetches, srv.URL
}

func TestRobotsFetchedOncePerHost(t *testing.T) {
	var status atomic.Int64
	status.Store(200)
	fetches, base := robotsServer(t, &status, "User-agent: feedd\nDisallow: /no/\n")
	f := NewFetcher(FetchOptions{RespectRobots: true})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := f.Fetch(t.Context(), fmt.Sprintf("%s/news/%d", base, i))
			if err != nil {
				t.Errorf("page %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	_, err := f.Fetch(t.Context(), base+"/no/1")
	wantReason(t, err, ReasonRobots)
	if n := fetches.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times for 21 pages, want once", n)
	}
	// RespectRobots off: never asked.
	if _, err := NewFetcher(FetchOptions{}).Fetch(t.Context(), base+"/no/1"); err != nil {
		t.Errorf("robots off: %v", err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want still once", n)
	}
}

func TestRobotsStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Reason // for a page robots.txt would allow
	}{
		{status: 404},                     // no robots.txt: everything allowed
		{status: 403},                     // any 4xx, as Google does
		{status: 500, want: ReasonRobots}, // unreachable: the host is disallowed for a while
		{status: 503, want: ReasonRobots},
		{status: 429, want: ReasonRobots},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			var status atomic.Int64
			status.Store(int64(tt.status))
			_, base := robotsServer(t, &status, "")
			_, err := NewFetcher(FetchOptions{RespectRobots: true}).Fetch(t.Context(), base+"/news/1")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want the page", err)
				}
				return
			}
			e := wantReason(t, err, tt.want)
			if !strings.Contains(e.Error(), "robots.txt") || e.Transient() {
				t.Errorf("got %q (transient %v), want a robots.txt failure, not worth a retry", e.Error(), e.Transient())
			}
		})
	}
}

// TestRobotsCacheExpiry: an unreachable robots.txt disallows its host for RobotsRetry, then is
// asked again; a good copy is kept for RobotsTTL and goes on applying when a refetch fails.
func TestRobotsCacheExpiry(t *testing.T) {
	var status atomic.Int64
	status.Store(503)
	fetches, base := robotsServer(t, &status, "User-agent: *\nDisallow: /no/\n")
	f := NewFetcher(FetchOptions{RespectRobots: true})
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	f.robots.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	page := func(path string) error { _, err := f.Fetch(t.Context(), base+path); return err }

	wantReason(t, page("/news/1"), ReasonRobots)
	status.Store(200)
	advance(RobotsRetry - time.Second)
	wantReason(t, page("/news/1"), ReasonRobots) // still within RobotsRetry
	advance(2 * time.Second)
	if err := page("/news/1"); err != nil {
		t.Fatalf("after RobotsRetry: %v", err)
	}
	wantReason(t, page("/no/1"), ReasonRobots)
	if n := fetches.Load(); n != 2 {
		t.Errorf("got %d fetches, want 2", n)
	}
	status.Store(500)
	advance(RobotsTTL + time.Second)
	if err := page("/news/2"); err != nil {
		t.Errorf("refetch failed: got %v, want the stale copy to apply", err)
	}
	wantReason(t, page("/no/2"), ReasonRobots)
	if n := fetches.Load(); n != 3 {
		t.Errorf("got %d fetches, want 3", n)
	}
}

func TestRobotsCacheBounded(t *testing.T) {
	var fetches atomic.Int64
	c := newRobotsCache(func(context.Context, string) (*robotsFile, error) {
		fetches.Add(1)
		return parseRobots(nil, "feedd"), nil
	}, 8)
	for i := range 100 {
		u, _ := url.Parse(fmt.Sprintf("http://host%d.example/a", i))
		if err := c.check(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 8 {
		t.Errorf("got %d cached hosts, want at most 8", n)
	}
	if fetches.Load() != 100 {
		t.Errorf("got %d fetches, want 100", fetches.Load())
	}
}

func TestRobotsFetchBounded(t *testing.T) {
	// A huge robots.txt is read up to RobotsMaxSize; its rules within that apply.
	big := "User-agent: *\nDisallow: /no/\n" + strings.Repeat("# padding padding padding\n", 2*RobotsMaxSize/26) + "Disallow: /\n"
	var status atomic.Int64
	status.Store(200)
	_, base := robotsServer(t, &status, big)
	f := NewFetcher(FetchOptions{RespectRobots: true})
	if _, err := f.Fetch(t.Context(), base+"/news/1"); err != nil {
		t.Errorf("got %v, want the rule past RobotsMaxSize ignored", err)
	}
	_, err := f.Fetch(t.Context(), base+"/no/1")
	wantReason(t, err, ReasonRobots)
}

func TestRobotsCallerCanceledWhileWaiting(t *testing.T) {
	release := make(chan struct{})
	c := newRobotsCache(func(ctx context.Context, _ string) (*robotsFile, error) {
		<-release
		return parseRobots(nil, "feedd"), nil
	}, 8)
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	u, _ := url.Parse("http://example.com/a")
	if err := c.check(ctx, u); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the caller's deadline", err)
	}
}

func FuzzRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /private/\nAllow: /private/open$\n"), "/private/open")
	f.Add([]byte("User-agent: feedd\nDisallow: /*.pdf$\n"), "/a.pdf")
	f.Add([]byte("\xEF\xBB\xBFuser-agent:*\r\ndisallow:/a*b*c$\r\n"), "/aXbYc")
	f.Add([]byte("User-agent: *\nDisallow: /ar/أخبار\n"), "/ar/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		rf := parseRobots(body, "feedd")
		got := rf.allowed(path)
		// A file whose only rules allow can never disallow.
		if !strings.Contains(strings.ToLower(string(body)), "disallow") && !got {
			t.Errorf("disallowed %q without any Disallow line", path)
		}
		kept := 0
		for _, r := range append(rf.mine, rf.any...) {
			kept += len(r.pattern)
			if r.pattern == "" || !utf8.ValidString(r.pattern) {
				t.Errorf("bad pattern %q", r.pattern)
			}
		}
		if kept > 2*robotsMaxPatterns {
			t.Errorf("kept %d bytes of patterns, want at most %d", kept, 2*robotsMaxPatterns)
		}
	})
}

func TestRobotsRulesBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("User-agent: *\nUser-agent: feedd\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "Disallow: /section-%d/*/page$\n", i)
	}
	rf := parseRobots([]byte(b.String()), "feedd")
	kept := 0
	for _, r := range append(rf.mine, rf.any...) {
		kept += len(r.pattern)
	}
	if kept > 2*robotsMaxPatterns || len(rf.mine) == 0 {
		t.Errorf("kept %d bytes of patterns in %d rules, want some and at most %d", kept, len(rf.mine), 2*robotsMaxPatterns)
	}
	if rf.allowed("/section-1/x/page") || !rf.allowed("/section-99999/x/page") {
		t.Error("want the first rules kept and those past the bound ignored")
	}
}
