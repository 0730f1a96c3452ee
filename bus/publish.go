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
	// DefaultAckTimeout is used by PublishBatch and Send when ackTimeout <= 0.
	DefaultAckTimeout = 10 * time.Second
	// maxInFlight bounds the publishes awaiting their PubAck, per ack timeout.
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

// PublishBatch publishes msgs asynchronously and waits for every PubAck. At
// most 256 messages await their acknowledgement at a time, counting those of
// other batches sent with the same ack timeout. It returns one error per
// message, in order: nil means the stream has the message, either stored now
// or already stored under the same ID (a duplicate ack). A message fails when
// it cannot be sent (errors wrap ErrNotConnected when the connection is
// down), when its ack does not come within ackTimeout of sending it
// (DefaultAckTimeout when ackTimeout <= 0), when the connection is lost
// before the ack, or when ctx ends first. PublishBatch never waits much
// longer than ackTimeout after the last message is sent.
//
// PublishBatch is Send followed by Wait. Callers should stick to one ack
// timeout: each distinct value has its own window of 256 and its own
// publishing handle, kept for the life of the Bus.
func (b *Bus) PublishBatch(ctx context.Context, msgs []Message, ackTimeout time.Duration) []error {
	return b.Send(ctx, msgs, ackTimeout).Wait(ctx)
}

// Acks are the acknowledgements of a batch of messages handed to the
// connection by Send.
type Acks struct {
	b       *Bus
	msgs    []Message
	errs    []error
	futures []jetstream.PubAckFuture // nil where sending failed
}

// Send hands msgs to the connection asynchronously and returns once the
// last one is sent, without waiting for the acknowledgements still due:
// Wait collects them. At most 256 messages sent with the same ack timeout
// await their acknowledgement at a time, whichever batch they belong to:
// Send waits for room. Sending the next batch before waiting for this one
// keeps the server busy; the messages of successive Sends reach the stream
// in order.
//
// Messages fail as described for PublishBatch; ackTimeout counts from each
// message's sending, whenever Wait is called. ctx bounds the sending.
func (b *Bus) Send(ctx context.Context, msgs []Message, ackTimeout time.Duration) *Acks {
	return b.SendChecked(ctx, msgs, ackTimeout, nil)
}

// SendChecked is Send, and it also calls check (when not nil) before it sends each message:
// once check fails, that message and the rest fail with its error, unsent. A leader in cluster
// mode checks its lease so, so that nothing is sent once its term has ended.
func (b *Bus) SendChecked(ctx context.Context, msgs []Message, ackTimeout time.Duration, check func() error) *Acks {
	a := &Acks{b: b, msgs: msgs, errs: make([]error, len(msgs))}
	if len(msgs) == 0 {
		return a
	}
	if ackTimeout <= 0 {
		ackTimeout = DefaultAckTimeout
	}
	if !b.nc.IsConnected() {
		for i := range msgs {
			a.fail(i, ErrNotConnected)
		}
		return a
	}
	js, err := b.publisher(ackTimeout)
	if err != nil {
		for i := range msgs {
			a.fail(i, err)
		}
		return a
	}
	// The stall wait bounds how long a publish waits for room in the window.
	// With a check, a wait for room in the window is cut into short steps, each after a check:
	// a message is never sent more than a step after its check passed.
	stall := ackTimeout
	if check != nil {
		stall = min(ackTimeout, checkedStallStep)
	}
	opts := []jetstream.PublishOpt{jetstream.WithStallWait(stall)}
	a.futures = make([]jetstream.PubAckFuture, len(msgs))
	var checkErr error
	for i := range msgs {
		m := &msgs[i]
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: natsHeader(m)}
		var (
			f   jetstream.PubAckFuture
			err error
		)
		for waited := time.Duration(0); ; waited += stall {
			if err = ctx.Err(); err != nil {
				break
			}
			if check != nil && checkErr == nil {
				checkErr = check()
			}
			if err = checkErr; err != nil {
				break
			}
			if f, err = js.PublishMsgAsync(msg, opts...); err == nil {
				break
			}
			err = b.connErr(rejected(err))
			if check == nil || !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || waited+stall >= ackTimeout {
				break
			}
		}
		if err != nil {
			a.fail(i, err)
			continue
		}
		a.futures[i] = f
	}
	return a
}

// checkedStallStep is how long SendChecked waits for room in the window between two checks.
const checkedStallStep = 20 * time.Millisecond

// publisher returns the publishing handle for ackTimeout, made on first use and kept for the
// life of the connection: its window of 256 awaiting messages and its ack timeout are shared
// by every batch sent with that timeout. (A handle per batch, released after it, leaks a
// goroutine in nats.go when the release comes before that goroutine has started; a handle kept
// for good starts one goroutine, which ends when the connection closes.)
func (b *Bus) publisher(ackTimeout time.Duration) (jetstream.JetStream, error) {
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	if js, ok := b.pubs[ackTimeout]; ok {
		return js, nil
	}
	js, err := jetstream.New(b.nc,
		jetstream.WithPublishAsyncMaxPending(maxInFlight),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream publisher: %w", err)
	}
	if b.pubs == nil {
		b.pubs = make(map[time.Duration]jetstream.JetStream)
	}
	b.pubs[ackTimeout] = js
	return js, nil
}

func (a *Acks) fail(i int, err error) {
	a.errs[i] = fmt.Errorf("publish %s (id %q): %w", a.msgs[i].Subject, a.msgs[i].ID, err)
}

// Wait waits for the acknowledgement of every message sent, at most about
// the ack timeout after the last one was sent, or until ctx ends, and
// returns one error per message, in order, as PublishBatch does. Messages
// still unacknowledged when ctx ends fail with its error.
func (a *Acks) Wait(ctx context.Context) []error {
	for i, f := range a.futures {
		if f == nil || a.errs[i] != nil {
			continue
		}
		select {
		case <-f.Ok():
			// A duplicate ack (PubAck.Duplicate) also means the stream
			// has the message.
		case err := <-f.Err():
			a.fail(i, a.b.connErr(rejected(err)))
		case <-ctx.Done():
			select {
			case <-f.Ok():
			default:
				a.fail(i, ctx.Err())
			}
		}
	}
	a.futures = nil
	return a.errs
}

// natsHeader returns m's headers as NATS headers, with Nats-Msg-Id set to m.ID when it is not
// empty (as jetstream.WithMsgID would), in two allocations.
func natsHeader(m *Message) nats.Header {
	n := len(m.Header)
	if m.ID != "" {
		n++
	}
	h := make(nats.Header, n)
	vals := make([]string, 0, n)
	for k, v := range m.Header {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if m.ID != "" {
		vals = append(vals, m.ID)
		h[jetstream.MsgIDHeader] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return h
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

// MaxPayload returns the largest message, headers included (see Message.Size), that the
// server accepts: its max_payload, taken when the connection was made and at each reconnection.
// While disconnected it is the last server's; 0 before the first connection.
func (b *Bus) MaxPayload() int64 { return b.maxPayload.Load() }

// Size returns the bytes m takes against the server's max_payload: its body and its headers
// as NATS encodes them, Nats-Msg-Id included.
func (m *Message) Size() int {
	n := len(m.Data)
	if len(m.Header) == 0 && m.ID == "" {
		return n
	}
	const (
		status = len("NATS/1.0\r\n")
		line   = len(": \r\n")
		end    = len("\r\n")
	)
	n += status + end
	for k, v := range m.Header {
		if k == jetstream.MsgIDHeader && m.ID != "" {
			continue // replaced by m.ID
		}
		n += len(k) + line + len(v)
	}
	if m.ID != "" {
		n += len(jetstream.MsgIDHeader) + line + len(m.ID)
	}
	return n
}

// Publish publishes one message and waits for its PubAck (see
// PublishBatch), at most DefaultAckTimeout or until ctx's deadline,
// whichever comes first.
func (b *Bus) Publish(ctx context.Context, m Message) error {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= 0 {
		return fmt.Errorf("publish %s (id %q): %w", m.Subject, m.ID, context.DeadlineExceeded)
	}
	return b.PublishBatch(ctx, []Message{m}, DefaultAckTimeout)[0]
}
