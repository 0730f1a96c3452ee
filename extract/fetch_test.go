package extract

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

const arabicPage = `<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>غارات على الجنوب</title></head>` +
	`<body><article><p>قالت مصادر محلية إن غارات استهدفت عدة مناطق في الجنوب.</p></article></body></html>`

// serve starts an httptest server for h, closed when the test ends.
func serve(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// wantReason fails the test unless err is an *Error with Reason want.
func wantReason(t *testing.T, err error, want Reason) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want reason %q", want)
	}
	if got := ReasonOf(err); got != want {
		t.Fatalf("got reason %q (%v), want %q", got, err, want)
	}
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("got %T, want *Error", err)
	}
	return e
}

func htmlHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

func TestFetchPage(t *testing.T) {
	var gotUA, gotAccept string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/news/1", http.StatusMovedPermanently)
		case "/news/1":
			gotUA, gotAccept = r.Header.Get("User-Agent"), r.Header.Get("Accept")
			htmlHandler(arabicPage)(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	p, err := NewFetcher(FetchOptions{UserAgent: "feedd/1.0 (+https://github.com/feedd/feedd)"}).Fetch(t.Context(), srv.URL+"/old")
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != srv.URL+"/news/1" {
		t.Errorf("got URL %q, want the final one %q", p.URL, srv.URL+"/news/1")
	}
	if string(p.Body) != arabicPage || p.Charset != "utf-8" || p.ContentType != "text/html; charset=utf-8" {
		t.Errorf("got %q as %q (%q), want the page as utf-8", p.Body, p.Charset, p.ContentType)
	}
	if gotUA != "feedd/1.0 (+https://github.com/feedd/feedd)" || !strings.Contains(gotAccept, "text/html") {
		t.Errorf("got User-Agent %q, Accept %q", gotUA, gotAccept)
	}
}

func TestFetchPageCharsets(t *testing.T) {
	text := "غارات على مناطق في الجنوب"
	cp1256, err := charmap.Windows1256.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	iso, err := charmap.ISO8859_6.NewEncoder().String("الله")
	if err != nil {
		t.Fatal(err)
	}
	page := func(head, body string) string {
		return "<!doctype html><html><head>" + head + "<title>t</title></head><body><p>" + body + "</p></body></html>"
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantCharset string
		wantText    string
	}{
		{name: "http header", contentType: "text/html; charset=windows-1256", body: page("", cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "meta charset", contentType: "text/html", body: page(`<meta charset="windows-1256">`, cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "meta http-equiv", contentType: "text/html", body: page(`<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=cp1256">`, cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "meta after scripts", contentType: "text/html", body: page("<script>"+strings.Repeat("var a = 1;\n", 200)+"</script>"+`<meta charset="windows-1256">`, cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "commented meta ignored", contentType: "text/html", body: page(`<!-- <meta charset="iso-8859-6"> -->`, cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "header iso-8859-1 default, meta knows better", contentType: "text/html; charset=ISO-8859-1", body: page(`<meta charset="windows-1256">`, cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "detected windows-1256", contentType: "text/html", body: page("", cp1256), wantCharset: "windows-1256", wantText: text},
		{name: "detected iso-8859-6", contentType: "text/html", body: page("", iso), wantCharset: "iso-8859-6", wantText: "الله"},
		{name: "utf-8 bom wins", contentType: "text/html; charset=windows-1256", body: "\xEF\xBB\xBF" + page("", text), wantCharset: "utf-8", wantText: text},
		{name: "utf-8 declared legacy", contentType: "text/html", body: page(`<meta charset="windows-1256">`, text), wantCharset: "utf-8", wantText: text},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				_, _ = w.Write([]byte(tt.body))
			})
			p, err := NewFetcher(FetchOptions{}).Fetch(t.Context(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if p.Charset != tt.wantCharset || !strings.Contains(string(p.Body), "<p>"+tt.wantText+"</p>") {
				t.Errorf("got %q decoded as %q, want %q as %q", p.Body, p.Charset, tt.wantText, tt.wantCharset)
			}
		})
	}
}

// gzipBomb returns n zero bytes gzipped (about n/1000 bytes).
func gzipBomb(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for i := 0; i < n; i += len(chunk) {
		_, _ = zw.Write(chunk)
	}
	_ = zw.Close()
	return buf.Bytes()
}

// TestFetchHostilePages: each hostile page gives its Reason, without a crash and with bounded
// memory.
func TestFetchHostilePages(t *testing.T) {
	bomb := gzipBomb(t, 64<<20)
	var released sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); released.Wait() })
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/410", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) })
	mux.HandleFunc("/503", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "later", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/429", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	mux.HandleFunc("/429-short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		// Headers at once, then a byte now and then: only the whole-page deadline stops it.
		released.Add(1)
		defer released.Done()
		w.Header().Set("Content-Type", "text/html")
		for {
			if _, err := w.Write([]byte("<")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		chunk := bytes.Repeat([]byte("<p>نص بلا نهاية</p>\n"), 1000)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(bomb)
	})
	big := func(declareLength bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			const size = 50 << 20
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if declareLength {
				w.Header().Set("Content-Length", fmt.Sprint(size))
			}
			chunk := bytes.Repeat([]byte("<p>صفحة كبيرة</p>\n"), 4096)
			for n := 0; n < size; n += len(chunk) {
				if _, err := w.Write(chunk[:min(len(chunk), size-n)]); err != nil {
					return
				}
			}
		}
	}
	mux.HandleFunc("/50mb", big(true))
	mux.HandleFunc("/50mb-chunked", big(false))
	mux.HandleFunc("/report.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write([]byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"))
	})
	mux.HandleFunc("/pdf-as-html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"))
	})
	mux.HandleFunc("/image", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // undeclared: sniffed
		_, _ = w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	})
	mux.HandleFunc("/private/page", htmlHandler(arabicPage))
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	var hops atomic.Int64
	mux.HandleFunc("/chain/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", hops.Add(1)), http.StatusFound)
	})
	srv := serve(t, mux.ServeHTTP)

	f := NewFetcher(FetchOptions{Timeout: time.Second, MaxBody: 1 << 20, RespectRobots: true})
	tests := []struct {
		path      string
		want      Reason
		status    int
		retry     time.Duration
		transient bool
	}{
		{path: "/404", want: ReasonStatus4xx, status: 404},
		{path: "/410", want: ReasonStatus4xx, status: 410},
		{path: "/500", want: ReasonStatus5xx, status: 500, transient: true},
		{path: "/503", want: ReasonStatus5xx, status: 503, retry: time.Hour},
		{path: "/429", want: ReasonRateLimited, status: 429, retry: 2 * time.Minute},
		{path: "/429-short", want: ReasonRateLimited, status: 429, retry: 2 * time.Second, transient: true},
		{path: "/slow", want: ReasonTimeout, transient: true},
		{path: "/endless", want: ReasonTooLarge},
		{path: "/bomb", want: ReasonTooLarge},
		{path: "/50mb", want: ReasonTooLarge},
		{path: "/50mb-chunked", want: ReasonTooLarge},
		{path: "/report.pdf", want: ReasonNotHTML},
		{path: "/pdf-as-html", want: ReasonNotHTML},
		{path: "/image", want: ReasonNotHTML},
		{path: "/private/page", want: ReasonRobots},
		{path: "/loop/a", want: ReasonRedirects},
		{path: "/chain/0", want: ReasonRedirects},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			p, err := f.Fetch(t.Context(), srv.URL+tt.path)
			runtime.ReadMemStats(&after)
			if p != nil {
				t.Errorf("got a page of %d bytes, want none", len(p.Body))
			}
			e := wantReason(t, err, tt.want)
			if e.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", e.StatusCode, tt.status)
			}
			if e.RetryAfter != tt.retry {
				t.Errorf("got RetryAfter %v, want %v", e.RetryAfter, tt.retry)
			}
			if e.Transient() != tt.transient {
				t.Errorf("got Transient %v, want %v", e.Transient(), tt.transient)
			}
			if e.URL != srv.URL+tt.path || !strings.Contains(e.Error(), string(tt.want)) {
				t.Errorf("got error %q, want it to name the URL and the reason", e.Error())
			}
			// MaxBody is 1 MiB: a few copies of it at most, whatever the server sends.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("allocated %d MiB, want under 16 MiB", alloc>>20)
			}
		})
	}
}

func TestFetchPageBadURL(t *testing.T) {
	f := NewFetcher(FetchOptions{})
	for _, u := range []string{"", "news/1", "ftp://example.com/a", "file:///etc/passwd", "http://", "http://[::1"} {
		_, err := f.Fetch(t.Context(), u)
		wantReason(t, err, ReasonBadURL)
	}
}

func TestFetchPageCanceled(t *testing.T) {
	srv := serve(t, htmlHandler(arabicPage))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := NewFetcher(FetchOptions{}).Fetch(ctx, srv.URL)
	e := wantReason(t, err, ReasonCanceled)
	if e.Transient() {
		t.Error("a canceled fetch is not worth a retry")
	}
}

func TestFetchPageDenyPrivate(t *testing.T) {
	srv := serve(t, htmlHandler(arabicPage))
	for _, robots := range []bool{false, true} {
		_, err := NewFetcher(FetchOptions{DenyPrivate: true, RespectRobots: robots}).Fetch(t.Context(), srv.URL+"/news/1")
		e := wantReason(t, err, ReasonPrivateNetwork)
		if !strings.Contains(e.Error(), "loopback") || e.URL != srv.URL+"/news/1" {
			t.Errorf("robots %v: got %q, want it to name the page and say loopback", robots, e.Error())
		}
	}
	if _, err := NewFetcher(FetchOptions{}).Fetch(t.Context(), srv.URL); err != nil {
		t.Errorf("without the guard: %v", err)
	}
}

func TestReasonOf(t *testing.T) {
	if got := ReasonOf(nil); got != "" {
		t.Errorf("nil: got %q", got)
	}
	wrapped := fmt.Errorf("page: %w", &Error{Reason: ReasonRobots, Err: errors.New("no")})
	if got := ReasonOf(wrapped); got != ReasonRobots {
		t.Errorf("wrapped: got %q, want robots", got)
	}
	if got := ReasonOf(errors.New("other")); got != ReasonNetwork {
		t.Errorf("other: got %q, want network", got)
	}
}
