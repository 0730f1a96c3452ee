package dedupe

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// devPair is one labelled pair of testdata/devset.tsv.
type devPair struct {
	same       bool
	kind       string
	urlA, urlB string
	note       string
}

func readDevSet(tb testing.TB) []devPair {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "devset.tsv"))
	if os.IsNotExist(err) {
		tb.Skipf("development set not available: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var pairs []devPair
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if line == 1 {
			if len(cols) < 4 || cols[0] != "label" {
				tb.Fatalf("devset.tsv: header %q, want label kind url_a url_b note", sc.Text())
			}
			continue
		}
		if len(cols) < 4 {
			tb.Fatalf("devset.tsv:%d: %d columns, want at least 4", line, len(cols))
		}
		if cols[0] != "same" && cols[0] != "different" {
			tb.Fatalf("devset.tsv:%d: label %q, want same or different", line, cols[0])
		}
		p := devPair{same: cols[0] == "same", kind: cols[1], urlA: cols[2], urlB: cols[3]}
		if len(cols) > 4 {
			p.note = cols[4]
		}
		pairs = append(pairs, p)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return pairs
}

// TestDevSet runs the three development days through a Decider in time order, exactly as the
// pipeline would (decide, record, with each article's date_extracted as its time and the default
// window), and scores the labelled pairs: a pair is merged when both articles end in the same
// cluster. Each day is held out in turn: the stream's Decider ranks words by the table of the two
// other days (see heldOutTables), and scores the pairs whose later article is of that day.
//
// It then scores the pairwise judgement (whether the Decider judges the two one story,
// whichever comes first: an LSH key shared, within the window, judge) by days, held out: each
// pair is measured with a table of the development days that hold neither of its articles (see
// heldOutTables), as the daemon measures every new day; and for each day, judge's tuned
// thresholds are tuned again on the two other days and score that day's pairs. It fails on any
// false merge in the stream, and when the held-out figures fall below floors set under what the
// decision achieves.
//
//	go test ./dedupe -run 'TestDevSet$' -v
func TestDevSet(t *testing.T) {
	pairs := readDevSet(t)
	arts := loadDevCorpus(t)
	// One stream per day held out: the Decider ranks words by the table of the two other days,
	// and the stream scores the pairs whose later article is of that day.
	h := newHeldOutTables(arts)
	streams := map[string]streamResult{}
	for _, day := range devDays {
		keys := newMemKeys()
		dd := NewDecider(keys, 0)
		dd.df = h.table(day)
		streams[day] = runStream(t, dd, keys, arts)
	}
	byURL := make(map[string]*snnArticle, len(arts))
	for i := range arts {
		byURL[arts[i].URL] = &arts[i]
	}

	type tally struct{ merged, total int }
	perKind := map[string]*tally{}
	var tp, fp, fn, tn int
	var misses, falseMerges []string
	for _, p := range pairs {
		later := byURL[p.urlA].at
		if byURL[p.urlB] != nil && byURL[p.urlB].at.After(later) {
			later = byURL[p.urlB].at
		}
		res := streams[later.Format(time.DateOnly)]
		ca, okA := res.cluster[p.urlA]
		cb, okB := res.cluster[p.urlB]
		if !okA || !okB {
			t.Fatalf("pair %s / %s: article not in the corpus (or a repeat)", p.urlA, p.urlB)
		}
		merged := ca == cb
		k := perKind[p.kind]
		if k == nil {
			k = &tally{}
			perKind[p.kind] = k
		}
		k.total++
		if merged {
			k.merged++
		}
		line := fmt.Sprintf("%-10s %-17s %s | %s | %s", map[bool]string{true: "same", false: "different"}[p.same], p.kind, p.urlA, p.urlB, p.note)
		switch {
		case p.same && merged:
			tp++
		case p.same:
			fn++
			misses = append(misses, line)
		case merged:
			fp++
			falseMerges = append(falseMerges, line)
		default:
			tn++
		}
	}
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	var b strings.Builder
	fmt.Fprintf(&b, "dev set: %d pairs (%d same, %d different), %d articles in the stream\n", len(pairs), tp+fn, fp+tn, len(arts))
	fmt.Fprintf(&b, "TP %d  FP %d  FN %d  TN %d  precision %.3f  recall %.3f\n", tp, fp, fn, tn, precision, recall)
	fmt.Fprintf(&b, "%-18s %7s %7s\n", "kind", "merged", "pairs")
	kinds := make([]string, 0, len(perKind))
	for k := range perKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "%-18s %7d %7d\n", k, perKind[k].merged, perKind[k].total)
	}
	fmt.Fprintf(&b, "false merges (%d):\n", len(falseMerges))
	for _, l := range falseMerges {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "misses (%d):\n", len(misses))
	for _, l := range misses {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	js, err := judgePairs(arts, pairs)
	if err != nil {
		t.Fatal(err)
	}
	folds, worst, pooled := foldReport(js)
	fmt.Fprintf(&b, "\npairwise judgement by days, held out (a pair belongs to the day of its later article):\n%s", folds)
	t.Log("\n" + b.String())
	if fp > 0 {
		t.Errorf("got %d false merges in the stream, want none", fp)
	}
	// Floors against regressions, at what the decision achieves held out: the recall targets of
	// issue 13 (0.85 in every fold, 0.88 pooled) are not reached. No false merge is allowed,
	// pooled or in any fold.
	if pooled.fp > 0 {
		t.Errorf("pairwise: got %d false merges pooled, want none", pooled.fp)
	}
	if worst.fp > 0 {
		t.Errorf("pairwise: got %d false merges in the worst fold, want none", worst.fp)
	}
	if recall < 0.62 {
		t.Errorf("got stream recall %.3f, want at least 0.62", recall)
	}
	if pooled.recall() < 0.745 || worst.recall < 0.67 {
		t.Errorf("got pairwise recall %.3f pooled and %.3f in the worst fold, want at least 0.745 and 0.67", pooled.recall(), worst.recall)
	}
}
