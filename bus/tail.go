package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTailSubject is the subject filter Tail uses when none is given.
const DefaultTailSubject = "articles.>"

// probeInactive lets the server remove a probe consumer that Tail failed to
// delete.
const probeInactive = 30 * time.Second

// TailOptions selects what Tail delivers.
type TailOptions struct {
	// Stream is the stream to follow, e.g. "ARTICLES". Required.
	Stream string
	// Subject filters the stream; empty means DefaultTailSubject.
	Subject string
	// Since, when > 0, starts with the messages stored in the last Since.
	Since time.Duration
	// Last, when > 0, starts with the last Last messages on Subject (over
	// all subjects the filter matches, not per subject).
	Last int
	// CaughtUp, when set, is called once, from Tail's goroutine, when the
	// stored messages selected have all been delivered and Tail waits for
	// new ones (at once when none was selected).
	CaughtUp func()
	// UntilCaughtUp makes Tail return nil once it has caught up instead of
	// waiting for new messages: for a stream nothing publishes to.
	UntilCaughtUp bool
}

// Received is a message delivered by Tail.
type Received struct {
	// Subject the message was published on.
	Subject string
	// Header holds the message headers (Nats-Msg-Id, Content-Type, ce-*).
	Header nats.Header
	// Data is the message body.
	Data []byte
	// Seq is the message's stream sequence.
	Seq uint64
	// Time is when the stream stored the message, in UTC.
	Time time.Time
}

// Tail follows the stream with an ordered consumer and calls fn for each
// message, in stream order, from the calling goroutine. It first delivers
// the stored messages selected by o, then new ones as they arrive:
//
//   - neither Since nor Last: only new messages;
//   - Since: the messages stored in the last Since;
//   - Last: the last Last messages on the filter, overall (not per
//     subject);
//   - both: whichever of the two selects fewer messages, so that every
//     message delivered satisfies both.
//
// For Last, Tail finds the sequence at which exactly Last messages on the
// filter remain: with a filter that matches every message it takes one
// probe (LastSeq-Last+1); otherwise it binary-searches the stream's
// sequence range, asking the server how many messages match from a
// candidate sequence (a short-lived consumer's NumPending), so a handful of
// requests even on a large stream, without reading any message. Messages
// stored while it searches can make it start slightly later.
//
// Tail returns nil when ctx ends, fn's error as is when fn fails, or an
// error when the consumer cannot be created or fails for good. While the
// connection is down the ordered consumer recreates itself; ending ctx then
// may take a few seconds to be noticed.
func (b *Bus) Tail(ctx context.Context, o TailOptions, fn func(Received) error) error {
	if o.Stream == "" {
		return errors.New("tail: empty stream name")
	}
	if o.Since < 0 {
		return fmt.Errorf("tail %s: negative since %s", o.Stream, o.Since)
	}
	if o.Last < 0 {
		return fmt.Errorf("tail %s: negative last %d", o.Stream, o.Last)
	}
	subject := o.Subject
	if subject == "" {
		subject = DefaultTailSubject
	}

	if !b.Connected() {
		return fmt.Errorf("tail %s %s: %w", o.Stream, subject, ErrNotConnected)
	}
	cfg, err := b.tailStart(ctx, o.Stream, subject, o.Since, uint64(o.Last))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("tail %s %s: %w", o.Stream, subject, b.connErr(err))
	}
	cons, err := b.js.OrderedConsumer(ctx, o.Stream, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("tail %s %s: %w", o.Stream, subject, b.connErr(err))
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("tail %s %s: %w", o.Stream, subject, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	caughtUp := false
	catchUp := func() {
		caughtUp = true
		if o.CaughtUp != nil {
			o.CaughtUp()
		}
	}
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		catchUp()
		if o.UntilCaughtUp {
			return nil
		}
	}
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tail %s %s: %w", o.Stream, subject, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("tail %s %s: %w", o.Stream, subject, err)
		}
		r := Received{
			Subject: msg.Subject(),
			Header:  msg.Headers(),
			Data:    msg.Data(),
			Seq:     meta.Sequence.Stream,
			Time:    meta.Timestamp.UTC(),
		}
		if err := fn(r); err != nil {
			return err
		}
		if !caughtUp && meta.NumPending == 0 {
			catchUp()
			if o.UntilCaughtUp {
				return nil
			}
		}
	}
}

// tailStart builds the ordered consumer config for the start position that
// since and last select (see Tail).
func (b *Bus) tailStart(ctx context.Context, stream, subject string, since time.Duration, last uint64) (jetstream.OrderedConsumerConfig, error) {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	}
	var start time.Time
	if since > 0 {
		start = time.Now().Add(-since)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &start
	}
	if last == 0 {
		return cfg, nil
	}
	if since > 0 {
		n, err := b.pending(ctx, stream, jetstream.ConsumerConfig{
			FilterSubject: subject,
			DeliverPolicy: jetstream.DeliverByStartTimePolicy,
			OptStartTime:  &start,
		})
		if err != nil {
			return cfg, err
		}
		if n <= last {
			return cfg, nil // since selects fewer: keep it
		}
	}
	seq, err := b.lastStart(ctx, stream, subject, last)
	if err != nil {
		return cfg, err
	}
	cfg.OptStartTime = nil
	if seq == 0 {
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		return cfg, nil
	}
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = seq
	return cfg, nil
}

// lastStart returns the largest stream sequence from which at least n
// messages match subject, or 0 when the stream holds n or fewer (deliver
// all).
func (b *Bus) lastStart(ctx context.Context, stream, subject string, n uint64) (uint64, error) {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	st := s.CachedInfo().State
	if st.Msgs <= n {
		return 0, nil
	}
	count := func(seq uint64) (uint64, error) {
		return b.pending(ctx, stream, jetstream.ConsumerConfig{
			FilterSubject: subject,
			DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:   seq,
		})
	}
	// count(seq) never grows with seq and drops by at most one per step, and
	// count(seq) <= LastSeq-seq+1, so the answer is at most LastSeq-n+1:
	// the common case (the filter matches everything) needs one probe.
	hi := st.LastSeq - n + 1
	c, err := count(hi)
	if err != nil {
		return 0, err
	}
	if c >= n {
		return hi, nil
	}
	lo := st.FirstSeq
	c, err = count(lo)
	if err != nil {
		return 0, err
	}
	if c <= n {
		return 0, nil
	}
	// Invariant: count(lo) >= n > count(hi).
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		c, err := count(mid)
		if err != nil {
			return 0, err
		}
		if c >= n {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// pending returns how many messages a consumer with cfg's filter and start
// position would deliver, using a short-lived consumer that reads nothing.
func (b *Bus) pending(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (uint64, error) {
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.Replicas = 1
	cfg.InactiveThreshold = probeInactive
	cons, err := b.js.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		return 0, fmt.Errorf("count pending messages: %w", err)
	}
	info := cons.CachedInfo()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.js.DeleteConsumer(dctx, stream, info.Name); err != nil {
		b.log.Debug("delete probe consumer", "stream", stream, "consumer", info.Name, "error", err)
	}
	return info.NumPending, nil
}
