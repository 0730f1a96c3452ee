package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const testStream = "ARTICLES"

// startServer starts an embedded server on listen ("" = in-process only)
// storing into dir, and shuts it down at the end of the test.
func startServer(t testing.TB, listen, dir string) *Embedded {
	t.Helper()
	e, err := StartEmbedded(EmbeddedOptions{Listen: listen, StoreDir: dir})
	if err != nil {
		t.Fatalf("StartEmbedded(%q): %v", listen, err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// connect connects with o and closes the bus at the end of the test.
func connect(t testing.TB, o Options) *Bus {
	t.Helper()
	b, err := Connect(t.Context(), o)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// newBus starts an in-process server and returns a bus connected to it with
// the test stream created.
func newBus(t *testing.T) *Bus {
	t.Helper()
	e := startServer(t, "", t.TempDir())
	b := connect(t, Options{Embedded: e, Name: "test"})
	ensureTestStream(t, b)
	return b
}

func ensureTestStream(t testing.TB, b *Bus) {
	t.Helper()
	err := b.EnsureStream(t.Context(), StreamConfig{
		Name:            testStream,
		Subjects:        []string{"articles.>"},
		DuplicateWindow: time.Hour,
		MaxAge:          24 * time.Hour,
	})
	if err != nil {
		t.Fatalf("EnsureStream: %v", err)
	}
}

// streamState returns the current state of the named stream.
func streamState(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamState {
	t.Helper()
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatalf("Stream(%q): %v", name, err)
	}
	return s.CachedInfo().State
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// messages returns n messages on subject with ids prefix-0, prefix-1, ...
func messages(subject, prefix string, n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{
			Subject: subject,
			ID:      fmt.Sprintf("%s-%d", prefix, i),
			Header:  map[string]string{"Content-Type": "application/json"},
			Data:    fmt.Appendf(nil, `{"n":%d}`, i),
		}
	}
	return msgs
}

// mustPublish publishes msgs and fails the test on any error.
func mustPublish(t *testing.T, b *Bus, msgs []Message) {
	t.Helper()
	for i, err := range b.PublishBatch(t.Context(), msgs, 5*time.Second) {
		if err != nil {
			t.Fatalf("PublishBatch message %d: %v", i, err)
		}
	}
}

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// find returns the first record at level whose message contains substr.
func (r *recorder) find(level slog.Level, substr string) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.Level == level && strings.Contains(rec.Message, substr) {
			return rec, true
		}
	}
	return slog.Record{}, false
}
