package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats-server/v2/server"
)

// faultSeed returns the seed of a fault test: FEEDD_FAULT_SEED to replay a failure, else a new one.
func faultSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FEEDD_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FEEDD_FAULT_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with FEEDD_FAULT_SEED=%d)", seed, seed)
	return seed
}

// saudiFeeds serves the SaudiNewsNet development days as full-text feeds, each response delayed
// by up to delay, and returns the feeds and the canonical URLs of their distinct articles.
func saudiFeeds(t *testing.T, delay time.Duration, days ...string) (*httptest.Server, []testfeeds.Feed, map[string]bool) {
	t.Helper()
	dir, ok := testfeeds.CorpusDir()
	if !ok {
		t.Skip("corpus not available")
	}
	var feeds []testfeeds.Feed
	want := map[string]bool{}
	for _, day := range days {
		as, err := testfeeds.SaudiNewsNet(dir, day)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			c, err := dedupe.CanonicalURL(a.URL)
			if err != nil {
				t.Fatalf("corpus url %q: %v", a.URL, err)
			}
			want[c] = true
		}
		feeds = append(feeds, testfeeds.Split(strings.ReplaceAll(day[5:], "-", ""), as, 40)...)
	}
	h := testfeeds.Handler(feeds)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			time.Sleep(rand.N(delay))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, feeds, want
}

// feedsConfig writes a configuration for feeds served by srv, publishing to natsURL.
func feedsConfig(t *testing.T, dataDir, natsURL, httpListen string, srv *httptest.Server, feeds []testfeeds.Feed, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nlog:\n  level: warn\nnats:\n  url: %q\n  listen: \"\"\nhttp:\n  listen: %q\n", dataDir, natsURL, httpListen)
	fmt.Fprintf(&b, "poll:\n  concurrency: 8\n  per_host: 8\n  host_gap: 0s\n  timeout: 30s\n%s", extra)
	if !strings.Contains(extra, "extract:") {
		// The corpus items link to the outlets' real pages: these feeds carry their full text.
		b.WriteString("extract:\n  full_text: never\n")
	}
	return writeFeedsConfig(t, &b, srv, feeds)
}

// writeFeedsConfig ends the configuration in b with the list of feeds served by srv and writes
// it to a file of its own, whose path it returns.
func writeFeedsConfig(t *testing.T, b *strings.Builder, srv *httptest.Server, feeds []testfeeds.Feed) string {
	t.Helper()
	b.WriteString("feeds:\n")
	for _, f := range feeds {
		fmt.Fprintf(b, "  - id: %s\n    url: %s%s\n    name: %s\n", f.ID, srv.URL, f.Path, f.Name)
	}
	path := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// natsAt runs a JetStream server in-process on a fixed port and store, so that it can be stopped
// and started again where clients expect it.
func natsAt(t *testing.T, port int, storeDir string) *server.Server {
	t.Helper()
	return testnats.Run(t, port, storeDir)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// checkExactlyOnce asserts that the stream holds each wanted article exactly once.
func checkExactlyOnce(t *testing.T, natsURL string, want map[string]bool) {
	t.Helper()
	msgs := streamMessages(t, natsURL, "ARTICLES")
	ids := map[string]int{}
	got := map[string]int{}
	for _, m := range msgs {
		ids[m.Headers().Get("Nats-Msg-Id")]++
		var body struct {
			CanonicalURL string `json:"canonical_url"`
		}
		if err := json.Unmarshal(m.Data(), &body); err != nil {
			t.Fatal(err)
		}
		got[body.CanonicalURL]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("Nats-Msg-Id %s is in the stream %d times", id, n)
		}
	}
	missing := 0
	for u := range want {
		switch got[u] {
		case 0:
			missing++
			if missing <= 5 {
				t.Errorf("missing from the stream: %s", u)
			}
		case 1:
		default:
			t.Errorf("%s is in the stream %d times", u, got[u])
		}
	}
	for u := range got {
		if !want[u] {
			t.Errorf("unexpected article in the stream: %s", u)
		}
	}
	if missing > 0 || len(msgs) != len(want) {
		t.Errorf("stream holds %d messages, %d articles missing; want %d", len(msgs), missing, len(want))
	}
}

// runOnceChild runs `feedd run --once` to completion and returns its summary.
func runOnceChild(t *testing.T, bin, cfg string) summary {
	t.Helper()
	cmd := exec.Command(bin, "run", "--once", "--timeout", "3m", "--config", cfg)
	cmd.Env = withoutFeeddEnv(os.Environ())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("feedd run --once: %v\n%s", err, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return s
}

// TestCrashesAndOutage kills feedd with SIGKILL at random moments while it records and publishes
// some 2,600 full-text articles, then stops NATS for 10 s in the middle of a later run. A final
// run must leave every article in the stream exactly once.
func TestCrashesAndOutage(t *testing.T) {
	bin := buildFeedd(t)
	// Slow responses stretch a run over a few seconds, so that kills land mid-run.
	srv, feeds, want := saudiFeeds(t, 400*time.Millisecond, "2015-08-01", "2015-08-02")
	var day1 []testfeeds.Feed
	for _, f := range feeds {
		if strings.Contains(f.ID, "-0801-") {
			day1 = append(day1, f)
		}
	}
	rng := rand.New(rand.NewPCG(faultSeed(t), 0))
	port := freePort(t)
	natsDir := t.TempDir()
	ns := natsAt(t, port, natsDir)
	natsURL := ns.ClientURL()
	dataDir := t.TempDir()
	cfg := feedsConfig(t, dataDir, natsURL, "", srv, feeds, "")

	// Each killed run sees a share more of the first day's feeds, so that each has new work when
	// it is killed; the second day's feeds join for the run that loses NATS.
	kills := 5
	if os.Getenv("FEEDD_SOAK") != "" {
		kills = 40 // the longer soak: go test -run TestCrashesAndOutage -timeout 30m ./cmd/feedd with FEEDD_SOAK=1
	}
	for i := range kills {
		part := day1[:len(day1)*(i+1)/kills]
		cmd := exec.Command(bin, "run", "--once", "--config", feedsConfig(t, dataDir, natsURL, "", srv, part, ""))
		cmd.Env = withoutFeeddEnv(os.Environ())
		var stdout strings.Builder
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(100+rng.IntN(1500)) * time.Millisecond
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		t.Logf("run %d: SIGKILL after %v: %v %s", i+1, delay, err, strings.TrimSpace(stdout.String()))
	}

	// NATS goes away for 10 s in the middle of a run; the run waits for it and completes.
	cmd := exec.Command(bin, "run", "--once", "--timeout", "3m", "--config", cfg)
	cmd.Env = withoutFeeddEnv(os.Environ())
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	delay := time.Duration(500+rng.IntN(1500)) * time.Millisecond
	time.Sleep(delay)
	ns.Shutdown()
	ns.WaitForShutdown()
	t.Logf("NATS stopped %v into the run after the kills", delay)
	time.Sleep(10 * time.Second)
	ns = natsAt(t, port, natsDir)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run across the NATS outage: %v", err)
	}
	t.Logf("run across the NATS outage: %s", strings.TrimSpace(stdout.String()))

	s := runOnceChild(t, bin, cfg)
	t.Logf("final run: %+v", s)
	if s.Pending != 0 || s.Failed != 0 {
		t.Errorf("final run left %d pending, %d failed feeds", s.Pending, s.Failed)
	}
	checkExactlyOnce(t, natsURL, want)
}

// itemLinks returns the canonical URLs of the items of a rendered feed.
func itemLinks(t *testing.T, body []byte) []string {
	t.Helper()
	var doc struct {
		Links []string `xml:"channel>item>link"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(doc.Links))
	for _, l := range doc.Links {
		c, err := dedupe.CanonicalURL(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestSigtermDuringBusyRun stops a busy daemon with SIGTERM: it exits 0 within shutdown_timeout,
// and the next start publishes what was left, once.
func TestSigtermDuringBusyRun(t *testing.T) {
	bin := buildFeedd(t)
	srv, feeds, want := saudiFeeds(t, 300*time.Millisecond, "2015-08-03")
	rng := rand.New(rand.NewPCG(faultSeed(t), 1))
	ns := natsServer(t, t.TempDir())
	cfg := feedsConfig(t, t.TempDir(), ns.ClientURL(), "", srv, feeds, "  interval: 1h\nshutdown_timeout: 5s\n")

	p := startFeedd(t, bin, "run", "--config", cfg)
	waitFor(t, "articles to reach the stream", 30*time.Second, func() bool { return streamCount(ns.ClientURL()) > 0 })
	time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(5*time.Second + 2*time.Second): // shutdown_timeout, plus process start-up slack
		t.Fatal("feedd did not stop within shutdown_timeout")
	}
	t.Logf("stopped %v after SIGTERM with %d of %d articles in the stream", time.Since(start).Round(time.Millisecond),
		streamCount(ns.ClientURL()), len(want))

	s := runOnceChild(t, bin, cfg)
	t.Logf("next start: %+v", s)
	checkExactlyOnce(t, ns.ClientURL(), want)
}
