package pipeline

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/store"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRelayResumesOnReconnect: the connection coming back ends the relay's publish backoff at
// once, even when new rows arrived during the backoff. The backoff is an hour, so only the
// reconnection can explain the outbox draining.
func TestRelayResumesOnReconnect(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, -1, dir)
	port := ns.Addr().(*net.TCPAddr).Port
	var relayRef atomic.Pointer[Relay]
	var reconnectedAt atomic.Int64
	b, err := bus.Connect(context.Background(), bus.Options{URL: ns.ClientURL(), Name: "test",
		OnConnect: func() {
			if r := relayRef.Load(); r != nil {
				reconnectedAt.Store(time.Now().UnixNano())
				r.Reconnected()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ensureStream(t, b)
	s := openStore(t)
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	relay.minBackoff, relay.maxBackoff = time.Hour, time.Hour
	relayRef.Store(relay)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	ns.Shutdown()
	ns.WaitForShutdown()
	waitUntil(t, "the client to notice NATS is gone", func() bool { return !b.Connected() })
	insertN(t, s, 0, 50)
	relay.Notify()
	waitUntil(t, "a flush to fail", func() bool { return relay.failingSince.Load() != 0 })
	// More rows arrive while the relay backs off: they do not end the backoff, and must not
	// make the relay miss the reconnection either.
	insertN(t, s, 50, 50)
	relay.Notify()
	time.Sleep(50 * time.Millisecond)
	relay.Notify()

	ns = startNATS(t, port, dir)
	waitUntil(t, "the outbox to drain after NATS returns", func() bool { return s.Unsent() == 0 })
	t.Logf("outbox drained %v after the reconnection", time.Since(time.Unix(0, reconnectedAt.Load())).Round(time.Millisecond))
	if got := streamMsgs(t, ns); got != 100 {
		t.Errorf("stream holds %d messages, want 100", got)
	}
}

// fullDiskOutbox is a real store whose writes marking rows sent fail, as on a full disk, while
// full is set.
type fullDiskOutbox struct {
	*store.Store
	full     atomic.Bool
	failures atomic.Int64
}

func (o *fullDiskOutbox) MarkSent(ctx context.Context, seqs []int64, at time.Time) error {
	if o.full.Load() {
		o.failures.Add(1)
		return fmt.Errorf("store: mark sent %d messages: %w", len(seqs), store.ErrFull)
	}
	return o.Store.MarkSent(ctx, seqs, at)
}

// TestRelayFullDiskPastTheDuplicateWindow: while marking rows sent fails, for longer than the
// stream's duplicate window (2 s here), the relay retries the marking but never publishes the
// acknowledged rows again, so the stream holds each message once; once the disk has room, the
// rows are marked and what came meanwhile is published.
func TestRelayFullDiskPastTheDuplicateWindow(t *testing.T) {
	ns := startNATS(t, -1, t.TempDir())
	b := connect(t, ns.ClientURL())
	err := b.EnsureStream(context.Background(), bus.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"},
		Replicas: 1, DuplicateWindow: 2 * time.Second, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	o := &fullDiskOutbox{Store: s}
	o.full.Store(true)
	m := NewMetrics(nil)
	relay := NewRelay(o, b, testLogger(t), m)
	relay.minBackoff, relay.maxBackoff = 50*time.Millisecond, 200*time.Millisecond
	relay.pageRows = 64
	insertN(t, s, 0, 200)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitUntil(t, "a mark to fail", func() bool { return o.failures.Load() > 0 })
	time.Sleep(3 * time.Second) // the relay retries for longer than the duplicate window
	if n := o.failures.Load(); n < 5 {
		t.Fatalf("the relay tried to mark rows %d times in 3 s, want it to keep retrying", n)
	}
	if got := streamMsgs(t, ns); got > 200 {
		t.Errorf("stream holds %d messages while the disk is full, want at most 200: acknowledged rows were published again", got)
	}
	o.full.Store(false)
	insertN(t, s, 200, 10)
	relay.Notify()
	waitUntil(t, "the outbox to drain once the disk has room", func() bool { return s.Unsent() == 0 })
	ids := streamIDs(t, ns)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("message %s is in the stream twice", id)
		}
		seen[id] = true
	}
	if len(ids) != 210 {
		t.Errorf("stream holds %d messages, want 210", len(ids))
	}
	if got := relay.Published(); got != 210 {
		t.Errorf("Published() = %d, want 210", got)
	}
	if got := testutil.ToFloat64(m.StoreErrors); got < 5 {
		t.Errorf("store errors counted: %v, want one per failed mark", got)
	}
}
