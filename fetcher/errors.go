package fetcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/feedd/feedd/internal/httpget"
)

// Class names the kind of failure a fetch ran into, for logs, metrics and feed state. The caller
// decides from it whether to retry soon, back off or give up.
type Class string

// The error classes.
const (
	ClassDNS        Class = "dns"         // the host name did not resolve
	ClassConnect    Class = "connect"     // the connection was refused, reset or unreachable
	ClassTLS        Class = "tls"         // certificate or handshake failure
	ClassTimeout    Class = "timeout"     // the whole-fetch deadline (or the caller's) passed
	ClassHTTPStatus Class = "http_status" // a status other than 2xx and 304
	ClassTooLarge   Class = "too_large"   // the body, after decompression, is over MaxBody
	ClassNotFeed    Class = "not_feed"    // empty body, an HTML page, or no known feed format
	ClassParse      Class = "parse"       // a feed format was recognised but could not be parsed
	ClassRedirect   Class = "redirect"    // a redirect loop, too many redirects, or a bad target
	ClassIO         Class = "io"          // reading a file, a broken body, anything else
	ClassRequest    Class = "request"     // a bad URL or unsupported scheme
	ClassCanceled   Class = "canceled"    // the caller's context was canceled (not a feed fault)
	ClassForbidden  Class = "forbidden"   // DenyPrivateNetworks refused the address (or a file URL)
)

// Error is the error Fetch returns. It carries the class of the failure and the URL it was for;
// Unwrap gives the underlying error.
type Error struct {
	Class      Class
	URL        string
	StatusCode int           // the HTTP status, for ClassHTTPStatus
	RetryAfter time.Duration // from Retry-After on 429 and 503 (seconds or HTTP-date), else 0
	Err        error
}

// Error formats the failure as "fetch URL: cause".
func (e *Error) Error() string {
	return "fetch " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err: "" for nil, the Class of an *Error anywhere in its chain, and
// ClassIO for any other error.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Class
	}
	return ClassIO
}

// statusError is the cause of a ClassHTTPStatus error.
type statusError struct{ code int }

func (e *statusError) Error() string {
	return strings.TrimSpace(fmt.Sprintf("http status %d %s", e.code, http.StatusText(e.code)))
}

// classify maps an error from the HTTP client, the body reader or a file read to a Class. ctx is
// the fetch's own context (with the Timeout deadline): once it is done, any failure is put down
// to it.
func classify(ctx context.Context, err error) Class {
	switch {
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		return ClassTimeout
	case ctx.Err() != nil:
		return ClassCanceled
	}
	if _, ok := errors.AsType[*httpget.RedirectError](err); ok {
		return ClassRedirect
	}
	if _, ok := errors.AsType[*httpget.ForbiddenError](err); ok {
		return ClassForbidden
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return ClassTooLarge
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassTimeout
	}
	if errors.Is(err, context.Canceled) {
		return ClassCanceled
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return ClassDNS
	}
	if isTLSError(err) {
		return ClassTLS
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return ClassTimeout
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return ClassConnect
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ECONNABORTED} {
		if errors.Is(err, errno) {
			return ClassConnect
		}
	}
	return ClassIO
}

func isTLSError(err error) bool {
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	// TLS alerts from the peer surface as *net.OpError with these operations.
	if oe, ok := errors.AsType[*net.OpError](err); ok && (oe.Op == "remote error" || oe.Op == "local error") {
		return true
	}
	return false
}
