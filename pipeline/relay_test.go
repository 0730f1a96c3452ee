package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// streamIDs returns the Nats-Msg-Id of every message in the stream, in stream order.
func streamIDs(t *testing.T, ns *server.Server) []string {
	t.Helper()
	st := openStream(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream message %d: %v", seq, err)
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids
}

// insertRow records one article whose message goes to subject, with the id insertN would give
// it for i.
func insertRow(t *testing.T, s *store.Store, i int, subject string) {
	t.Helper()
	id := fmt.Sprintf("%064x", i)
	_, err := s.Insert(context.Background(),
		store.Article{ID: id, FeedID: "f", CanonicalURL: fmt.Sprintf("https://example.com/%d", i), FetchedAt: time.Now().UTC()},
		store.Message{MsgID: id, Subject: subject, Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRelayFlushPipelined: a flush over many pages publishes every row once, in outbox order,
// and marks every one sent.
func TestRelayFlushPipelined(t *testing.T) {
	tests := []struct {
		name string
		rows int
		page int
	}{
		{name: "one row", rows: 1, page: 64},
		{name: "exactly one page", rows: 64, page: 64},
		{name: "many pages and a partial one", rows: 1000, page: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := startNATS(t, -1, t.TempDir())
			b := connect(t, ns.ClientURL())
			ensureStream(t, b)
			s := openStore(t)
			insertN(t, s, 0, tt.rows)
			relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
			relay.pageRows = tt.page

			n, err := relay.flush(context.Background())
			if err != nil {
				t.Fatalf("flush: %v", err)
			}
			if n != tt.rows {
				t.Errorf("flush marked %d rows sent, want %d", n, tt.rows)
			}
			if d, _ := s.OutboxDepth(context.Background()); d != 0 {
				t.Errorf("outbox depth %d after the flush, want 0", d)
			}
			if got := relay.Published(); got != int64(tt.rows) {
				t.Errorf("Published() = %d, want %d", got, tt.rows)
			}
			ids := streamIDs(t, ns)
			if len(ids) != tt.rows {
				t.Fatalf("stream holds %d messages, want %d", len(ids), tt.rows)
			}
			for i, id := range ids {
				if want := fmt.Sprintf("%064x", i); id != want {
					t.Fatalf("stream message %d has id %s, want %s (outbox order)", i+1, id, want)
				}
			}
		})
	}
}

// TestRelayFlushStopsAtFailure: a message no stream takes fails its page. The page's other
// messages, and those of the page already sent after it, are marked sent; the failed one has
// its attempt recorded; no later page is published.
func TestRelayFlushStopsAtFailure(t *testing.T) {
	ns := startNATS(t, -1, t.TempDir())
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	s := openStore(t)
	const page, bad, total = 50, 70, 250 // the failure is in the second of five pages
	insertN(t, s, 0, bad)
	insertRow(t, s, bad, "nowhere.new.ar.f")
	insertN(t, s, bad+1, total-bad-1)
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	relay.pageRows = page
	relay.ackTimeout = 2 * time.Second

	n, err := relay.flush(context.Background())
	if err == nil {
		t.Fatal("flush: got no error, want the failed message's")
	}
	const published = 3*page - 1 // three pages sent, one message failed
	if n != published {
		t.Errorf("flush marked %d rows sent, want %d", n, published)
	}
	if got := len(streamIDs(t, ns)); got != published {
		t.Errorf("stream holds %d messages, want %d", got, published)
	}
	pending, err := s.Pending(context.Background(), 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != total-published {
		t.Fatalf("%d rows pending, want %d", len(pending), total-published)
	}
	if first := pending[0]; first.MsgID != fmt.Sprintf("%064x", bad) || first.Attempts != 1 || first.LastError == "" {
		t.Errorf("first pending row %s has %d attempts, last error %q; want the failed row %064x with 1 attempt and its error",
			first.MsgID, first.Attempts, first.LastError, bad)
	}
	for i, p := range pending[1:] {
		if want := fmt.Sprintf("%064x", 3*page+i); p.MsgID != want || p.Attempts != 0 {
			t.Errorf("pending row %d is %s with %d attempts, want %s never published", i+1, p.MsgID, p.Attempts, want)
		}
	}
}

// cancellingPublisher cancels the relay's context as soon as it has sent a page: the relay is
// stopped while acknowledgements are awaited, as at shutdown.
type cancellingPublisher struct {
	Publisher
	cancel context.CancelFunc
}

func (c cancellingPublisher) Send(ctx context.Context, msgs []bus.Message, ackTimeout time.Duration) *bus.Acks {
	acks := c.Publisher.Send(ctx, msgs, ackTimeout)
	c.cancel()
	return acks
}

// TestRelayStoppedCountsNoFailure: a relay stopped while it awaits acknowledgements leaves the
// unacknowledged rows pending as they were, with no publish error counted or recorded: a
// shutdown is not a failure of the messages.
func TestRelayStoppedCountsNoFailure(t *testing.T) {
	ns := startNATS(t, -1, t.TempDir())
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	s := openStore(t)
	insertN(t, s, 0, 200)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := NewMetrics(nil)
	relay := NewRelay(s, cancellingPublisher{b, cancel}, testLogger(t), m)
	relay.pageRows = 50

	if _, err := relay.flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("flush: got %v, want context.Canceled", err)
	}
	if got := testutil.ToFloat64(m.PublishErrors); got != 0 {
		t.Errorf("publish errors counted: %v, want 0", got)
	}
	pending, err := s.Pending(context.Background(), 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		if p.Attempts != 0 || p.LastError != "" {
			t.Errorf("pending row %s: %d attempts, last error %q; want none", p.MsgID, p.Attempts, p.LastError)
		}
	}
	// The next flush publishes the rest, each message once.
	if err := NewRelay(s, b, testLogger(t), NewMetrics(nil)).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(streamIDs(t, ns)); got != 200 {
		t.Errorf("stream holds %d messages, want 200", got)
	}
}

// TestWaitDrained covers WaitDrained's contract: nil once the outbox is empty, the context's
// error when it ends first, and with whileConnected an error as soon as NATS is down.
func TestWaitDrained(t *testing.T) {
	t.Run("empty outbox", func(t *testing.T) {
		s := openStore(t)
		relay := NewRelay(s, nil, testLogger(t), NewMetrics(nil))
		if err := relay.WaitDrained(context.Background(), false); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})

	t.Run("nothing flushes", func(t *testing.T) {
		s := openStore(t)
		insertN(t, s, 0, 1)
		relay := NewRelay(s, nil, testLogger(t), NewMetrics(nil))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := relay.WaitDrained(ctx, false); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("wakes when a flush empties the outbox", func(t *testing.T) {
		ns := startNATS(t, -1, t.TempDir())
		b := connect(t, ns.ClientURL())
		ensureStream(t, b)
		s := openStore(t)
		insertN(t, s, 0, 10)
		relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
		done := make(chan error, 1)
		go func() { done <- relay.WaitDrained(context.Background(), true) }()
		select {
		case err := <-done:
			t.Fatalf("WaitDrained returned %v with 10 rows pending and no flush", err)
		case <-time.After(100 * time.Millisecond):
		}
		flushed := time.Now()
		if err := relay.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("got %v, want nil", err)
			}
			t.Logf("returned %v after the flush began", time.Since(flushed))
		case <-time.After(10 * time.Second):
			t.Fatal("WaitDrained did not return after the outbox was flushed")
		}
	})

	t.Run("gives up while NATS is down", func(t *testing.T) {
		ns := startNATS(t, -1, t.TempDir())
		b := connect(t, ns.ClientURL())
		s := openStore(t)
		insertN(t, s, 0, 1)
		relay := NewRelay(s, b, slog.New(slog.DiscardHandler), NewMetrics(nil))
		ns.Shutdown()
		ns.WaitForShutdown()
		waitUntil(t, "the client to notice", func() bool { return !b.Connected() })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := relay.WaitDrained(ctx, true); !errors.Is(err, errNotConnected) {
			t.Errorf("got %v, want errNotConnected", err)
		}
	})
}

// TestRunWakesWaitDrained: with the relay running, WaitDrained returns once the rows recorded
// meanwhile are published, well before the relay's idle wait.
func TestRunWakesWaitDrained(t *testing.T) {
	ns := startNATS(t, -1, t.TempDir())
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	s := openStore(t)
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	time.Sleep(50 * time.Millisecond) // the relay finds nothing and waits
	insertN(t, s, 0, 300)
	wctx, wcancel := context.WithTimeout(context.Background(), 4*time.Second) // < the 5s idle wait
	defer wcancel()
	if err := relay.WaitDrained(wctx, false); err != nil {
		t.Fatalf("WaitDrained: %v", err)
	}
	if got := len(streamIDs(t, ns)); got != 300 {
		t.Errorf("stream holds %d messages, want 300", got)
	}
}
