// Package bus connects feedd to NATS JetStream: it embeds a server or
// connects to a remote one, ensures the article stream, publishes messages
// with ids so that the stream drops duplicates, and follows the stream for
// "feedd tail".
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// reconnectWait and reconnectJitter space reconnect attempts.
	reconnectWait   = time.Second
	reconnectJitter = 500 * time.Millisecond
	// drainTimeout bounds how long Close waits for in-flight work.
	drainTimeout = 5 * time.Second
	// pingInterval bounds how long a dead TCP connection goes unnoticed.
	pingInterval = 20 * time.Second
)

// ErrNotConnected is returned (wrapped) when an operation fails because the
// connection to NATS is down; the client keeps reconnecting.
var ErrNotConnected = errors.New("not connected to nats")

// Options configures Connect.
type Options struct {
	// URL lists the remote servers, comma-separated. Ignored when Embedded
	// is set.
	URL string
	// Embedded, when set, is connected to in-process, without a socket.
	Embedded *Embedded
	// Creds is a NATS credentials file; empty means none.
	Creds string
	// Name is the connection name shown by the server, e.g. "feedd".
	Name string
	// Logger receives connection events. Nil discards them.
	Logger *slog.Logger
	// OnConnect, when set, is called each time the connection is
	// established, the first time and after every reconnect.
	OnConnect func()
	// OnDisconnect, when set, is called each time an established
	// connection is lost or closed.
	OnDisconnect func()
}

// Bus is a connection to NATS JetStream. Its methods are safe for
// concurrent use.
type Bus struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	log    *slog.Logger
	closed chan struct{}

	// maxPayload is the largest message the server accepts, taken at each connection (servers
	// of a cluster may differ); 0 until the first.
	maxPayload atomic.Int64

	pubMu sync.Mutex
	// pubs are the publishing handles, one per ack timeout (see publisher).
	pubs map[time.Duration]jetstream.JetStream
}

// Connect connects to NATS. It does not wait for the server: when no server
// can be reached it returns a Bus that keeps trying in the background
// (forever, about once a second) and reports Connected() == false until it
// succeeds. Nothing is buffered in the client while disconnected: publishes
// fail fast and the caller keeps its own outbox.
//
// Connect returns an error only for bad options, such as a missing URL, a
// malformed URL or an unreadable credentials file, or when ctx has ended.
func Connect(ctx context.Context, o Options) (*Bus, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: log, closed: make(chan struct{})}
	var closeOnce sync.Once
	connectedURL := func(nc *nats.Conn) string {
		if o.Embedded != nil {
			return "in-process"
		}
		return nc.ConnectedUrlRedacted()
	}

	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectJitter, reconnectJitter),
		nats.DrainTimeout(drainTimeout),
		nats.PingInterval(pingInterval),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.maxPayload.Store(nc.MaxPayload())
			log.Info("nats connected", "url", connectedURL(nc), "server", nc.ConnectedServerName())
			if o.OnConnect != nil {
				o.OnConnect()
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.maxPayload.Store(nc.MaxPayload())
			log.Info("nats reconnected", "url", connectedURL(nc), "server", nc.ConnectedServerName())
			if o.OnConnect != nil {
				o.OnConnect()
			}
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			} else {
				log.Info("nats disconnected")
			}
			if o.OnDisconnect != nil {
				o.OnDisconnect()
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			log.Info("nats connection closed")
			closeOnce.Do(func() { close(b.closed) })
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("nats async error", "subject", sub.Subject, "error", err)
				return
			}
			log.Error("nats async error", "error", err)
		}),
	}

	url := o.URL
	switch {
	case o.Embedded != nil:
		opts = append(opts, nats.InProcessServer(o.Embedded.srv))
		url = ""
	case url == "":
		return nil, errors.New("connect to nats: no url and no embedded server")
	}
	if o.Creds != "" {
		f, err := os.Open(o.Creds)
		if err != nil {
			return nil, fmt.Errorf("connect to nats: credentials file: %w", err)
		}
		f.Close()
		opts = append(opts, nats.UserCredentials(o.Creds))
	}

	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %q: %w", url, err)
	}
	if err := ctx.Err(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to nats %q: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to nats %q: jetstream: %w", url, err)
	}
	b.nc, b.js = nc, js
	if nc.IsConnected() {
		b.maxPayload.Store(nc.MaxPayload())
	} else {
		log.Warn("nats not reachable, retrying in the background", "url", url)
	}
	return b, nil
}

// Connected reports whether the connection to NATS is up.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Close drains the connection, giving subscriptions and pending publishes a
// bounded time (5s) to finish, then closes it. It is safe to call more than
// once.
func (b *Bus) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	b.CloseContext(ctx)
}

// CloseContext is Close with the drain bounded by ctx instead of 5s.
func (b *Bus) CloseContext(ctx context.Context) {
	if err := b.nc.Drain(); err == nil {
		select {
		case <-b.closed:
		case <-ctx.Done():
			b.log.Warn("nats drain cut short", "err", ctx.Err())
		}
	}
	b.nc.Close()
}

// connErr marks err with ErrNotConnected when it comes from the connection
// being down.
func (b *Bus) connErr(err error) error {
	if errors.Is(err, ErrNotConnected) {
		return err
	}
	if errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrDisconnected) || !b.nc.IsConnected() {
		return fmt.Errorf("%w: %w", ErrNotConnected, err)
	}
	return err
}

// JetStream returns the connection's JetStream handle, for the parts that use JetStream beyond
// publishing (the cluster's key-value buckets and the stream follower).
func (b *Bus) JetStream() jetstream.JetStream { return b.js }
