// Command feedd-bench measures `feedd run --once` against the work that cannot be avoided.
//
// It serves feeds made from the SaudiNewsNet development days (2015-08-01, -02 and -03 of
// ../shared/corpus) on a local HTTP server and times, in turns, over several runs:
//
//   - the floor: the same fetches, with gofeed parsing alone, in this process;
//   - feedd: `feedd run --once` as a child process, publishing to a NATS JetStream server
//     started in this process, with a fresh store and a fresh data_dir each run.
//
// It prints the median wall time of each, their ratio, articles per second and peak memory.
//
// With -publish it measures JetStream publishing instead (issue 6): the size of the messages
// feedd makes from those days, then, in turns on one server with the same message size, stream
// settings and file storage, `nats bench js pub async` (natscli, from PATH or GOPATH/bin),
// bus.PublishBatch and the outbox relay from a SQLite file. It prints each one's median rate
// and feedd's ratios to nats bench.
//
// Usage:
//
//	go run ./cmd/feedd-bench [-feeds 200] [-per-feed 20] [-runs 3] [-concurrency 16] [-json]
//	go run ./cmd/feedd-bench -repeat [-runs 5] [-baseline OLD_FEEDD] [-perf FILE] [-json]
//	go run ./cmd/feedd-bench -publish [-msgs 20000] [-runs 5] [-nats-cli nats] [-nats-url URL] [-json]
//
// See docs/BENCHMARKS.md for what is measured and how.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/feedd/feedd/internal/testfeeds"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the command line, runs the benchmark and prints its report. It returns the exit
// code: 0 on success, 1 when the benchmark failed, 2 for a bad command line or a missing corpus.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feedd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: feedd-bench [flags]\n\n"+
			"Times `feedd run --once` against the gofeed parse-only floor on local SaudiNewsNet feeds;\n"+
			"with -publish, feedd's JetStream publishing against `nats bench js pub async`.\n\n")
		fs.PrintDefaults()
	}
	o := defaultOptions()
	fs.IntVar(&o.feeds, "feeds", o.feeds, "number of feeds served (the reference load is 200)")
	fs.IntVar(&o.perFeed, "per-feed", o.perFeed, "full-text articles per feed, at most (the last feed of an outlet may hold fewer)")
	fs.IntVar(&o.runs, "runs", o.runs, "runs of each side, interleaved; the figures are medians")
	fs.IntVar(&o.concurrency, "concurrency", o.concurrency, "fetches at once, for the floor and for feedd (poll.concurrency and poll.per_host)")
	fs.StringVar(&o.feeddBin, "feedd", "", "a feedd `binary` to run instead of building ./cmd/feedd")
	fs.StringVar(&o.baseline, "baseline", "", "another feedd `binary` (an earlier commit's) to run in the same turns as feedd, for a side-by-side comparison")
	fs.StringVar(&o.perfOut, "perf", "", "after the measured runs, run feedd once more under perf record -g, writing this `file` (not counted in the figures)")
	fs.BoolVar(&o.repeat, "repeat", false, "time a second `feedd run --once` over the same feeds, served in full again, where every item is a repeat (issue 11's steady state)")
	publish := fs.Bool("publish", false, "measure JetStream publishing (nats bench js pub async, bus.PublishBatch, the outbox relay) instead")
	msgs := fs.Int("msgs", 20_000, "with -publish: messages per run")
	natsCLI := fs.String("nats-cli", "", "with -publish: the natscli `binary` (default: nats on PATH, then in $(go env GOPATH)/bin)")
	natsURL := fs.String("nats-url", "", "with -publish: publish to this NATS `server` instead of one started in this process")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	verbose := fs.Bool("v", false, "log each run on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feedd-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	o.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dir, ok := testfeeds.CorpusDir()
	if !ok {
		if dir == "" {
			dir = "../shared/corpus"
		}
		fmt.Fprintf(stderr, "feedd-bench: corpus not found at %s: the benchmark serves the SaudiNewsNet "+
			"development days from ../shared/corpus beside the repository; run it from a clone that has it\n", dir)
		return 2
	}
	o.corpusDir = dir
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "feedd-bench: %v\n", err)
		return 2
	}
	if *publish {
		return runPublish(ctx, publishOptions{corpusDir: dir, feeds: o.feeds, perFeed: o.perFeed, msgs: *msgs,
			runs: o.runs, natsCLI: *natsCLI, natsURL: *natsURL, log: o.log}, *asJSON, stdout, stderr)
	}
	mod, err := moduleDir()
	if err != nil {
		fmt.Fprintf(stderr, "feedd-bench: %v\n", err)
		return 2
	}
	o.moduleDir = mod

	rep, err := bench(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "feedd-bench: %v\n", err)
		return 1
	}
	return writeReport(rep, *asJSON, stdout, stderr)
}

// writeReport prints a report as indented JSON or as text for people, and returns the exit
// status.
func writeReport(rep interface{ writeText(io.Writer) }, asJSON bool, stdout, stderr io.Writer) int {
	if !asJSON {
		rep.writeText(stdout)
		return 0
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(stderr, "feedd-bench: %v\n", err)
		return 1
	}
	return 0
}
