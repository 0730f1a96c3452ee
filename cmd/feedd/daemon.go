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
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/ops"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Files under data_dir.
const (
	dbFile       = "feedd.db"
	natsDir      = "nats"
	userAgentURL = "https://github.com/feedd/feedd"
)

// summary is what `run --once` prints.
type summary struct {
	pipeline.Counts
	Published int64 `json:"published"`
	Pending   int64 `json:"pending"`
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	path := configFlag(fs)
	once := fs.Bool("once", false, "poll every feed once, publish everything, print a JSON summary and exit")
	timeout := fs.Duration("timeout", 10*time.Minute, "with --once: the most time to spend in all")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	switch {
	case timeoutSet && !*once:
		return &exitError{exitBadConfig, errors.New("--timeout goes with --once")}
	case *timeout <= 0:
		return &exitError{exitBadConfig, fmt.Errorf("--timeout %v: must be positive", *timeout)}
	}
	var hangup chan os.Signal
	if !*once {
		// From now on SIGHUP reloads the feed list rather than ending the process.
		hangup = make(chan os.Signal, 1)
		signal.Notify(hangup, syscall.SIGHUP)
		defer signal.Stop(hangup)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	d, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	if *once {
		return d.once(ctx, *timeout, stdout)
	}
	return d.run(ctx, reloadOnHangup(ctx, hangup, *path, cfg, log))
}

// reloadOnHangup reads the configuration file again on each signal of hangup and sends its feed
// list on the channel it returns. A configuration that fails to load or validate is refused,
// with its problems logged, and the current list is kept. Only the feed list is reloaded: a
// change to any other key is logged as needing a restart.
func reloadOnHangup(ctx context.Context, hangup <-chan os.Signal, path string, current config.Config, log *slog.Logger) <-chan []pipeline.Feed {
	out := make(chan []pipeline.Feed)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hangup:
			}
			log.Info("SIGHUP: reloading the feed list", "config", path)
			cfg, err := config.Load(path, os.Environ())
			var feeds []pipeline.Feed
			if err == nil {
				feeds, err = pipelineFeeds(cfg.Feeds)
			}
			if err != nil {
				var ps *config.Problems
				if errors.As(err, &ps) {
					for _, p := range *ps {
						log.Error("invalid configuration", "problem", p.String())
					}
				}
				log.Error("configuration reload refused: the feed list stays as it was", "config", path, "err", err)
				continue
			}
			if others := changedKeys(current, cfg); len(others) > 0 {
				log.Warn("only the feed list is reloaded: restart feedd to apply the other changes", "changed", others)
			}
			select {
			case out <- feeds:
				current.Feeds = cfg.Feeds
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// changedKeys names the top-level sections other than feeds that differ between a and b.
func changedKeys(a, b config.Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if f.Name == "Feeds" || !f.IsExported() {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" {
				name = tag
			}
			out = append(out, name)
		}
	}
	return out
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if strings.EqualFold(c.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// daemon holds the running parts, in the order they are stopped.
type daemon struct {
	cfg      config.Config
	log      *slog.Logger
	store    *store.Store
	embedded *bus.Embedded
	bus      *bus.Bus
	ops      *ops.Server
	relay    *pipeline.Relay
	relayRef atomic.Pointer[pipeline.Relay] // for NATS callbacks, which may run before relay is set
	pipe     *pipeline.Pipeline

	streamReady chan struct{}
	bg          sync.WaitGroup
	pending     int64 // outbox depth at close
}

// start opens the database, starts or connects to NATS, ensures the stream and the ops listener.
// It fails only for what cannot get better by waiting: an unusable database, a port in use, an
// embedded server that cannot start. An unreachable remote NATS is waited for in the background.
func start(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, log: log, streamReady: make(chan struct{})}
	defer func() {
		if err != nil {
			d.close(context.Background())
		}
	}()

	dbPath := filepath.Join(cfg.DataDir, dbFile)
	if d.store, err = store.Open(ctx, dbPath); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := pipeline.NewMetrics(reg)
	natsUp := prometheus.NewGauge(prometheus.GaugeOpts{Name: "feedd_nats_connected", Help: "1 while connected to NATS."})
	natsEvents := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feedd_nats_connection_events_total", Help: "NATS connection events (connect, disconnect).",
	}, []string{"event"})
	reg.MustRegister(natsUp, natsEvents)

	bopts := bus.Options{
		Name:   "feedd",
		Logger: log,
		OnConnect: func() {
			natsUp.Set(1)
			natsEvents.WithLabelValues("connect").Inc()
			if r := d.relayRef.Load(); r != nil {
				r.Reconnected()
			}
		},
		OnDisconnect: func() {
			natsUp.Set(0)
			natsEvents.WithLabelValues("disconnect").Inc()
		},
	}
	if cfg.NATS.URL == "" {
		d.embedded, err = bus.StartEmbedded(bus.EmbeddedOptions{
			Listen:   cfg.NATS.Listen,
			StoreDir: filepath.Join(cfg.DataDir, natsDir),
			Logger:   log,
		})
		if err != nil {
			return nil, err
		}
		bopts.Embedded = d.embedded
		if u := d.embedded.ClientURL(); u != "" {
			log.Info("embedded NATS server ready", "url", u)
		} else {
			log.Info("embedded NATS server ready (in-process only)")
		}
	} else {
		bopts.URL, bopts.Creds = cfg.NATS.URL, cfg.NATS.Creds
	}
	if d.bus, err = bus.Connect(ctx, bopts); err != nil {
		return nil, err
	}
	if d.bus.Connected() {
		natsUp.Set(1)
	}

	d.relay = pipeline.NewRelay(d.store, d.bus, log, metrics)
	d.relayRef.Store(d.relay)
	feeds, err := pipelineFeeds(cfg.Feeds)
	if err != nil {
		return nil, err
	}
	fetch := fetcher.New(fetcher.Options{
		Timeout:  cfg.Poll.Timeout,
		MaxBody:  int64(cfg.Poll.MaxBody),
		MaxItems: cfg.Poll.MaxItems,

		DenyPrivateNetworks: cfg.Poll.DenyPrivateNetworks,
		UserAgent:           userAgent(cfg),
	})
	d.pipe = pipeline.New(pipeline.Options{
		Feeds:        feeds,
		Interval:     cfg.Poll.Interval,
		Concurrency:  cfg.Poll.Concurrency,
		PerHost:      cfg.Poll.PerHost,
		HostGap:      cfg.Poll.HostGap,
		Policy:       pipeline.Policy{MinInterval: cfg.Poll.MinInterval, MaxInterval: cfg.Poll.MaxInterval},
		DedupeWindow: cfg.Dedupe.Window,
		Logger:       log,
		Metrics:      metrics,
	}, fetch, d.store, d.relay)

	if err := d.pipe.Restore(ctx); err != nil {
		return nil, err
	}

	if cfg.HTTP.Listen != "" {
		checks := map[string]ops.Check{
			"database": d.store.Ping,
			"nats": func(context.Context) error {
				if !d.bus.Connected() {
					return errors.New("not connected")
				}
				select {
				case <-d.streamReady:
				default:
					return fmt.Errorf("stream %s not ensured yet", cfg.NATS.Stream)
				}
				return d.relay.Health()
			},
		}
		if d.ops, err = ops.Listen(cfg.HTTP.Listen, reg, checks, log); err != nil {
			return nil, err
		}
		d.bg.Go(d.ops.Serve)
		log.Info("ops listener ready", "addr", d.ops.Addr(), "paths", "/healthz /readyz /metrics")
	}
	return d, nil
}

// pipelineFeeds turns the configured feeds into the pipeline's.
func pipelineFeeds(list []config.Feed) ([]pipeline.Feed, error) {
	feeds := make([]pipeline.Feed, len(list))
	for i, f := range list {
		feeds[i] = pipeline.Feed{ID: f.ID, URL: f.URL, Name: f.Name, Lang: f.Language, Interval: f.Interval, Charset: f.Charset}
		if f.Timezone != "" {
			var err error
			if feeds[i].Zone, err = time.LoadLocation(f.Timezone); err != nil {
				return nil, fmt.Errorf("feed %s: %w", f.ID, err) // validated by config already
			}
		}
	}
	return feeds, nil
}

func userAgent(cfg config.Config) string {
	if cfg.Poll.UserAgent != "" {
		return cfg.Poll.UserAgent
	}
	return config.DefaultUserAgent(version)
}

// ensureStream creates or updates the stream, retrying until it succeeds or ctx ends: a remote
// NATS that is down at start is waited for, not fatal.
func (d *daemon) ensureStream(ctx context.Context) {
	c := bus.StreamConfig{
		Name:            d.cfg.NATS.Stream,
		Subjects:        []string{article.SubjectPrefix + ".>"},
		Replicas:        d.cfg.NATS.Replicas,
		DuplicateWindow: d.cfg.NATS.DuplicateWindow,
		MaxAge:          d.cfg.NATS.MaxAge,
	}
	wait := time.Second
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := d.bus.EnsureStream(actx, c)
		cancel()
		if err == nil {
			d.log.Info("stream ready", "stream", c.Name, "subjects", c.Subjects[0], "replicas", c.Replicas,
				"duplicate_window", c.DuplicateWindow, "max_age", c.MaxAge)
			close(d.streamReady)
			return
		}
		if errors.Is(err, bus.ErrNotConnected) || errors.Is(err, context.DeadlineExceeded) {
			d.log.Warn("cannot ensure stream yet, retrying", "stream", c.Name, "err", err, "retry_in", wait)
			wait = min(2*wait, 30*time.Second)
		} else {
			// The server refused (replicas beyond the cluster, subjects taken by another
			// stream...): only the operator can fix it, so say it loudly, and keep asking.
			d.log.Error("stream configuration refused, retrying", "stream", c.Name, "err", err, "retry_in", wait)
			wait = min(2*wait, 5*time.Minute)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// startRelay runs the stream setup and then the outbox relay in the background until ctx ends.
func (d *daemon) startRelay(ctx context.Context) {
	d.bg.Go(func() {
		d.ensureStream(ctx)
		if ctx.Err() == nil {
			_ = d.relay.Run(ctx)
		}
	})
}

// run is the daemon: poll on schedule until ctx ends, then stop within shutdown_timeout of it.
// Each feed list on reload replaces the one being polled.
func (d *daemon) run(ctx context.Context, reload <-chan []pipeline.Feed) error {
	d.log.Info("feedd started", "version", version, "feeds", len(d.cfg.Feeds), "nats", natsTarget(d.cfg),
		"data_dir", d.cfg.DataDir)
	relayCtx, stopRelay := context.WithCancel(context.Background())
	d.startRelay(relayCtx)
	stopping := make(chan time.Time, 1)
	context.AfterFunc(ctx, func() { stopping <- time.Now() })
	err := d.pipe.RunWithReload(ctx, reload) // returns once the polls in flight have been cancelled
	deadline := (<-stopping).Add(d.cfg.ShutdownTimeout)
	d.log.Info("shutting down", "timeout", d.cfg.ShutdownTimeout)
	d.shutdown(deadline, stopRelay)
	return err
}

// once polls every feed once and waits until everything recorded is acknowledged, or timeout.
func (d *daemon) once(ctx context.Context, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	relayCtx, stopRelay := context.WithCancel(context.Background())
	d.startRelay(relayCtx)

	counts := d.pipe.PollAll(ctx)
	drainErr := d.relay.WaitDrained(ctx, false)
	d.shutdown(time.Now().Add(d.cfg.ShutdownTimeout), stopRelay)

	sum := summary{Counts: counts, Published: d.relay.Published(), Pending: d.pending}
	out, _ := json.Marshal(sum)
	fmt.Fprintf(stdout, "%s\n", out)
	if drainErr != nil {
		return &exitError{exitFailure, fmt.Errorf("publishing did not complete: %d articles left in the outbox for the next run: %w", d.pending, drainErr)}
	}
	return nil
}

// shutdown stops everything by deadline: the ops listener first, then the relay once it has
// published what it can (while NATS is connected, keeping two seconds for the rest), then the
// NATS connection, the embedded server and the database.
func (d *daemon) shutdown(deadline time.Time, stopRelay context.CancelFunc) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if d.ops != nil {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = d.ops.Shutdown(sctx)
		cancel()
	}
	flushCtx, cancelFlush := context.WithDeadline(ctx, deadline.Add(-2*time.Second))
	if err := d.relay.WaitDrained(flushCtx, true); err != nil {
		d.log.Warn("outbox not fully published before shutdown", "err", err)
	}
	cancelFlush()
	stopRelay()
	done := make(chan struct{})
	go func() { d.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	d.close(ctx)
}

// close releases everything that was started, in reverse order, within ctx.
func (d *daemon) close(ctx context.Context) {
	if d.store != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		n, err := d.store.OutboxDepth(dctx)
		cancel()
		switch {
		case err != nil:
			d.log.Error("reading the outbox depth", "err", err)
		case n > 0:
			d.log.Info("articles left in the outbox for the next start", "count", n)
			d.pending = n
		}
	}
	if d.bus != nil {
		d.bus.CloseContext(ctx)
	}
	if d.embedded != nil && !d.embedded.ShutdownContext(ctx) {
		d.log.Warn("embedded NATS server still stopping at the shutdown deadline")
	}
	if d.store != nil {
		if err := d.store.Close(); err != nil {
			d.log.Error("closing database", "err", err)
		}
	}
	d.log.Info("stopped")
}
