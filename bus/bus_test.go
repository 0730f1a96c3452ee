package bus

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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

// TestEnsureStream: the stream is created when missing; an existing one is changed only where
// it is safe (raising max age, the duplicate window, adding subjects), keeps what the operator
// set that feedd does not, and a lower max age is refused with an error that says how to lower
// it on purpose, the stored messages untouched.
func TestEnsureStream(t *testing.T) {
	e := startServer(t, "", t.TempDir())
	b := connect(t, Options{Embedded: e})
	cfg := func(maxAge, dup time.Duration) StreamConfig {
		return StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, DuplicateWindow: dup, MaxAge: maxAge}
	}
	info := func(t *testing.T) *jetstream.StreamInfo {
		t.Helper()
		s, err := b.js.Stream(t.Context(), testStream)
		if err != nil {
			t.Fatal(err)
		}
		i, err := s.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return i
	}

	tests := []struct {
		name    string
		cfg     StreamConfig
		wantErr []string // all in the error; nil = success
		// the stream's max age and duplicate window afterwards
		maxAge, dup time.Duration
	}{
		{name: "create", cfg: cfg(720*time.Hour, time.Hour), maxAge: 720 * time.Hour, dup: time.Hour},
		{name: "same again", cfg: cfg(720*time.Hour, time.Hour), maxAge: 720 * time.Hour, dup: time.Hour},
		{name: "raise max age and the duplicate window", cfg: cfg(1000*time.Hour, 2*time.Hour), maxAge: 1000 * time.Hour, dup: 2 * time.Hour},
		{name: "shorten the duplicate window", cfg: cfg(1000*time.Hour, time.Minute), maxAge: 1000 * time.Hour, dup: time.Minute},
		{
			name: "lower max age", cfg: cfg(48*time.Hour, time.Minute),
			wantErr: []string{"nats.max_age 48h", "max age 1000h", "nats stream edit ARTICLES --max-age 48h"},
			maxAge:  1000 * time.Hour, dup: time.Minute,
		},
		{
			name:    "replicas on a single server",
			cfg:     StreamConfig{Name: testStream, Subjects: []string{"articles.>"}, Replicas: 3, DuplicateWindow: time.Hour, MaxAge: 1000 * time.Hour},
			wantErr: []string{`"ARTICLES"`, "replicas"},
			maxAge:  1000 * time.Hour, dup: time.Minute,
		},
		{name: "no name", cfg: StreamConfig{Subjects: []string{"articles.>"}}, wantErr: []string{"empty name"},
			maxAge: 1000 * time.Hour, dup: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.EnsureStream(t.Context(), tt.cfg)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("got error %v, want one containing %q", err, want)
				}
			}
			got := info(t).Config
			if got.MaxAge != tt.maxAge || got.Duplicates != tt.dup || got.Replicas != 1 {
				t.Errorf("got max age %s, duplicates %s, replicas %d; want %s, %s, 1",
					got.MaxAge, got.Duplicates, got.Replicas, tt.maxAge, tt.dup)
			}
			if tt.name == "lower max age" && !errors.Is(err, ErrStreamConflict) {
				t.Errorf("got %v, want ErrStreamConflict", err)
			}
		})
	}

	// What the operator set and feedd does not configure stays; messages stay.
	if err := b.Publish(t.Context(), Message{Subject: "articles.new.ar.f", ID: "one", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	op := info(t).Config
	op.MaxMsgs, op.MaxBytes, op.Subjects = 1000, 1<<30, append(op.Subjects, "other.>")
	if _, err := b.js.UpdateStream(t.Context(), op); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(t.Context(), cfg(2000*time.Hour, time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := info(t)
	if c := got.Config; c.MaxMsgs != 1000 || c.MaxBytes != 1<<30 || !slices.Equal(c.Subjects, []string{"articles.>", "other.>"}) || c.MaxAge != 2000*time.Hour {
		t.Errorf("after ensuring: max msgs %d, max bytes %d, subjects %v, max age %s; want the operator's 1000, 1 GiB, both subjects, and 2000h",
			c.MaxMsgs, c.MaxBytes, c.Subjects, c.MaxAge)
	}
	if got.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want the 1 published", got.State.Msgs)
	}
}

// TestSafeUpdateRefusesLowering: lowering max age (unlimited included) or replicas is refused
// with an error naming the setting, both values and the command that does it on purpose.
func TestSafeUpdateRefusesLowering(t *testing.T) {
	have := jetstream.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"}, MaxAge: 0, Replicas: 3, Duplicates: time.Hour}
	tests := []struct {
		name string
		c    StreamConfig
		want []string
	}{
		{"max age below unlimited", StreamConfig{MaxAge: 720 * time.Hour, Replicas: 3},
			[]string{"nats.max_age 720h", "max age unlimited", "nats stream edit ARTICLES --max-age 720h", "set nats.max_age to unlimited"}},
		{"fewer replicas", StreamConfig{MaxAge: 0, Replicas: 1},
			[]string{"nats.replicas 1", "stream's 3 replicas", "nats stream edit ARTICLES --replicas 1", "set nats.replicas to 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := safeUpdate(have, tt.c)
			if !errors.Is(err, ErrStreamConflict) {
				t.Fatalf("got %v, want ErrStreamConflict", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, changes, err := safeUpdate(have, StreamConfig{Replicas: 5, DuplicateWindow: time.Hour, Subjects: []string{"articles.>"}}); err != nil || len(changes) != 1 {
		t.Errorf("raising replicas: changes %v, error %v; want one change", changes, err)
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
