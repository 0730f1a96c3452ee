package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/store"
)

// Outbox is the durable queue of messages waiting for JetStream. The store implements it.
type Outbox interface {
	// Pending returns up to limit unsent messages with a sequence above afterSeq, oldest first.
	Pending(ctx context.Context, afterSeq int64, limit int) ([]store.Message, error)
	// MarkSent records that JetStream acknowledged these messages.
	MarkSent(ctx context.Context, seqs []int64, at time.Time) error
	// RecordFailure counts a failed attempt for these messages.
	RecordFailure(ctx context.Context, seqs []int64, errMsg string) error
	// OutboxDepth counts the unsent messages.
	OutboxDepth(ctx context.Context) (int64, error)
	// PruneSent deletes the messages acknowledged before the given time.
	PruneSent(ctx context.Context, before time.Time) (int64, error)
}

// Publisher sends messages to JetStream and reports each one's acknowledgement. The bus
// implements it.
type Publisher interface {
	// PublishBatch publishes msgs and returns one error per message: nil when the stream
	// acknowledged it (a duplicate acknowledgement included).
	PublishBatch(ctx context.Context, msgs []bus.Message, ackTimeout time.Duration) []error
	// Connected reports whether the connection to NATS is up.
	Connected() bool
}

var (
	_ Outbox    = (*store.Store)(nil)
	_ Publisher = (*bus.Bus)(nil)
)

// errNotConnected is returned by flush while NATS is unreachable.
var errNotConnected = errors.New("nats not connected")

// Relay moves outbox rows to JetStream. A row is marked sent only after the stream acknowledged
// it; a row whose acknowledgement was lost is published again with the same Nats-Msg-Id, which the
// stream's duplicate window turns into a no-op.
type Relay struct {
	outbox     Outbox
	pub        Publisher
	log        *slog.Logger
	metrics    *Metrics
	batch      int
	ackTimeout time.Duration
	wake       chan struct{}
	published  atomic.Int64
	// reconnected cuts a publish backoff short: NATS is back.
	reconnected atomic.Bool
	// failingSince is the unix nanosecond time of the first of the current run of failed
	// flushes, 0 while flushes succeed; lastErr is the latest failure.
	failingSince atomic.Int64
	lastErr      atomic.Pointer[error]
	lastPrune    atomic.Int64 // unix nanoseconds of the last prune
}

// keepSent is how long an acknowledged message stays in the outbox before it is deleted: long
// enough to look at while debugging, short enough to keep the database small.
const keepSent = 10 * time.Minute

// NewRelay returns a relay from outbox to pub.
func NewRelay(outbox Outbox, pub Publisher, log *slog.Logger, m *Metrics) *Relay {
	return &Relay{
		outbox:     outbox,
		pub:        pub,
		log:        log,
		metrics:    m,
		batch:      256,
		ackTimeout: 10 * time.Second,
		wake:       make(chan struct{}, 1),
	}
}

// Notify tells the relay that new rows are waiting. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Reconnected tells the relay that the connection to NATS is back: a publish backoff in
// progress ends now.
func (r *Relay) Reconnected() {
	r.reconnected.Store(true)
	r.Notify()
}

// unhealthyAfter is how long publishing may fail before the relay reports itself unhealthy.
const unhealthyAfter = 30 * time.Second

// Health returns an error when every publish attempt has failed for the last 30 seconds or
// more (a stream deleted behind feedd's back, a server refusing writes), nil otherwise.
func (r *Relay) Health() error {
	since := r.failingSince.Load()
	if since == 0 || time.Since(time.Unix(0, since)) < unhealthyAfter {
		return nil
	}
	err := errors.New("unknown error")
	if p := r.lastErr.Load(); p != nil {
		err = *p
	}
	return fmt.Errorf("publishing has failed for %v: %w", time.Since(time.Unix(0, since)).Round(time.Second), err)
}

func (r *Relay) noteFlush(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		r.failingSince.Store(0)
		return
	}
	r.lastErr.Store(&err)
	r.failingSince.CompareAndSwap(0, time.Now().UnixNano())
}

// Published returns how many messages the relay has seen acknowledged since it was created.
func (r *Relay) Published() int64 { return r.published.Load() }

// Run publishes until ctx ends. It retries failures with capped exponential backoff and jitter,
// forever: nothing is dropped.
func (r *Relay) Run(ctx context.Context) error {
	const (
		idle       = 5 * time.Second // Notify wakes the relay when rows arrive; this is a safety net
		minBackoff = 200 * time.Millisecond
		maxBackoff = 30 * time.Second
	)
	backoff := minBackoff
	for {
		n, err := r.flush(ctx)
		if ctx.Err() == nil {
			r.noteFlush(err)
		}
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !errors.Is(err, errNotConnected) || backoff >= 5*time.Second {
				r.log.Warn("outbox relay: publish failed, will retry", "err", err, "retry_in", backoff)
			}
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
		case n > 0:
			backoff = minBackoff
			continue // more may be waiting
		default:
			backoff = minBackoff
			wait = idle
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
			// New rows do not cut a backoff short; a reconnection does.
			if err != nil && !r.reconnected.Swap(false) {
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil
				}
			}
			if r.reconnected.Swap(false) {
				backoff = minBackoff
			}
			t.Stop()
		case <-t.C:
		}
	}
}

// Flush publishes what is pending until the outbox is empty, ctx ends, or a publish fails.
func (r *Relay) Flush(ctx context.Context) error {
	for {
		n, err := r.flush(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// flush publishes one batch of pending rows and returns how many were acknowledged.
func (r *Relay) flush(ctx context.Context) (int, error) {
	rows, err := r.outbox.Pending(ctx, 0, r.batch)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	defer r.updateDepth(ctx)
	if len(rows) == 0 {
		return 0, nil
	}
	if !r.pub.Connected() {
		return 0, errNotConnected
	}
	msgs := make([]bus.Message, len(rows))
	for i, row := range rows {
		msgs[i] = bus.Message{Subject: row.Subject, ID: row.MsgID, Header: row.Header, Data: row.Data}
	}
	errs := r.pub.PublishBatch(ctx, msgs, r.ackTimeout)
	var sent, failed []int64
	var firstErr error
	for i, e := range errs {
		switch {
		case e == nil:
			sent = append(sent, rows[i].Seq)
		case errors.Is(e, bus.ErrRejected):
			// It can never be published as it is; keeping it would block the outbox forever.
			// The pipeline keeps messages under the payload limit, so this means a bug or a
			// server configured with a smaller limit: say so loudly.
			r.log.Error("outbox relay: message rejected by NATS, dropped", "id", rows[i].MsgID,
				"subject", rows[i].Subject, "bytes", len(rows[i].Data), "err", e)
			r.metrics.Rejected.Inc()
			sent = append(sent, rows[i].Seq)
		default:
			failed = append(failed, rows[i].Seq)
			if firstErr == nil {
				firstErr = e
			}
		}
	}
	if len(sent) > 0 {
		// A context that ended must not stop the bookkeeping of what JetStream already has.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := r.outbox.MarkSent(mctx, sent, time.Now())
		cancel()
		if err != nil {
			// The rows stay pending and are published again; the message ids make that harmless.
			r.metrics.StoreErrors.Inc()
			return 0, fmt.Errorf("mark %d messages sent: %w", len(sent), err)
		}
		r.published.Add(int64(len(sent)))
		r.metrics.Published.Add(float64(len(sent)))
		r.prune(ctx)
	}
	if len(failed) > 0 {
		r.metrics.PublishErrors.Add(float64(len(failed)))
		if err := r.outbox.RecordFailure(context.WithoutCancel(ctx), failed, firstErr.Error()); err != nil {
			r.log.Warn("outbox relay: record failure", "err", err)
		}
		return len(sent), fmt.Errorf("%d of %d messages not acknowledged: %w", len(failed), len(rows), firstErr)
	}
	return len(sent), nil
}

// prune deletes messages acknowledged more than keepSent ago, at most once a minute.
func (r *Relay) prune(ctx context.Context) {
	now := time.Now()
	last := r.lastPrune.Load()
	if now.UnixNano()-last < int64(time.Minute) || !r.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if n, err := r.outbox.PruneSent(context.WithoutCancel(ctx), now.Add(-keepSent)); err != nil {
		r.log.Warn("outbox relay: prune sent messages", "err", err)
	} else if n > 0 {
		r.log.Debug("outbox relay: pruned sent messages", "count", n)
	}
}

func (r *Relay) updateDepth(ctx context.Context) {
	if d, err := r.outbox.OutboxDepth(context.WithoutCancel(ctx)); err == nil {
		r.metrics.OutboxDepth.Set(float64(d))
	}
}

// WaitDrained returns nil once the outbox is empty, or ctx's error when it ends first. With
// whileConnected it also gives up, returning an error, as soon as NATS is not connected.
func (r *Relay) WaitDrained(ctx context.Context, whileConnected bool) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		d, err := r.outbox.OutboxDepth(ctx)
		if err == nil && d == 0 {
			r.metrics.OutboxDepth.Set(0)
			return nil
		}
		if whileConnected && !r.pub.Connected() {
			return errNotConnected
		}
		r.Notify()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
