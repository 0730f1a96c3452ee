package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/feedd/feedd/internal/httpget"
)

// Defaults for zero FetchOptions fields.
const (
	DefaultTimeout      = 20 * time.Second
	DefaultMaxBody      = 8 << 20
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "feedd (+https://github.com/feedd/feedd)"
)

// ShortRetryAfter is the longest Retry-After that still makes a 429 or a 5xx worth one more try
// within the poll (Error.Transient).
const ShortRetryAfter = 10 * time.Second

// acceptHTML asks for HTML pages.
const acceptHTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"

// FetchOptions configure a Fetcher. Zero fields take the defaults.
type FetchOptions struct {
	UserAgent     string        // default DefaultUserAgent; its first word before "/" is the robots.txt token
	Timeout       time.Duration // one deadline per page, whole request and body; default 20s
	MaxBody       int64         // the largest page read, after decompression; default 8 MiB
	MaxRedirects  int           // default 5; negative: follow none
	RespectRobots bool          // robots.txt per host, cached (see the package's robots.txt notes)
	// DenyPrivate has the meaning of poll.deny_private_networks: loopback, private, link-local
	// and similar addresses are refused after DNS resolution and on every redirect, with Reason
	// "private_network". A proxy of the environment is trusted and still used; the targets
	// sent through it are resolved and vetted first (see httpget.Config.DenyPrivate).
	DenyPrivate bool
	// Transport is optional; tests may pass one. The default honours HTTP_PROXY, HTTPS_PROXY
	// and NO_PROXY as they are when NewFetcher is called. With DenyPrivate it must be an
	// *http.Transport.
	Transport http.RoundTripper
}

// Page is a fetched article page.
type Page struct {
	URL         string // final URL after redirects
	Body        []byte // decoded to UTF-8
	Charset     string // the charset it was decoded from, e.g. "utf-8", "windows-1256"
	ContentType string // the response's Content-Type as sent
}

// Reason classifies why a page could not be had; the pipeline counts failures by it.
type Reason string

// The reasons.
const (
	ReasonTimeout        Reason = "timeout"         // the page's deadline passed
	ReasonStatus4xx      Reason = "status_4xx"      // a 4xx other than 429
	ReasonStatus5xx      Reason = "status_5xx"      // a 5xx
	ReasonRateLimited    Reason = "rate_limited"    // 429
	ReasonRobots         Reason = "robots"          // robots.txt disallows the page, or could not be read (see robots.go)
	ReasonNotHTML        Reason = "not_html"        // a PDF, an image, anything that is not an HTML page
	ReasonTooLarge       Reason = "too_large"       // the body after decompression is over MaxBody
	ReasonRedirects      Reason = "redirects"       // too many redirects, a loop, or a bad target
	ReasonNetwork        Reason = "network"         // DNS, connection, TLS, a broken body
	ReasonPrivateNetwork Reason = "private_network" // DenyPrivate refused the address
	ReasonBadURL         Reason = "bad_url"         // not an absolute http or https URL
	ReasonCanceled       Reason = "canceled"        // the caller's context ended: not the page's fault
)

// Error is the error Fetch returns.
type Error struct {
	URL        string
	Reason     Reason
	StatusCode int           // the HTTP status, for status_4xx, status_5xx and rate_limited
	RetryAfter time.Duration // from Retry-After on 429 and 5xx (seconds or HTTP-date), else 0
	Err        error
}

// Error formats the failure as "fetch page URL: reason: cause".
func (e *Error) Error() string {
	return "fetch page " + e.URL + ": " + string(e.Reason) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether one more try within the poll is worth it: a timeout, a network
// failure, or a 5xx or 429 whose Retry-After, if any, is at most ShortRetryAfter (a 429 must
// give one).
func (e *Error) Transient() bool {
	switch e.Reason {
	case ReasonTimeout, ReasonNetwork:
		return true
	case ReasonStatus5xx:
		return e.RetryAfter <= ShortRetryAfter
	case ReasonRateLimited:
		return e.RetryAfter > 0 && e.RetryAfter <= ShortRetryAfter
	}
	return false
}

// ReasonOf returns the Reason of err: "" for nil, the Reason of an *Error anywhere in its chain,
// and ReasonNetwork for any other error.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return ReasonNetwork
}

// Fetcher fetches article pages. It is safe for concurrent use; create it with NewFetcher.
type Fetcher struct {
	opts     FetchOptions
	client   *http.Client
	setupErr error
	robots   *robotsCache
	agent    string // the robots.txt product token, lower case
}

// NewFetcher returns a Fetcher with the given options, defaults filled in.
func NewFetcher(opts FetchOptions) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	switch {
	case opts.MaxRedirects == 0:
		opts.MaxRedirects = DefaultMaxRedirects
	case opts.MaxRedirects < 0:
		opts.MaxRedirects = 0
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	f := &Fetcher{opts: opts, agent: productToken(opts.UserAgent)}
	f.client, f.setupErr = httpget.NewClient(httpget.Config{
		Timeout:      opts.Timeout,
		MaxRedirects: opts.MaxRedirects,
		Transport:    opts.Transport,
		DenyPrivate:  opts.DenyPrivate,
	})
	f.robots = newRobotsCache(f.fetchRobots, defaultRobotsCacheSize)
	return f
}

// productToken returns the robots.txt token of a User-Agent: its first word, up to any "/",
// lower-cased ("feedd/1.2 (+https://…)" gives "feedd").
func productToken(ua string) string {
	tok, _, _ := strings.Cut(strings.TrimSpace(ua), " ")
	tok, _, _ = strings.Cut(tok, "/")
	if tok == "" {
		tok = "feedd"
	}
	return strings.ToLower(tok)
}

// Fetch fetches one page within the Timeout: robots.txt first when RespectRobots is set, then the
// page, which must be HTML. Every error is an *Error.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Page, error) {
	fail := func(r Reason, err error) (*Page, error) {
		return nil, &Error{URL: rawURL, Reason: r, Err: err}
	}
	if f.setupErr != nil {
		return fail(ReasonBadURL, f.setupErr)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fail(ReasonBadURL, fmt.Errorf("parse url: %w", err))
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return fail(ReasonBadURL, fmt.Errorf("unsupported url scheme %q", u.Scheme))
	}
	if u.Host == "" {
		return fail(ReasonBadURL, errors.New("url has no host"))
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()

	if f.opts.RespectRobots {
		if err := f.robots.check(ctx, u); err != nil {
			if e, ok := errors.AsType[*Error](err); ok {
				e.URL = rawURL
				return nil, e
			}
			return fail(classify(ctx, err), err)
		}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(ReasonBadURL, fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", acceptHTML)
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	resp, err := f.client.Do(req)
	if err != nil {
		return fail(classify(ctx, err), err)
	}
	defer resp.Body.Close()

	if code := resp.StatusCode; code < 200 || code > 299 {
		e := &Error{URL: rawURL, StatusCode: code, Err: fmt.Errorf("http status %d %s", code, http.StatusText(code))}
		switch {
		case code == http.StatusTooManyRequests:
			e.Reason = ReasonRateLimited
		case code >= 500:
			e.Reason = ReasonStatus5xx
		case code >= 400:
			e.Reason = ReasonStatus4xx
		default: // 1xx, a 3xx without Location, 304 to a request that asked nothing
			e.Reason = ReasonRedirects
		}
		if code == http.StatusTooManyRequests || code >= 500 {
			e.RetryAfter = httpget.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		_, _ = io.CopyN(io.Discard, resp.Body, 4096) // reuse the connection when the page is short
		return nil, e
	}

	contentType := resp.Header.Get("Content-Type")
	declared := mediaType(contentType)
	if !htmlType(declared) && !sniffedType(declared) {
		return fail(ReasonNotHTML, fmt.Errorf("content type %q is not html", contentType))
	}
	encoding := resp.Header.Get("Content-Encoding")
	if resp.ContentLength > f.opts.MaxBody && encoding == "" {
		return fail(ReasonTooLarge, fmt.Errorf("content length %d is over the limit of %d bytes", resp.ContentLength, f.opts.MaxBody))
	}
	body, err := httpget.ReadBody(resp.Body, encoding, f.opts.MaxBody)
	if err != nil {
		return fail(classify(ctx, err), fmt.Errorf("read body: %w", err))
	}
	if sniffed := mediaType(http.DetectContentType(body)); !htmlType(sniffed) {
		// A declared type is believed unless the bytes are plainly something else (a PDF or an
		// image sent as text/html); an undeclared one must look like HTML.
		if !htmlType(declared) || !strings.HasPrefix(sniffed, "text/") {
			return fail(ReasonNotHTML, fmt.Errorf("body is %s, not html (content type %q)", sniffed, contentType))
		}
	}
	d := decodeHTML(body, contentType)
	return &Page{URL: resp.Request.URL.String(), Body: d.Text, Charset: d.Charset, ContentType: contentType}, nil
}

// mediaType returns the lower-case media type of a Content-Type value, or "".
func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// htmlType reports whether a media type is an HTML page.
func htmlType(mt string) bool {
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// sniffedType reports whether a declared media type says too little, so the body decides:
// none, a generic binary type, or plain text.
func sniffedType(mt string) bool {
	switch mt {
	case "", "application/octet-stream", "binary/octet-stream", "text/plain", "application/unknown", "unknown/unknown":
		return true
	}
	return false
}

// classify maps an error from the HTTP client or the body reader to a Reason. ctx is the page's
// own context (with the Timeout deadline): once it is done, any failure is put down to it.
func classify(ctx context.Context, err error) Reason {
	switch {
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		return ReasonTimeout
	case ctx.Err() != nil:
		return ReasonCanceled
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	if _, ok := errors.AsType[*httpget.RedirectError](err); ok {
		return ReasonRedirects
	}
	if httpget.IsForbidden(err) {
		return ReasonPrivateNetwork
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return ReasonTooLarge
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	if errors.Is(err, context.Canceled) {
		return ReasonCanceled
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return ReasonTimeout
	}
	return ReasonNetwork // DNS, connection, TLS, a broken or cut body
}
