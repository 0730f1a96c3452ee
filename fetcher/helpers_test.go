package fetcher

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feedd/feedd/internal/testfeeds"
)

// readCorpus reads a corpus file, skipping the test when it is absent.
func readCorpus(t testing.TB, parts ...string) []byte {
	t.Helper()
	path := filepath.Join(append([]string{testfeeds.Corpus(t)}, parts...)...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("corpus file not available: %v", err)
	}
	return b
}

// serve starts an httptest server for h, closed when the test ends.
func serve(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// rssFeed builds a small UTF-8 RSS 2.0 document. decl is the XML declaration ("" for none);
// titles become items with guids 1, 2, ...
func rssFeed(decl string, titles ...string) string {
	var b strings.Builder
	if decl != "" {
		b.WriteString(decl + "\n")
	}
	b.WriteString(`<rss version="2.0"><channel><title>test</title><link>http://example.com/</link><description>test feed</description>`)
	for i, title := range titles {
		fmt.Fprintf(&b, "\n<item><title>%s</title><link>http://example.com/%d</link><guid>%d</guid></item>", escape(title), i+1, i+1)
	}
	b.WriteString("\n</channel></rss>\n")
	return b.String()
}

func escape(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

// feedHandler serves body with the given Content-Type.
func feedHandler(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil // no sniffed default
		}
		_, _ = w.Write([]byte(body))
	}
}

// titles returns the titles of a result's items.
func titles(res *Result) []string {
	if res == nil || res.Feed == nil {
		return nil
	}
	out := make([]string, len(res.Feed.Items))
	for i, it := range res.Feed.Items {
		out[i] = it.Title
	}
	return out
}

// wantClass fails the test unless err is an *Error of class want.
func wantClass(t *testing.T, err error, want Class) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want class %q", want)
	}
	if got := ClassOf(err); got != want {
		t.Fatalf("got class %q (%v), want %q", got, err, want)
	}
	e := err.(*Error)
	return e
}
