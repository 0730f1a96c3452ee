package bus

import (
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestStartEmbeddedListen(t *testing.T) {
	e := startServer(t, "127.0.0.1:0", t.TempDir())

	u, err := url.Parse(e.ClientURL())
	if err != nil {
		t.Fatalf("ClientURL %q: %v", e.ClientURL(), err)
	}
	if u.Scheme != "nats" || u.Hostname() != "127.0.0.1" {
		t.Errorf("got ClientURL %q, want nats://127.0.0.1:<port>", e.ClientURL())
	}
	if p := u.Port(); p == "" || p == "0" || p == "4222" {
		t.Errorf("got port %q in ClientURL %q, want the real random port", p, e.ClientURL())
	}

	// feedd publishes in-process ...
	b := connect(t, Options{Embedded: e, Name: "feedd"})
	ensureTestStream(t, b)
	mustPublish(t, b, messages("articles.new.ar.x", "listen", 3))

	// ... and another process reads over TCP.
	nc, err := nats.Connect(e.ClientURL())
	if err != nil {
		t.Fatalf("nats.Connect(%q): %v", e.ClientURL(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if got := streamState(t, js, testStream).Msgs; got != 3 {
		t.Errorf("got %d messages seen over TCP, want 3", got)
	}
}

func TestStartEmbeddedInProcess(t *testing.T) {
	e := startServer(t, "", t.TempDir())
	if got := e.ClientURL(); got != "" {
		t.Errorf("got ClientURL %q, want \"\" for an in-process only server", got)
	}
	b := connect(t, Options{Embedded: e, URL: "nats://127.0.0.1:1"}) // URL ignored
	if !b.Connected() {
		t.Fatal("got Connected() false, want true")
	}
	ensureTestStream(t, b)
	if err := b.Publish(t.Context(), Message{Subject: "articles.new.ar.x", ID: "a", Data: []byte("{}")}); err != nil {
		t.Errorf("Publish: %v", err)
	}
}

func TestStartEmbeddedErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	tests := []struct {
		name     string
		listen   string
		storeDir string
		want     string // in the error
	}{
		{name: "no store dir", listen: "", storeDir: "", want: "store dir"},
		{name: "no port", listen: "localhost", storeDir: t.TempDir(), want: `"localhost"`},
		{name: "bad port", listen: "127.0.0.1:99999", storeDir: t.TempDir(), want: `"127.0.0.1:99999"`},
		{name: "port in use", listen: busy.Addr().String(), storeDir: t.TempDir(), want: busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			e, err := StartEmbedded(EmbeddedOptions{Listen: tt.listen, StoreDir: tt.storeDir})
			if err == nil {
				e.Shutdown()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
			if tt.name == "port in use" && !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("got error %q, want one matching syscall.EADDRINUSE", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("got error after %s, want it fast", d)
			}
		})
	}
}

func TestServerLogger(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *serverLogger)
		want slog.Level
	}{
		{name: "notice", log: func(l *serverLogger) { l.Noticef("m %d", 1) }, want: slog.LevelDebug},
		{name: "warn", log: func(l *serverLogger) { l.Warnf("m %d", 1) }, want: slog.LevelWarn},
		{name: "error", log: func(l *serverLogger) { l.Errorf("m %d", 1) }, want: slog.LevelError},
		{name: "fatal", log: func(l *serverLogger) { l.Fatalf("m %d", 1) }, want: slog.LevelError},
		{name: "debug", log: func(l *serverLogger) { l.Debugf("m %d", 1) }, want: slog.LevelDebug},
		{name: "trace", log: func(l *serverLogger) { l.Tracef("m %d", 1) }, want: slog.LevelDebug},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			tt.log(newServerLogger(slog.New(rec)))
			if len(rec.records) != 1 {
				t.Fatalf("got %d records, want 1", len(rec.records))
			}
			r := rec.records[0]
			if r.Level != tt.want || r.Message != "m 1" {
				t.Errorf("got %s %q, want %s %q", r.Level, r.Message, tt.want, "m 1")
			}
		})
	}
}

func TestStartEmbeddedLogsToSlog(t *testing.T) {
	rec := &recorder{}
	e, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir(), Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	e.Shutdown()
	if _, ok := rec.find(slog.LevelDebug, "Server is ready"); !ok {
		t.Error("got no Debug record \"Server is ready\" from nats-server, want one")
	}
}
