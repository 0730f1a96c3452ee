// Package httpget holds the HTTP discipline that feedd's fetchers (feeds and article pages)
// share: a tuned transport that takes its proxy from HTTP_PROXY, HTTPS_PROXY and NO_PROXY, the
// deny_private_networks guard, a bounded redirect policy, a body read bounded after
// decompression, and Retry-After parsing. Each fetcher classifies failures in its own terms; the
// error types here let it recognise the ones this package causes.
package httpget

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// Config configures NewClient.
type Config struct {
	Timeout      time.Duration // the fetch deadline; bounds dialling, TLS and response headers too
	MaxRedirects int           // redirects followed at most; 0 follows none

	// Transport, when set, is used instead of the default one (see DenyPrivate).
	Transport http.RoundTripper

	// DenyPrivate refuses connections to loopback, private, link-local, unspecified, multicast,
	// reserved and carrier-grade NAT addresses (see DeniedAddr), checked at dial time after DNS
	// resolution, for the first request and every redirect. A Transport given with it must be
	// an *http.Transport: a clone of it is used with its dialling replaced.
	//
	// A proxy (HTTP_PROXY, HTTPS_PROXY) is the operator's choice and is trusted: the connection
	// to it is allowed even on a private address. What goes through it is vetted before it is
	// sent: the target's name is resolved here and refused when any of its addresses is
	// denied. The proxy resolves the name again, so a DNS answer that changes between the two
	// lookups is not caught; enforce the same rule at the proxy where that matters. A request
	// that goes directly (NO_PROXY) to the proxy's own address is refused.
	DenyPrivate bool

	// Denied returns why an address is refused, or "" when it is allowed; nil means
	// DeniedAddr. Tests narrow it.
	Denied func(netip.Addr) string
}

// NewClient returns the http.Client a fetcher uses. Its transport is, without Config.Transport,
// a clone of http.DefaultTransport with timeouts suited to polling many hosts, HTTP/2, no
// automatic decompression (ReadBody decompresses, to count the decompressed bytes) and the
// proxy of the environment, read now. It follows at most MaxRedirects redirects to http and
// https URLs and refuses loops, with a *RedirectError. The error is for a Transport the
// configuration cannot use.
func NewClient(c Config) (*http.Client, error) {
	g := &guard{denied: c.Denied}
	if g.denied == nil {
		g.denied = DeniedAddr
	}
	var rt http.RoundTripper
	switch t := c.Transport.(type) {
	case nil:
		tr := newTransport(c.Timeout)
		tr.Proxy = envProxy()
		if c.DenyPrivate {
			g.wrap(tr, c.Timeout)
		}
		rt = tr
	case *http.Transport:
		rt = t
		if c.DenyPrivate {
			tr := t.Clone()
			g.wrap(tr, c.Timeout)
			rt = tr
		}
	default:
		rt = t
		if c.DenyPrivate {
			return nil, fmt.Errorf("deny_private_networks needs an *http.Transport, not %T", t)
		}
	}
	maxRedirects := max(c.MaxRedirects, 0)
	return &http.Client{Transport: rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return checkRedirect(req, via, maxRedirects)
	}}, nil
}

// envProxy returns the proxy function of HTTP_PROXY, HTTPS_PROXY and NO_PROXY (and their lower
// case forms) as they are now. Unlike http.ProxyFromEnvironment, it reads them at every call of
// envProxy, not once per process. Requests to localhost and loopback addresses never use a
// proxy.
func envProxy() func(*http.Request) (*url.URL, error) {
	f := httpproxy.FromEnvironment().ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return f(r.URL) }
}

// newTransport clones http.DefaultTransport with timeouts suited to polling many hosts.
func newTransport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dialer(timeout, nil).DialContext
	t.TLSHandshakeTimeout = min(10*time.Second, timeout)
	t.ResponseHeaderTimeout = timeout
	t.ExpectContinueTimeout = time.Second
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 2
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	t.DisableCompression = true // ReadBody decompresses, to count decompressed bytes
	return t
}

// dialer returns a dialer bounded by timeout; control, when not nil, vets each address.
func dialer(timeout time.Duration, control func(network, address string, c syscall.RawConn) error) *net.Dialer {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &net.Dialer{Timeout: min(10*time.Second, timeout), KeepAlive: 30 * time.Second, Control: control}
}

// guard applies the DenyPrivate policy to a transport.
type guard struct {
	denied  func(netip.Addr) string
	proxies sync.Map // "host:port" of the proxies in use → true
}

// wrap makes t vet every address it dials, except its proxies', and every target it sends
// through a proxy.
func (g *guard) wrap(t *http.Transport, timeout time.Duration) {
	guarded := dialer(timeout, g.control)
	plain := dialer(timeout, nil)
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, ok := g.proxies.Load(addr); ok {
			return plain.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	t.DialTLSContext = nil
	proxy := t.Proxy
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		var p *url.URL
		if proxy != nil {
			var err error
			if p, err = proxy(r); err != nil {
				return nil, err
			}
		}
		if p == nil {
			if _, ok := g.proxies.Load(hostPort(r.URL)); ok {
				return nil, &ForbiddenError{Addr: hostPort(r.URL), Reason: "the proxy's own"}
			}
			return nil, nil // direct: the dialler vets the address
		}
		g.proxies.Store(hostPort(p), true)
		if err := g.vetName(r.Context(), r.URL.Hostname()); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// vetName resolves a host name (or reads an address) and refuses it when any of its addresses
// is denied.
func (g *guard) vetName(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if reason := g.denied(a); reason != "" {
			return &ForbiddenError{Addr: host, Reason: reason}
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if reason := g.denied(a); reason != "" {
			return &ForbiddenError{Addr: host + " (" + a.String() + ")", Reason: reason}
		}
	}
	return nil
}

// control is the dialer's hook, called for every address after DNS resolution and before the
// connection is made: a name that resolves to a denied address, at the first request or any
// redirect, is refused however often its DNS answer changes.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &ForbiddenError{Addr: address, Reason: "unparseable"}
	}
	if reason := g.denied(ap.Addr()); reason != "" {
		return &ForbiddenError{Addr: address, Reason: reason}
	}
	return nil
}

// hostPort returns the "host:port" a URL is dialled at, as net/http writes it.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// checkRedirect limits the number of redirects, refuses loops and non-HTTP targets.
func checkRedirect(req *http.Request, via []*http.Request, maxRedirects int) error {
	if len(via) > maxRedirects {
		return &RedirectError{Msg: fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return &RedirectError{Msg: fmt.Sprintf("redirect to unsupported scheme %q", s)}
	}
	target := req.URL.String()
	for _, v := range via {
		if v.URL.String() == target {
			return &RedirectError{Msg: fmt.Sprintf("redirect loop at %s", target), Loop: true}
		}
	}
	return nil
}

// RedirectError is a redirect the client refused to follow.
type RedirectError struct {
	Msg  string
	Loop bool // the target was visited before
}

func (e *RedirectError) Error() string { return e.Msg }

// ForbiddenError is a connection DenyPrivate refused.
type ForbiddenError struct {
	Addr   string
	Reason string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("connection to %s refused: %s address (deny_private_networks)", e.Addr, e.Reason)
}

// IsForbidden reports whether err comes from the DenyPrivate guard.
func IsForbidden(err error) bool {
	_, ok := errors.AsType[*ForbiddenError](err)
	return ok
}

// RetryAfter parses a Retry-After header value: delay seconds or an HTTP-date. It returns 0 for
// an empty, malformed or past value.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d.Round(time.Second)
	}
	return 0
}
