package testpages

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/feedd/feedd/internal/testfeeds"
)

func devArticles(t *testing.T) []testfeeds.Article {
	as, err := testfeeds.SaudiNewsNet(testfeeds.Corpus(t), "2015-08-01")
	if err != nil {
		t.Fatal(err)
	}
	return as[:60]
}

// TestPages checks that every template carries the article's text and the other articles'
// titles and leads, and that Handler and SummaryRSS serve them.
func TestPages(t *testing.T) {
	pages := Pages(devArticles(t))
	seen := map[string]bool{}
	for _, p := range pages {
		seen[p.Template] = true
		page := html.UnescapeString(string(p.HTML()))
		for _, para := range strings.Split(p.Text, "\n\n") {
			if !strings.Contains(page, para) {
				t.Fatalf("%s (%s): paragraph %q not in the page", p.URL, p.Template, para)
			}
		}
		if len(p.Others) < NumOthers {
			t.Errorf("%s: %d titles and leads of others, want at least %d", p.URL, len(p.Others), NumOthers)
		}
		for _, o := range p.Others {
			if !strings.Contains(page, o) {
				t.Errorf("%s (%s): other article's %q not in the page", p.URL, p.Template, o)
			}
		}
		if p.Charset != "utf-8" && bytes.Equal(p.Body, p.HTML()) {
			t.Errorf("%s: a %s page is the same as its UTF-8 form", p.URL, p.Charset)
		}
	}
	if len(seen) != len(Templates()) {
		t.Errorf("templates used: %v, want all of %v", seen, Templates())
	}

	srv := httptest.NewServer(Handler(pages))
	defer srv.Close()
	resp, err := http.Get(srv.URL + pages[2].Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, pages[2].Body) || !strings.Contains(resp.Header.Get("Content-Type"), pages[2].Charset) {
		t.Errorf("GET %s: got %d bytes as %q, want the page's %d bytes as %s", pages[2].Path, len(body),
			resp.Header.Get("Content-Type"), len(pages[2].Body), pages[2].Charset)
	}
	rss := string(SummaryRSS("test", srv.URL, pages))
	if !strings.Contains(rss, "<link>"+srv.URL+pages[0].Path+"</link>") || strings.Contains(rss, "content:encoded") {
		t.Errorf("SummaryRSS: want summary-only items linking to %s", srv.URL+pages[0].Path)
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name, truth, pred string
		p, r              float64
	}{
		{"same", "one two three four five", "one two three four five", 1, 1},
		{"empty both", "", "", 1, 1},
		{"nothing found", "one two three four five", "", 0, 0},
		{"half", "a b c d e", "a b c d e f g h i", 2.0 / 6, 1},
		{"arabic punctuation", "قال الوزير، إن المشروع سينتهي", "قال الوزير إن المشروع سينتهي", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Compare(tt.truth, tt.pred)
			if abs(m.Precision()-tt.p) > 1e-9 || abs(m.Recall()-tt.r) > 1e-9 {
				t.Errorf("got P=%v R=%v, want P=%v R=%v", m.Precision(), m.Recall(), tt.p, tt.r)
			}
		})
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
