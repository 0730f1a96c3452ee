package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/cluster"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster mode (cluster.enabled): each replica keeps its own data_dir and follows the stream
// into it; the one holding the lease polls, decides and publishes. See package cluster.

// replicaIDEnv names the environment variable that sets a replica's holder id.
const replicaIDEnv = "FEEDD_REPLICA_ID"

// replicaID returns this replica's holder id: FEEDD_REPLICA_ID when set, else <hostname>-<pid>.
func replicaID(getenv func(string) string) string {
	if id := getenv(replicaIDEnv); id != "" {
		return id
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "feedd"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Roles a replica shows in /readyz and on the status page.
const (
	roleLeader  = "leader"
	roleStandby = "standby"
)

// replica is the cluster side of a daemon in cluster mode.
type replica struct {
	d       *daemon
	parts   clusterParts
	id      string
	log     *slog.Logger
	metrics *cluster.Metrics
	state   *stateWriter
	kick    chan struct{} // starts the follower again when it makes no progress

	mu       sync.Mutex
	elector  *cluster.Elector // nil until NATS answered
	feeds    *cluster.Feeds
	follower *cluster.Follower
	leading  *cluster.Lease // the term in progress, nil when standing by
	previous string         // the holder before this replica's term, from the Elected hook
}

func newReplica(d *daemon, cp clusterParts, id string) *replica {
	return &replica{d: d, parts: cp, id: id, log: d.log, metrics: cluster.NewMetrics(), state: newStateWriter(d.store, d.log),
		kick: make(chan struct{}, 1)}
}

// info is what /readyz and the status page say of the replica: its role and who leads.
func (r *replica) info(ctx context.Context) map[string]string {
	r.mu.Lock()
	e, lease := r.elector, r.leading
	r.mu.Unlock()
	out := map[string]string{"role": roleStandby, "leader": "", "replica": r.id}
	if lease != nil && lease.Check() == nil {
		out["role"] = roleLeader
		out["leader"] = r.id
		out["epoch"] = strconv.FormatUint(lease.Epoch(), 10)
		return out
	}
	if e != nil {
		if h, err := e.Leader(ctx); err == nil {
			out["leader"] = h.ID
			out["epoch"] = strconv.FormatUint(h.Epoch, 10)
		}
	}
	return out
}

// setup creates or opens the lease and feed state buckets and the elector, retrying while
// NATS does not answer, until ctx ends.
func (r *replica) setup(ctx context.Context) error {
	js := r.d.bus.JetStream()
	wait := time.Second
	for {
		err := r.trySetup(ctx, js)
		if err == nil || ctx.Err() != nil {
			return err
		}
		r.log.Warn("cluster: cannot set up the lease and feed state buckets yet, retrying", "cluster", r.parts.name,
			"err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (r *replica) trySetup(ctx context.Context, js jetstream.JetStream) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	leaseKV, err := cluster.EnsureLeaseBucket(sctx, js, r.parts.name, r.parts.leaseTTL, r.parts.replicas)
	if err != nil {
		return err
	}
	feedsKV, err := cluster.EnsureFeedsBucket(sctx, js, r.parts.name, r.parts.replicas)
	if err != nil {
		return err
	}
	hooks := r.metrics.Hooks()
	elected := hooks.Elected
	hooks.Elected = func(epoch uint64, previous string) {
		elected(epoch, previous)
		r.mu.Lock()
		r.previous = previous
		r.mu.Unlock()
	}
	e, err := cluster.NewElector(sctx, leaseKV, r.id, cluster.WithHooks(hooks), cluster.WithLogger(r.log))
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.elector, r.feeds = e, cluster.NewFeeds(feedsKV)
	r.follower = cluster.NewFollower(js, r.d.parts.stream.Name, r.apply, r.log)
	r.mu.Unlock()
	return nil
}

// follow keeps the follower running until ctx ends, starting it again after the sequence last
// applied when it stops on an error.
func (r *replica) follow(ctx context.Context) {
	stream := r.d.parts.stream.Name
	for {
		runCtx, stopRun := context.WithCancel(ctx)
		kicked := make(chan struct{})
		go func() {
			select {
			case <-r.kick:
				close(kicked)
				stopRun()
			case <-runCtx.Done():
			}
		}()
		after, err := r.d.store.Applied(ctx, stream)
		if err == nil {
			err = r.follower.Run(runCtx, after)
		}
		stopRun()
		if ctx.Err() != nil {
			return
		}
		select {
		case <-kicked:
			r.log.Info("cluster: the follower made no progress: starting it again", "stream", stream, "applied", after)
			continue
		default:
		}
		r.log.Warn("cluster: following the stream stopped, starting again", "stream", stream, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// waitCaughtUp waits until the follower has applied every message the stream holds now. A
// follower that applies nothing for half a lease TTL while behind (a pull the server lost) is
// started again.
func (r *replica) waitCaughtUp(ctx context.Context) (uint64, error) {
	for {
		before := r.follower.Applied()
		wctx, cancel := context.WithTimeout(ctx, r.parts.leaseTTL/2)
		last, err := r.follower.WaitCaughtUp(wctx)
		cancel()
		switch {
		case err == nil:
			return last, nil
		case ctx.Err() != nil:
			return last, err
		case !errors.Is(err, cluster.ErrBehind):
			return last, err
		case r.follower.Applied() == before:
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}
	}
}

// apply records one message of the stream (see pipeline.Apply). A message that is not an
// article is skipped, its sequence recorded.
func (r *replica) apply(ctx context.Context, msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	stream, seq := r.d.parts.stream.Name, md.Sequence.Stream
	var a article.Article
	if err := json.Unmarshal(msg.Data(), &a); err != nil {
		r.log.Warn("cluster: a message of the stream is not an article: skipped", "stream", stream, "seq", seq,
			"subject", msg.Subject(), "err", err)
		_, err := r.d.store.Follow(ctx, stream, seq, nil, "", time.Now())
		return err
	}
	_, err = r.d.pipe.Apply(ctx, stream, seq, &a, msg.Headers().Get(jetstream.MsgIDHeader))
	return err
}

// campaign waits until this replica holds the lease, or ctx ends. The lease outlives ctx: a
// leader told to stop drains its relay before it resigns. release ends the term's context
// once the term is over.
func (r *replica) campaign(ctx context.Context) (l *cluster.Lease, release context.CancelFunc, err error) {
	campCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	type result struct {
		l   *cluster.Lease
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := r.elector.Campaign(campCtx)
		done <- result{l, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			cancel()
			return nil, nil, res.err
		}
		return res.l, cancel, nil
	case <-ctx.Done():
		cancel()
		if res := <-done; res.l != nil {
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = res.l.Resign(rctx)
			rcancel()
		}
		return nil, nil, ctx.Err()
	}
}

// lead runs one term of l: it waits until the follower has applied what the stream holds,
// claims the feed state, loads it, and polls and publishes until the term ends or ctx ends.
// When ctx ends (a graceful stop) it lets the relay drain until drainBy, writes the feed state
// the stream now covers and resigns, so that a standby takes over at once. When the term ends
// first it stops at once and drops what it recorded but did not publish.
func (r *replica) lead(ctx context.Context, l *cluster.Lease, release context.CancelFunc,
	reload <-chan []pipeline.Feed, drainBy func() time.Time) {
	defer release()
	d := r.d
	won := time.Now()
	term := l.Context()
	r.mu.Lock()
	r.leading = l
	previous := r.previous
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.leading = nil
		r.mu.Unlock()
	}()

	pollCtx, stopPolling := context.WithCancel(term)
	defer stopPolling()
	stopOnSignal := context.AfterFunc(ctx, stopPolling)
	defer stopOnSignal()

	relayCtx, stopRelay := context.WithCancel(term)
	defer stopRelay()
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		_ = d.relay.RunTerm(relayCtx, l, cluster.EpochHeader)
	}()

	r.state.begin()
	stateCtx, stopState := context.WithCancel(term)
	defer stopState()
	stateDone := make(chan struct{})
	err := r.prepare(pollCtx, l)
	took := err == nil
	if took {
		go func() {
			defer close(stateDone)
			r.state.run(stateCtx, r.feeds, l)
		}()
		d.log.Info("took the lead", "epoch", l.Epoch(), "holder", r.id, "previous", previous,
			"after", time.Since(won).Round(time.Millisecond))
		err = d.pipe.RunWithReload(pollCtx, reload) // returns once the polls in flight are cancelled
	} else {
		close(stateDone)
	}

	if ctx.Err() != nil && l.Check() == nil {
		// Stopping: publish what was recorded, while the term lasts, then hand over.
		dctx, cancel := context.WithDeadline(term, drainBy())
		if err := d.relay.WaitDrained(dctx, true); err != nil {
			d.log.Warn("outbox not fully published before resigning", "err", err)
		}
		r.state.flush(dctx, r.feeds, l)
		cancel()
		stopRelay()
		<-relayDone
		stopState()
		<-stateDone
		r.state.end()
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := l.Resign(rctx); err != nil {
			d.log.Warn("cluster: resign", "err", err)
		}
		rcancel()
		d.log.Info("resigned the lead", "epoch", l.Epoch(), "holder", r.id)
		r.dropUnsent()
		return
	}
	reason := context.Cause(term)
	if reason == nil {
		reason = l.Check()
	}
	if reason == nil && err != nil {
		// Holding the lease but unable to lead (the stream or the feed state unreachable): give
		// the lease up, so that another replica may.
		reason = fmt.Errorf("cannot lead: %w", err)
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = l.Resign(rctx)
		rcancel()
	}
	if reason == nil {
		reason = errors.New("term ended")
	}
	// Polling has stopped, and the relay sends nothing more (it checks the lease before each
	// message); say so before waiting for it to return.
	if took {
		d.log.Warn("lost the lead", "epoch", l.Epoch(), "holder", r.id, "reason", reason.Error())
	} else {
		d.log.Warn("could not take the lead", "epoch", l.Epoch(), "holder", r.id, "reason", reason.Error())
	}
	stopRelay()
	<-relayDone
	stopState()
	<-stateDone
	r.state.end()
	r.dropUnsent()
}

// catchUp waits until the follower has applied what the stream held at start, before the
// replica first campaigns: a replica far behind (new, or back after a long absence) leaves the
// lead to a hot standby rather than keep the feeds unpolled while it catches up.
func (r *replica) catchUp(ctx context.Context) {
	start := time.Now()
	for ctx.Err() == nil {
		last, err := r.waitCaughtUp(ctx)
		if err == nil {
			r.log.Info("cluster: caught up with the stream", "stream", r.d.parts.stream.Name, "seq", last,
				"took", time.Since(start).Round(time.Millisecond))
			return
		}
		if ctx.Err() == nil {
			r.log.Warn("cluster: cannot read the stream's state yet, retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// dropUnsent drops what this replica recorded but did not publish, once its relay stopped.
func (r *replica) dropUnsent() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := r.d.pipe.DropUnsent(ctx)
	switch {
	case err != nil:
		r.log.Error("cluster: dropping the articles recorded but not published", "err", err)
	case n > 0:
		r.log.Info("dropped the articles recorded but not published: the next leader reads them again from their feeds",
			"count", n)
	}
}

// prepare readies a new term: every message the stream holds applied, every feed state entry
// claimed for the term, and the feed state loaded into the database the scheduler reads.
func (r *replica) prepare(ctx context.Context, l *cluster.Lease) error {
	if _, err := r.waitCaughtUp(ctx); err != nil {
		return err
	}
	if err := r.feeds.Claim(ctx, l); err != nil {
		return err
	}
	shared, err := r.feeds.All(ctx)
	if err != nil {
		return err
	}
	return loadFeedState(ctx, r.d.store, shared)
}

// loadFeedState makes the feed state in st that of the bucket: each feed in shared as it is
// there; a feed only known locally keeps its state without validators, which only the bucket
// may carry (they were written after the fetch's articles were in the stream), and without its
// next poll: this replica set it in an earlier term whose articles of that feed may not have
// reached the stream (dropped as unsent), so the feed is due at once, not a poll interval on.
func loadFeedState(ctx context.Context, st *store.Store, shared []store.Feed) error {
	inBucket := make(map[string]bool, len(shared))
	for _, f := range shared {
		inBucket[f.ID] = true
		if err := st.PutFeed(ctx, f); err != nil {
			return err
		}
	}
	local, err := st.Feeds(ctx)
	if err != nil {
		return err
	}
	for _, f := range local {
		if inBucket[f.ID] || f.ETag == "" && f.LastModified == "" && f.NextPollAt.IsZero() {
			continue
		}
		f.ETag, f.LastModified, f.NextPollAt = "", "", time.Time{}
		if err := st.PutFeed(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// clusterStore is the store the pipeline writes in cluster mode: a feed's state also goes to
// the feed state bucket, through the state writer, while this replica leads.
type clusterStore struct {
	*store.Store
	state *stateWriter
}

func (s clusterStore) PutFeed(ctx context.Context, f store.Feed) error {
	if err := s.Store.PutFeed(ctx, f); err != nil {
		return err
	}
	s.state.put(ctx, f)
	return nil
}

// stateWriter writes the leader's feed state to the bucket once the stream holds every article
// the database held when the state was saved: a fetch's validators (ETag, Last-Modified) must
// not reach the bucket before its articles are in the stream, or a new leader's conditional GET
// would be answered 304 and the articles the dead leader had not published would wait until
// the feed changed.
type stateWriter struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]pendingState // by feed id; nil when not leading
	wake    chan struct{}
}

// pendingState is a feed's state waiting for the outbox messages up to mark to be published.
type pendingState struct {
	feed store.Feed
	mark int64
}

func newStateWriter(st *store.Store, log *slog.Logger) *stateWriter {
	return &stateWriter{st: st, log: log, wake: make(chan struct{}, 1)}
}

func (w *stateWriter) begin() {
	w.mu.Lock()
	w.pending = map[string]pendingState{}
	w.mu.Unlock()
}

func (w *stateWriter) end() {
	w.mu.Lock()
	w.pending = nil
	w.mu.Unlock()
}

// put queues f for the bucket, after the outbox messages queued so far.
func (w *stateWriter) put(ctx context.Context, f store.Feed) {
	w.mu.Lock()
	leading := w.pending != nil
	w.mu.Unlock()
	if !leading {
		return
	}
	mark, err := w.st.LastSeq(context.WithoutCancel(ctx))
	if err != nil {
		w.log.Warn("cluster: feed state not shared", "feed", f.ID, "err", err)
		return
	}
	w.mu.Lock()
	if w.pending != nil {
		w.pending[f.ID] = pendingState{feed: f, mark: mark}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes the queued states whose messages are published, until ctx ends.
func (w *stateWriter) run(ctx context.Context, feeds *cluster.Feeds, t cluster.Term) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.wake:
		}
		w.flush(ctx, feeds, t)
	}
}

// flush writes the queued states whose messages are published.
func (w *stateWriter) flush(ctx context.Context, feeds *cluster.Feeds, t cluster.Term) {
	w.mu.Lock()
	ready := make([]pendingState, 0, len(w.pending))
	for _, p := range w.pending {
		ready = append(ready, p)
	}
	w.mu.Unlock()
	if len(ready) == 0 {
		return
	}
	oldest, err := w.st.OldestUnsent(ctx)
	if err != nil {
		return
	}
	for _, p := range ready {
		if oldest != 0 && oldest <= p.mark {
			continue // messages of its fetch, or of one before it, are not published yet
		}
		if err := feeds.Put(ctx, t, p.feed); err != nil {
			if ctx.Err() == nil && t.Check() == nil {
				w.log.Warn("cluster: writing feed state", "feed", p.feed.ID, "err", err)
			}
			return
		}
		w.mu.Lock()
		if cur, ok := w.pending[p.feed.ID]; ok && cur.mark == p.mark && cur.feed.LastPollAt.Equal(p.feed.LastPollAt) {
			delete(w.pending, p.feed.ID)
		}
		w.mu.Unlock()
	}
}

// runCluster is run in cluster mode: follow the stream, campaign, lead while the lease lasts,
// campaign again; until ctx ends, then stop within shutdown_timeout of it.
func (d *daemon) runCluster(ctx context.Context, reload <-chan []pipeline.Feed) error {
	r := d.replica
	d.log.Info("feedd started", "version", version, "feeds", len(d.cfg.Feeds), "nats", natsTarget(d.cfg),
		"data_dir", d.cfg.DataDir, "cluster", r.parts.name, "replica", r.id, "lease_ttl", r.parts.leaseTTL)
	var stoppedAt time.Time
	stopped := make(chan struct{})
	context.AfterFunc(ctx, func() { stoppedAt = time.Now(); close(stopped) })
	deadline := func() time.Time {
		<-stopped
		return stoppedAt.Add(d.parts.shutdownTimeout)
	}
	// What must stop after the lead: the follower.
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()

	// A reloaded feed list is taken whatever the role: a standby keeps it for its next term,
	// a leader's scheduler takes it at once.
	terms := make(chan []pipeline.Feed, 1)
	d.bg.Go(func() {
		for {
			select {
			case <-bgCtx.Done():
				return
			case feeds := <-reload:
				d.pipe.SetFeeds(feeds)
				select { // a list no term took is replaced
				case <-terms:
				default:
				}
				terms <- feeds
			}
		}
	})
	d.bg.Go(func() { d.snapshotEvery(ctx, snapshotEvery) })
	d.ensureStream(ctx)
	if ctx.Err() == nil && r.setup(ctx) == nil {
		d.bg.Go(func() { r.follow(bgCtx) })
		r.catchUp(ctx)
		for ctx.Err() == nil {
			l, release, err := r.campaign(ctx)
			if err != nil {
				break
			}
			r.lead(ctx, l, release, terms, func() time.Time { return deadline().Add(-2 * time.Second) })
			if ctx.Err() == nil {
				// Give another replica the chance to lead before campaigning again.
				select {
				case <-ctx.Done():
				case <-time.After(r.parts.leaseTTL / 4):
				}
			}
		}
	}
	d.log.Info("shutting down", "timeout", d.parts.shutdownTimeout)
	stopBg()
	d.snapshotAtShutdown(deadline())
	d.shutdown(deadline(), func() {}, false)
	return nil
}

// leaderLine says, for `feedd feeds` in cluster mode, who leads the replicas named in cfg and
// whether it is this replica (FEEDD_REPLICA_ID when set, else any replica on this host). It
// reads the lease bucket, within a few seconds.
func leaderLine(ctx context.Context, cfg config.Config, getenv func(string) string) string {
	name := cfg.Cluster.Name
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, bus.Options{URL: cfg.NATS.URL, Creds: cfg.NATS.Creds, Name: "feedd feeds"})
	if err != nil {
		return fmt.Sprintf("cluster %s: leader unknown: %v", name, err)
	}
	defer b.Close()
	for !b.Connected() {
		select {
		case <-ctx.Done():
			return fmt.Sprintf("cluster %s: leader unknown: NATS (%s) not reachable", name, natsTarget(cfg))
		case <-time.After(50 * time.Millisecond):
		}
	}
	kv, err := b.JetStream().KeyValue(ctx, cluster.LeaseBucket(name))
	if err != nil {
		return fmt.Sprintf("cluster %s: leader unknown: lease bucket %s: %v", name, cluster.LeaseBucket(name), err)
	}
	e, err := cluster.NewElector(ctx, kv, "feedd-feeds")
	if err != nil {
		return fmt.Sprintf("cluster %s: leader unknown: %v", name, err)
	}
	h, err := e.Leader(ctx)
	if errors.Is(err, cluster.ErrNoLeader) {
		return fmt.Sprintf("cluster %s: no leader now (a standby takes the lease within %s)", name, cfg.Cluster.LeaseTTL)
	}
	if err != nil {
		return fmt.Sprintf("cluster %s: leader unknown: %v", name, err)
	}
	line := fmt.Sprintf("cluster %s: leader %s (epoch %d, renewed %s ago)", name, h.ID, h.Epoch,
		time.Since(h.Renewed).Round(time.Second))
	if id := getenv(replicaIDEnv); id != "" {
		role := roleStandby
		if id == h.ID {
			role = roleLeader
		}
		return line + fmt.Sprintf("; this replica (%s): %s", id, role)
	}
	if host, err := os.Hostname(); err == nil && strings.HasPrefix(h.ID, host+"-") {
		return line + "; this host leads"
	}
	return line + "; this replica: standby (the leader is not on this host)"
}
