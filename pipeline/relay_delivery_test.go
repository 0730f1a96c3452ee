package pipeline

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedd/feedd/bus"
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
