package extract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/internal/testpages"
)

var (
	verbosePages = flag.Bool("pages", false, "log the score of every page in the evaluations")
	dumpDir      = flag.String("dump", "", "write each page's extracted text and truth to this directory")
	baseline     = flag.Bool("baseline", false, "also score go-readability alone, side by side")
)

// dump writes a page's extraction and truth under -dump, for reading the differences.
func dump(tb testing.TB, id, truth, pred string) {
	if *dumpDir == "" {
		return
	}
	if err := os.MkdirAll(*dumpDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for name, s := range map[string]string{id + ".truth.txt": truth, id + ".pred.txt": pred} {
		if err := os.WriteFile(filepath.Join(*dumpDir, name), []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// shPage is one page of the Scrapinghub article extraction benchmark, decoded to UTF-8.
type shPage struct {
	id, url, truth string
	html           []byte
}

// scrapinghub reads the benchmark's pages in ../shared/corpus/pages/scrapinghub, sorted by id.
func scrapinghub(tb testing.TB) []shPage {
	tb.Helper()
	dir := filepath.Join(testfeeds.Corpus(tb), "pages", "scrapinghub")
	raw, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var gt map[string]struct {
		URL         string `json:"url"`
		ArticleBody string `json:"articleBody"`
	}
	if err := json.Unmarshal(raw, &gt); err != nil {
		tb.Fatal(err)
	}
	var pages []shPage
	for id, g := range gt {
		f, err := os.Open(filepath.Join(dir, "html", id+".html.gz"))
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		if !utf8.Valid(b) {
			enc, _, _ := charset.DetermineEncoding(b, "text/html")
			if u, err := enc.NewDecoder().Bytes(b); err == nil {
				b = u
			}
		}
		pages = append(pages, shPage{id: id, url: g.URL, truth: g.ArticleBody, html: b})
	}
	slices.SortFunc(pages, func(a, b shPage) int { return bytes.Compare([]byte(a.id), []byte(b.id)) })
	return pages
}

// scrapinghubF1 is the F1 the general extractor reaches on the 91 pages, with no rule; the
// test fails below it.
const scrapinghubF1 = 0.97

// TestScrapinghub scores the general extractor on the benchmark's pages the way the benchmark
// scores (go test ./extract -run Scrapinghub -v; -pages lists every page).
func TestScrapinghub(t *testing.T) {
	pages := scrapinghub(t)
	var ms []testpages.Match
	for _, p := range pages {
		u, _ := url.Parse(p.url)
		var pred string
		res, err := extractGeneral(p.html, u)
		if err == nil {
			pred = res.Text
		}
		m := testpages.Compare(p.truth, pred)
		ms = append(ms, m)
		dump(t, p.id[:8], p.truth, pred)
		if *verbosePages {
			t.Logf("%s P=%.3f R=%.3f F1=%.3f %s", p.id[:8], m.Precision(), m.Recall(), m.F1(), p.url)
		}
	}
	pr, rc, f1 := testpages.Summary(ms)
	t.Logf("scrapinghub: %d pages, precision %.4f recall %.4f F1 %.4f", len(ms), pr, rc, f1)
	if *baseline {
		plainReadability = true
		var bs []testpages.Match
		for _, p := range pages {
			u, _ := url.Parse(p.url)
			var pred string
			if res, err := extractGeneral(p.html, u); err == nil {
				pred = res.Text
			}
			bs = append(bs, testpages.Compare(p.truth, pred))
		}
		plainReadability = false
		bp, br, bf := testpages.Summary(bs)
		t.Logf("scrapinghub, go-readability alone: precision %.4f recall %.4f F1 %.4f", bp, br, bf)
	}
	if f1 < scrapinghubF1 {
		t.Errorf("F1 %.4f, want at least %.3f", f1, scrapinghubF1)
	}
}

// extractGeneral is Extract with no rule at all, not even a built-in one.
func extractGeneral(page []byte, u *url.URL) (*Result, error) {
	return ExtractWith(page, u, nil, Options{NoBuiltinRules: true})
}
