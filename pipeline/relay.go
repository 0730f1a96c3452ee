package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feedd/feedd/article"
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
	// OutboxDepth counts the unsent messages in the database.
	OutboxDepth(ctx context.Context) (int64, error)
	// Unsent returns the number of unsent messages as the outbox keeps it in memory: exact for
	// the only writer of the outbox, and free to call.
	Unsent() int64
	// PruneSent deletes the messages acknowledged before the given time.
	PruneSent(ctx context.Context, before time.Time) (int64, error)
}

// Publisher sends messages to JetStream and reports each one's acknowledgement. The bus
// implements it.
type Publisher interface {
	// Send hands msgs to NATS, a bounded number awaiting acknowledgement at a time, and returns
	// once the last is sent. Its Acks' Wait returns one error per message: nil when the stream
	// acknowledged it (a duplicate acknowledgement included).
	Send(ctx context.Context, msgs []bus.Message, ackTimeout time.Duration) *bus.Acks
	// Connected reports whether the connection to NATS is up.
	Connected() bool
	// MaxPayload returns the largest message, headers included, the server takes, as last
	// taken from it; 0 when unknown.
	MaxPayload() int64
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
	pageRows   int // outbox rows read, sent and settled together
	ackTimeout time.Duration
	wake       chan struct{}
	// reconnect holds the news that the connection to NATS is back until Run takes it: it cuts
	// a publish backoff short, and is never lost, whatever Run is doing when it comes.
	reconnect chan struct{}
	// minBackoff and maxBackoff bound the wait after a failed flush, which doubles from one to
	// the other.
	minBackoff, maxBackoff time.Duration
	published              atomic.Int64
	// failingSince is the unix nanosecond time of the first of the current run of failed
	// flushes, 0 while flushes succeed; lastErr is the latest failure.
	failingSince atomic.Int64
	lastErr      atomic.Pointer[error]
	lastPrune    atomic.Int64 // unix nanoseconds of the last prune

	flushMu  sync.Mutex
	flushEnd chan struct{} // closed, and replaced, when a flush ends; guarded by flushMu

	// flushing holds one flush at a time, and guards unmarked.
	flushing sync.Mutex
	// unmarked are rows JetStream acknowledged that could not be marked sent (a full disk). They
	// are never published again: past the stream's duplicate window a second publish would be
	// stored as a second copy. Each flush marks them before it publishes anything.
	unmarked []int64

	// held are the rows that cannot be published as they are, too large for the server's
	// max_payload even when cut, or with a bad subject. They stay in the outbox, skipped, until
	// the server's limit changes (or feedd restarts), when they are tried again. heldAt is the
	// limit they were held under.
	heldMu sync.Mutex
	held   map[int64]struct{}
	heldAt int

	// term is the leader's term while RunTerm runs (cluster mode), nil otherwise.
	term atomic.Pointer[relayTerm]
}

// Term is a leader's term in cluster mode: while it lasts, Check returns nil. A *cluster.Lease
// is one.
type Term interface {
	Epoch() uint64
	Check() error
}

// relayTerm is the term the relay publishes under, and the header that carries its epoch.
type relayTerm struct {
	t      Term
	header string
	epoch  string
}

// termEnded reports whether the relay publishes for a term that has ended.
func (r *Relay) termEnded() bool {
	t := r.term.Load()
	return t != nil && t.t.Check() != nil
}

// checkedPublisher is a Publisher that checks a condition before it sends each message; the
// bus is one.
type checkedPublisher interface {
	SendChecked(ctx context.Context, msgs []bus.Message, ackTimeout time.Duration, check func() error) *bus.Acks
}

var _ checkedPublisher = (*bus.Bus)(nil)

// RunTerm is Run for a leader in cluster mode: every message it publishes carries t's epoch in
// the header epochHeader, and t.Check is called before each is sent, so that nothing is sent
// once the term has ended. ctx is the term's: when it ends, RunTerm returns.
func (r *Relay) RunTerm(ctx context.Context, t Term, epochHeader string) error {
	r.term.Store(&relayTerm{t: t, header: epochHeader, epoch: strconv.FormatUint(t.Epoch(), 10)})
	defer r.term.Store(nil)
	return r.Run(ctx)
}

// relayPage is how many outbox rows the relay reads, publishes and marks sent at a time, a page
// (fewer when their bodies pass 8 MiB, see store.Pending). Side by side with 256, 512 moved
// about 8% more messages a second (BenchmarkRelay). A flush holds at most four pages at once:
// one awaiting acknowledgement, one being sent, one read ahead and one being read. (A page is
// not the ingest's batch, which is one poll's articles written in one transaction.)
const relayPage = 512

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
		pageRows:   relayPage,
		ackTimeout: 10 * time.Second,
		wake:       make(chan struct{}, 1),
		reconnect:  make(chan struct{}, 1),
		minBackoff: 200 * time.Millisecond,
		maxBackoff: 30 * time.Second,
		flushEnd:   make(chan struct{}),
		held:       map[int64]struct{}{},
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
// progress, or the next one, ends now and the backoff starts again from its least. It never
// blocks.
func (r *Relay) Reconnected() {
	select {
	case r.reconnect <- struct{}{}:
	default:
	}
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
// forever: nothing is dropped. New rows (Notify) end an idle wait but not a backoff; the
// connection coming back (Reconnected) ends either.
func (r *Relay) Run(ctx context.Context) error {
	const idle = 5 * time.Second // Notify wakes the relay when rows arrive; this is a safety net
	backoff := r.minBackoff
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
			backoff = min(2*backoff, r.maxBackoff)
		case n > 0:
			backoff = r.minBackoff
			continue // more may be waiting
		default:
			backoff = r.minBackoff
			wait = idle
		}
		if reconnected, ok := r.sleep(ctx, wait, err != nil); !ok {
			return nil
		} else if reconnected {
			backoff = r.minBackoff
		}
	}
}

// sleep waits for d, for ctx to end (ok false), or for the connection to come back
// (reconnected true); unless backingOff, new rows end the wait too.
func (r *Relay) sleep(ctx context.Context, d time.Duration, backingOff bool) (reconnected, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, false
		case <-r.reconnect:
			return true, true
		case <-r.wake:
			if !backingOff {
				return false, true
			}
		case <-t.C:
			return false, true
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

// readAhead is how many pages of rows the relay reads ahead of the one being published.
const readAhead = 1

// flush publishes the pending rows, oldest first, until none is left, ctx ends, a publish fails,
// or recording what was acknowledged fails. It returns how many rows it marked sent, and wakes
// WaitDrained when it ends.
//
// Three things overlap. A reader goroutine fetches the next page of rows (those after the last
// one read, so nothing is read twice) while the current one is published. Each page is sent
// before the acknowledgements of the page before it are collected, so that the server always
// has messages to store (the bus keeps at most 256 awaiting acknowledgement). A marker goroutine
// records the acknowledged rows of a page while the next ones are published. Pages are sent
// in sequence order on one connection, so the stream keeps the outbox's order; a row is marked
// sent only after its PubAck. A page with failures ends the flush once it, and the page sent
// after it, are settled: the failed rows and those not sent stay pending.
func (r *Relay) flush(ctx context.Context) (int, error) {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	defer r.flushEnded()
	defer r.updateDepth(ctx)
	marked, err := r.markUnmarked(ctx)
	if err != nil {
		return 0, err
	}
	n, err := r.publish(ctx)
	return marked + n, err
}

// markUnmarked marks sent the rows acknowledged earlier that could not be marked then, and
// returns how many it marked.
func (r *Relay) markUnmarked(ctx context.Context) (int, error) {
	if len(r.unmarked) == 0 {
		return 0, nil
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.outbox.MarkSent(mctx, r.unmarked, time.Now()); err != nil {
		r.metrics.StoreErrors.Inc()
		return 0, fmt.Errorf("mark %d acknowledged messages sent (they are not published again): %w", len(r.unmarked), err)
	}
	n := len(r.unmarked)
	r.log.Info("outbox relay: acknowledged messages marked sent after a failure", "count", n)
	r.unmarked = nil
	r.published.Add(int64(n))
	r.metrics.Published.Add(float64(n))
	return n, nil
}

// publish publishes the pending rows, as flush says, and returns how many it marked sent.
func (r *Relay) publish(ctx context.Context) (int, error) {
	r.heldMu.Lock()
	if limit := r.maxPayload(); limit != r.heldAt { // another server, or its limit changed
		clear(r.held)
		r.heldAt = limit
	}
	r.heldMu.Unlock()
	rows, last, err := r.nextPage(ctx, 0)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if !r.pub.Connected() {
		return 0, errNotConnected
	}

	stop := make(chan struct{})
	pages := make(chan []store.Message, readAhead)
	var readErr error // set before pages is closed
	go func() {
		defer close(pages)
		readErr = r.read(ctx, rows, last, pages, stop)
	}()

	m := r.startMarker(ctx)
	var prev *sentPage
	var pubErr error
	term := r.term.Load()
	for page := range pages {
		if m.failed() {
			break
		}
		if !r.pub.Connected() {
			pubErr = errNotConnected
			break
		}
		if term != nil {
			if err := term.t.Check(); err != nil {
				pubErr = err
				break
			}
		}
		cur := r.send(ctx, page)
		if prev != nil {
			pubErr = r.settle(ctx, prev, m)
		}
		prev = cur
		if pubErr != nil {
			break
		}
	}
	if prev != nil {
		if err := r.settle(ctx, prev, m); pubErr == nil {
			pubErr = err
		}
	}
	close(stop)
	for range pages { // let the reader end
	}
	marked, unmarked, markErr := m.finish()
	r.unmarked = append(r.unmarked, unmarked...)
	switch {
	case markErr != nil:
		return marked, markErr
	case pubErr != nil:
		return marked, pubErr
	case ctx.Err() == nil && readErr != nil:
		return marked, readErr
	}
	return marked, nil
}

// read sends rows to pages, then the rows after last, a page at a time, until the outbox has
// no more or stop is closed.
func (r *Relay) read(ctx context.Context, rows []store.Message, last int64, pages chan<- []store.Message, stop <-chan struct{}) error {
	for len(rows) > 0 {
		select {
		case pages <- rows:
		case <-stop:
			return nil
		}
		var err error
		if rows, last, err = r.nextPage(ctx, last); err != nil {
			return err
		}
	}
	return nil
}

// nextPage returns the next page of unsent rows after afterSeq without the held ones, reading
// on past pages of held rows alone, and the last sequence number read. It is empty when the
// outbox has no more.
func (r *Relay) nextPage(ctx context.Context, afterSeq int64) ([]store.Message, int64, error) {
	for {
		rows, err := r.outbox.Pending(ctx, afterSeq, r.pageRows)
		if err != nil {
			return nil, afterSeq, fmt.Errorf("read outbox: %w", err)
		}
		if len(rows) == 0 {
			return nil, afterSeq, nil
		}
		afterSeq = rows[len(rows)-1].Seq
		if rows = r.withoutHeld(rows); len(rows) > 0 {
			return rows, afterSeq, nil
		}
	}
}

// withoutHeld returns rows without the held ones.
func (r *Relay) withoutHeld(rows []store.Message) []store.Message {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	if len(r.held) == 0 {
		return rows
	}
	kept := rows[:0:0]
	for _, row := range rows {
		if _, ok := r.held[row.Seq]; !ok {
			kept = append(kept, row)
		}
	}
	return kept
}

// maxPayload returns the largest message the server takes, headers included, as last taken
// from it; 0 when unknown.
func (r *Relay) maxPayload() int {
	if r == nil || r.pub == nil {
		return 0
	}
	return int(r.pub.MaxPayload())
}

// hold keeps a row that cannot be published as it is in the outbox, skipped until the server's
// limit changes: it is counted (feedd_publish_rejected_total), logged by name and its failure
// recorded on the row. It is never marked sent.
func (r *Relay) hold(ctx context.Context, row store.Message, size, limit int, cause error) {
	r.log.Error("outbox relay: message cannot be published: held in the outbox", "seq", row.Seq,
		"id", row.MsgID, "subject", row.Subject, "bytes", size, "max_payload", limit, "err", cause)
	r.metrics.Rejected.Inc()
	r.heldMu.Lock()
	r.held[row.Seq] = struct{}{}
	r.heldMu.Unlock()
	if err := r.outbox.RecordFailure(context.WithoutCancel(ctx), []int64{row.Seq}, "held: "+cause.Error()); err != nil {
		r.log.Warn("outbox relay: record failure", "err", err)
	}
}

// errTooLarge is why a message over the server's max_payload, and beyond cutting, is held.
var errTooLarge = errors.New("message larger than the server's max_payload, even with its content cut")

// refit cuts the article in m's body to fit limit with its headers, as encode does: a message
// recorded under a larger limit than the server's now. It reports whether m now fits.
func (r *Relay) refit(m *bus.Message, limit int) bool {
	var a article.Article
	if err := json.Unmarshal(m.Data, &a); err != nil || a.ID == "" {
		return false
	}
	headers := m.Size() - len(m.Data)
	size := 0
	data, ok, err := fit(&a, limit-headers, &size)
	if err != nil || !ok {
		return false
	}
	r.log.Warn("outbox relay: message over the server's max_payload: content shortened", "id", m.ID,
		"bytes", size+headers, "max_payload", limit)
	m.Data = data
	return true
}

// sentPage is a page of rows sent and awaiting acknowledgement.
type sentPage struct {
	rows []store.Message
	acks *bus.Acks
}

// send sends a page of rows. A row over the server's max_payload with its headers has its
// article cut to fit; one that cannot fit is held, not sent.
func (r *Relay) send(ctx context.Context, rows []store.Message) *sentPage {
	limit := r.maxPayload()
	msgs := make([]bus.Message, 0, len(rows))
	sent := rows
	term := r.term.Load()
	for i, row := range rows {
		m := bus.Message{Subject: row.Subject, ID: row.MsgID, Header: row.Header, Data: row.Data}
		if term != nil {
			m.Header = maps.Clone(row.Header)
			if m.Header == nil {
				m.Header = map[string]string{}
			}
			m.Header[term.header] = term.epoch
		}
		if size := m.Size(); limit > 0 && size > limit && !r.refit(&m, limit) {
			r.hold(ctx, row, size, limit, errTooLarge)
			if len(sent) == len(rows) { // the first held: sent becomes a copy without it
				sent = append(make([]store.Message, 0, len(rows)-1), rows[:i]...)
			}
			continue
		}
		if len(sent) < len(rows) {
			sent = append(sent, row)
		}
		msgs = append(msgs, m)
	}
	if cp, ok := r.pub.(checkedPublisher); ok && term != nil {
		return &sentPage{rows: sent, acks: cp.SendChecked(ctx, msgs, r.ackTimeout, term.t.Check)}
	}
	return &sentPage{rows: sent, acks: r.pub.Send(ctx, msgs, r.ackTimeout)}
}

// settle waits for the acknowledgements of a page and hands the acknowledged rows to the
// marker. Rows the server rejects for good are held in the outbox, never marked sent. The
// failed ones have their attempt recorded, and make settle return an error.
func (r *Relay) settle(ctx context.Context, b *sentPage, m *marker) error {
	rows, errs := b.rows, b.acks.Wait(ctx)
	sent := make([]int64, 0, len(rows))
	var failed []int64
	var firstErr error
	stopped := false
	for i, e := range errs {
		switch {
		case e == nil:
			sent = append(sent, rows[i].Seq)
		case errors.Is(e, bus.ErrRejected):
			// Too large for a server whose limit changed since the page was sent, or a bad
			// subject: publishing it again as it is would fail again.
			r.hold(ctx, rows[i], len(rows[i].Data), r.maxPayload(), e)
		case ctx.Err() != nil && errors.Is(e, ctx.Err()), r.termEnded():
			// Stopping, not failing: the row stays pending as it was, its attempts uncounted.
			stopped = true
		default:
			failed = append(failed, rows[i].Seq)
			if firstErr == nil {
				firstErr = e
			}
		}
	}
	if len(sent) > 0 {
		m.mark(sent)
	}
	if len(failed) == 0 {
		if stopped {
			if ctx.Err() == nil {
				return r.term.Load().t.Check()
			}
			return ctx.Err()
		}
		return nil
	}
	r.metrics.PublishErrors.Add(float64(len(failed)))
	if err := r.outbox.RecordFailure(context.WithoutCancel(ctx), failed, firstErr.Error()); err != nil {
		r.log.Warn("outbox relay: record failure", "err", err)
	}
	return fmt.Errorf("%d of %d messages not acknowledged: %w", len(failed), len(rows), firstErr)
}

// marker records acknowledged rows as sent on its own goroutine, so that the next page is
// published meanwhile. What queues up while it writes is recorded in one transaction.
type marker struct {
	r        *Relay
	ctx      context.Context
	seqs     chan []int64
	stopped  chan struct{} // closed when a write fails: further rows are not marked
	done     chan struct{}
	marked   int     // read after done
	err      error   // read after done
	unmarked []int64 // acknowledged rows not marked sent; read after done
}

// markQueue is how many acknowledged pages may wait for the marker before the publisher
// waits for it.
const markQueue = 4

func (r *Relay) startMarker(ctx context.Context) *marker {
	m := &marker{r: r, ctx: ctx, seqs: make(chan []int64, markQueue),
		stopped: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

// mark queues acknowledged rows to be marked sent.
func (m *marker) mark(seqs []int64) { m.seqs <- seqs }

// failed reports whether marking has failed: publishing more would be wasted.
func (m *marker) failed() bool {
	select {
	case <-m.stopped:
		return true
	default:
		return false
	}
}

// finish waits until everything queued is recorded and returns how many rows were marked sent,
// the acknowledged rows it could not mark, and the write error, if any.
func (m *marker) finish() (marked int, unmarked []int64, err error) {
	close(m.seqs)
	<-m.done
	return m.marked, m.unmarked, m.err
}

func (m *marker) run() {
	defer close(m.done)
	r := m.r
	lastDepth := time.Now()
	for seqs := range m.seqs {
		if m.err != nil {
			m.unmarked = append(m.unmarked, seqs...) // marked at the next flush, not published again
			continue
		}
	more:
		for {
			select {
			case s, ok := <-m.seqs:
				if !ok {
					break more
				}
				seqs = append(seqs, s...)
			default:
				break more
			}
		}
		// A context that ended must not stop the bookkeeping of what JetStream already has.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(m.ctx), 10*time.Second)
		err := r.outbox.MarkSent(ctx, seqs, time.Now())
		cancel()
		if err != nil {
			// The rows stay pending in the database; the relay remembers them as acknowledged
			// and marks them at its next flush, without publishing them again.
			r.metrics.StoreErrors.Inc()
			m.err = fmt.Errorf("mark %d messages sent: %w", len(seqs), err)
			m.unmarked = append(m.unmarked, seqs...)
			close(m.stopped)
			continue
		}
		m.marked += len(seqs)
		r.published.Add(int64(len(seqs)))
		r.metrics.Published.Add(float64(len(seqs)))
		r.prune(m.ctx)
		if time.Since(lastDepth) >= time.Second { // a long flush keeps the gauge current
			r.updateDepth(m.ctx)
			lastDepth = time.Now()
		}
	}
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
//
// It looks at the outbox when it is called and then each time a flush of the relay ends (Run
// flushes whenever rows arrive), so it returns as soon as the flush that empties the outbox is
// done. With whileConnected it also looks at the connection once a second, so that losing it
// during a long publish backoff is noticed.
func (r *Relay) WaitDrained(ctx context.Context, whileConnected bool) error {
	var tick <-chan time.Time
	if whileConnected {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		flushed := r.nextFlushEnd() // before looking: a flush that ends meanwhile is not missed
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
		case <-flushed:
		case <-tick:
		}
	}
}

// nextFlushEnd returns a channel that is closed when the next flush ends.
func (r *Relay) nextFlushEnd() <-chan struct{} {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	return r.flushEnd
}

// flushEnded wakes those waiting for the end of a flush.
func (r *Relay) flushEnded() {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	close(r.flushEnd)
	r.flushEnd = make(chan struct{})
}
