package bus

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnectErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		opts Options
		want string // in the error
	}{
		{name: "no url", ctx: t.Context(), opts: Options{}, want: "no url"},
		{name: "bad url", ctx: t.Context(), opts: Options{URL: "nats://127.0.0.1:notaport"}, want: "notaport"},
		{
			name: "missing creds",
			ctx:  t.Context(),
			opts: Options{URL: "nats://127.0.0.1:1", Creds: filepath.Join(t.TempDir(), "nope.creds")},
			want: "nope.creds",
		},
		{name: "canceled", ctx: canceled, opts: Options{URL: "nats://127.0.0.1:1"}, want: context.Canceled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Connect(tt.ctx, tt.opts)
			if err == nil {
				b.Close()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEnsureStream(t *testing.T) {
	e := startServer(t, "", t.TempDir())
	b := connect(t, Options{Embedded: e})

	tests := []struct {
		name    string
		cfg     StreamConfig
		wantErr string // "" = success
	}{
		{
			name: "create",
			cfg:  StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, DuplicateWindow: time.Hour, MaxAge: 720 * time.Hour},
		},
		{
			name: "same again",
			cfg:  StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, DuplicateWindow: time.Hour, MaxAge: 720 * time.Hour},
		},
		{
			name: "update max age",
			cfg:  StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, DuplicateWindow: time.Hour, MaxAge: 48 * time.Hour},
		},
		{
			name:    "replicas on a single server",
			cfg:     StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, Replicas: 3, DuplicateWindow: time.Hour, MaxAge: 48 * time.Hour},
			wantErr: `"ARTICLES"`,
		},
		{name: "no name", cfg: StreamConfig{Subjects: []string{"articles.>"}}, wantErr: "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.EnsureStream(t.Context(), tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			s, err := b.js.Stream(t.Context(), tt.cfg.Name)
			if err != nil {
				t.Fatal(err)
			}
			got := s.CachedInfo().Config
			if got.MaxAge != tt.cfg.MaxAge || got.Duplicates != tt.cfg.DuplicateWindow || got.Replicas != 1 {
				t.Errorf("got max age %s, duplicates %s, replicas %d; want %s, %s, 1",
					got.MaxAge, got.Duplicates, got.Replicas, tt.cfg.MaxAge, tt.cfg.DuplicateWindow)
			}
		})
	}

	// The replicas error says why, so the operator can fix the config.
	err := b.EnsureStream(t.Context(), StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, Replicas: 3})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "replicas") {
		t.Errorf("got error %v, want one mentioning replicas", err)
	}
}

// TestOutage runs a client through a server that is down at first, comes
// up, goes down and comes back on the same store.
func TestOutage(t *testing.T) {
	dir := t.TempDir()

	// Find a free port, then free it: the client starts with no server.
	first := startServer(t, "127.0.0.1:0", dir)
	clientURL := first.ClientURL()
	u, err := url.Parse(clientURL)
	if err != nil {
		t.Fatal(err)
	}
	listen := u.Host
	first.Shutdown()

	var connects, disconnects atomic.Int32
	b := connect(t, Options{
		URL:          clientURL,
		Name:         "feedd-test",
		OnConnect:    func() { connects.Add(1) },
		OnDisconnect: func() { disconnects.Add(1) },
	})
	if b.Connected() {
		t.Fatal("got Connected() true with no server, want false")
	}
	assertFastFailure(t, b, "down at start")
	if err := b.EnsureStream(t.Context(), StreamConfig{Name: testStream}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("EnsureStream while down: got error %v, want ErrNotConnected", err)
	}
	if err := b.Tail(t.Context(), TailOptions{Stream: testStream}, nil); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Tail while down: got error %v, want ErrNotConnected", err)
	}

	second := startServer(t, listen, dir)
	waitFor(t, 5*time.Second, "connect", b.Connected)
	ensureTestStream(t, b)
	mustPublish(t, b, messages("articles.new.ar.x", "before", 3))

	second.Shutdown()
	waitFor(t, 5*time.Second, "disconnect", func() bool { return !b.Connected() })
	assertFastFailure(t, b, "down again")

	startServer(t, listen, dir)
	waitFor(t, 5*time.Second, "reconnect", b.Connected)
	after := messages("articles.new.ar.x", "after", 3)
	waitFor(t, 5*time.Second, "a publish to succeed", func() bool {
		for _, err := range b.PublishBatch(t.Context(), after, time.Second) {
			if err != nil {
				return false
			}
		}
		return true
	})
	if got := streamState(t, b.js, testStream).Msgs; got != 6 {
		t.Errorf("got %d messages after the restart, want 6 (3 kept on disk + 3 new)", got)
	}
	if c, d := connects.Load(), disconnects.Load(); c < 2 || d < 1 {
		t.Errorf("got %d connects and %d disconnects, want >= 2 and >= 1", c, d)
	}
}

// assertFastFailure checks that publishing while the server is down fails
// for every message, wraps ErrNotConnected and does not wait for the ack
// timeout.
func assertFastFailure(t *testing.T, b *Bus, when string) {
	t.Helper()
	const ackTimeout = 2 * time.Second
	start := time.Now()
	errs := b.PublishBatch(t.Context(), messages("articles.new.ar.x", "down", 5), ackTimeout)
	if d := time.Since(start); d > ackTimeout {
		t.Errorf("%s: PublishBatch took %s, want at most the ack timeout %s", when, d, ackTimeout)
	}
	for i, err := range errs {
		if !errors.Is(err, ErrNotConnected) {
			t.Errorf("%s: message %d: got error %v, want ErrNotConnected", when, i, err)
		}
	}
}
