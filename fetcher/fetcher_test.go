package fetcher

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/httpget"
)

const arabicTitle = "غارات على مناطق في الجنوب"

func TestFetchRequestHeaders(t *testing.T) {
	var got http.Header
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		feedHandler("application/rss+xml", rssFeed("", arabicTitle))(w, r)
	})
	f := New(Options{})
	if _, err := f.Fetch(t.Context(), Request{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"User-Agent":      DefaultUserAgent,
		"Accept":          acceptHeader,
		"Accept-Encoding": "gzip",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("header %s: got %q, want %q", k, got.Get(k), v)
		}
	}
	for _, k := range []string{"If-None-Match", "If-Modified-Since"} {
		if got.Get(k) != "" {
			t.Errorf("header %s: got %q, want none on a first fetch", k, got.Get(k))
		}
	}
}

func TestFetchConditional(t *testing.T) {
	body := rssFeed(`<?xml version="1.0" encoding="utf-8"?>`, arabicTitle)
	modTime := time.Date(2026, 2, 15, 7, 7, 12, 0, time.UTC)
	tests := []struct {
		name         string
		etag         string // set by the server when not ""
		lastModified bool   // server sends Last-Modified
	}{
		{name: "etag", etag: `"v1"`},
		{name: "last-modified", lastModified: true},
		{name: "both", etag: `W/"v1"`, lastModified: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var notModified atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				if tt.etag != "" {
					w.Header().Set("ETag", tt.etag)
				}
				mt := time.Time{}
				if tt.lastModified {
					mt = modTime
				}
				sw := &statusWriter{ResponseWriter: w}
				http.ServeContent(sw, r, "feed.xml", mt, strings.NewReader(body))
				if sw.code == http.StatusNotModified {
					notModified.Add(1)
				}
			})
			f := New(Options{})
			first, err := f.Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if first.NotModified || first.Feed == nil || first.StatusCode != http.StatusOK {
				t.Fatalf("first fetch: got NotModified=%v status %d, want a feed with 200", first.NotModified, first.StatusCode)
			}
			if first.ETag != tt.etag {
				t.Errorf("first ETag: got %q, want %q", first.ETag, tt.etag)
			}
			wantLM := ""
			if tt.lastModified {
				wantLM = modTime.Format(http.TimeFormat)
			}
			if first.LastModified != wantLM {
				t.Errorf("first LastModified: got %q, want %q", first.LastModified, wantLM)
			}

			second, err := f.Fetch(t.Context(), Request{URL: srv.URL, ETag: first.ETag, LastModified: first.LastModified})
			if err != nil {
				t.Fatal(err)
			}
			if !second.NotModified || second.Feed != nil || second.StatusCode != http.StatusNotModified {
				t.Fatalf("second fetch: got NotModified=%v feed=%v status %d, want NotModified, no feed, 304",
					second.NotModified, second.Feed != nil, second.StatusCode)
			}
			if second.ETag != first.ETag || second.LastModified != first.LastModified {
				t.Errorf("second validators: got %q %q, want %q %q", second.ETag, second.LastModified, first.ETag, first.LastModified)
			}
			if got := notModified.Load(); got != 1 {
				t.Errorf("server sent 304 %d times, want 1", got)
			}
		})
	}
}

// statusWriter records the status code a handler writes.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func TestFetchNotModifiedKeepsValidators(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"abc"` {
			w.WriteHeader(http.StatusNotModified) // no ETag, no Last-Modified
			return
		}
		feedHandler("application/rss+xml", rssFeed("", arabicTitle))(w, r)
	})
	req := Request{URL: srv.URL, ETag: `"abc"`, LastModified: "Sun, 15 Feb 2026 07:07:12 GMT"}
	res, err := New(Options{}).Fetch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified {
		t.Fatalf("got NotModified false, want true")
	}
	if res.ETag != req.ETag || res.LastModified != req.LastModified {
		t.Errorf("got validators %q %q, want the previous %q %q", res.ETag, res.LastModified, req.ETag, req.LastModified)
	}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetchCompression(t *testing.T) {
	body := []byte(rssFeed(`<?xml version="1.0" encoding="UTF-8"?>`, arabicTitle, "ثاني"))
	var zlibBuf, flateBuf bytes.Buffer
	zw := zlib.NewWriter(&zlibBuf)
	_, _ = zw.Write(body)
	_ = zw.Close()
	fw, _ := flate.NewWriter(&flateBuf, flate.DefaultCompression)
	_, _ = fw.Write(body)
	_ = fw.Close()

	tests := []struct {
		name     string
		encoding string // Content-Encoding sent
		body     []byte
	}{
		{name: "gzip", encoding: "gzip", body: gzipBytes(t, body)},
		{name: "x-gzip", encoding: "x-gzip", body: gzipBytes(t, body)},
		{name: "gzip without content-encoding", body: gzipBytes(t, body)},
		{name: "content-encoding gzip on plain body", encoding: "gzip", body: body},
		{name: "deflate zlib", encoding: "deflate", body: zlibBuf.Bytes()},
		{name: "deflate raw", encoding: "deflate", body: flateBuf.Bytes()},
		{name: "identity", encoding: "identity", body: body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				if tt.encoding != "" {
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				_, _ = w.Write(tt.body)
			})
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := titles(res), []string{arabicTitle, "ثاني"}; !slices.Equal(got, want) {
				t.Errorf("got titles %q, want %q", got, want)
			}
			if res.Bytes != int64(len(body)) {
				t.Errorf("got Bytes %d, want %d", res.Bytes, len(body))
			}
		})
	}
}

func TestFetchUnsupportedEncoding(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		_, _ = w.Write([]byte{0x0b, 0x02, 0x80})
	})
	_, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
	wantClass(t, err, ClassIO)
}

func TestFetchGzipBomb(t *testing.T) {
	// One gzip member inflating to 1 MiB of zeros, sent 1024 times: 1 GiB inflated, ~1 MiB on
	// the wire (gzip readers read concatenated members as one stream).
	member := gzipBytes(t, make([]byte, 1<<20))
	var sent atomic.Int64
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		for range 1024 {
			n, err := w.Write(member)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	f := New(Options{MaxBody: 4 << 20, Timeout: 10 * time.Second})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := f.Fetch(t.Context(), Request{URL: srv.URL})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)

	e := wantClass(t, err, ClassTooLarge)
	if _, ok := errors.AsType[*http.MaxBytesError](e); !ok {
		t.Errorf("got cause %v, want an *http.MaxBytesError", e.Err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("got %v to refuse the bomb, want well under 5s", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB, want under 64 MiB", alloc>>20)
	}
}

func TestFetchTooLarge(t *testing.T) {
	big := rssFeed("", strings.Repeat("كلمة ", 300_000)) // ~3 MiB
	tests := []struct {
		name    string
		chunked bool
	}{
		{name: "content-length"},
		{name: "chunked", chunked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				} else {
					w.(http.Flusher).Flush()
				}
				_, _ = io.WriteString(w, big)
			})
			_, err := New(Options{MaxBody: 1 << 20}).Fetch(t.Context(), Request{URL: srv.URL})
			wantClass(t, err, ClassTooLarge)
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{
			name: "endless slow body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				_, _ = io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>`)
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
						if _, err := io.WriteString(w, "x"); err != nil {
							return
						}
						w.(http.Flusher).Flush()
					}
				}
			},
		},
		{
			name: "no response headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			start := time.Now()
			_, err := New(Options{Timeout: 500 * time.Millisecond}).Fetch(t.Context(), Request{URL: srv.URL})
			elapsed := time.Since(start)
			wantClass(t, err, ClassTimeout)
			if elapsed > 1500*time.Millisecond {
				t.Errorf("got %v, want about 500ms", elapsed)
			}
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := New(Options{}).Fetch(ctx, Request{URL: srv.URL})
	wantClass(t, err, ClassCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want it to wrap context.Canceled", err)
	}
}

func TestFetchHTTPStatus(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		code       int
		retryAfter string
		wantRetry  time.Duration
	}{
		{name: "404", code: 404},
		{name: "410", code: 410},
		{name: "500", code: 500},
		{name: "429 seconds", code: 429, retryAfter: "120", wantRetry: 2 * time.Minute},
		{name: "429 without retry-after", code: 429},
		{name: "429 garbage retry-after", code: 429, retryAfter: "soon"},
		{name: "503 http-date", code: 503, retryAfter: now.Add(90 * time.Second).UTC().Format(http.TimeFormat), wantRetry: 90 * time.Second},
		{name: "503 date in the past", code: 503, retryAfter: now.Add(-time.Hour).UTC().Format(http.TimeFormat)},
		{name: "404 ignores retry-after", code: 404, retryAfter: "120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, "no", tt.code)
			})
			_, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL + "/feed"})
			e := wantClass(t, err, ClassHTTPStatus)
			if e.StatusCode != tt.code {
				t.Errorf("got status %d, want %d", e.StatusCode, tt.code)
			}
			// An HTTP-date has one-second resolution.
			if diff := e.RetryAfter - tt.wantRetry; diff < -time.Second || diff > time.Second {
				t.Errorf("got RetryAfter %v, want %v", e.RetryAfter, tt.wantRetry)
			}
			want := fmt.Sprintf("fetch %s/feed: http status %d %s", srv.URL, tt.code, http.StatusText(tt.code))
			if e.Error() != want {
				t.Errorf("got message %q, want %q", e.Error(), want)
			}
		})
	}
}

func TestFetchRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/feed", feedHandler("application/rss+xml", rssFeed("", arabicTitle)))
	redirect := func(path string, code int, to string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, code)
		})
	}
	redirect("/r301", http.StatusMovedPermanently, "/feed")
	redirect("/r308", http.StatusPermanentRedirect, "/feed")
	redirect("/r302", http.StatusFound, "/feed")
	redirect("/r307", http.StatusTemporaryRedirect, "/feed")
	redirect("/chain-permanent", http.StatusMovedPermanently, "/r308")
	redirect("/chain-temporary-last", http.StatusMovedPermanently, "/r302")
	redirect("/chain-temporary-first", http.StatusFound, "/r301")
	redirect("/chain-308-307", http.StatusPermanentRedirect, "/r307")
	redirect("/loop-a", http.StatusFound, "/loop-b")
	redirect("/loop-b", http.StatusFound, "/loop-a")
	redirect("/self", http.StatusMovedPermanently, "/self")
	redirect("/ftp", http.StatusFound, "ftp://example.com/feed")
	for i := range 8 {
		redirect(fmt.Sprintf("/hop%d", i), http.StatusMovedPermanently, fmt.Sprintf("/hop%d", i+1))
	}
	redirect("/hop8", http.StatusMovedPermanently, "/feed")
	srv := serve(t, mux.ServeHTTP)

	tests := []struct {
		name        string
		path        string
		wantClass   Class // "" for success
		wantMovedTo string
	}{
		{name: "301", path: "/r301", wantMovedTo: "/feed"},
		{name: "308", path: "/r308", wantMovedTo: "/feed"},
		{name: "302", path: "/r302"},
		{name: "307", path: "/r307"},
		{name: "301 then 308", path: "/chain-permanent", wantMovedTo: "/feed"},
		{name: "301 then 302", path: "/chain-temporary-last"},
		{name: "302 then 301", path: "/chain-temporary-first"},
		{name: "308 then 307", path: "/chain-308-307"},
		{name: "five hops", path: "/hop4", wantMovedTo: "/feed"},
		{name: "loop", path: "/loop-a", wantClass: ClassRedirect},
		{name: "self", path: "/self", wantClass: ClassRedirect},
		{name: "too many", path: "/hop0", wantClass: ClassRedirect},
		{name: "unsupported scheme", path: "/ftp", wantClass: ClassRedirect},
	}
	f := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.Fetch(t.Context(), Request{URL: srv.URL + tt.path})
			if tt.wantClass != "" {
				wantClass(t, err, tt.wantClass)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.URL != srv.URL+"/feed" {
				t.Errorf("got URL %q, want %q", res.URL, srv.URL+"/feed")
			}
			want := ""
			if tt.wantMovedTo != "" {
				want = srv.URL + tt.wantMovedTo
			}
			if res.MovedTo != want {
				t.Errorf("got MovedTo %q, want %q", res.MovedTo, want)
			}
			if got := titles(res); !slices.Equal(got, []string{arabicTitle}) {
				t.Errorf("got titles %q, want %q", got, arabicTitle)
			}
		})
	}
}

func TestFetchNoRedirects(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/feed", http.StatusMovedPermanently)
			return
		}
		feedHandler("application/rss+xml", rssFeed("", arabicTitle))(w, r)
	})
	_, err := New(Options{MaxRedirects: -1}).Fetch(t.Context(), Request{URL: srv.URL + "/old"})
	wantClass(t, err, ClassRedirect)
}

func TestFetchBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantClass   Class    // "" for success
		wantTitles  []string // on success
	}{
		{name: "html page", contentType: "text/html", body: "<html><head><title>x</title></head><body>hi</body></html>", wantClass: ClassNotFeed},
		{name: "html doctype", contentType: "text/html; charset=utf-8", body: "\n  <!DOCTYPE html>\n<html lang=ar><body>مرحبا</body></html>", wantClass: ClassNotFeed},
		{name: "xhtml with declaration", contentType: "application/xhtml+xml", body: `<?xml version="1.0" encoding="utf-8"?><!-- c --><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`, wantClass: ClassNotFeed},
		{name: "empty", contentType: "application/rss+xml", body: "", wantClass: ClassNotFeed},
		{name: "white space", contentType: "application/rss+xml", body: " \r\n\t ", wantClass: ClassNotFeed},
		{name: "plain text", contentType: "text/plain", body: "not a feed at all", wantClass: ClassNotFeed},
		{name: "other xml", contentType: "application/xml", body: `<?xml version="1.0"?><sitemap><url/></sitemap>`, wantClass: ClassNotFeed},
		{name: "truncated", contentType: "application/rss+xml", body: `<rss version="2.0"><channel><title>x</title><item><title>a</title>`, wantClass: ClassParse},
		{name: "cut inside an item", contentType: "application/rss+xml", body: `<rss version="2.0"><channel><item><title>x</ti`, wantClass: ClassParse},
		{name: "broken attribute", contentType: "application/rss+xml", body: `<rss version="2.0"><channel><item><title a="1>a</title></item></channel></rss>`, wantClass: ClassParse},
		{name: "mismatched tags tolerated", contentType: "application/rss+xml",
			body: `<rss version="2.0"><channel><title>x</title><item><title>a</titel></item></channel></rss>`, wantTitles: []string{"a"}},
		{name: "control characters repaired", contentType: "application/rss+xml",
			body:       "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>x</title><item><title>غارات\x01 على\x0b مناطق\x1f\x00</title></item></channel></rss>",
			wantTitles: []string{"غارات على مناطق"}},
		{name: "bare ampersand tolerated", contentType: "application/rss+xml",
			body: `<rss version="2.0"><channel><title>x</title><item><title>سلام & حرب</title></item></channel></rss>`, wantTitles: []string{"سلام & حرب"}},
		{name: "leading white space and bom", contentType: "application/rss+xml",
			body: "\uFEFF\n\n" + rssFeed("", arabicTitle), wantTitles: []string{arabicTitle}},
		{name: "json feed", contentType: "application/feed+json",
			body: `{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[{"id":"1","title":"` + arabicTitle + `"}]}`, wantTitles: []string{arabicTitle}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, feedHandler(tt.contentType, tt.body))
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			if tt.wantClass != "" {
				wantClass(t, err, tt.wantClass)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(res); !slices.Equal(got, tt.wantTitles) {
				t.Errorf("got titles %q, want %q", got, tt.wantTitles)
			}
		})
	}
}

func TestFetchMaxItems(t *testing.T) {
	var all []string
	for i := range 20 {
		all = append(all, fmt.Sprintf("خبر %d", i))
	}
	srv := serve(t, feedHandler("application/rss+xml", rssFeed("", all...)))
	tests := []struct {
		name     string
		maxItems int
		want     []string
	}{
		{name: "capped", maxItems: 5, want: all[:5]},
		{name: "default keeps all", maxItems: 0, want: all},
		{name: "cap above count", maxItems: 50, want: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := New(Options{MaxItems: tt.maxItems}).Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(res); !slices.Equal(got, tt.want) {
				t.Errorf("got titles %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFetchRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
	}{
		{name: "empty", url: ""},
		{name: "unsupported scheme", url: "ftp://example.com/feed"},
		{name: "no scheme", url: "example.com/feed"},
		{name: "unparsable", url: "http://[::1"},
		{name: "no host", url: "http:///feed"},
		{name: "file with remote host", url: "file://example.com/etc/feed.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{}).Fetch(t.Context(), Request{URL: tt.url})
			e := wantClass(t, err, ClassRequest)
			if e.URL != tt.url {
				t.Errorf("got URL %q, want %q", e.URL, tt.url)
			}
		})
	}
}

func TestFetchConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewTLSServer(feedHandler("application/rss+xml", rssFeed("", arabicTitle)))
	t.Cleanup(tlsSrv.Close)

	// A resolver that cannot reach any DNS server, so that no test depends on the network.
	noDNS := &http.Transport{DialContext: (&net.Dialer{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			return nil, errors.New("no dns server in tests")
		},
	}}).DialContext}

	tests := []struct {
		name      string
		url       string
		transport http.RoundTripper
		want      Class
	}{
		{name: "dns", url: "http://feed.example.test/rss", transport: noDNS, want: ClassDNS},
		{name: "connection refused", url: "http://" + closedAddr + "/feed", want: ClassConnect},
		{name: "untrusted certificate", url: tlsSrv.URL, want: ClassTLS},
		{name: "https to a closed port", url: "https://" + closedAddr, want: ClassConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Timeout: 5 * time.Second, Transport: tt.transport}).Fetch(t.Context(), Request{URL: tt.url})
			wantClass(t, err, tt.want)
		})
	}

	t.Run("trusted certificate", func(t *testing.T) {
		res, err := New(Options{Transport: tlsSrv.Client().Transport}).Fetch(t.Context(), Request{URL: tlsSrv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if got := titles(res); !slices.Equal(got, []string{arabicTitle}) {
			t.Errorf("got titles %q, want %q", got, arabicTitle)
		}
	})
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{name: "nil", err: nil, want: ""},
		{name: "plain", err: errors.New("boom"), want: ClassIO},
		{name: "error", err: &Error{Class: ClassDNS, Err: errors.New("x")}, want: ClassDNS},
		{name: "wrapped", err: fmt.Errorf("poll feed: %w", &Error{Class: ClassParse, Err: errors.New("x")}), want: ClassParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassOf(tt.err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Class
	}{
		{name: "dns", err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}}, want: ClassDNS},
		{name: "dial", err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}, want: ClassConnect},
		{name: "timeout", err: &net.OpError{Op: "read", Err: timeoutError{}}, want: ClassTimeout},
		{name: "deadline", err: fmt.Errorf("get: %w", context.DeadlineExceeded), want: ClassTimeout},
		{name: "fetch deadline passed", ctx: expired, err: errors.New("read: connection closed"), want: ClassTimeout},
		{name: "caller canceled", ctx: canceled, err: errors.New("read: connection closed"), want: ClassCanceled},
		{name: "max bytes", err: &http.MaxBytesError{Limit: 1}, want: ClassTooLarge},
		{name: "redirect", err: fmt.Errorf("get: %w", &httpget.RedirectError{Msg: "loop"}), want: ClassRedirect},
		{name: "tls alert", err: &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, want: ClassTLS},
		{name: "other", err: io.ErrUnexpectedEOF, want: ClassIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			if got := classify(ctx, tt.err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestResultOutlivesBodyBuffer: bodies are read into buffers that later fetches reuse, so
// nothing of a Result may point into its body. Many fetches of two feeds, the same size but with
// different text, run at once; every result must still hold its own feed's text at the end.
func TestResultOutlivesBodyBuffer(t *testing.T) {
	one := strings.Repeat("أ", 3000)
	two := strings.Repeat("ب", 3000)
	bodies := map[string]string{
		"/one": rssFeed(`<?xml version="1.0" encoding="utf-8"?>`, one, one+" 2"),
		"/two": rssFeed(`<?xml version="1.0" encoding="utf-8"?>`, two, two+" 2"),
	}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, bodies[r.URL.Path])
	})
	f := New(Options{})
	type fetched struct {
		want string
		res  *Result
	}
	results := make([]fetched, 40)
	var wg sync.WaitGroup
	for i := range results {
		path, want := "/one", one
		if i%2 == 1 {
			path, want = "/two", two
		}
		wg.Go(func() {
			res, err := f.Fetch(t.Context(), Request{URL: srv.URL + path})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = fetched{want, res}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.res == nil {
			continue
		}
		got := titles(r.res)
		if len(got) != 2 || got[0] != r.want || got[1] != r.want+" 2" || r.res.Charset != "utf-8" {
			t.Errorf("fetch %d: got %d titles, charset %s, want its own feed's two titles", i, len(got), r.res.Charset)
		}
	}
}
