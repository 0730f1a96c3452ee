package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishRatioLimit is issue 6's acceptance bound: feedd's JetStream publishing reaches at
// least this share of `nats bench js pub async` on the same server with the same message size.
const publishRatioLimit = 0.8

// natsCLIInstall is how to install the natscli version the publish benchmark was written for.
const natsCLIInstall = "go install github.com/nats-io/natscli/nats@v0.5.0"

// The stream the publish benchmark writes to: feedd's stream settings (config.Default) under a
// name and subjects of its own, so that a server given with -nats-url keeps its ARTICLES.
const (
	benchStream  = "FEEDD_BENCH"
	benchSubject = "feedd-bench.new.ar.bench"
)

// publishOptions are the settings of `feedd-bench -publish`.
type publishOptions struct {
	corpusDir string // the shared corpus, for the message sizes
	feeds     int    // feeds whose articles are sized
	perFeed   int
	msgs      int    // messages per run
	runs      int    // runs of each side
	natsCLI   string // the natscli binary; "" looks on PATH, then in $(go env GOPATH)/bin
	natsURL   string // a server to use instead of one started in this process
	log       *slog.Logger
}

// validate checks what is the publish benchmark's own; -feeds, -per-feed and -runs are checked
// with the other options (options.validate) before it starts.
func (o publishOptions) validate() error {
	if o.msgs < 1 {
		return fmt.Errorf("-msgs %d: must be at least 1", o.msgs)
	}
	return nil
}

// runPublish runs the publish benchmark and prints its report, returning the exit code: 0 on
// success, 1 when the benchmark failed, 2 for bad options or a missing natscli.
func runPublish(ctx context.Context, o publishOptions, asJSON bool, stdout, stderr io.Writer) int {
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "feedd-bench: %v\n", err)
		return 2
	}
	rep, err := benchPublish(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "feedd-bench: %v\n", err)
		if errors.Is(err, errNoNatsCLI) {
			return 2
		}
		return 1
	}
	return writeReport(rep, asJSON, stdout, stderr)
}

// errNoNatsCLI is returned when natscli cannot be found.
var errNoNatsCLI = errors.New("natscli (the nats command) not found")

// findNatsCLI returns the natscli binary: explicit when set, else `nats` on PATH, else nats in
// $(go env GOPATH)/bin, where `go install` puts it.
func findNatsCLI(ctx context.Context, explicit string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("-nats-cli %q: %w", explicit, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("nats"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output(); err == nil {
		gopath = strings.TrimSpace(string(out))
	}
	var tried []string
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "nats")
		tried = append(tried, p)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w on PATH nor at %s: install it with `%s`, or name it with -nats-cli",
		errNoNatsCLI, strings.Join(tried, ", "), natsCLIInstall)
}

// sizes describes the messages feedd publishes.
type sizes struct {
	Days     []string `json:"days"`
	Messages int      `json:"messages"`
	// Body sizes are the JSON bodies' lengths; header sizes count the NATS header block as sent
	// ("NATS/1.0\r\n", one "Name: value\r\n" per header, Nats-Msg-Id included, and "\r\n").
	BodyP10   int `json:"body_p10"`
	BodyP50   int `json:"body_p50"`
	BodyP90   int `json:"body_p90"`
	BodyMax   int `json:"body_max"`
	HeaderP50 int `json:"header_p50"`
	HeaderP90 int `json:"header_p90"`
	// sample is a message whose body has the median size: its headers and body are what the
	// benchmark publishes.
	sample store.Message
}

// headerBytes returns the size of h as NATS sends it.
func headerBytes(h map[string]string) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, v := range h {
		n += len(k) + len(": ") + len(v) + len("\r\n")
	}
	return n
}

// measureSizes runs feedd's pipeline over the first n development-day feeds, served from this
// process, into a store in dir, and measures the outbox messages it records: the very bytes
// the relay publishes.
func measureSizes(ctx context.Context, corpusDir, dir string, n, perFeed int) (sizes, error) {
	feeds, _, err := loadFeeds(corpusDir, n, perFeed)
	if err != nil {
		return sizes{}, err
	}
	srv := httptest.NewServer(testfeeds.Handler(feeds))
	defer srv.Close()
	s, err := store.Open(ctx, filepath.Join(dir, "sizes.db"))
	if err != nil {
		return sizes{}, err
	}
	defer s.Close()
	pf := make([]pipeline.Feed, len(feeds))
	for i, f := range feeds {
		pf[i] = pipeline.Feed{ID: f.ID, URL: srv.URL + f.Path, Name: f.Name, Lang: "ar"}
	}
	cfg := config.Default()
	discard := slog.New(slog.DiscardHandler)
	p := pipeline.New(pipeline.Options{Feeds: pf, Concurrency: 16, PerHost: 16, DedupeWindow: cfg.Dedupe.Window,
		Logger: discard}, fetcher.New(fetcher.Options{Timeout: time.Minute}), s,
		pipeline.NewRelay(s, nil, discard, pipeline.NewMetrics(nil)))
	if c := p.PollAll(ctx); c.Failed > 0 {
		return sizes{}, fmt.Errorf("sizing: %d of %d feeds failed", c.Failed, c.Feeds)
	}

	var msgs []store.Message
	for after := int64(0); ; {
		rows, err := s.Pending(ctx, after, 1000)
		if err != nil {
			return sizes{}, fmt.Errorf("sizing: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		msgs = append(msgs, rows...)
		after = rows[len(rows)-1].Seq
	}
	if len(msgs) == 0 {
		return sizes{}, errors.New("sizing: the pipeline recorded no messages")
	}
	slices.SortStableFunc(msgs, func(a, b store.Message) int { return len(a.Data) - len(b.Data) })
	hdrs := make([]int, len(msgs))
	for i, m := range msgs {
		hdrs[i] = headerBytes(m.Header)
	}
	slices.Sort(hdrs)
	at := func(q float64) int { return int(q * float64(len(msgs)-1)) }
	return sizes{
		Days:      days,
		Messages:  len(msgs),
		BodyP10:   len(msgs[at(0.1)].Data),
		BodyP50:   len(msgs[at(0.5)].Data),
		BodyP90:   len(msgs[at(0.9)].Data),
		BodyMax:   len(msgs[len(msgs)-1].Data),
		HeaderP50: hdrs[at(0.5)],
		HeaderP90: hdrs[at(0.9)],
		sample:    msgs[at(0.5)],
	}, nil
}

// The sides of the publish benchmark.
const (
	sideNatsBench    = "nats bench js pub async"
	sidePublishBatch = "feedd bus.PublishBatch"
	sideRelay        = "feedd relay (SQLite outbox -> JetStream)"
)

// publishReport is the publish benchmark's result.
type publishReport struct {
	Machine machine `json:"machine"`
	Noise   noise   `json:"noise"`
	Sizes   sizes   `json:"sizes"`
	// Messages is how many messages each run publishes; BodyBytes their body size, the median.
	Messages  int    `json:"messages"`
	BodyBytes int    `json:"body_bytes"`
	Runs      int    `json:"runs"`
	Server    string `json:"server"`
	Stream    string `json:"stream"`
	NatsCLI   string `json:"nats_cli"`
	// NatsCommand is the natscli command line of a run (the URL and CSV file vary).
	NatsCommand string        `json:"nats_command"`
	Sides       []publishSide `json:"sides"`
	RatioLimit  float64       `json:"ratio_limit"`
}

// publishSide is one side's runs and medians. Ratio is its median rate over nats bench's.
type publishSide struct {
	Name          string    `json:"name"`
	MsgsPerSecond []float64 `json:"msgs_per_second"`
	MedianMsgs    float64   `json:"median_msgs_per_second"`
	MedianMiB     float64   `json:"median_mib_per_second"`
	Ratio         float64   `json:"ratio"`
}

// benchPublish measures feedd's message size, then publishes o.msgs messages of that size o.runs
// times with each of nats bench, bus.PublishBatch and the relay, in turns, on one server.
func benchPublish(ctx context.Context, o publishOptions) (publishReport, error) {
	cli, err := findNatsCLI(ctx, o.natsCLI)
	if err != nil {
		return publishReport{}, err
	}
	version, err := exec.CommandContext(ctx, cli, "--version").Output()
	if err != nil {
		return publishReport{}, fmt.Errorf("%s --version: %w", cli, err)
	}
	work, err := os.MkdirTemp("", "feedd-bench-publish-")
	if err != nil {
		return publishReport{}, err
	}
	defer os.RemoveAll(work)

	o.log.Info("measuring message sizes", "feeds", o.feeds, "per_feed", o.perFeed)
	sz, err := measureSizes(ctx, o.corpusDir, work, o.feeds, o.perFeed)
	if err != nil {
		return publishReport{}, err
	}
	rep := publishReport{
		Machine: describeMachine(), Sizes: sz, Messages: o.msgs, BodyBytes: sz.BodyP50, Runs: o.runs,
		Stream: benchStream, NatsCLI: cli + " " + strings.TrimSpace(string(version)), RatioLimit: publishRatioLimit,
	}

	url := o.natsURL
	if url == "" {
		ns, err := startNATS(filepath.Join(work, "nats"))
		if err != nil {
			return publishReport{}, err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		url = ns.ClientURL()
		rep.Server = "nats-server v" + server.VERSION + " in this process (loopback TCP), file store under " + os.TempDir()
	} else {
		rep.Server = url
	}
	b, err := bus.Connect(ctx, bus.Options{URL: url, Name: "feedd-bench"})
	if err != nil {
		return publishReport{}, err
	}
	defer b.Close()
	cfg := config.Default().NATS
	if err := b.EnsureStream(ctx, bus.StreamConfig{Name: benchStream, Subjects: []string{"feedd-bench.>"},
		Replicas: cfg.Replicas, DuplicateWindow: cfg.DuplicateWindow, MaxAge: cfg.MaxAge}); err != nil {
		return publishReport{}, err
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return publishReport{}, fmt.Errorf("connecting to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return publishReport{}, err
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), benchStream)

	natsArgs := natsBenchArgs(o.msgs, sz.sample)
	rep.NatsCommand = "nats -s URL " + strings.Join(quoteArgs(natsArgs), " ") + " --csv FILE"
	sides := []string{sideNatsBench, sidePublishBatch, sideRelay}
	rates := map[string][]float64{}
	rep.Noise.LoadStart = loadAvg()
	busy0, ok0 := busyJiffies()
	ours0 := selfCPU() + childrenCPU()
	start := time.Now()
	for run := range o.runs {
		for k := range sides {
			side := sides[(run+k)%len(sides)] // each run starts with another side
			if err := purge(ctx, js); err != nil {
				return publishReport{}, err
			}
			var rate float64
			switch side {
			case sideNatsBench:
				csvFile := filepath.Join(work, fmt.Sprintf("nats-%d.csv", run))
				rate, err = runNatsBench(ctx, cli, url, natsArgs, csvFile)
			case sidePublishBatch:
				rate, err = runPublishBatch(ctx, b, sz.sample, fmt.Sprintf("%x-%d-", time.Now().UnixNano(), run), o.msgs)
			case sideRelay:
				rate, err = runRelay(ctx, b, sz.sample, filepath.Join(work, fmt.Sprintf("relay-%d.db", run)), o.msgs)
			}
			if err != nil {
				return publishReport{}, fmt.Errorf("%s, run %d: %w", side, run+1, err)
			}
			if n, err := streamCount(ctx, js, benchStream); err != nil {
				return publishReport{}, err
			} else if n != uint64(o.msgs) {
				return publishReport{}, fmt.Errorf("%s, run %d: stream %s holds %d messages, want %d", side, run+1, benchStream, n, o.msgs)
			}
			o.log.Info("run", "side", side, "run", run+1, "msgs_per_second", int(rate))
			rates[side] = append(rates[side], rate)
		}
	}
	rep.Noise.WindowSeconds = time.Since(start).Seconds()
	if busy1, ok1 := busyJiffies(); ok0 && ok1 {
		others := time.Duration(busy1-busy0)*time.Second/userHZ - (selfCPU() + childrenCPU() - ours0)
		rep.Noise.OtherCPUSeconds = max(0, others.Seconds())
	}
	rep.Noise.LoadEnd = loadAvg()

	for _, name := range sides {
		s := publishSide{Name: name, MsgsPerSecond: rates[name], MedianMsgs: median(rates[name])}
		s.MedianMiB = s.MedianMsgs * float64(sz.BodyP50) / (1 << 20)
		rep.Sides = append(rep.Sides, s)
	}
	for i := range rep.Sides {
		if ref := rep.Sides[0].MedianMsgs; ref > 0 {
			rep.Sides[i].Ratio = rep.Sides[i].MedianMsgs / ref
		}
	}
	return rep, nil
}

// natsBenchArgs returns the natscli arguments that publish n messages shaped like m, to the
// benchmark stream (which it neither creates nor purges): a body of m's size, m's headers
// (Nats-Msg-Id, which varies, comes from --dedup) and nats bench's default batch of 500.
func natsBenchArgs(n int, m store.Message) []string {
	args := []string{"bench", "js", "pub", "async", benchSubject, "--stream", benchStream,
		"--msgs", strconv.Itoa(n), "--size", strconv.Itoa(len(m.Data)), "--dedup", "--no-progress"}
	for _, k := range slices.Sorted(maps.Keys(m.Header)) {
		if k != "Nats-Msg-Id" {
			args = append(args, "-H", k+":"+m.Header[k])
		}
	}
	return args
}

func quoteArgs(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if strings.ContainsAny(a, " :\"'") {
			q[i] = strconv.Quote(a)
		}
	}
	return q
}

// runNatsBench runs natscli and returns the publish rate it measured, in messages per second.
func runNatsBench(ctx context.Context, cli, url string, args []string, csvFile string) (float64, error) {
	cmd := exec.CommandContext(ctx, cli, append([]string{"-s", url}, append(args, "--csv", csvFile)...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w: %s", cli, err, tail(out.String(), 2000))
	}
	f, err := os.Open(csvFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseNatsCSV(f)
}

// parseNatsCSV reads the rate of a one-client `nats bench --csv` file: its MsgsPerSec column.
func parseNatsCSV(r io.Reader) (float64, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("nats bench csv: %w", err)
	}
	if len(recs) != 2 {
		return 0, fmt.Errorf("nats bench csv: got %d lines, want a header and one client", len(recs))
	}
	col := slices.Index(recs[0], "MsgsPerSec")
	if col < 0 || col >= len(recs[1]) {
		return 0, fmt.Errorf("nats bench csv: no MsgsPerSec column in %q", recs[0])
	}
	rate, err := strconv.ParseFloat(recs[1][col], 64)
	if err != nil || rate <= 0 {
		return 0, fmt.Errorf("nats bench csv: MsgsPerSec %q is not a positive number", recs[1][col])
	}
	return rate, nil
}

// benchMessages returns n messages shaped like m, with ids that start with prefix and are
// padded to m's id length.
func benchMessages(m store.Message, prefix string, n int) []bus.Message {
	width := max(len(m.MsgID), len(prefix)+8)
	msgs := make([]bus.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("%s%0*x", prefix, width-len(prefix), i)
		h := maps.Clone(m.Header)
		for _, k := range []string{"Nats-Msg-Id", "ce-id"} {
			if _, ok := h[k]; ok {
				h[k] = id
			}
		}
		msgs[i] = bus.Message{Subject: benchSubject, ID: id, Header: h, Data: m.Data}
	}
	return msgs
}

// runPublishBatch publishes n messages shaped like m in one PublishBatch call and returns the
// rate, in messages per second, from the call to the last acknowledgement.
func runPublishBatch(ctx context.Context, b *bus.Bus, m store.Message, prefix string, n int) (float64, error) {
	msgs := benchMessages(m, prefix, n)
	start := time.Now()
	errs := b.PublishBatch(ctx, msgs, 0)
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// runRelay records n messages shaped like m in a new store at path (not timed), then relays
// them to JetStream and returns the rate, in messages per second, from the relay's first read
// of the outbox to the last row marked sent.
func runRelay(ctx context.Context, b *bus.Bus, m store.Message, path string, n int) (float64, error) {
	s, err := store.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer func() {
		s.Close()
		// Runs must not leave each other 150 MB of files to write back.
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			os.Remove(f)
		}
	}()
	if err := fillOutbox(ctx, s, m, n); err != nil {
		return 0, fmt.Errorf("filling the outbox: %w", err)
	}
	discard := slog.New(slog.DiscardHandler)
	relay := pipeline.NewRelay(s, b, discard, pipeline.NewMetrics(nil))
	start := time.Now()
	if err := relay.Flush(ctx); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	if got := relay.Published(); got != int64(n) {
		return 0, fmt.Errorf("relay published %d messages, want %d", got, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// fillOutbox records n messages shaped like m, a poll's worth (20) to a transaction, as the
// pipeline writes them.
func fillOutbox(ctx context.Context, s *store.Store, m store.Message, n int) error {
	const perPoll = 20
	now := time.Now().UTC()
	msgs := benchMessages(m, fmt.Sprintf("%x-", now.UnixNano()), n)
	for len(msgs) > 0 {
		poll := msgs[:min(perPoll, len(msgs))]
		msgs = msgs[len(poll):]
		batch, err := s.Begin(ctx)
		if err != nil {
			return err
		}
		for _, msg := range poll {
			a := store.Article{ID: msg.ID, FeedID: "bench", CanonicalURL: "https://bench.example/" + msg.ID, FetchedAt: now}
			row := store.Message{MsgID: msg.ID, Subject: msg.Subject, Header: msg.Header, Data: msg.Data, CreatedAt: now}
			if _, err := batch.Insert(ctx, a, row); err != nil {
				batch.Rollback()
				return err
			}
		}
		if err := batch.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func purge(ctx context.Context, js jetstream.JetStream) error {
	st, err := js.Stream(ctx, benchStream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", benchStream, err)
	}
	if err := st.Purge(ctx); err != nil {
		return fmt.Errorf("purging stream %s: %w", benchStream, err)
	}
	return nil
}

// streamCount returns the number of messages in the named stream.
func streamCount(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	return info.State.Msgs, nil
}

// writeText prints the publish report for people.
func (r publishReport) writeText(w io.Writer) {
	s := r.Sizes
	fmt.Fprintf(w, "message: body %d bytes, the median of %d messages feedd made from SaudiNewsNet %s (p10 %d, p90 %d, max %d);\n",
		r.BodyBytes, s.Messages, strings.Join(s.Days, ", "), s.BodyP10, s.BodyP90, s.BodyMax)
	fmt.Fprintf(w, "         headers %d bytes (p90 %d): Nats-Msg-Id, Content-Type, ce-*; nats bench sends the same, with a shorter Nats-Msg-Id\n",
		s.HeaderP50, s.HeaderP90)
	fmt.Fprintf(w, "load:    %d messages a run, %d runs of each side, in turns; stream %s, file storage, feedd's settings\n",
		r.Messages, r.Runs, r.Stream)
	fmt.Fprintf(w, "server:  %s\n", r.Server)
	fmt.Fprintf(w, "natscli: %s\n         %s\n", r.NatsCLI, r.NatsCommand)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s, %s %s\n",
		r.Machine.CPUs, r.Machine.CPUModel, mib(r.Machine.MemBytes), r.Machine.GoVersion, r.Machine.OS)
	fmt.Fprintf(w, "noise:   other processes used %.1f of %.1f CPU-seconds over the runs; load %s at start, %s at end\n\n",
		r.Noise.OtherCPUSeconds, float64(r.Machine.CPUs)*r.Noise.WindowSeconds, r.Noise.LoadStart, r.Noise.LoadEnd)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmsgs/s\tMiB/s\tratio\truns (msgs/s)\t")
	for _, sd := range r.Sides {
		runs := make([]string, len(sd.MsgsPerSecond))
		for i, x := range sd.MsgsPerSecond {
			runs[i] = strconv.Itoa(int(x))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.2f\t%s\t\n", sd.Name, sd.MedianMsgs, sd.MedianMiB, sd.Ratio, strings.Join(runs, " "))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, sd := range r.Sides[1:] {
		verdict := "meets"
		if sd.Ratio < r.RatioLimit {
			verdict = "does NOT meet"
		}
		fmt.Fprintf(w, "%s: %.0f%% of nats bench (%s issue 6's %.0f%%)\n", sd.Name, 100*sd.Ratio, verdict, 100*r.RatioLimit)
	}
	fmt.Fprintln(w, "medians of the runs; MiB/s counts message bodies, as nats bench does")
}
