package bus

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats-server/v2/server"
)

// TestMaxPayloadTakenOnEachConnection: MaxPayload is the server's max_payload, taken again
// when the client reconnects to a server with another limit; Message.Size counts what the
// server does, so that a message of exactly MaxPayload bytes is published and one byte more is
// rejected.
func TestMaxPayloadTakenOnEachConnection(t *testing.T) {
	dir := t.TempDir()
	small := func(o *server.Options) { o.MaxPayload = 64 << 10 }
	ns := testnats.RunWith(t, -1, dir, small)
	port := ns.Addr().(*net.TCPAddr).Port
	b := connect(t, Options{URL: ns.ClientURL(), Name: "test"})
	ensureTestStream(t, b)
	if got := b.MaxPayload(); got != 64<<10 {
		t.Fatalf("MaxPayload() = %d, want %d", got, 64<<10)
	}

	m := Message{Subject: "articles.new.ar.f", ID: strings.Repeat("a", 64),
		Header: map[string]string{"Content-Type": "application/json", "ce-source": "https://example.com/feed"}}
	m.Data = []byte(strings.Repeat("x", 64<<10-m.Size()))
	if got := m.Size(); got != 64<<10 {
		t.Fatalf("Size() = %d after filling, want %d", got, 64<<10)
	}
	if err := b.Publish(t.Context(), m); err != nil {
		t.Errorf("a message of exactly max_payload bytes: %v, want it published", err)
	}
	m.ID = strings.Repeat("b", 64)
	m.Data = append(m.Data, 'x')
	if err := b.Publish(t.Context(), m); !errors.Is(err, ErrRejected) {
		t.Errorf("a message one byte over max_payload: got %v, want ErrRejected", err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	testnats.RunWith(t, port, dir, func(o *server.Options) { o.MaxPayload = 128 << 10 })
	deadline := time.Now().Add(20 * time.Second)
	for b.MaxPayload() != 128<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("MaxPayload() = %d after reconnecting to a server allowing %d", b.MaxPayload(), 128<<10)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.Publish(t.Context(), m); err != nil {
		t.Errorf("after the reconnection, a message under the new limit: %v", err)
	}
}
