package dedupe

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// devFingerprints returns the fingerprint of every development article by URL, ranked with the
// builtin document frequencies, as the Decider makes them.
func devFingerprints(tb testing.TB, arts []snnArticle) map[string]*fingerprint {
	return devFingerprintsWith(arts, builtinDocFreq())
}

// devFingerprintsWith is devFingerprints with the rare words ranked by the table df.
func devFingerprintsWith(arts []snnArticle, df *docFreq) map[string]*fingerprint {
	fps := make(map[string]*fingerprint, len(arts))
	var a analysis
	for i := range arts {
		if fp, ok := a.fingerprintWith(arts[i].Title, arts[i].Content, df); ok {
			fps[arts[i].URL] = &fp
		}
	}
	return fps
}

// fingerprintWith analyses a title and text with a's buffers and returns their fingerprint,
// its rare words ranked by the table df, or false for a text without words.
func (a *analysis) fingerprintWith(title, text string, df *docFreq) (fingerprint, bool) {
	a.analyzeText(title, text)
	if !a.ok {
		return fingerprint{}, false
	}
	a.pickRare(df)
	return a.fp, true
}

// pairFeatures measures a pair of development articles as the Decider would.
func pairFeatures(x, y *snnArticle, fx, fy *fingerprint) features {
	return pairFeaturesWith(x, y, fx, fy, builtinDocFreq())
}

// pairFeaturesWith is pairFeatures with the words ranked by the table df.
func pairFeaturesWith(x, y *snnArticle, fx, fy *fingerprint, df *docFreq) features {
	f := measure(fx, fy, x.at.Sub(y.at))
	f.sameOutlet = x.Source == y.Source
	return f
}

func (f features) String() string {
	return fmt.Sprintf("J=%.2f C=%.2f pre=%.2f/%d lead=%.2f firstL=%.2f lastL=%.2f nS=%d nL=%d num=%d/%d/%d title=%d/%d/%d rare=%d top=%d mindf=%d names=%d own=%d/%d h=%.0f same=%v start=%v",
		f.jaccard, f.contained, f.prefix, f.prefixSamples, f.lead, f.firstL, f.lastL, f.nS, f.nL, f.numShared, f.numOnlyS, f.numOnlyL,
		f.titleShared, f.titleS, f.titleL, f.rareShared, f.top, f.sharedMinDF, f.sharedNames, f.ownS, f.ownL, f.hours, f.sameOutlet, f.atStart())
}

// TestDevCandidates writes candidate pairs for labelling to $FEEDD_DEVDUMP: every pair of
// development articles, at most 72 hours apart, that shares an LSH band or at least 3 rare words
// (a low threshold: hard negatives share people and places), with its features, whether the
// decision merges it, and the start of both texts. It is a tool, skipped unless the variable is
// set:
//
//	FEEDD_DEVDUMP=/tmp/cands.txt go test ./dedupe -run TestDevCandidates
func TestDevCandidates(t *testing.T) {
	out := os.Getenv("FEEDD_DEVDUMP")
	if out == "" {
		t.Skip("FEEDD_DEVDUMP not set")
	}
	arts := loadDevCorpus(t)
	fps := devFingerprints(t, arts)
	var b strings.Builder
	n := 0
	for i := range arts {
		x := &arts[i]
		fx := fps[x.URL]
		if fx == nil {
			continue
		}
		for j := i + 1; j < len(arts); j++ {
			y := &arts[j]
			fy := fps[y.URL]
			if fy == nil || y.at.Sub(x.at) > 72*time.Hour {
				continue
			}
			f := pairFeatures(x, y, fx, fy)
			if f.jaccard < 0.05 && f.rareShared < 3 {
				continue
			}
			_, ok := judge(&f)
			n++
			fmt.Fprintf(&b, "### %d %v\t%s\t%s\n%s\nA [%s %s] %s\n  %s\nB [%s %s] %s\n  %s\n", n, ok, x.URL, y.URL, f,
				x.Source, x.at.Format("01-02 15:04"), x.Title, clip(x.Content, 600),
				y.Source, y.at.Format("01-02 15:04"), y.Title, clip(y.Content, 600))
		}
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d candidate pairs written to %s", n, out)
}

// clip returns the first n bytes of s, cut at a rune boundary, on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// TestDevSetFeatures logs the features of every labelled pair as the evaluation measures them
// (held out: with the table of the development days that hold neither article, see judgePairs),
// whether the index offers one for the other, the rule that accepts it and whether judge merges
// it (the pairwise judgement, before clusters). A tool for tuning, skipped unless
// FEEDD_DEVFEATURES is set:
//
//	FEEDD_DEVFEATURES=1 go test ./dedupe -run TestDevSetFeatures -v
func TestDevSetFeatures(t *testing.T) {
	if os.Getenv("FEEDD_DEVFEATURES") == "" {
		t.Skip("FEEDD_DEVFEATURES not set")
	}
	js, err := judgePairs(loadDevCorpus(t), readDevSet(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range js {
		j := &js[i]
		ok := j.merged(&shippedParams)
		_, rule := judgeRule(&j.f, &shippedParams)
		mark := ""
		if ok != j.same {
			mark = "WRONG"
		}
		t.Logf("%-5s %-9s %-17s %s candidate=%v rule=%d %s | %s | %s", mark, map[bool]string{true: "same", false: "different"}[j.same], j.kind, j.day, j.candidate, rule, j.f, j.note, j.urlA+" "+j.urlB)
	}
}
