package testpages

import (
	"strings"
	"unicode"
)

// Match is one page's score: true positives, false positives and false negatives over 4-word
// shingles, normalised by their sum (the Scrapinghub article extraction benchmark's method).
type Match struct{ TP, FP, FN float64 }

// Precision is TP/(TP+FP), 1 when both texts are empty of shingles.
func (m Match) Precision() float64 {
	if m.FP == 0 && m.FN == 0 {
		return 1
	}
	if m.TP == 0 && m.FP == 0 {
		return 0
	}
	return m.TP / (m.TP + m.FP)
}

// Recall is TP/(TP+FN), 1 when both texts are empty of shingles.
func (m Match) Recall() float64 {
	if m.FP == 0 && m.FN == 0 {
		return 1
	}
	if m.TP == 0 && m.FN == 0 {
		return 0
	}
	return m.TP / (m.TP + m.FN)
}

// F1 is the harmonic mean of Precision and Recall.
func (m Match) F1() float64 {
	p, r := m.Precision(), m.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Compare scores pred against truth as the Scrapinghub benchmark does: tokens are runs of
// Unicode letters, digits and '_' (Python's \w), case kept; shingles are 4 consecutive tokens
// (one shorter shingle for a text of fewer than 4 tokens), counted as multisets.
func Compare(truth, pred string) Match {
	ts, ps := shingles(truth), shingles(pred)
	var m Match
	for k, tc := range ts {
		pc := ps[k]
		m.TP += float64(min(tc, pc))
		m.FN += float64(max(0, tc-pc))
	}
	for k, pc := range ps {
		m.FP += float64(max(0, pc-ts[k]))
	}
	if s := m.TP + m.FP + m.FN; s > 0 {
		m.TP, m.FP, m.FN = m.TP/s, m.FP/s, m.FN/s
	}
	return m
}

// Summary aggregates pages as the benchmark does: precision is the mean over pages with
// TP+FP > 0, recall the mean over pages with TP+FN > 0, and F1 is taken of those two means.
func Summary(ms []Match) (precision, recall, f1 float64) {
	var np, nr int
	for _, m := range ms {
		if m.TP+m.FP > 0 {
			precision += m.Precision()
			np++
		}
		if m.TP+m.FN > 0 {
			recall += m.Recall()
			nr++
		}
	}
	if np > 0 {
		precision /= float64(np)
	}
	if nr > 0 {
		recall /= float64(nr)
	}
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	return precision, recall, f1
}

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// Tokens splits s into the benchmark's tokens.
func Tokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWord(r) })
}

func shingles(s string) map[string]int {
	toks := Tokens(s)
	out := map[string]int{}
	if len(toks) == 0 {
		return out
	}
	for i := 0; i < max(1, len(toks)-3); i++ {
		out[strings.Join(toks[i:min(i+4, len(toks))], "\x00")]++
	}
	return out
}

// Leaks returns the titles and leads of other articles (p.Others) that show in out: those
// with a 4-word shingle in out that is not in the page's own text.
func Leaks(p Page, out string) []string {
	own, got := shingles(p.Text), shingles(out)
	var leaks []string
	for _, o := range p.Others {
		for k := range shingles(o) {
			if got[k] > 0 && own[k] == 0 {
				leaks = append(leaks, o)
				break
			}
		}
	}
	return leaks
}
