package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// DefaultAckTimeout is used by PublishBatch when ackTimeout <= 0.
	DefaultAckTimeout = 10 * time.Second
	// maxInFlight bounds the publishes awaiting their PubAck.
	maxInFlight = 256
)

// Message is one message to publish to JetStream.
type Message struct {
	// Subject must be bound to a stream, e.g. "articles.new.ar.aljazeera".
	Subject string
	// ID is sent as the Nats-Msg-Id header: the stream stores a message
	// once per ID within its duplicate window. Empty means no id.
	ID string
	// Header holds extra headers (Content-Type, ce-*). Names are sent as
	// given (NATS headers are case-sensitive).
	Header map[string]string
	// Data is the message body.
	Data []byte
}

// PublishBatch publishes msgs asynchronously, at most 256 awaiting their
// acknowledgement at a time, and waits for every PubAck. It returns one
// error per message, in order: nil means the stream has the message, either
// stored now or already stored under the same ID (a duplicate ack). A
// message fails when it cannot be sent (errors wrap ErrNotConnected when
// the connection is down), when its ack does not come within ackTimeout of
// sending it (DefaultAckTimeout when ackTimeout <= 0), when the connection
// is lost before the ack, or when ctx ends first. PublishBatch never waits
// much longer than ackTimeout after the last message is sent.
func (b *Bus) PublishBatch(ctx context.Context, msgs []Message, ackTimeout time.Duration) []error {
	errs := make([]error, len(msgs))
	if len(msgs) == 0 {
		return errs
	}
	if ackTimeout <= 0 {
		ackTimeout = DefaultAckTimeout
	}
	fail := func(i int, err error) {
		errs[i] = fmt.Errorf("publish %s (id %q): %w", msgs[i].Subject, msgs[i].ID, err)
	}
	if !b.nc.IsConnected() {
		for i := range msgs {
			fail(i, ErrNotConnected)
		}
		return errs
	}

	// A JetStream handle per batch scopes the ack timeout and the pending
	// acks to this call: CleanupPublisher drops whatever is left.
	js, err := jetstream.New(b.nc,
		jetstream.WithPublishAsyncMaxPending(maxInFlight),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		for i := range msgs {
			fail(i, err)
		}
		return errs
	}
	defer js.CleanupPublisher()

	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			fail(i, err)
			continue
		}
		nm := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: make(nats.Header, len(m.Header)+1)}
		for k, v := range m.Header {
			nm.Header[k] = []string{v}
		}
		opts := []jetstream.PublishOpt{jetstream.WithStallWait(ackTimeout)}
		if m.ID != "" {
			opts = append(opts, jetstream.WithMsgID(m.ID))
		}
		f, err := js.PublishMsgAsync(nm, opts...)
		if err != nil {
			fail(i, b.connErr(rejected(err)))
			continue
		}
		futures[i] = f
	}

	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			// A duplicate ack (PubAck.Duplicate) also means the stream
			// has the message.
		case err := <-f.Err():
			fail(i, b.connErr(rejected(err)))
		case <-ctx.Done():
			select {
			case <-f.Ok():
			default:
				fail(i, ctx.Err())
			}
		}
	}
	return errs
}

// ErrRejected marks a message that can never be published as it is (larger than the server's
// maximum payload, or a malformed subject): retrying it is pointless.
var ErrRejected = errors.New("message rejected")

// rejected wraps err with ErrRejected when it says the message itself is unacceptable.
func rejected(err error) error {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}

// MaxPayload returns the largest message the server accepts, or 0 while not connected.
func (b *Bus) MaxPayload() int64 { return b.nc.MaxPayload() }

// Publish publishes one message and waits for its PubAck (see
// PublishBatch), at most DefaultAckTimeout or until ctx's deadline,
// whichever comes first.
func (b *Bus) Publish(ctx context.Context, m Message) error {
	timeout := DefaultAckTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
		if timeout <= 0 {
			return fmt.Errorf("publish %s (id %q): %w", m.Subject, m.ID, context.DeadlineExceeded)
		}
	}
	return b.PublishBatch(ctx, []Message{m}, timeout)[0]
}
