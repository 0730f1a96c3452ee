// Package fetcher fetches one feed and parses it: conditional GET (through the proxy of
// HTTP_PROXY, HTTPS_PROXY and NO_PROXY), redirects, size and time limits, gzip, charset
// resolution, repair of common XML faults, gofeed parsing, dates gofeed cannot read (Arabic ones
// above all, with package feeddate) and the server's caching hints. It knows nothing of
// duplicates, storage or NATS.
//
// A Fetcher is safe for concurrent use. Every failure is an *Error whose Class tells the caller
// whether to retry, back off or give up; ClassOf extracts it.
package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/feedd/feedd/internal/httpget"
)

// Defaults for zero Options fields.
const (
	DefaultTimeout      = 20 * time.Second
	DefaultMaxBody      = 16 << 20
	DefaultMaxItems     = 1000
	DefaultUserAgent    = "feedd (+https://github.com/feedd/feedd)"
	DefaultMaxRedirects = 5
)

// acceptHeader asks for feeds first, and takes anything.
const acceptHeader = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"

// Options configure a Fetcher. Zero fields take the defaults.
type Options struct {
	Timeout      time.Duration     // whole-fetch deadline, body read included; default 20s
	MaxBody      int64             // max body bytes after decompression; default 16 MiB
	MaxItems     int               // items kept per feed, the first in document order; default 1000
	UserAgent    string            // default DefaultUserAgent
	MaxRedirects int               // default 5; negative: follow none
	Transport    http.RoundTripper // default: a tuned clone of http.DefaultTransport, with the proxy of HTTP_PROXY, HTTPS_PROXY and NO_PROXY

	// DenyPrivateNetworks refuses connections to loopback, private (RFC 1918, fc00::/7),
	// link-local, unspecified, multicast, reserved and carrier-grade NAT addresses, IPv4-mapped
	// and NAT64 forms included, with ClassForbidden. It is checked at dial time, after DNS
	// resolution, for the first request and every redirect, so DNS rebinding cannot get round
	// it. With it, file URLs are refused too. A proxy from the environment is still used and
	// trusted; what is sent through it is vetted first (see httpget.Config.DenyPrivate). A
	// Transport given in Options must then be an *http.Transport: a clone of it is used, with
	// its dialling replaced; with any other RoundTripper every fetch fails with ClassRequest.
	DenyPrivateNetworks bool
}

// Fetcher fetches and parses feeds. Create it with New.
type Fetcher struct {
	opts     Options
	client   *http.Client
	setupErr error                   // why no fetch can be made, from New
	denied   func(netip.Addr) string // the DenyPrivateNetworks policy: httpget.DeniedAddr, or a test's
}

// New returns a Fetcher with the given options, defaults filled in.
func New(o Options) *Fetcher {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxItems <= 0 {
		o.MaxItems = DefaultMaxItems
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = DefaultMaxRedirects
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	f := &Fetcher{opts: o, denied: httpget.DeniedAddr}
	f.client, f.setupErr = httpget.NewClient(httpget.Config{
		Timeout:      o.Timeout,
		MaxRedirects: o.MaxRedirects,
		Transport:    o.Transport,
		DenyPrivate:  o.DenyPrivateNetworks,
		Denied:       func(a netip.Addr) string { return f.denied(a) },
	})
	return f
}

// Request names a feed, the validators of its previous 200 response and the feed's settings.
type Request struct {
	URL          string // http, https or file URL
	ETag         string // from the previous 200, sent as If-None-Match
	LastModified string // from the previous 200, sent as If-Modified-Since

	// DefaultZone is the zone of the feed's dates that name none; nil means UTC.
	DefaultZone *time.Location
	// Charset, when set, is the feed's charset whatever the byte-order mark, the HTTP header,
	// the XML declaration or detection say (a BOM of the same encoding is still removed). An
	// unknown name is ignored with a warning.
	Charset string
}

// Result is a fetched feed, or the news that it has not changed.
type Result struct {
	Feed         *gofeed.Feed // nil when NotModified; dates gofeed could not read filled in (see below)
	NotModified  bool         // 304, or an unchanged file
	StatusCode   int          // 0 for file URLs
	ETag         string       // to send next time; the previous one on a 304 without it
	LastModified string       // likewise; a file's modification time
	URL          string       // the URL finally fetched, after redirects
	MovedTo      string       // the new URL after a chain of only 301/308 redirects, else ""
	Header       http.Header  // response headers (Cache-Control, Expires, Retry-After...); nil for files
	Charset      string       // the charset the body was decoded from, e.g. "utf-8", "windows-1256"
	Replaced     int          // U+FFFD introduced by decoding bytes invalid in that charset
	Repaired     int          // repairs made to the XML: forbidden characters, bare & and <, cut end tag
	Warnings     []string     // ignored charset declarations and why; the first unreadable dates
	Bytes        int64        // body size after decompression, before charset decoding
	FetchedAt    time.Time    // when the response arrived (UTC)

	// CacheFor is how long the server asks not to be polled again: the largest of Cache-Control
	// max-age (0 with no-cache or no-store; s-maxage ignored), Expires minus Date (or minus now
	// when Date is missing) and the RSS channel's <ttl>; 0 when none applies. It is computed on
	// a 304 too, from its headers (there is no body, so no <ttl>). Each source is capped at a
	// year.
	CacheFor time.Duration

	// DateFallbacks counts the items that have a Published or Updated string but no date that
	// gofeed or feeddate could read: the caller dates them itself (the fetch time, flagged).
	// Every item's PublishedParsed and UpdatedParsed come from feeddate (in the Request's
	// DefaultZone when the string names no zone) when it reads the string, else from gofeed;
	// the strings themselves are left as the feed wrote them.
	DateFallbacks int
}

// Fetch fetches and parses one feed within the Timeout. It returns a Result with NotModified set,
// and no error, when the server answers 304 or a file is unchanged. Every error is an *Error.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (*Result, error) {
	if f.setupErr != nil || f.client == nil {
		return nil, &Error{Class: ClassRequest, URL: req.URL, Err: f.setupErr}
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, &Error{Class: ClassRequest, URL: req.URL, Err: fmt.Errorf("parse url: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return nil, &Error{Class: ClassRequest, URL: req.URL, Err: errors.New("url has no host")}
		}
		return f.fetchHTTP(ctx, u, req)
	case "file":
		if f.opts.DenyPrivateNetworks {
			return nil, &Error{Class: ClassForbidden, URL: req.URL, Err: errors.New("file urls are refused with deny_private_networks")}
		}
		return f.fetchFile(ctx, u, req)
	default:
		return nil, &Error{Class: ClassRequest, URL: req.URL, Err: fmt.Errorf("unsupported url scheme %q", u.Scheme)}
	}
}

func (f *Fetcher) fetchHTTP(ctx context.Context, u *url.URL, req Request) (*Result, error) {
	fail := func(class Class, err error) (*Result, error) {
		return nil, &Error{Class: class, URL: req.URL, Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(ClassRequest, fmt.Errorf("build request: %w", err))
	}
	hreq.Header.Set("User-Agent", f.opts.UserAgent)
	hreq.Header.Set("Accept", acceptHeader)
	hreq.Header.Set("Accept-Encoding", "gzip")
	if req.ETag != "" {
		hreq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hreq.Header.Set("If-Modified-Since", req.LastModified)
	}

	resp, err := f.client.Do(hreq)
	if err != nil {
		return fail(classify(ctx, err), err)
	}
	defer resp.Body.Close()

	res := &Result{
		StatusCode:   resp.StatusCode,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		URL:          resp.Request.URL.String(),
		MovedTo:      movedTo(resp),
		Header:       resp.Header,
		FetchedAt:    time.Now().UTC(),
	}

	switch {
	case resp.StatusCode == http.StatusNotModified:
		res.NotModified = true
		res.CacheFor = headerCacheFor(resp.Header, res.FetchedAt)
		if res.ETag == "" {
			res.ETag = req.ETag
		}
		if res.LastModified == "" {
			res.LastModified = req.LastModified
		}
		return res, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		e := &Error{Class: ClassHTTPStatus, URL: req.URL, StatusCode: resp.StatusCode, Err: &statusError{code: resp.StatusCode}}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = httpget.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		// Let the connection be reused when the error page is short.
		_, _ = io.CopyN(io.Discard, resp.Body, 4096)
		return nil, e
	}

	contentEncoding := resp.Header.Get("Content-Encoding")
	if resp.ContentLength > f.opts.MaxBody && contentEncoding == "" {
		return fail(ClassTooLarge, fmt.Errorf("content length %d is over the limit of %d bytes", resp.ContentLength, f.opts.MaxBody))
	}
	buf := bodyBuffers.Get().(*[]byte)
	body, err := httpget.ReadBodyInto(*buf, resp.Body, contentEncoding, f.opts.MaxBody, resp.ContentLength)
	// Nothing finish returns holds on to the body (gofeed reads it through a reader and copies
	// what it keeps): its buffer serves the next fetch.
	defer putBodyBuffer(buf, body)
	if err != nil {
		return fail(classify(ctx, err), fmt.Errorf("read body: %w", err))
	}
	return f.finish(res, body, resp.Header.Get("Content-Type"), req)
}

// bodyBuffers holds the buffers feed bodies are read into, for the next fetches: a round of
// polls reads as many bodies as it has feeds, and a new buffer for each was a fifth of the
// garbage the round made besides gofeed's.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse: a rare huge feed does not pin its buffer.
const maxPooledBody = 1 << 20

// putBodyBuffer returns the buffer body was read into to bodyBuffers, when it is not too large.
func putBodyBuffer(buf *[]byte, body []byte) {
	if cap(body) > maxPooledBody {
		return
	}
	*buf = body[:0]
	bodyBuffers.Put(buf)
}

// finish parses body into res. res.Header, when set, gives the caching headers.
func (f *Fetcher) finish(res *Result, body []byte, contentType string, req Request) (*Result, error) {
	res.Bytes = int64(len(body))
	p, err := parse(body, contentType, parseOptions{charset: req.Charset, maxItems: f.opts.MaxItems, zone: req.DefaultZone})
	if err != nil {
		e := err.(*Error)
		e.URL = req.URL
		return nil, e
	}
	res.Feed = p.feed
	res.Charset = p.dec.charset
	res.Replaced = p.dec.replaced
	res.Repaired = p.dec.repaired
	res.Warnings = append(p.dec.warnings, p.dates.warnings...)
	res.DateFallbacks = p.dates.fallbacks
	res.CacheFor = p.ttl
	if res.Header != nil {
		res.CacheFor = max(res.CacheFor, headerCacheFor(res.Header, res.FetchedAt))
	}
	return res, nil
}

// movedTo returns the final URL when the response was reached through redirects that were all
// permanent (301, 308), else "".
func movedTo(resp *http.Response) string {
	r := resp.Request
	if r.Response == nil {
		return ""
	}
	for ; r.Response != nil; r = r.Response.Request {
		if c := r.Response.StatusCode; c != http.StatusMovedPermanently && c != http.StatusPermanentRedirect {
			return ""
		}
	}
	return resp.Request.URL.String()
}
