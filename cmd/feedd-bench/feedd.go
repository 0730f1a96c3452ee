package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/pipeline"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamName is the stream the generated configuration names (feedd's default).
const streamName = "ARTICLES"

// onceSummary is the JSON line `feedd run --once` prints: the poll counts, then what was
// published and what is left pending (cmd/feedd's summary).
type onceSummary struct {
	pipeline.Counts
	Published int64 `json:"published"`
	Pending   int64 `json:"pending"`
}

// feeddSetup is what one feedd run needs.
type feeddSetup struct {
	bin         string
	dir         string // the run's working directory: data_dir, NATS store, config
	feedBase    string // the feed server's base URL
	feeds       []testfeeds.Feed
	concurrency int
	articles    int      // items the feeds hold
	wrap        []string // a command to run feedd under (perf record ... --), or nil
	// repeat: the run is a second round over a data_dir and stream a first one filled with
	// published messages; every item must be a repeat.
	repeat    bool
	published int64
}

// feeddRun starts a JetStream server with a fresh store, then times `feedd run --once` with a
// fresh data_dir from start to exit, sampling the child's VmHWM while it runs. It checks that
// every item was read and every recorded article is in the stream.
func feeddRun(ctx context.Context, s feeddSetup) (trial, onceSummary, error) {
	var sum onceSummary
	dataDir, storeDir := filepath.Join(s.dir, "data"), filepath.Join(s.dir, "nats")
	for _, d := range []string{dataDir, storeDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return trial{}, sum, err
		}
	}
	ns, err := startNATS(storeDir)
	if err != nil {
		return trial{}, sum, err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()

	cfg := filepath.Join(s.dir, "feedd.yaml")
	if err := os.WriteFile(cfg, configYAML(dataDir, ns.ClientURL(), s.feedBase, s.concurrency, s.feeds), 0o600); err != nil {
		return trial{}, sum, err
	}
	args := append(append([]string(nil), s.wrap...), s.bin, "run", "--once", "--config", cfg)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	cpu0 := selfCPU()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return trial{}, sum, err
	}
	peakc := make(chan int64, 1)
	done := make(chan struct{})
	go func() { peakc <- samplePeak(cmd.Process.Pid, done) }()
	waitErr := cmd.Wait()
	elapsed := time.Since(start)
	hostCPU := selfCPU() - cpu0
	close(done)
	peak := <-peakc

	if waitErr != nil {
		return trial{}, sum, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), waitErr, tail(stderr.String(), 2000))
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &sum); err != nil {
		return trial{}, sum, fmt.Errorf("reading the summary %q: %w", stdout.String(), err)
	}
	switch {
	case sum.Failed != 0 || sum.Fetched != len(s.feeds):
		return trial{}, sum, fmt.Errorf("fetched %d feeds, %d failed, want %d fetched: %s", sum.Fetched, sum.Failed, len(s.feeds), tail(stderr.String(), 2000))
	case sum.Items != s.articles:
		return trial{}, sum, fmt.Errorf("read %d items, want %d", sum.Items, s.articles)
	case sum.Pending != 0 || sum.Published != int64(sum.New+sum.Duplicates):
		return trial{}, sum, fmt.Errorf("published %d with %d pending, want %d new + %d duplicates published",
			sum.Published, sum.Pending, sum.New, sum.Duplicates)
	case s.repeat && sum.Repeats != s.articles:
		return trial{}, sum, fmt.Errorf("second round: %d repeats, want all %d items", sum.Repeats, s.articles)
	}
	msgs, err := streamMsgs(ctx, ns.ClientURL())
	if err != nil {
		return trial{}, sum, err
	}
	if want := uint64(sum.Published + s.published); msgs != want {
		return trial{}, sum, fmt.Errorf("stream %s holds %d messages, want the %d published", streamName, msgs, want)
	}
	st := cmd.ProcessState
	return trial{
		Seconds:        elapsed.Seconds(),
		PeakBytes:      peak * 1024,
		CPUSeconds:     (st.UserTime() + st.SystemTime()).Seconds(),
		HostCPUSeconds: hostCPU.Seconds(),
	}, sum, nil
}

// samplePeak reads the VmHWM of process pid every 10ms until done is closed, and returns the
// largest value read, in kB. VmHWM only grows, so the last reading before exit is the peak but
// for what the process allocates in its last 10ms.
func samplePeak(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var peak int64
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if kb, err := statusKB(path, "VmHWM"); err == nil {
			peak = max(peak, kb)
		}
		select {
		case <-done:
			return peak
		case <-t.C:
		}
	}
}

// startNATS runs a JetStream server in this process on a random loopback port.
func startNATS(storeDir string) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{
		ServerName: "feedd-bench",
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats server with store %s not ready after 10s", storeDir)
	}
	return ns, nil
}

// streamMsgs returns the number of messages in the stream.
func streamMsgs(ctx context.Context, url string) (uint64, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, fmt.Errorf("connecting to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return streamCount(ctx, js, streamName)
}

// configYAML is feedd's configuration for a run: the feeds on the local server, a remote NATS,
// no ops listener, warnings only. All feeds are on 127.0.0.1, so poll.per_host is raised to
// poll.concurrency and poll.host_gap set to 0s, lest feedd's politeness towards one host
// serialise what would be many hosts in real use. poll.timeout is raised so that a loaded
// machine does not fail a feed.
func configYAML(dataDir, natsURL, feedBase string, concurrency int, feeds []testfeeds.Feed) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "data_dir: %q\nlog:\n  level: warn\n", dataDir)
	fmt.Fprintf(&b, "nats:\n  url: %q\n  listen: \"\"\n  stream: %s\nhttp:\n  listen: \"\"\n", natsURL, streamName)
	fmt.Fprintf(&b, "poll:\n  concurrency: %d\n  per_host: %d\n  host_gap: 0s\n  timeout: 2m\n", concurrency, concurrency)
	// The corpus items link to the outlets' real pages: the benchmark measures the feeds alone.
	b.WriteString("extract:\n  full_text: never\n")
	b.WriteString("feeds:\n")
	for _, f := range feeds {
		fmt.Fprintf(&b, "  - id: %s\n    url: %s%s\n    name: %s\n", f.ID, feedBase, f.Path, f.Name)
	}
	return b.Bytes()
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
