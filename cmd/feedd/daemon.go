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
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/extract"
	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/internal/datadir"
	"github.com/feedd/feedd/ops"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Files under data_dir.
const (
	dbFile       = "feedd.db"
	snapshotFile = "index.snap" // the duplicate index; deleting it only slows the next start
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
	pt, err := partsOf(cfg)
	if err != nil {
		return &exitError{exitBadConfig, err}
	}
	if *once && pt.cluster != nil {
		return &exitError{exitBadConfig, errors.New("run --once polls and publishes without the cluster's lease: with cluster.enabled, run the daemon (feedd run)")}
	}
	log := newLogger(pt, stderr)
	lock, err := lockDataDir(cfg, *once)
	if err != nil {
		return err
	}
	defer lock.Release()
	// A daemon that cannot go on (a stream it must not change) stops itself with a cause.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	d, err := start(ctx, cfg, pt, log)
	if err != nil {
		return err
	}
	d.stop = stop
	if d.embedded != nil && d.embedded.ClientURL() != "" {
		if err := lock.SetNATSURL(d.embedded.ClientURL()); err != nil {
			log.Warn("feedd tail will not find this daemon's NATS listener", "err", err)
		}
	}
	if *once {
		err = d.once(ctx, *timeout, stdout)
	} else {
		err = d.run(ctx, reloadOnHangup(ctx, hangup, *path, cfg, log, d.feedsReloaded))
	}
	var ee *exitError
	if cause := context.Cause(ctx); errors.As(cause, &ee) {
		return ee
	}
	return err
}

// reloadOnHangup reads the configuration file again on each signal of hangup and sends its feed
// list on the channel it returns. A configuration that fails to load or validate is refused,
// with its problems logged, and the current list is kept. Only the feed list is reloaded: a
// change to any other key is logged as needing a restart.
func reloadOnHangup(ctx context.Context, hangup <-chan os.Signal, path string, current config.Config, log *slog.Logger,
	reloaded func([]config.Feed)) <-chan []pipeline.Feed {
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
				reloaded(cfg.Feeds)
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// feedsReloaded tells the parts that list the feeds, besides the pipeline, of a reloaded list.
func (d *daemon) feedsReloaded(list []config.Feed) {
	d.feedWatch.Reset(len(list))
	infos := feedInfos(list)
	d.statusFeeds.Store(&infos)
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

// lockDataDir creates data_dir and locks it for this process: a second daemon on it would share
// the database and the embedded server's store.
func lockDataDir(cfg config.Config, once bool) (*datadir.Lock, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	cmd := "feedd run"
	if once {
		cmd += " --once"
	}
	return datadir.Acquire(cfg.DataDir, datadir.Owner{Command: cmd})
}

func newLogger(p parts, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: p.logLevel}
	if p.logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// daemon holds the running parts, in the order they are stopped.
type daemon struct {
	cfg      config.Config
	parts    parts
	log      *slog.Logger
	store    *store.Store
	embedded *bus.Embedded
	bus      *bus.Bus
	ops      *ops.Server
	relay    *pipeline.Relay
	relayRef atomic.Pointer[pipeline.Relay] // for NATS callbacks, which may run before relay is set
	pipe     *pipeline.Pipeline
	// feedWatch says when every feed is failing at once (no network).
	feedWatch *ops.FeedWatch
	// statusFeeds are the feeds the status page lists: the configured ones, then the reloaded.
	statusFeeds atomic.Pointer[[]ops.FeedInfo]

	streamReady chan struct{}
	natsBack    chan struct{} // the connection to NATS was made; holds one such news
	// stop ends the daemon with a cause, an *exitError, when it cannot go on; nil in tests
	// that start a daemon without a command.
	stop    context.CancelCauseFunc
	bg      sync.WaitGroup
	pending int64 // outbox depth at close
	// replica is the cluster side of the daemon in cluster mode, nil on one machine.
	replica *replica
	// indexDone is closed when the duplicate index's restore has ended, with indexErr its
	// error: on one machine the restore runs while the first polls fetch (see start).
	indexDone chan struct{}
	indexErr  error
	// stopRestore cancels the restore: at a shutdown or a --once timeout, and when start fails.
	stopRestore context.CancelFunc
}

// waitIndex waits for the duplicate index's restore to end and returns its error. A restore
// cut short because ctx ended (a shutdown, the --once timeout) is no failure of its own.
func (d *daemon) waitIndex(ctx context.Context) error {
	<-d.indexDone
	if ctx.Err() != nil && (errors.Is(d.indexErr, context.Canceled) || errors.Is(d.indexErr, context.DeadlineExceeded)) {
		return nil
	}
	return d.indexErr
}

// pollContext returns ctx, cancelled with the restore's error if the duplicate index cannot be
// restored: the polls in flight then stop, as at shutdown, and leave their feeds' state alone.
func (d *daemon) pollContext(ctx context.Context) (context.Context, context.CancelFunc) {
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-d.indexDone:
			if d.indexErr != nil && parent.Err() == nil {
				d.log.Error("the duplicate index could not be restored: stopping", "err", d.indexErr)
				cancel(d.indexErr)
			}
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// start opens the database, starts or connects to NATS, ensures the stream and the ops listener.
// It fails only for what cannot get better by waiting: an unusable database, a port in use, an
// embedded server that cannot start. An unreachable remote NATS is waited for in the background.
func start(ctx context.Context, cfg config.Config, pt parts, log *slog.Logger) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, parts: pt, log: log, streamReady: make(chan struct{}), natsBack: make(chan struct{}, 1),
		indexDone: make(chan struct{}), stopRestore: func() {}}
	defer func() {
		if err != nil {
			d.close(context.Background(), true)
		}
	}()

	if d.store, err = store.Open(ctx, pt.dbPath); err != nil {
		return nil, err
	}
	var pipeStore pipeline.Store = d.store
	if pt.cluster != nil {
		// A replica's state is what the stream holds: what it recorded as leader but did not
		// publish before it stopped is read again from the feeds by whoever leads.
		ids, err := d.store.DropUnsent(ctx)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			log.Info("cluster: dropped the articles recorded but not published before this start", "count", len(ids))
		}
		id := pt.cluster.id
		if id == "" {
			id = replicaID(os.Getenv)
		}
		d.replica = newReplica(d, *pt.cluster, id)
		pipeStore = clusterStore{Store: d.store, state: d.replica.state}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := pipeline.NewMetrics(reg)
	natsUp := prometheus.NewGauge(prometheus.GaugeOpts{Name: "feedd_nats_connected", Help: "1 while connected to NATS."})
	natsEvents := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feedd_nats_connection_events_total", Help: "NATS connection events (connect, disconnect).",
	}, []string{"event"})
	reg.MustRegister(natsUp, natsEvents)
	if d.replica != nil {
		reg.MustRegister(d.replica.metrics.Collectors()...)
	}

	bopts := pt.bus
	bopts.Logger = log
	bopts.OnConnect = func() {
		natsUp.Set(1)
		natsEvents.WithLabelValues("connect").Inc()
		if r := d.relayRef.Load(); r != nil {
			r.Reconnected()
		}
		select { // a stream setup waiting for NATS tries again now
		case d.natsBack <- struct{}{}:
		default:
		}
	}
	bopts.OnDisconnect = func() {
		natsUp.Set(0)
		natsEvents.WithLabelValues("disconnect").Inc()
	}
	if pt.embedded != nil {
		eopts := *pt.embedded
		eopts.Logger = log
		d.embedded, err = bus.StartEmbedded(eopts)
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("nats.listen %s is taken, by another NATS server or a feedd on another data_dir: set nats.listen (FEEDD_NATS_LISTEN) to a free address, or to \"\" for no listener: %w", eopts.Listen, err)
		}
		if err != nil {
			return nil, err
		}
		bopts.Embedded = d.embedded
		if u := d.embedded.ClientURL(); u != "" {
			log.Info("embedded NATS server ready", "url", u)
		} else {
			log.Info("embedded NATS server ready (in-process only)")
		}
	}
	if d.bus, err = bus.Connect(ctx, bopts); err != nil {
		return nil, err
	}
	if d.bus.Connected() {
		natsUp.Set(1)
	}

	d.relay = pipeline.NewRelay(d.store, d.bus, log, metrics)
	d.relayRef.Store(d.relay)
	popts := pt.pipeline
	popts.Logger, popts.Metrics = log, metrics
	if pt.pages != nil {
		popts.Pages = pageReader{extract.NewFetcher(*pt.pages)}
	}
	d.feedWatch = ops.NewFeedWatch(len(popts.Feeds), log)
	d.pipe = pipeline.New(popts, watchedFetcher{fetcher.New(pt.fetcher), d.feedWatch}, pipeStore, d.relay)

	if pt.cluster != nil {
		// A replica follows the stream into its index from the start: it restores first.
		d.indexErr = d.pipe.Restore(ctx)
		close(d.indexDone)
		if d.indexErr != nil {
			return nil, d.indexErr
		}
	} else {
		// The index is restored while the first polls fetch, parse and drop their repeats; their
		// decisions wait for it, and /readyz says not ready until it is done.
		rctx, stop := context.WithCancel(ctx)
		d.stopRestore = stop
		wait := d.pipe.StartRestore(rctx)
		go func() {
			d.indexErr = wait()
			close(d.indexDone)
		}()
	}

	if pt.httpListen != "" {
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
			"feeds": d.feedWatch.Check,
			"index": func(context.Context) error {
				select {
				case <-d.indexDone:
					return d.indexErr
				default:
					return errors.New("the duplicate index is being restored")
				}
			},
		}
		if d.ops, err = ops.Listen(pt.httpListen, reg, checks, log); err != nil {
			return nil, err
		}
		infos := feedInfos(cfg.Feeds)
		d.statusFeeds.Store(&infos)
		d.ops.HandleStatus(statusPage(&d.statusFeeds, d.store))
		if d.replica != nil {
			d.ops.SetInfo(d.replica.info)
		}
		d.bg.Go(d.ops.Serve)
		log.Info("ops listener ready", "addr", d.ops.Addr(), "paths", "/ /healthz /readyz /metrics")
	}
	return d, nil
}

// watchedFetcher tells feedWatch the outcome of each fetch, so that a daemon whose feeds all fail
// says so once instead of in one warning per feed.
type watchedFetcher struct {
	pipeline.Fetcher
	watch *ops.FeedWatch
}

func (w watchedFetcher) Fetch(ctx context.Context, req fetcher.Request) (*fetcher.Result, error) {
	r, err := w.Fetcher.Fetch(ctx, req)
	switch {
	case err == nil:
		w.watch.Succeeded(req.URL)
	case ctx.Err() == nil: // a fetch cut short by shutdown says nothing about the feed
		w.watch.Failed(req.URL, string(fetcher.ClassOf(err)))
	}
	return r, err
}

func userAgent(cfg config.Config) string {
	if cfg.Poll.UserAgent != "" {
		return cfg.Poll.UserAgent
	}
	return config.DefaultUserAgent(version)
}

// ensureStream creates or updates the stream, retrying until it succeeds or ctx ends: a remote
// NATS that is down at start is waited for, not fatal, and tried again as soon as it connects.
func (d *daemon) ensureStream(ctx context.Context) {
	c := d.parts.stream
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
		if ctx.Err() != nil {
			return // stopping: the attempt was cut short, nothing to report
		}
		if errors.Is(err, bus.ErrStreamConflict) {
			// Changing the stream would delete messages or copies the operator made: only
			// the operator can decide, so feedd stops rather than publish under other terms.
			d.log.Error("stream settings conflict: stopping", "stream", c.Name, "err", err)
			if d.stop != nil {
				d.stop(&exitError{exitBadConfig, err})
			}
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
		case <-d.natsBack:
			wait = time.Second
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
	if d.replica != nil {
		return d.runCluster(ctx, reload)
	}
	d.log.Info("feedd started", "version", version, "feeds", len(d.cfg.Feeds), "nats", natsTarget(d.cfg),
		"data_dir", d.cfg.DataDir)
	relayCtx, stopRelay := context.WithCancel(context.Background())
	d.startRelay(relayCtx)
	parent := ctx
	ctx, stopPolling := d.pollContext(ctx)
	defer stopPolling()
	d.bg.Go(func() { d.snapshotEvery(ctx, snapshotEvery) })
	stopping := make(chan time.Time, 1)
	context.AfterFunc(ctx, func() { stopping <- time.Now() })
	err := d.pipe.RunWithReload(ctx, reload) // returns once the polls in flight have been cancelled
	deadline := (<-stopping).Add(d.parts.shutdownTimeout)
	d.log.Info("shutting down", "timeout", d.parts.shutdownTimeout)
	d.snapshotAtShutdown(deadline)
	d.shutdown(deadline, stopRelay, true)
	if ierr := d.waitIndex(parent); ierr != nil {
		return ierr
	}
	return err
}

// snapshotEvery is how often the running daemon saves its duplicate index, when anything was
// recorded or pruned since: a daemon that crashes starts again from the last snapshot and the
// articles recorded after it, unless a prune came in between.
const snapshotEvery = 10 * time.Minute

// snapshotEvery saves the duplicate index every interval until ctx ends.
func (d *daemon) snapshotEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.pipe.WriteIndexSnapshot(ctx); err != nil {
				d.log.Warn("saving the duplicate index", "err", err)
			}
		}
	}
}

// snapshotAtShutdown saves the duplicate index once nothing polls any more, beside the relay's
// last publishing: shutdown waits for it until deadline.
func (d *daemon) snapshotAtShutdown(deadline time.Time) {
	d.bg.Go(func() {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		if err := d.pipe.WriteIndexSnapshot(ctx); err != nil {
			d.log.Warn("saving the duplicate index for the next start", "err", err)
		}
	})
}

// once polls every feed once and waits until everything recorded is acknowledged, or timeout.
func (d *daemon) once(ctx context.Context, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	relayCtx, stopRelay := context.WithCancel(context.Background())
	d.startRelay(relayCtx)

	stopTimer := context.AfterFunc(ctx, d.stopRestore) // the timeout ends a restore too
	defer stopTimer()
	pollCtx, stopPolling := d.pollContext(ctx)
	counts := d.pipe.PollAll(pollCtx)
	stopPolling()
	if err := d.waitIndex(ctx); err != nil {
		d.shutdown(time.Now().Add(d.parts.shutdownTimeout), stopRelay, true)
		return err
	}
	d.snapshotAtShutdown(time.Now().Add(d.parts.shutdownTimeout))
	drainErr := d.relay.WaitDrained(ctx, false)
	d.shutdown(time.Now().Add(d.parts.shutdownTimeout), stopRelay, true)

	sum := summary{Counts: counts, Published: d.relay.Published(), Pending: d.pending}
	out, _ := json.Marshal(sum)
	fmt.Fprintf(stdout, "%s\n", out)
	if drainErr != nil {
		return &exitError{exitFailure, fmt.Errorf("publishing did not complete: %d articles left in the outbox for the next run: %w", d.pending, drainErr)}
	}
	if counts.Feeds > 0 && counts.Failed == counts.Feeds {
		return &exitError{exitAllFailed, fmt.Errorf("every feed failed (%d of %d): the log gives each cause; `feedd feeds` shows them", counts.Failed, counts.Feeds)}
	}
	return nil
}

// shutdown stops everything by deadline: the ops listener first, then, with drain, the relay
// once it has published what it can (while NATS is connected and the stream ready, keeping two
// seconds for the rest), then the NATS connection, the embedded server and the database. In
// cluster mode the leader drained its relay before it resigned: drain is false.
func (d *daemon) shutdown(deadline time.Time, stopRelay context.CancelFunc, drain bool) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if d.ops != nil {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = d.ops.Shutdown(sctx)
		cancel()
	}
	ready := d.streamReady
	if !drain {
		ready = nil
	}
	select {
	case <-ready:
		flushCtx, cancelFlush := context.WithDeadline(ctx, deadline.Add(-2*time.Second))
		if err := d.relay.WaitDrained(flushCtx, true); err != nil {
			d.log.Warn("outbox not fully published before shutdown", "err", err)
		}
		cancelFlush()
	default: // the relay never ran: nothing would publish meanwhile
	}
	stopRelay()
	done := make(chan struct{})
	go func() { d.bg.Wait(); close(done) }()
	quiet := true
	select {
	case <-done:
	case <-ctx.Done():
		quiet = false
	}
	d.close(ctx, quiet)
}

// close releases everything that was started, in reverse order, within ctx. quiet says that
// nothing started in the background still runs (the relay has stopped). Then, on one machine, the
// database closes (with its last WAL checkpoint) while the NATS connection drains, which waits in
// steps of 10 ms. Otherwise the database closes last: a relay past the shutdown deadline may
// still be marking what NATS acknowledged, and in cluster mode a follower may still be applying
// messages until the connection is closed. A restore still running is cancelled.
func (d *daemon) close(ctx context.Context, quiet bool) {
	d.stopRestore()
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
	closeStore := func() {
		if d.store == nil {
			return
		}
		if d.pipe != nil {
			<-d.indexDone // the restore reads the store until it ends
		}
		if err := d.store.Close(); err != nil {
			d.log.Error("closing database", "err", err)
		}
	}
	parallel := quiet && d.replica == nil
	var storeClosed sync.WaitGroup
	if parallel {
		storeClosed.Go(closeStore)
	}
	if d.bus != nil {
		d.bus.CloseContext(ctx)
	}
	if d.embedded != nil && !d.embedded.ShutdownContext(ctx) {
		d.log.Warn("embedded NATS server still stopping at the shutdown deadline")
	}
	if !parallel {
		closeStore()
	}
	storeClosed.Wait()
	d.log.Info("stopped")
}
