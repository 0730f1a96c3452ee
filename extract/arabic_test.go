package extract

import (
	"flag"
	"fmt"
	"net/url"
	"testing"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/internal/testpages"
)

// arabicPages builds the Arabic test pages from the SaudiNewsNet development days.
func arabicPages(tb testing.TB) []testpages.Page {
	tb.Helper()
	dir := testfeeds.Corpus(tb)
	var arts []testfeeds.Article
	for _, day := range []string{"2015-08-01", "2015-08-02", "2015-08-03"} {
		as, err := testfeeds.SaudiNewsNet(dir, day)
		if err != nil {
			tb.Fatal(err)
		}
		arts = append(arts, as...)
	}
	var pages []testpages.Page
	for _, p := range testpages.Pages(arts) {
		if len(testpages.Tokens(p.Text)) >= minArabicWords {
			pages = append(pages, p)
		}
	}
	return pages
}

// minArabicWords is the fewest words of an article that the Arabic evaluation scores: a page
// whose article is a name or a caption is no article page (about 3% of the corpus's records).
const minArabicWords = 30

var arabicEvery = flag.Int("arabic-every", 3, "score every n-th Arabic test page: 1 for all, 11 with -short")

// arabicF1 is the F1 the extractor reaches on the Arabic test pages; the test fails below it.
const arabicF1 = 0.99

// TestArabicPages scores Extract on the Arabic test pages (every template; every third article
// of the development days, or all of them with -arabic-every 1) and fails on any text of
// another article in an output (go test ./extract -run ArabicPages -v -arabic-every 1).
func TestArabicPages(t *testing.T) {
	pages := arabicPages(t)
	every := *arabicEvery
	if testing.Short() && every < 11 {
		every = 11 // not a multiple of the number of templates, so that all are sampled
	}
	if every > 1 {
		var sample []testpages.Page
		for i := 0; i < len(pages); i += every {
			sample = append(sample, pages[i])
		}
		pages = sample
	}
	byTemplate := map[string][]testpages.Match{}
	var all []testpages.Match
	leaky := map[string]int{}
	failed := 0
	for _, p := range pages {
		u, _ := url.Parse(p.URL)
		var out string
		res, err := Extract(p.HTML(), u, nil)
		if err != nil {
			failed++
		} else {
			out = res.Text
		}
		m := testpages.Compare(p.Text, out)
		all = append(all, m)
		byTemplate[p.Template] = append(byTemplate[p.Template], m)
		dump(t, "ar-"+p.Template+"-"+p.Article.Source+"-"+shortHash(p.URL), p.Text, out)
		if leaks := testpages.Leaks(p, out); len(leaks) > 0 {
			leaky[p.Template]++
			if leaky[p.Template] <= 3 {
				t.Errorf("%s (%s): other articles' text in the output: %q", p.URL, p.Template, leaks)
			}
		}
		if *verbosePages {
			t.Logf("%s P=%.3f R=%.3f %s", p.Template, m.Precision(), m.Recall(), p.URL)
		}
	}
	for _, name := range testpages.Templates() {
		pr, rc, f1 := testpages.Summary(byTemplate[name])
		t.Logf("template %-9s %4d pages: precision %.4f recall %.4f F1 %.4f, %d with leaks",
			name, len(byTemplate[name]), pr, rc, f1, leaky[name])
	}
	pr, rc, f1 := testpages.Summary(all)
	t.Logf("arabic: %d pages (%d errors): precision %.4f recall %.4f F1 %.4f", len(all), failed, pr, rc, f1)
	if *baseline {
		plainReadability = true
		var bs []testpages.Match
		leaks := 0
		for _, p := range pages {
			u, _ := url.Parse(p.URL)
			var out string
			if res, err := ExtractWith(p.HTML(), u, nil, Options{NoBuiltinRules: true}); err == nil {
				out = res.Text
			}
			bs = append(bs, testpages.Compare(p.Text, out))
			if len(testpages.Leaks(p, out)) > 0 {
				leaks++
			}
		}
		plainReadability = false
		bp, br, bf := testpages.Summary(bs)
		t.Logf("arabic, go-readability alone: precision %.4f recall %.4f F1 %.4f, %d pages with leaks", bp, br, bf, leaks)
	}
	if f1 < arabicF1 {
		t.Errorf("F1 %.4f, want at least %.3f", f1, arabicF1)
	}
}

func shortHash(s string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return fmt.Sprintf("%08x", h)
}
