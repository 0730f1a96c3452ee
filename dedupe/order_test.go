package dedupe

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// samePairs returns the pairs of articles (by URL, in order) that the Decider judged one story
// while the corpus ran through it: each decided article with each indexed one it matched.
func samePairs(res streamResult) map[[2]string]bool {
	pairs := map[[2]string]bool{}
	for u, dec := range res.dec {
		for _, id := range dec.SameStory {
			pairs[orderedPair(u, res.ids[id])] = true
		}
	}
	return pairs
}

func orderedPair(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// TestDecisionIgnoresArrivalOrder runs the development days through a Decider in time order and
// in several random orders, as concurrent polls would deliver them, and checks that the same
// pairs of articles are judged one story every time: which article is the original may follow
// arrival, whether two articles tell one story may not (issue 13). It logs how many labelled
// pairs of the development set end in one cluster in one order and not in the other: a story's
// root is its first article, so clusters may follow arrival where the judgement is not transitive.
func TestDecisionIgnoresArrivalOrder(t *testing.T) {
	arts := loadDevCorpus(t)
	pairs := readDevSet(t)
	run := func(order []snnArticle) streamResult {
		keys := newMemKeys()
		return runStream(t, NewDecider(keys, 0), keys, order)
	}
	base := run(arts)
	want := samePairs(base)
	if len(want) < 200 {
		t.Fatalf("time order: %d pairs judged one story, want at least 200", len(want))
	}
	// A duplicate is judged one story with the article it names (same_story holds duplicate_of).
	for u, dec := range base.dec {
		if dec.Verdict == Duplicate && !slices.Contains(dec.SameStory, dec.DuplicateOf) {
			t.Errorf("%s: duplicate of %s, which is not in its SameStory %q", u, base.ids[dec.DuplicateOf], dec.SameStory)
		}
		if !slices.IsSorted(dec.SameStory) {
			t.Errorf("%s: SameStory %q is not sorted", u, dec.SameStory)
		}
	}
	seeds := []uint64{1, 2, 3, 4}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			order := slices.Clone(arts)
			r := rand.New(rand.NewPCG(seed, 13))
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			res := run(order)
			got := samePairs(res)
			var missing, extra []string
			for p := range want {
				if !got[p] {
					missing = append(missing, p[0]+" | "+p[1])
				}
			}
			for p := range got {
				if !want[p] {
					extra = append(extra, p[0]+" | "+p[1])
				}
			}
			if len(missing)+len(extra) > 0 {
				slices.Sort(missing)
				slices.Sort(extra)
				t.Errorf("got %d pairs judged one story, want the %d of time order: %d missing, %d extra\nmissing: %.5q\nextra: %.5q",
					len(got), len(want), len(missing), len(extra), missing, extra)
			}
			// Clusters may differ: a story's root is the article that came first, and an article
			// joins a story only when it matches its root. Count the labelled pairs that change.
			flips := 0
			for _, p := range pairs {
				if (base.cluster[p.urlA] == base.cluster[p.urlB]) != (res.cluster[p.urlA] == res.cluster[p.urlB]) {
					flips++
				}
			}
			t.Logf("%d of %d labelled pairs merged in one order and not the other", flips, len(pairs))
		})
	}
}

var orderCauses = flag.Bool("order-causes", false, "run TestOrderCauses")

// TestOrderCauses explains why clusters differ between arrival orders (issue 13), on the
// development days run through a Decider in time order and in random orders. It fails when a
// cause that must not exist shows up, and logs the counts of the others:
//
//   - candidates: a pair judged one story in one order and not the other (a candidate cap or an
//     LSH miss that depends on what the index holds): must be none;
//   - LSH misses: pairs that judge accepts, compared exhaustively, but the index never offers as
//     candidates: the same in every order, as the keys are the pair's own; logged;
//   - split: a pair judged one story that shares a cluster in one order and not the other: the
//     later article matched a member of another story, not its root (a chain);
//   - joined: a pair not judged one story that shares a cluster in one order and not the other:
//     both joined a story whose root matches each (a star through a third article);
//   - ties: decisions whose chosen member ties, on Jaccard and similarity, with a member of
//     another story it could join: broken by id (the hash of the URL), not by arrival.
//
// It compares every pair of the days, minutes of work: run it with
//
//	go test ./dedupe -run TestOrderCauses -v -args -order-causes
func TestOrderCauses(t *testing.T) {
	if !*orderCauses {
		t.Skip("the -order-causes flag is not set")
	}
	arts := loadDevCorpus(t)
	ids := make([]string, len(arts))
	fps := make([]fingerprint, len(arts))
	ok := make([]bool, len(arts))
	byID := map[string]int{}
	df := builtinDocFreq()
	for i := range arts {
		ids[i] = arts[i].id()
		byID[ids[i]] = i
		var a analysis
		fps[i], ok[i] = a.fingerprintWith(arts[i].Title, arts[i].Content, df)
	}
	run := func(order []snnArticle) streamResult {
		keys := newMemKeys()
		return runStream(t, NewDecider(keys, 0), keys, order)
	}
	base := run(arts)
	judged := samePairs(base)

	// Exhaustively: every pair within the window that judge accepts.
	exhaustive := 0
	var missed []string
	window := int64(DefaultWindow / time.Second)
	for i := range arts {
		for j := i + 1; j < len(arts); j++ {
			if !ok[i] || !ok[j] {
				continue
			}
			dt := arts[j].at.Unix() - arts[i].at.Unix()
			if dt > window || -dt > window {
				continue
			}
			f := measure(&fps[j], &fps[i], time.Duration(dt)*time.Second)
			f.sameOutlet = arts[i].Source == arts[j].Source
			if _, acc := judge(&f); !acc {
				continue
			}
			exhaustive++
			if p := orderedPair(arts[i].URL, arts[j].URL); !judged[p] && len(missed) < 5 {
				missed = append(missed, p[0]+" | "+p[1])
			}
		}
	}
	t.Logf("pairs judged one story: %d through the index, %d comparing every pair (LSH misses: %d, for example %q)",
		len(judged), exhaustive, exhaustive-len(judged), missed)

	clusterPairs := func(res streamResult) map[[2]string]bool {
		by := map[string][]string{}
		for u, c := range res.cluster {
			by[c] = append(by[c], u)
		}
		out := map[[2]string]bool{}
		for _, us := range by {
			for i := range us {
				for j := i + 1; j < len(us); j++ {
					out[orderedPair(us[i], us[j])] = true
				}
			}
		}
		return out
	}
	// ties counts the decisions of res whose chosen member ties with a joinable member of
	// another story.
	ties := func(res streamResult) int {
		n := 0
		for u, dec := range res.dec {
			if dec.Verdict != Duplicate || len(dec.SameStory) < 2 {
				continue
			}
			x := byURLIdx(arts, u)
			xi := byID[x.id()]
			type cand struct {
				cluster      string
				jaccard, sim float64
			}
			var cs []cand
			for _, id := range dec.SameStory {
				k := byID[id]
				f := measure(&fps[xi], &fps[k], arts[xi].at.Sub(arts[k].at))
				f.sameOutlet = arts[xi].Source == arts[k].Source
				sim, _ := judge(&f)
				c := res.cluster[arts[k].URL]
				copyOf := f.jaccard >= nearVerbatim || fps[xi].shingles <= fps[k].shingles && f.isLeadOf()
				if c == id || copyOf {
					cs = append(cs, cand{c, f.jaccard, sim})
				}
			}
			for i := range cs {
				for j := i + 1; j < len(cs); j++ {
					if cs[i].cluster != cs[j].cluster && cs[i].jaccard == cs[j].jaccard && cs[i].sim == cs[j].sim {
						n++
					}
				}
			}
		}
		return n
	}
	baseClusters := clusterPairs(base)
	inside := 0
	for p := range baseClusters {
		if !judged[p] {
			inside++
		}
	}
	t.Logf("time order: %d pairs share a cluster, %d of them not judged one story; %d ties between stories",
		len(baseClusters), inside, ties(base))
	for _, seed := range []uint64{1, 2, 3} {
		order := slices.Clone(arts)
		r := rand.New(rand.NewPCG(seed, 13))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		res := run(order)
		got := samePairs(res)
		cand := 0
		for p := range got {
			if !judged[p] {
				cand++
			}
		}
		for p := range judged {
			if !got[p] {
				cand++
			}
		}
		if cand > 0 {
			t.Errorf("seed %d: %d pairs judged one story in one order only", seed, cand)
		}
		cp := clusterPairs(res)
		split, joined := 0, 0
		for _, d := range []struct{ a, b map[[2]string]bool }{{baseClusters, cp}, {cp, baseClusters}} {
			for p := range d.a {
				if d.b[p] {
					continue
				}
				if judged[p] {
					split++
				} else {
					joined++
				}
			}
		}
		t.Logf("seed %d: %d cluster pairs differ from time order: split %d, joined %d; candidates %d; ties %d",
			seed, split+joined, split, joined, cand, ties(res))
	}
}
