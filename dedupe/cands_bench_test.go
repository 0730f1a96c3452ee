package dedupe

import (
	"slices"
	"testing"
)

// BenchmarkCandidates1M counts the candidates the LSH index of 1,000,000 articles (see
// BenchmarkDecide1M) offers a new article, and how many of them judge accepts: what a decision
// measures, which the choice of keys decides. It records nothing. Run it with the decision's
// benchmarks, which share the index:
//
//	go test ./dedupe -run '^$' -bench 'Decide1M|DecideEmpty|Candidates1M' -benchtime 20000x
func BenchmarkCandidates1M(b *testing.B) {
	bi, err := buildBenchIndex()
	if err != nil {
		b.Skipf("corpus not available: %v", err)
	}
	docs := bi.next(b.N)
	dd := bi.dd
	var a analysis
	counts := make([]int, 0, b.N)
	accepted := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.analyzeText(docs[i].Title, docs[i].Text)
		if !a.ok {
			continue
		}
		a.pickRare(dd.df)
		a.cands = dd.idx.candidates(a.cands[:0], &a.fp, &a.sink)
		counts = append(counts, len(a.cands))
		for _, s := range a.cands {
			f := measure(&a.fp, &dd.idx.slot(s).fp, 0)
			if _, ok := judge(&f); ok {
				accepted++
			}
		}
	}
	b.StopTimer()
	if len(counts) == 0 {
		return
	}
	sum := 0
	for _, c := range counts {
		sum += c
	}
	slices.Sort(counts)
	b.ReportMetric(float64(sum)/float64(len(counts)), "cands-mean")
	b.ReportMetric(float64(counts[len(counts)/2]), "cands-p50")
	b.ReportMetric(float64(counts[len(counts)*9/10]), "cands-p90")
	b.ReportMetric(float64(counts[len(counts)*99/100]), "cands-p99")
	b.ReportMetric(float64(accepted)/float64(len(counts)), "accepted-mean")
}
