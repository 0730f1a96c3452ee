package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/store"
)

// syncBuffer is a strings.Builder safe for a logger writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// metric returns the value of an unlabelled metric on a /metrics page, or -1.
func metric(page, name string) float64 {
	for line := range strings.Lines(page) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestOutboxBoundThroughOutage: NATS is away while feedd polls some 2,000 full-text articles with
// outbox.max_pending 500. Polling pauses at the bound (feedd_polling_paused 1, the outbox stops
// growing, not everything is polled); nothing is dropped; when NATS comes back every article
// reaches the stream exactly once.
func TestOutboxBoundThroughOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("records and publishes 2,000 articles")
	}
	const bound, concurrency, perFeed = 500, 8, 40
	srv, all, _ := saudiFeeds(t, 0, "2015-08-01", "2015-08-02")
	var feeds []testfeeds.Feed
	want := map[string]bool{}
	for _, f := range all {
		if len(want) >= 2000 {
			break
		}
		feeds = append(feeds, f)
		for _, u := range itemLinks(t, f.Body) {
			want[u] = true
		}
	}
	t.Logf("%d feeds, %d articles", len(feeds), len(want))

	port := freePort(t) // NATS is away: nothing listens here yet
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(port)
	dataDir := t.TempDir()
	httpAddr := freeAddr(t)
	cfg := feedsConfig(t, dataDir, natsURL, httpAddr, srv, feeds, "  interval: 1h\noutbox:\n  max_pending: 500\n")
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, []string{"run", "--config", cfg}, io.Discard, &log) }()
	defer func() {
		cancel()
		if code := <-exited; code != exitOK {
			t.Errorf("feedd run exited %d, want 0", code)
		}
		if t.Failed() {
			t.Logf("feedd log:\n%s", log.String())
		}
	}()

	waitFor(t, "polling to pause", 60*time.Second, func() bool {
		code, page := httpGet("http://" + httpAddr + "/metrics")
		return code == http.StatusOK && metric(page, "feedd_polling_paused") == 1
	})
	depth := func() int64 {
		t.Helper()
		s, err := store.OpenReadOnly(ctx, filepath.Join(dataDir, dbFile))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		n, err := s.OutboxDepth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The polls in flight when the bound was reached finish; then nothing more comes.
	time.Sleep(2 * time.Second)
	paused := depth()
	time.Sleep(3 * time.Second)
	if later := depth(); later != paused {
		t.Errorf("outbox grew from %d to %d while polling was paused", paused, later)
	}
	if paused < bound || paused >= bound+concurrency*perFeed || paused >= int64(len(want)) {
		t.Errorf("outbox holds %d articles while paused, want at least the bound %d and fewer than %d (a poll in flight per worker)",
			paused, bound, bound+concurrency*perFeed)
	}
	t.Logf("outbox paused at %d of %d articles (bound %d)", paused, len(want), bound)
	if !strings.Contains(log.String(), "outbox full: polling paused") {
		t.Error("the log does not say polling paused")
	}

	ns := natsAt(t, port, t.TempDir()) // NATS comes back
	waitFor(t, "every article in the stream", 120*time.Second, func() bool {
		return streamCount(ns.ClientURL()) >= len(want)
	})
	waitFor(t, "polling to resume", 10*time.Second, func() bool {
		_, page := httpGet("http://" + httpAddr + "/metrics")
		return metric(page, "feedd_polling_paused") == 0
	})
	checkExactlyOnce(t, ns.ClientURL(), want)
}
