package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/feedd/feedd/store"
)

// reloadFeeds serves small feeds under /<id>.xml, each with an ETag honoured with 304, except
// /broken.xml, which fails. It counts the requests per feed.
type reloadFeeds struct {
	mu       sync.Mutex
	requests map[string]int
}

func (s *reloadFeeds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
	s.mu.Lock()
	s.requests[id]++
	s.mu.Unlock()
	if id == "broken" {
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	}
	etag := `"` + id + `-v1"`
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>%[1]s</title>
<item><title>خبر %[1]s</title><link>https://news.example/%[1]s/1</link><description>نص الخبر الأول من %[1]s</description>
<pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate></item></channel></rss>`, id)
}

func (s *reloadFeeds) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[id]
}

// TestReloadOnSIGHUP: SIGHUP reads the config file again. A config that fails validation is
// refused and the old list kept; a valid one adds a feed, which is then polled, and removes one,
// which is then no longer polled, while the other feeds keep their state (validators, next
// poll, failures) and are not polled again early.
func TestReloadOnSIGHUP(t *testing.T) {
	bin := buildFeedd(t)
	feeds := &reloadFeeds{requests: map[string]int{}}
	srv := httptest.NewServer(feeds)
	t.Cleanup(srv.Close)

	dataDir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "feedd.yaml")
	opsAddr := freeAddr(t)
	writeCfg := func(feedLines string) {
		t.Helper()
		cfg := fmt.Sprintf("data_dir: %q\nnats:\n  listen: \"\"\nhttp:\n  listen: %q\n"+
			"poll:\n  interval: 1h\n  min_interval: 1s\n  host_gap: 0s\n  per_host: 4\n  timeout: 5s\nfeeds:\n%s",
			dataDir, opsAddr, feedLines)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	feed := func(id, interval string) string {
		return fmt.Sprintf("  - id: %s\n    url: %s/%s.xml\n    interval: %s\n", id, srv.URL, id, interval)
	}
	// kept is polled once an hour, broken fails and backs off for minutes, busy every second.
	writeCfg(feed("kept", "1h") + feed("broken", "1h") + feed("busy", "1s"))

	p := startFeedd(t, bin, "run", "--config", cfgPath)
	waitFor(t, "the first polls", 30*time.Second, func() bool {
		return feeds.count("kept") == 1 && feeds.count("broken") == 1 && feeds.count("busy") >= 2
	})
	// The server counts a request when it arrives, before feedd records its outcome.
	var before map[string]store.Feed
	waitFor(t, "the first polls recorded", 30*time.Second, func() bool {
		before = feedStates(t, dataDir)
		return before["kept"].ETag != "" && before["broken"].ConsecutiveFailures != 0
	})
	if before["kept"].ETag != `"kept-v1"` || before["broken"].ConsecutiveFailures != 1 {
		t.Fatalf("state before the reload: kept %+v, broken %+v", before["kept"], before["broken"])
	}

	// An invalid config is refused: the feed list stays, busy is still polled.
	writeCfg(feed("kept", "1h") + "  - id: Not An Id!\n    url: ftp://nowhere\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the refusal", 10*time.Second, func() bool {
		return strings.Contains(p.logText(), "configuration reload refused")
	})
	n := feeds.count("busy")
	waitFor(t, "busy polled after the refused reload", 10*time.Second, func() bool { return feeds.count("busy") > n })
	if !strings.Contains(p.logText(), "feeds[1].id") {
		t.Errorf("the refused config's problems are not logged:\n%s", p.logText())
	}

	// A valid one: busy goes, added comes.
	writeCfg(feed("kept", "1h") + feed("broken", "1h") + feed("added", "1h"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", 10*time.Second, func() bool {
		return strings.Contains(p.logText(), "feed list reloaded")
	})
	waitFor(t, "the added feed polled", 20*time.Second, func() bool { return feeds.count("added") == 1 })
	time.Sleep(2 * time.Second) // a poll of busy in flight at the reload has ended by now
	removed := feeds.count("busy")
	time.Sleep(3 * time.Second) // busy would have been polled twice or more
	if got := feeds.count("busy"); got != removed {
		t.Errorf("busy polled %d times after it was removed", got-removed)
	}
	if k, b := feeds.count("kept"), feeds.count("broken"); k != 1 || b != 1 {
		t.Errorf("kept polled %d times and broken %d, want once each: their schedule was not kept", k, b)
	}
	after := feedStates(t, dataDir)
	for _, id := range []string{"kept", "broken"} {
		if a, b := after[id], before[id]; a.ETag != b.ETag || !a.NextPollAt.Equal(b.NextPollAt) ||
			!a.LastPollAt.Equal(b.LastPollAt) || a.ConsecutiveFailures != b.ConsecutiveFailures {
			t.Errorf("state of %s changed by the reload:\n got %+v\nwant %+v", id, a, b)
		}
	}
	// The status page lists the new feed list.
	if code, page := httpGet("http://" + opsAddr + "/"); code != 200 || !strings.Contains(page, `id="feed-added"`) ||
		strings.Contains(page, `id="feed-busy"`) {
		t.Errorf("status page (%d) after the reload: want feed-added listed and feed-busy gone", code)
	}
	log := p.logText()
	for _, want := range []string{"added_ids=[added]", "removed_ids=[busy]"} {
		if !strings.Contains(log, want) {
			t.Errorf("the reload's log line lacks %s", want)
		}
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("feedd exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("feedd did not stop")
	}
}

// feedStates reads the feed states from the database of a running daemon.
func feedStates(t *testing.T, dataDir string) map[string]store.Feed {
	t.Helper()
	ctx := context.Background()
	s, err := store.OpenReadOnly(ctx, filepath.Join(dataDir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.Feeds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Feed{}
	for _, f := range list {
		out[f.ID] = f
	}
	return out
}
