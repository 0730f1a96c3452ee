package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkOnceManyFeeds times two `feedd run --once` rounds over 10,000 small feeds
// (FEEDD_BENCH_FEEDS overrides) served locally by 100 httptest servers, each on its own loopback
// address, so that feedd sees 100 hosts. Feed i is on host i%100. Each feed has three items
// and an ETag. Nine feeds in ten answer 304 to it; the tenth serves its unchanged items again.
// The first round records every item; the second, on the same data_dir, is the steady state.
// Each round must poll every feed exactly once (none starved), fail none, and leave nothing
// pending. It reports the wall time of each round, from starting the process to its exit.
//
//	go test ./cmd/feedd -run '^$' -bench OnceManyFeeds -benchtime 3x -timeout 30m
func BenchmarkOnceManyFeeds(b *testing.B) {
	n := 10_000
	if v := os.Getenv("FEEDD_BENCH_FEEDS"); v != "" {
		fmt.Sscan(v, &n)
	}
	const hosts = 100
	bin := buildFeedd(b)
	requests := make([]atomic.Int32, n)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/feed"), ".xml"))
		if err != nil || i < 0 || i >= n {
			http.NotFound(w, r)
			return
		}
		requests[i].Add(1)
		etag := fmt.Sprintf(`"%d-v1"`, i)
		if i%10 != 0 && r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(smallFeed(i))
	})
	var bases []string
	for h := range hosts {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.1.%d:0", h+1))
		if err != nil {
			b.Skipf("cannot listen on a second loopback address: %v", err)
		}
		srv := httptest.NewUnstartedServer(handler)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		b.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "log:\n  level: warn\nnats:\n  listen: \"\"\nhttp:\n  listen: \"\"\n"+
		"poll:\n  concurrency: 16\n  per_host: 2\n  host_gap: 0s\n  timeout: 1m\nfeeds:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "  - id: f%d\n    url: %s/feed%d.xml\n", i, bases[i%hosts], i)
	}
	cfgPath := filepath.Join(b.TempDir(), "feedd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}

	round := func(dataDir string, want func(s summary) error) time.Duration {
		for i := range requests {
			requests[i].Store(0)
		}
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, "run", "--once", "--config", cfgPath)
		cmd.Env = append(withoutFeeddEnv(os.Environ()), "FEEDD_DATA_DIR="+dataDir)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			b.Fatalf("feedd run --once: %v\n%s", err, errOut.String())
		}
		var s summary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			b.Fatalf("summary %q: %v", out.String(), err)
		}
		for i := range requests {
			if got := requests[i].Load(); got != 1 {
				b.Fatalf("feed %d requested %d times in one round, want once", i, got)
			}
		}
		if s.Feeds != n || s.Failed != 0 || s.Pending != 0 {
			b.Fatalf("summary %s: want %d feeds, none failed, none pending", out.String(), n)
		}
		if err := want(s); err != nil {
			b.Fatalf("summary %s: %v", out.String(), err)
		}
		return took
	}
	var first, second time.Duration
	for b.Loop() {
		dataDir := b.TempDir()
		first += round(dataDir, func(s summary) error {
			if s.New+s.Duplicates != 3*n || int(s.Published) != 3*n {
				return fmt.Errorf("want %d articles recorded and published", 3*n)
			}
			return nil
		})
		second += round(dataDir, func(s summary) error {
			if unchanged := (n + 9) / 10; s.NotModified != n-unchanged || s.Repeats != 3*unchanged || s.New+s.Duplicates != 0 {
				return fmt.Errorf("want %d not modified and %d repeats, nothing new", n-unchanged, 3*unchanged)
			}
			return nil
		})
	}
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-first-round")
	b.ReportMetric(float64(second.Milliseconds())/float64(b.N), "ms-repeat-round")
	b.ReportMetric(float64(n), "feeds")
}

// smallFeed is feed i: three short items with links of their own.
func smallFeed(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>مصدر %d</title>`, i)
	for k := range 3 {
		fmt.Fprintf(&b, `<item><title>خبر رقم %d من المصدر %d</title><link>https://news%d.example/%d/%d</link>`+
			`<description>نص قصير للخبر رقم %d من المصدر %d عن أحداث اليوم</description>`+
			`<pubDate>Mon, 07 Dec 2026 %02d:00:00 GMT</pubDate></item>`, k, i, i%100, i, k, k, i, 8+k)
	}
	b.WriteString(`</channel></rss>`)
	return b.Bytes()
}
