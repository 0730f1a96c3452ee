package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaseKey is the key of the lease in the lease bucket.
const LeaseKey = "leader"

// MinTTL is the shortest lease TTL: JetStream keeps its delete markers at least a second, and a
// shorter lease would be lost to any hiccup.
const MinTTL = time.Second

// EpochHeader is the message header in which a leader's publications carry its term's epoch,
// so that a reader of the stream can tell two terms apart: in stream order, epochs never
// decrease unless two replicas published at once.
const EpochHeader = "Feedd-Epoch"

// Errors a lease ends with (see [Lease.Context] and [context.Cause]) and that callers can match
// with errors.Is.
var (
	// ErrLeaseLost wraps every reason a held lease ended other than the caller's own context.
	ErrLeaseLost = errors.New("cluster: leadership lost")
	// ErrNotRenewed: the leader could not renew in time and stopped before its lease could expire.
	ErrNotRenewed = fmt.Errorf("%w: lease not renewed in time", ErrLeaseLost)
	// ErrDeposed: the lease is held by another term (it expired, or another replica holds it).
	ErrDeposed = fmt.Errorf("%w: deposed", ErrLeaseLost)
	// ErrResigned: the leader gave the lease up (Resign).
	ErrResigned = fmt.Errorf("%w: resigned", ErrLeaseLost)
	// ErrNoLeader: nobody holds the lease now.
	ErrNoLeader = errors.New("cluster: no leader")
)

// LeaseBucket is the name of the key-value bucket that holds the lease of the replicas named
// name: "<name>_lease".
func LeaseBucket(name string) string { return name + "_lease" }

// EnsureLeaseBucket returns the lease bucket of the replicas named name, creating it with the
// given TTL and replicas when it does not exist. The bucket's TTL is the lease's: the entry a
// leader wrote last expires ttl after the server stored it, and a delete marker (kept ttl) tells
// the watching standbys at once. An existing bucket with another TTL is an error, not changed:
// a leader renewing on the old TTL could otherwise outlive its lease. To change lease_ttl, stop
// every replica and delete the bucket (nats kv del <name>_lease).
func EnsureLeaseBucket(ctx context.Context, js jetstream.JetStream, name string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl < MinTTL {
		return nil, fmt.Errorf("cluster: lease ttl %s: must be at least %s", ttl, MinTTL)
	}
	bucket := LeaseBucket(name)
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:         bucket,
			Description:    "feedd leader lease of " + name,
			History:        1,
			TTL:            ttl,
			LimitMarkerTTL: ttl,
			Storage:        jetstream.FileStorage,
			Replicas:       replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica created it first
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket %s: %w", bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket %s: %w", bucket, err)
	}
	if st.TTL() != ttl {
		return nil, fmt.Errorf("cluster: lease bucket %s has ttl %s, not %s: every replica must use one cluster.lease_ttl (to change it, stop them all and delete the bucket)", bucket, st.TTL(), ttl)
	}
	return kv, nil
}

// record is the lease entry's value.
type record struct {
	Holder string `json:"holder"`
	// Epoch is the revision of the entry that began the term; 0 in that entry itself, which
	// cannot know its own revision.
	Epoch uint64 `json:"epoch,omitempty"`
}

// Holder is who holds the lease.
type Holder struct {
	ID    string // the holder's id
	Epoch uint64 // the term: the lease bucket's revision that began it
	// Renewed is when the server stored the lease's last renewal; the lease expires TTL after it
	// unless renewed again.
	Renewed time.Time
}

// Hooks are called on leadership events, for metrics; any may be nil. They are called from the
// elector's and the lease's goroutines and must not block.
type Hooks struct {
	// Elected is called when this replica begins a term. previous is the holder this replica saw
	// last before it, "" when it saw none (a fresh cluster): a takeover when not "".
	Elected func(epoch uint64, previous string)
	// Renewed is called after each successful renewal.
	Renewed func()
	// Lost is called once when a term ends, with its cause.
	Lost func(epoch uint64, cause error)
}

// Elector campaigns for the lease of one lease bucket on behalf of one replica.
type Elector struct {
	kv    jetstream.KeyValue
	id    string
	ttl   time.Duration
	hooks Hooks
	log   *slog.Logger

	mu       sync.Mutex
	lastSeen string // the last holder seen
}

// Option configures an Elector.
type Option func(*Elector)

// WithHooks sets the callbacks of leadership events.
func WithHooks(h Hooks) Option { return func(e *Elector) { e.hooks = h } }

// WithLogger sets the logger; by default nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(e *Elector) { e.log = l } }

// NewElector returns an Elector for the replica holderID on the lease bucket kv (see
// [EnsureLeaseBucket]). The lease's TTL is the bucket's. holderID names the replica in the lease
// and in logs: one per process (such as the host name), never shared by two live replicas.
func NewElector(ctx context.Context, kv jetstream.KeyValue, holderID string, opts ...Option) (*Elector, error) {
	if holderID == "" {
		return nil, errors.New("cluster: empty holder id")
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket %s: %w", kv.Bucket(), err)
	}
	if st.TTL() < MinTTL {
		return nil, fmt.Errorf("cluster: lease bucket %s: ttl %s: want at least %s", kv.Bucket(), st.TTL(), MinTTL)
	}
	if st.History() != 1 {
		return nil, fmt.Errorf("cluster: lease bucket %s keeps %d revisions a key, want 1", kv.Bucket(), st.History())
	}
	e := &Elector{kv: kv, id: holderID, ttl: st.TTL(), log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// TTL returns the lease's time to live.
func (e *Elector) TTL() time.Duration { return e.ttl }

// ID returns this replica's holder id.
func (e *Elector) ID() string { return e.id }

// Leader returns who holds the lease now, or ErrNoLeader. A dead leader is still shown until
// its lease expires (Renewed + TTL).
func (e *Elector) Leader(ctx context.Context) (Holder, error) {
	entry, err := e.kv.Get(ctx, LeaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Holder{}, ErrNoLeader
	}
	if err != nil {
		return Holder{}, fmt.Errorf("cluster: read lease: %w", err)
	}
	h, err := holderOf(entry)
	if err == nil {
		e.saw(h.ID)
	}
	return h, err
}

func holderOf(entry jetstream.KeyValueEntry) (Holder, error) {
	h, err := parseHolder(entry.Value(), entry.Revision())
	if err != nil {
		return Holder{}, fmt.Errorf("cluster: lease entry %d of bucket %s: %w", entry.Revision(), entry.Bucket(), err)
	}
	h.Renewed = entry.Created()
	return h, nil
}

// maxShown bounds how much of a bad value an error quotes.
const maxShown = 64

// parseHolder reads a lease entry's value stored at revision rev.
func parseHolder(value []byte, rev uint64) (Holder, error) {
	var r record
	if err := json.Unmarshal(value, &r); err != nil || r.Holder == "" {
		return Holder{}, fmt.Errorf("not a lease: %q", value[:min(len(value), maxShown)])
	}
	if r.Epoch > rev {
		return Holder{}, fmt.Errorf("not a lease: epoch %d after its own revision %d", r.Epoch, rev)
	}
	epoch := r.Epoch
	if epoch == 0 {
		epoch = rev
	}
	return Holder{ID: r.Holder, Epoch: epoch}, nil
}

func (e *Elector) saw(holder string) {
	e.mu.Lock()
	e.lastSeen = holder
	e.mu.Unlock()
}

func (e *Elector) previous() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastSeen
}

// Campaign blocks until this replica holds the lease, and returns it; or returns ctx's error
// when ctx ends first. It tries to create the lease entry at once, then whenever the lease
// bucket says the entry expired or was deleted, and every quarter of the TTL in any case.
//
// The lease renews itself until ctx ends, it is resigned, or it is lost; its Context ends then.
// A daemon runs Campaign in a loop: campaign, lead while the lease's context lasts, campaign
// again.
func (e *Elector) Campaign(ctx context.Context) (*Lease, error) {
	// The watcher is a hint that makes takeover prompt; the periodic attempt does not depend on it.
	var updates <-chan jetstream.KeyValueEntry
	if w, err := e.kv.Watch(ctx, LeaseKey, jetstream.UpdatesOnly()); err == nil {
		defer w.Stop()
		updates = w.Updates()
	} else {
		e.log.Debug("cluster: watch lease", "err", err)
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case entry, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if entry == nil {
				continue
			}
			if entry.Operation() == jetstream.KeyValuePut {
				if h, err := holderOf(entry); err == nil {
					e.saw(h.ID)
				}
				continue
			}
		case <-retry.C:
		}
		l, err := e.tryAcquire(ctx)
		if l != nil {
			return l, nil
		}
		if err != nil && ctx.Err() == nil {
			e.log.Debug("cluster: campaign", "err", err)
		}
		retry.Reset(e.ttl / 4)
	}
}

// tryAcquire creates the lease entry, and returns the lease when it did. A nil lease and nil
// error means another replica holds it.
func (e *Elector) tryAcquire(ctx context.Context) (*Lease, error) {
	value, _ := json.Marshal(record{Holder: e.id})
	actx, cancel := context.WithTimeout(ctx, e.ttl/4)
	sent := time.Now()
	rev, err := e.kv.Create(actx, LeaseKey, value)
	cancel()
	if errors.Is(err, jetstream.ErrKeyExists) {
		_, _ = e.Leader(ctx) // who holds it, for the takeover's log and metrics
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: acquire lease: %w", err)
	}
	prev := e.previous()
	l := e.newLease(ctx, rev, sent)
	e.saw(e.id)
	e.log.Info("cluster: leading", "holder", e.id, "epoch", rev, "previous", prev, "lease_ttl", e.ttl)
	if e.hooks.Elected != nil {
		e.hooks.Elected(rev, prev)
	}
	go l.run()
	return l, nil
}

// Lease is one term of leadership. Its Context ends when the term ends: before the lease can
// expire on the server when it could not be renewed, at once when another term is seen, on
// Resign, or when the Campaign's context ends.
type Lease struct {
	e      *Elector
	epoch  uint64
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   *time.Timer // ends the term at the deadline
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	rev      uint64    // revision of the lease entry this term wrote last
	sent     time.Time // when the last acknowledged write of the entry was sent
	deadline time.Time // sent + the part of the TTL a leader may use
}

// margin is the part of the TTL a leader does not use: it stops at three quarters of the TTL
// after it sent its last acknowledged renewal, leaving a quarter for what is in flight to land
// and for the NATS servers' clocks to disagree, before the lease can expire.
func margin(ttl time.Duration) time.Duration { return ttl / 4 }

func (e *Elector) newLease(parent context.Context, rev uint64, sent time.Time) *Lease {
	ctx, cancel := context.WithCancelCause(parent)
	l := &Lease{e: e, epoch: rev, ctx: ctx, cancel: cancel, done: make(chan struct{}), rev: rev, sent: sent}
	l.deadline = sent.Add(e.ttl - margin(e.ttl))
	l.stop = time.AfterFunc(time.Until(l.deadline), func() {
		l.end(fmt.Errorf("%w (last renewal sent %s ago, ttl %s)", ErrNotRenewed, time.Since(l.sentAt()).Round(time.Millisecond), e.ttl))
	})
	return l
}

// Context returns the term's context: it ends when leadership ends, with a cause that wraps
// ErrLeaseLost (ErrNotRenewed, ErrDeposed, ErrResigned), or the Campaign context's error.
func (l *Lease) Context() context.Context { return l.ctx }

// Epoch returns the term's number: the lease bucket's revision that began it. Later terms have
// larger epochs. Publishers carry it (the Feed-Epoch header) and feed state writes check it.
func (l *Lease) Epoch() uint64 { return l.epoch }

// Holder returns this replica's id.
func (l *Lease) Holder() string { return l.e.id }

// Deadline returns when the term ends unless it is renewed before.
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

func (l *Lease) sentAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

// Check returns nil while the term lasts, else why it ended. It checks the deadline itself, so
// it is exact even when the timer that ends the context has not fired yet.
func (l *Lease) Check() error {
	if err := context.Cause(l.ctx); err != nil {
		return err
	}
	if !time.Now().Before(l.Deadline()) {
		return ErrNotRenewed
	}
	return nil
}

// Done is closed when the term has ended and its renewal has stopped.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Resign ends the term and deletes the lease entry if it is still this term's, so that a
// standby takes over at once rather than after the TTL (for a graceful shutdown). Stop
// publishing before calling it.
func (l *Lease) Resign(ctx context.Context) error {
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	held := l.Check() == nil
	l.end(ErrResigned)
	<-l.done
	if !held {
		return nil
	}
	err := l.e.kv.Delete(ctx, LeaseKey, jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("cluster: resign: %w", err)
	}
	return nil
}

// end ends the term once, with cause.
func (l *Lease) end(cause error) {
	l.once.Do(func() {
		l.stop.Stop()
		l.cancel(cause)
		cause = context.Cause(l.ctx) // the parent's, when it ended first
		if !errors.Is(cause, ErrLeaseLost) {
			l.e.log.Info("cluster: stopped leading", "holder", l.e.id, "epoch", l.epoch, "cause", cause)
		} else if errors.Is(cause, ErrResigned) {
			l.e.log.Info("cluster: resigned", "holder", l.e.id, "epoch", l.epoch)
		} else {
			l.e.log.Warn("cluster: leadership lost", "holder", l.e.id, "epoch", l.epoch, "cause", cause)
		}
		if l.e.hooks.Lost != nil {
			l.e.hooks.Lost(l.epoch, cause)
		}
	})
}

// run renews the lease every third of the TTL until the term ends. A failed renewal is retried
// every twelfth of the TTL until the deadline; a renewal that finds another term's entry ends
// the term at once.
func (l *Lease) run() {
	defer close(l.done)
	ttl := l.e.ttl
	value, _ := json.Marshal(record{Holder: l.e.id, Epoch: l.epoch})
	next := time.NewTimer(ttl / 3)
	defer next.Stop()
	for {
		select {
		case <-l.ctx.Done():
			l.end(context.Cause(l.ctx))
			return
		case <-next.C:
		}
		l.mu.Lock()
		rev := l.rev
		l.mu.Unlock()
		sent := time.Now()
		uctx, cancel := context.WithTimeout(l.ctx, ttl/4)
		newRev, err := l.e.kv.Update(uctx, LeaseKey, value, rev)
		cancel()
		switch {
		case err == nil:
			if !l.renewed(newRev, sent) {
				return
			}
			if l.e.hooks.Renewed != nil {
				l.e.hooks.Renewed()
			}
			next.Reset(time.Until(sent.Add(ttl / 3)))
		case l.ctx.Err() != nil:
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
			// The entry is not the one this term wrote last: a renewal whose acknowledgement was
			// lost, or another term.
			if l.adopt() {
				next.Reset(0)
				continue
			}
			next.Reset(retryEvery(ttl))
		default:
			l.e.log.Debug("cluster: renew lease", "epoch", l.epoch, "err", err)
			next.Reset(retryEvery(ttl))
		}
	}
}

func retryEvery(ttl time.Duration) time.Duration { return max(ttl/12, 20*time.Millisecond) }

// renewed records a renewal sent at sent and stored at rev, and moves the deadline. It reports
// false when the term had already ended.
func (l *Lease) renewed(rev uint64, sent time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stop.Stop() { // the deadline passed while the renewal was in flight
		return false
	}
	l.rev, l.sent = rev, sent
	l.deadline = sent.Add(l.e.ttl - margin(l.e.ttl))
	l.stop.Reset(time.Until(l.deadline))
	return true
}

// adopt reads the lease entry after a renewal was refused. It reports true when the entry is
// still this term's (a renewal was stored but its acknowledgement lost): its revision is
// adopted, but not its time, which is unknown. It ends the term when the entry is another
// term's or gone.
func (l *Lease) adopt() bool {
	ctx, cancel := context.WithTimeout(l.ctx, l.e.ttl/4)
	defer cancel()
	entry, err := l.e.kv.Get(ctx, LeaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		l.end(fmt.Errorf("%w: the lease entry expired or was deleted", ErrDeposed))
		return false
	}
	if err != nil {
		return false // try again
	}
	h, err := holderOf(entry)
	if err != nil || h.ID != l.e.id || h.Epoch != l.epoch {
		l.end(fmt.Errorf("%w: held by %s, epoch %d", ErrDeposed, h.ID, h.Epoch))
		return false
	}
	l.mu.Lock()
	l.rev = entry.Revision()
	l.mu.Unlock()
	return true
}
