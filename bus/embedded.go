package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds how long StartEmbedded waits for the server to accept
// connections.
const readyTimeout = 10 * time.Second

// EmbeddedOptions configures the NATS server that feedd runs in its own
// process when no remote server is configured.
type EmbeddedOptions struct {
	// Listen is the client listener as "host:port". Port 0 picks a free
	// port. Empty means no listener at all: only in-process clients (see
	// Options.Embedded) can connect.
	Listen string
	// StoreDir is the JetStream storage directory. Required.
	StoreDir string
	// Logger receives the server's log lines. Nil discards them.
	Logger *slog.Logger
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv       *server.Server
	clientURL string
}

// StartEmbedded starts a NATS server with JetStream enabled and waits until
// it accepts connections. The server is named "feedd", has no HTTP monitor
// and installs no signal handlers (the caller owns signals). Its log goes to
// o.Logger: notices as Info, warnings as Warn, errors and fatal errors as
// Error, debug and trace lines as Debug (only when the logger enables Debug).
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.StoreDir == "" {
		return nil, errors.New("start embedded nats: store dir is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	opts := &server.Options{
		ServerName: "feedd",
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		HTTPPort:   0, // no monitor
	}
	if o.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := parseListen(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("start embedded nats: %w", err)
		}
		opts.Host, opts.Port = host, port
		if port != server.RANDOM_PORT {
			// The server reports a busy port as text only; trying it first gives callers an
			// error that errors.Is(err, syscall.EADDRINUSE) recognises.
			ln, err := net.Listen("tcp", o.Listen)
			if err != nil {
				return nil, fmt.Errorf("start embedded nats: %w", err)
			}
			ln.Close()
		}
	}

	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats (listen %q, store dir %q): %w", o.Listen, o.StoreDir, err)
	}
	sl := newServerLogger(log)
	srv.SetLoggerV2(sl, log.Enabled(context.Background(), slog.LevelDebug), false, false)
	srv.Start()

	if err := waitReady(srv, sl, readyTimeout); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("start embedded nats (listen %q, store dir %q): %w", o.Listen, o.StoreDir, err)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("start embedded nats (listen %q, store dir %q): jetstream not enabled", o.Listen, o.StoreDir)
	}

	e := &Embedded{srv: srv}
	if !opts.DontListen {
		e.clientURL = clientURL(srv.Addr())
	}
	return e, nil
}

// parseListen splits "host:port" into the server's Host and Port options,
// mapping port 0 to the server's "random port" value.
func parseListen(listen string) (string, int, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: bad port %q", listen, p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// waitReady waits until srv accepts connections, giving up early when the
// server reports a fatal error (a port in use, a store it cannot open).
func waitReady(srv *server.Server, sl *serverLogger, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if srv.ReadyForConnections(50 * time.Millisecond) {
			return nil
		}
		select {
		case msg := <-sl.fatal:
			return errors.New(msg)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready for connections after %s", timeout)
		}
	}
}

// clientURL is the URL another process on this host uses to reach addr.
func clientURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// ClientURL returns the URL other processes use to connect, such as
// "nats://127.0.0.1:4222", or "" when the server has no listener.
func (e *Embedded) ClientURL() string { return e.clientURL }

// Shutdown stops the server and waits until it has stopped.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// ShutdownContext is Shutdown, giving up the wait when ctx ends (the server goes on stopping in
// the background). It reports whether the server stopped in time.
func (e *Embedded) ShutdownContext(ctx context.Context) bool {
	done := make(chan struct{})
	go func() {
		e.Shutdown()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// serverLogger routes nats-server log lines to slog. It implements
// server.Logger.
type serverLogger struct {
	log *slog.Logger
	// fatal receives the first fatal message, so that StartEmbedded can
	// fail fast instead of waiting for readiness that will never come.
	fatal chan string
}

var _ server.Logger = (*serverLogger)(nil)

func newServerLogger(log *slog.Logger) *serverLogger {
	return &serverLogger{log: log.With("component", "nats-server"), fatal: make(chan string, 1)}
}

// Noticef logs at Debug: the embedded server's start-up banner and routine notices would drown
// feedd's own log; StartEmbedded's caller logs the one line that matters (ready, on which address).
func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Warnf logs at Warn.
func (l *serverLogger) Warnf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }

// Errorf logs at Error.
func (l *serverLogger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }

// Fatalf logs at Error and records the message; it never exits the process.
func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg, "fatal", true)
	select {
	case l.fatal <- msg:
	default:
	}
}

// Debugf logs at Debug.
func (l *serverLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Tracef logs at Debug.
func (l *serverLogger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
