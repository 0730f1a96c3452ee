package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/internal/testpages"
)

// TestExtractCommand runs `feedd extract` on a page served over HTTP and on the same page as a
// gzipped windows-1256 file: both print the article's text, as JSON and as text.
func TestExtractCommand(t *testing.T) {
	as, err := testfeeds.SaudiNewsNet(testfeeds.Corpus(t), "2015-08-01")
	if err != nil {
		t.Fatal(err)
	}
	var page testpages.Page
	for _, p := range testpages.Pages(as[:60]) {
		if p.Charset == "windows-1256" && len(testpages.Tokens(p.Text)) > 80 {
			page = p
			break
		}
	}
	if page.Path == "" {
		t.Fatal("no windows-1256 page of more than 80 words among the first articles")
	}
	srv := httptest.NewServer(testpages.Handler([]testpages.Page{page}))
	defer srv.Close()

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page.Body)
	zw.Close()
	file := filepath.Join(t.TempDir(), "page.html.gz")
	if err := os.WriteFile(file, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FEEDD_CONFIG", "")
	for _, args := range [][]string{
		{"extract", "--json", srv.URL + page.Path},
		{"extract", "--json", "--url", page.URL, file},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("feedd %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		var out struct {
			URL, Title, Text, HTML string
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("feedd %s: %v: %s", strings.Join(args, " "), err, stdout.String())
		}
		_, _, f1 := testpages.Summary([]testpages.Match{testpages.Compare(page.Text, out.Text)})
		if f1 < 0.95 || out.URL == "" || out.HTML == "" {
			t.Errorf("feedd %s: url %q, F1 %.3f, html %d bytes; want the article", strings.Join(args, " "), out.URL, f1, len(out.HTML))
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"extract", file}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "words:") {
		t.Errorf("feedd extract FILE: exit %d, output %.200q", code, stdout.String())
	}
	if code := run(t.Context(), []string{"extract", filepath.Join(t.TempDir(), "missing.html")}, &stdout, &stderr); code != exitFailure {
		t.Errorf("feedd extract on a missing file: exit %d, want %d", code, exitFailure)
	}
}
