package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
)

// days are the SaudiNewsNet development days the feeds are made from. The held-out days
// (2015-08-08 to -10) are never read.
var days = []string{"2015-08-01", "2015-08-02", "2015-08-03"}

// ratioLimit is issue 6's acceptance bound on feedd's median over the floor's; repeatRatioLimit
// issue 11's for a round where every item is a repeat.
const (
	ratioLimit       = 1.5
	repeatRatioLimit = 1.3
)

// options are the benchmark's settings.
type options struct {
	corpusDir   string // the shared corpus, holding saudinewsnet/<day>.zip
	moduleDir   string // the feedd module root, where ./cmd/feedd is built
	feeds       int    // feeds served
	perFeed     int    // articles per feed, at most
	runs        int    // runs of each side
	concurrency int    // fetches at once, on both sides
	feeddBin    string // a prebuilt feedd binary, or "" to build one
	perfOut     string // a perf.data path for one extra profiled feedd run, or ""
	// baseline is another feedd binary (an earlier commit's) run in the same turns as feedd,
	// so that the two are compared side by side; "" for none.
	baseline string
	// repeat times a second `feedd run --once` over the same feeds and data_dir, served again in
	// full (no 304), where every item is a repeat; the first, untimed, fills the data_dir.
	repeat bool
	log    *slog.Logger
}

// defaultOptions returns the reference load: 200 feeds of 20 articles, 3 runs, and feedd's
// default poll.concurrency of 16.
func defaultOptions() options {
	return options{feeds: 200, perFeed: 20, runs: 3, concurrency: 16, log: slog.New(slog.DiscardHandler)}
}

func (o options) validate() error {
	switch {
	case o.feeds < 1:
		return fmt.Errorf("-feeds %d: must be at least 1", o.feeds)
	case o.perFeed < 1:
		return fmt.Errorf("-per-feed %d: must be at least 1", o.perFeed)
	case o.runs < 1:
		return fmt.Errorf("-runs %d: must be at least 1", o.runs)
	case o.concurrency < 1:
		return fmt.Errorf("-concurrency %d: must be at least 1", o.concurrency)
	}
	return nil
}

// moduleDir returns the module root above the working directory: the directory holding go.mod.
func moduleDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run feedd-bench from a clone of the feedd repository", wd)
		}
	}
}

// loadFeeds renders the development days as feeds of at most perFeed full-text articles, in
// day order, and returns the first n of them with the number of articles they hold. It reads
// no more days than it needs.
func loadFeeds(corpusDir string, n, perFeed int) ([]testfeeds.Feed, int, error) {
	var all []testfeeds.Feed
	for _, day := range days {
		if len(all) >= n {
			break
		}
		as, err := testfeeds.SaudiNewsNet(corpusDir, day)
		if err != nil {
			return nil, 0, fmt.Errorf("reading the corpus at %s: %w", corpusDir, err)
		}
		all = append(all, testfeeds.Split(strings.ReplaceAll(day[5:], "-", ""), as, perFeed)...)
	}
	if n > len(all) {
		return nil, 0, fmt.Errorf("-feeds %d: the development days make only %d feeds of at most %d articles", n, len(all), perFeed)
	}
	feeds := all[:n]
	articles := 0
	for _, f := range feeds {
		articles += itemCount(f.Body)
	}
	return feeds, articles, nil
}

// itemCount counts the items of a feed rendered by testfeeds.RSS, whose text is escaped.
func itemCount(body []byte) int { return bytes.Count(body, []byte("<item>")) }

// report is the benchmark's result.
type report struct {
	Machine machine `json:"machine"`
	Load    load    `json:"load"`
	Floor   side    `json:"floor"`
	Feedd   side    `json:"feedd"`
	// Baseline is the -baseline binary's runs, taken in the same turns; nil without one.
	Baseline *side `json:"baseline,omitempty"`
	Noise    noise `json:"noise"`
	// Ratio is feedd's median wall time over the floor's; BaselineRatio the baseline's.
	Ratio         float64 `json:"ratio"`
	BaselineRatio float64 `json:"baseline_ratio,omitempty"`
	RatioLimit    float64 `json:"ratio_limit"`
	// Summary is what the last measured `feedd run --once` printed.
	Summary  onceSummary `json:"feedd_summary"`
	PerfFile string      `json:"perf_file,omitempty"`
}

// load describes what was served and how it was fetched.
type load struct {
	Days        []string `json:"days"`
	Feeds       int      `json:"feeds"`
	PerFeed     int      `json:"per_feed"`
	Articles    int      `json:"articles"`
	Bytes       int64    `json:"bytes"`
	Runs        int      `json:"runs"`
	Concurrency int      `json:"concurrency"`
}

// side is one side's runs and their medians.
type side struct {
	Name string `json:"name"`
	// PeakMeasure says what PeakBytes measures.
	PeakMeasure string `json:"peak_measure"`
	// CPUMeasure says whose CPU time CPUSeconds counts.
	CPUMeasure        string  `json:"cpu_measure"`
	Runs              []trial `json:"runs"`
	MedianSeconds     float64 `json:"median_seconds"`
	ArticlesPerSecond float64 `json:"articles_per_second"`
	// PeakBytes is the largest peak of the runs.
	PeakBytes        int64   `json:"peak_bytes"`
	MedianCPUSeconds float64 `json:"median_cpu_seconds"`
}

// trial is one timed run.
type trial struct {
	Seconds    float64 `json:"seconds"`
	PeakBytes  int64   `json:"peak_bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// HostCPUSeconds is this process's CPU time during a feedd run: serving the feeds and
	// running NATS. Zero for the floor, whose CPUSeconds already include serving the feeds.
	HostCPUSeconds float64 `json:"host_cpu_seconds,omitempty"`
}

func (s *side) finish(articles int) {
	secs := make([]float64, len(s.Runs))
	cpus := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		secs[i], cpus[i] = r.Seconds, r.CPUSeconds
		s.PeakBytes = max(s.PeakBytes, r.PeakBytes)
	}
	s.MedianSeconds = median(secs)
	s.MedianCPUSeconds = median(cpus)
	if s.MedianSeconds > 0 {
		s.ArticlesPerSecond = float64(articles) / s.MedianSeconds
	}
}

// median returns the median of xs, the mean of the middle two for an even count, 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// bench serves the feeds and runs the floor and feedd in turns, o.runs times each.
func bench(ctx context.Context, o options) (report, error) {
	feeds, articles, err := loadFeeds(o.corpusDir, o.feeds, o.perFeed)
	if err != nil {
		return report{}, err
	}
	rep := report{
		Machine: describeMachine(),
		Load: load{Days: days, Feeds: len(feeds), PerFeed: o.perFeed, Articles: articles,
			Runs: o.runs, Concurrency: o.concurrency},
		Floor: side{Name: "floor: net/http GET + gofeed.NewParser().Parse",
			PeakMeasure: "growth of this process's VmHWM over its VmRSS at the start of the run (peak reset through /proc/self/clear_refs)",
			CPUMeasure:  "this process: fetching, parsing and serving the feeds"},
		Feedd: side{Name: "feedd run --once",
			PeakMeasure: "VmHWM of the feedd process, sampled from /proc/<pid>/status every 10ms",
			CPUMeasure:  "the feedd process (user+sys)"},
		RatioLimit: ratioLimit,
	}
	if o.repeat {
		rep.Feedd.Name = "feedd run --once, second round: every item a repeat"
		rep.RatioLimit = repeatRatioLimit
	}
	if o.baseline != "" {
		b := rep.Feedd
		b.Name = "baseline: " + o.baseline
		rep.Baseline = &b
	}
	for _, f := range feeds {
		rep.Load.Bytes += int64(len(f.Body))
	}

	work, err := os.MkdirTemp("", "feedd-bench-")
	if err != nil {
		return report{}, err
	}
	defer os.RemoveAll(work)

	bin := o.feeddBin
	if bin == "" {
		bin = filepath.Join(work, "feedd")
		o.log.Info("building feedd", "dir", o.moduleDir, "out", bin)
		if err := buildFeedd(ctx, o.moduleDir, bin); err != nil {
			return report{}, err
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return report{}, fmt.Errorf("feed server: %w", err)
	}
	var handler http.Handler = testfeeds.Handler(feeds)
	var rounds *roundServer
	if o.repeat { // every round fetches the feeds in full: they changed, as live feeds do
		rounds = newRoundServer(feeds, time.Now())
		handler = rounds
		rep.Load.Bytes = rounds.bytes(1)
	}
	setRound := func(n int) {
		if rounds != nil {
			rounds.round.Store(int32(n))
		}
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	urls := make([]string, len(feeds))
	for i, f := range feeds {
		urls[i] = base + f.Path
	}

	rep.Noise.LoadStart = loadAvg()
	busy0, ok0 := busyJiffies()
	ours0 := selfCPU() + childrenCPU()
	start := time.Now()
	for i := range o.runs {
		setRound(1) // the floor parses what the timed round parses
		ft, err := floorRun(ctx, urls, o.concurrency, articles)
		if err != nil {
			return report{}, fmt.Errorf("floor run %d: %w", i+1, err)
		}
		o.log.Info("floor", "run", i+1, "seconds", ft.Seconds, "peak_bytes", ft.PeakBytes)
		rep.Floor.Runs = append(rep.Floor.Runs, ft)

		type contender struct {
			name, bin string
			side      *side
		}
		turn := []contender{{"feedd", bin, &rep.Feedd}}
		if rep.Baseline != nil { // each goes first in every other turn
			turn = append(turn, contender{"baseline", o.baseline, rep.Baseline})
			if i%2 == 1 {
				turn[0], turn[1] = turn[1], turn[0]
			}
		}
		for _, c := range turn {
			dir := filepath.Join(work, fmt.Sprintf("run-%d-%s", i+1, c.name))
			setup := feeddSetup{bin: c.bin, dir: dir, feedBase: base, feeds: feeds,
				concurrency: o.concurrency, articles: articles}
			if o.repeat {
				setRound(0)
				_, first, err := feeddRun(ctx, setup)
				if err != nil {
					return report{}, fmt.Errorf("%s first round %d: %w", c.name, i+1, err)
				}
				setup.published = first.Published
				setup.repeat = true
				setRound(1)
			}
			bt, sum, err := feeddRun(ctx, setup)
			if err != nil {
				return report{}, fmt.Errorf("%s run %d: %w", c.name, i+1, err)
			}
			o.log.Info(c.name, "run", i+1, "seconds", bt.Seconds, "cpu_seconds", bt.CPUSeconds, "peak_bytes", bt.PeakBytes)
			c.side.Runs = append(c.side.Runs, bt)
			if c.side == &rep.Feedd {
				rep.Summary = sum
			}
			if err := os.RemoveAll(dir); err != nil {
				return report{}, err
			}
		}
	}
	rep.Noise.WindowSeconds = time.Since(start).Seconds()
	busy1, ok1 := busyJiffies()
	if ok0 && ok1 {
		others := time.Duration(busy1-busy0)*time.Second/userHZ - (selfCPU() + childrenCPU() - ours0)
		rep.Noise.OtherCPUSeconds = max(0, others.Seconds())
	}
	rep.Noise.LoadEnd = loadAvg()
	rep.Floor.finish(articles)
	rep.Feedd.finish(articles)
	if rep.Baseline != nil {
		rep.Baseline.finish(articles)
	}
	if rep.Floor.MedianSeconds > 0 {
		rep.Ratio = rep.Feedd.MedianSeconds / rep.Floor.MedianSeconds
		if rep.Baseline != nil {
			rep.BaselineRatio = rep.Baseline.MedianSeconds / rep.Floor.MedianSeconds
		}
	}

	if o.perfOut != "" {
		out, err := filepath.Abs(o.perfOut)
		if err != nil {
			return report{}, err
		}
		o.log.Info("profiling feedd with perf", "out", out)
		setup := feeddSetup{bin: bin, dir: filepath.Join(work, "perf"), feedBase: base, feeds: feeds,
			concurrency: o.concurrency, articles: articles}
		if o.repeat { // profile the second round, as measured
			setRound(0)
			_, first, err := feeddRun(ctx, setup)
			if err != nil {
				return report{}, fmt.Errorf("feedd first round before profiling: %w", err)
			}
			setup.published, setup.repeat = first.Published, true
			setRound(1)
		}
		setup.wrap = []string{"perf", "record", "-g", "-F", "999", "-o", out, "--"}
		_, _, err = feeddRun(ctx, setup)
		if err != nil {
			return report{}, fmt.Errorf("profiled feedd run: %w", err)
		}
		rep.PerfFile = out
	}
	return rep, nil
}

// buildFeedd builds ./cmd/feedd of the module in dir into out.
func buildFeedd(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/feedd")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/feedd in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// machine describes where the benchmark ran.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	MemBytes   int64  `json:"mem_bytes"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
}

// noise describes what else ran on the machine while the benchmark did.
type noise struct {
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute averages before the first run
	// and after the last.
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
	// WindowSeconds is the time from the start of the first run to the end of the last.
	WindowSeconds float64 `json:"window_seconds"`
	// OtherCPUSeconds is the CPU time the machine spent on anything but this process and its
	// children (feedd) in that window, from /proc/stat, steal time included. Of the
	// CPUs × WindowSeconds available, this is what others took.
	OtherCPUSeconds float64 `json:"other_cpu_seconds"`
}

// userHZ is the unit of /proc/stat's counters: 100 per second on Linux whatever the kernel's HZ.
const userHZ = 100

// busyJiffies returns the machine's busy time from /proc/stat (user, nice, system, irq,
// softirq and steal), in 1/userHZ s.
func busyJiffies() (int64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system [idle iowait] irq softirq steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return busy, true
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if kb, err := statusKB("/proc/meminfo", "MemTotal"); err == nil {
		m.MemBytes = kb * 1024
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// errNoProc is returned where peak memory cannot be read.
var errNoProc = errors.New("peak memory is read from /proc, which this system lacks")

// roundServer serves the feeds of a repeat run as they are in its first round (0) or its second
// (1): the same items, with a channel <lastBuildDate> that moves on between the two, as a live
// feed's does. Each version has its own ETag and If-None-Match is honoured, as by a real server,
// so the second round is fetched and parsed in full because the feeds changed, not because the
// server forgets the validators.
//
// The items' dates are moved forward by the same amount, so that the newest is two hours before
// now and the oldest about three days before: the articles are inside feedd's duplicate window,
// as in a live steady state, where a start loads them into the index. Left in 2015, they would be
// out of the window, and each round's start would spend its first tens of milliseconds deleting
// the first round's fingerprints, which a live feedd prunes an hour's worth at a time.
type roundServer struct {
	round  atomic.Int32
	bodies [2]map[string][]byte
	etags  [2]map[string]string
}

func newRoundServer(feeds []testfeeds.Feed, now time.Time) *roundServer {
	s := &roundServer{}
	shift := now.Add(-2 * time.Hour).Sub(latestPubDate(feeds)).Truncate(time.Second)
	for r, built := range []time.Time{now.Add(-90 * time.Minute), now.Add(-30 * time.Minute)} {
		s.bodies[r] = make(map[string][]byte, len(feeds))
		s.etags[r] = make(map[string]string, len(feeds))
		for _, f := range feeds {
			body := bytes.Replace(f.Body, []byte("<channel>"),
				[]byte("<channel><lastBuildDate>"+built.UTC().Format(time.RFC1123Z)+"</lastBuildDate>"), 1)
			body = movePubDates(body, shift)
			sum := sha256.Sum256(body)
			s.bodies[r][f.Path] = body
			s.etags[r][f.Path] = fmt.Sprintf(`"%x"`, sum[:8])
		}
	}
	return s
}

// pubDates calls fn with the text of each <pubDate> element of body (as testfeeds.RSS writes it,
// RFC 1123 with a numeric zone) and puts what fn returns in its place.
func pubDates(body []byte, fn func(string) string) []byte {
	const open, end = "<pubDate>", "</pubDate>"
	var out []byte
	for {
		i := bytes.Index(body, []byte(open))
		if i < 0 {
			return append(out, body...)
		}
		j := bytes.Index(body[i:], []byte(end))
		if j < 0 {
			return append(out, body...)
		}
		out = append(out, body[:i+len(open)]...)
		out = append(out, fn(string(body[i+len(open):i+j]))...)
		out = append(out, end...)
		body = body[i+j+len(end):]
	}
}

// latestPubDate returns the newest item date of the feeds.
func latestPubDate(feeds []testfeeds.Feed) time.Time {
	var latest time.Time
	for _, f := range feeds {
		pubDates(f.Body, func(s string) string {
			if t, err := time.Parse(time.RFC1123Z, s); err == nil && t.After(latest) {
				latest = t
			}
			return s
		})
	}
	return latest
}

// movePubDates moves each item date of body by d.
func movePubDates(body []byte, d time.Duration) []byte {
	return pubDates(body, func(s string) string {
		t, err := time.Parse(time.RFC1123Z, s)
		if err != nil {
			return s
		}
		return t.Add(d).Format(time.RFC1123Z)
	})
}

// bytes returns the size of all feeds in round r.
func (s *roundServer) bytes(r int) int64 {
	var n int64
	for _, b := range s.bodies[r] {
		n += int64(len(b))
	}
	return n
}

func (s *roundServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	round := s.round.Load()
	body, ok := s.bodies[round][r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := s.etags[round][r.URL.Path]
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	_, _ = w.Write(body)
}
