package dedupe

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// firstSentence returns the first sentence of a text: up to the first full stop, at most 40
// words. It is what a feed's summary often holds when the page behind it cannot be fetched.
func firstSentence(s string) string {
	var out []string
	for w := range strings.FieldsSeq(s) {
		out = append(out, w)
		if len(out) >= 40 || strings.HasSuffix(w, ".") {
			break
		}
	}
	return strings.Join(out, " ")
}

// summaryFingerprint is the fingerprint of an article reduced to its title and first sentence.
// Its rare words are ranked by the table df.
func summaryFingerprint(a *snnArticle, df *docFreq) (*fingerprint, bool) {
	var x analysis
	x.analyzeText(a.Title, firstSentence(a.Content))
	if !x.ok {
		return nil, false
	}
	x.pickRare(df)
	fp := x.fp
	return &fp, true
}

// TestSummaryOnlyConservative judges the labelled pairs with one or both articles reduced to
// their title and first sentence, as when a feed carries only a summary and the page cannot be
// fetched: no different-story pair may be merged, whether both are summaries or a summary meets
// the other's full text. Pairs are measured held out, with the table of the development days that
// hold neither article (see heldOutTables). It logs how many same-story pairs are still merged.
func TestSummaryOnlyConservative(t *testing.T) {
	arts := loadDevCorpus(t)
	pairs := readDevSet(t)
	h := newHeldOutTables(arts)
	byURL := make(map[string]*snnArticle, len(arts))
	for i := range arts {
		byURL[arts[i].URL] = &arts[i]
	}
	type variant struct {
		name               string
		summaryA, summaryB bool
	}
	for _, v := range []variant{{"both summaries", true, true}, {"summary against full text", true, false}, {"full text against summary", false, true}} {
		merged, same, checked, wrong := 0, 0, 0, 0
		for _, p := range pairs {
			x, y := byURL[p.urlA], byURL[p.urlB]
			days := []string{x.at.Format(time.DateOnly), y.at.Format(time.DateOnly)}
			slices.Sort(days)
			days = slices.Compact(days)
			df, full := h.table(days...), h.fingerprints(days...)
			fx, fy := full[p.urlA], full[p.urlB]
			var ok bool
			if v.summaryA {
				if fx, ok = summaryFingerprint(x, df); !ok {
					continue
				}
			}
			if v.summaryB {
				if fy, ok = summaryFingerprint(y, df); !ok {
					continue
				}
			}
			if fx == nil || fy == nil {
				continue
			}
			checked++
			f := pairFeaturesWith(x, y, fx, fy, df)
			_, m := judge(&f)
			m = m && shareKey(fx, fy) && x.at.Sub(y.at).Abs() <= DefaultWindow
			switch {
			case p.same:
				same++
				if m {
					merged++
				}
			case m:
				wrong++
				t.Errorf("%s: different-story pair merged: %s | %s (%s: %s)\n%s", v.name, p.urlA, p.urlB, p.kind, p.note, f)
			}
		}
		if checked < len(pairs)*9/10 {
			t.Errorf("%s: %d of %d pairs checked, want nearly all", v.name, checked, len(pairs))
		}
		t.Logf("%-26s %d pairs: %d different-story pairs merged; %d of %d same-story pairs merged", v.name, checked, wrong, merged, same)
	}
}
