package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Apply takes one message of the followed stream into a standby's state (its repeat keys and
// duplicate index). It is called with the stream's messages in order, one at a time; an error
// stops the follower.
type Apply func(ctx context.Context, msg jetstream.Msg) error

// Follower keeps a standby's state up to date with the article stream: it reads the stream with
// an ordered consumer and applies each message, and it knows the last one it applied, so that a
// new leader can wait until it is caught up before it polls.
type Follower struct {
	js     jetstream.JetStream
	stream string
	apply  Apply
	log    *slog.Logger

	mu      sync.Mutex
	applied uint64
	moved   chan struct{} // closed and replaced whenever applied moves
}

// NewFollower returns a follower of stream that hands each message to apply. log may be nil.
func NewFollower(js jetstream.JetStream, stream string, apply Apply, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{js: js, stream: stream, apply: apply, log: log, moved: make(chan struct{})}
}

// Applied returns the stream sequence of the last message applied, 0 before the first.
func (f *Follower) Applied() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *Follower) advance(seq uint64) {
	f.mu.Lock()
	f.applied = seq
	close(f.moved)
	f.moved = make(chan struct{})
	f.mu.Unlock()
}

// Run follows the stream from the message after sequence after (0: from its first message)
// until ctx ends, returning ctx's error, or until apply fails, returning its error with the
// message's sequence. The caller keeps the last sequence it applied with the state it fed (for
// example in the same transaction), and passes it as after when it starts again.
//
// When the stream no longer holds the messages right after after (they aged out while this
// replica was away), Run logs a warning and goes on from the first message it still holds:
// the state misses those articles, as a single replica's would after a restore from backup.
func (f *Follower) Run(ctx context.Context, after uint64) error {
	f.mu.Lock()
	f.applied = after
	f.mu.Unlock()
	cfg := jetstream.OrderedConsumerConfig{}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	cons, err := f.js.OrderedConsumer(ctx, f.stream, cfg)
	if err != nil {
		return fmt.Errorf("cluster: follow %s: %w", f.stream, err)
	}
	// Short pulls with heartbeats: a pull the server lost (its stream leader moved, a server
	// restarted) is noticed after two missed heartbeats and the consumer reset, within seconds
	// rather than the ten an ordered consumer waits by default.
	it, err := cons.Messages(jetstream.PullExpiry(followPull), jetstream.PullHeartbeat(followPull/4))
	if err != nil {
		return fmt.Errorf("cluster: follow %s: %w", f.stream, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	first := true
	for {
		msg, err := it.Next()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("cluster: follow %s after %d: %w", f.stream, f.Applied(), err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("cluster: follow %s after %d: %w", f.stream, f.Applied(), err)
		}
		seq := md.Sequence.Stream
		if first && seq > after+1 {
			f.log.Warn("cluster: the stream no longer holds messages this replica has not applied",
				"stream", f.stream, "applied", after, "first_held", seq)
		}
		first = false
		if err := f.apply(ctx, msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("cluster: follow %s: apply message %d: %w", f.stream, seq, err)
		}
		f.advance(seq)
	}
}

// followPull is how long one pull request of the follower waits for messages.
const followPull = 2 * time.Second

// ErrBehind is returned by WaitCaughtUp when its context ends first.
var ErrBehind = errors.New("cluster: not caught up with the stream")

// WaitCaughtUp waits until every message the stream held when it was called has been applied,
// and returns the stream's last sequence then. A new leader calls it after it has won the lease
// (so nobody else publishes) and before it polls, so that its repeat keys and duplicate index
// hold everything its predecessors published.
func (f *Follower) WaitCaughtUp(ctx context.Context) (uint64, error) {
	s, err := f.js.Stream(ctx, f.stream)
	if err != nil {
		return 0, fmt.Errorf("cluster: stream %s: %w", f.stream, err)
	}
	info := s.CachedInfo() // Stream has just fetched it
	last := info.State.LastSeq
	if info.State.Msgs == 0 { // nothing held, nothing to apply
		return last, nil
	}
	for {
		f.mu.Lock()
		applied, moved := f.applied, f.moved
		f.mu.Unlock()
		if applied >= last {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%w: applied %d of %d: %w", ErrBehind, applied, last, ctx.Err())
		case <-moved:
		}
	}
}
