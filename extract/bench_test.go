package extract

import (
	"bytes"
	"net/url"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// BenchmarkExtractVsParse measures, side by side over the Scrapinghub pages, Extract of a page
// against html.Parse of the same page alone (the floor). Each op is one round over all pages,
// each page parsed then extracted; it reports the median over pages of the per-page ratio of
// the median times, and the median times themselves.
//
//	go test ./extract -run '^$' -bench ExtractVsParse -benchtime 10x
func BenchmarkExtractVsParse(b *testing.B) {
	pages := scrapinghub(b)
	urls := make([]*url.URL, len(pages))
	for i, p := range pages {
		urls[i], _ = url.Parse(p.url)
	}
	parse := make([][]time.Duration, len(pages))
	extract := make([][]time.Duration, len(pages))
	b.ResetTimer()
	for b.Loop() {
		for i, p := range pages {
			t0 := time.Now()
			if _, err := html.Parse(bytes.NewReader(p.html)); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			_, _ = Extract(p.html, urls[i], nil)
			t2 := time.Now()
			parse[i] = append(parse[i], t1.Sub(t0))
			extract[i] = append(extract[i], t2.Sub(t1))
		}
	}
	b.StopTimer()
	ratios := make([]float64, len(pages))
	var pt, et []float64
	for i := range pages {
		p, e := median(parse[i]), median(extract[i])
		ratios[i] = e / p
		pt = append(pt, p)
		et = append(et, e)
	}
	b.ReportMetric(medianF(ratios), "median-ratio")
	b.ReportMetric(medianF(pt)/1e6, "parse-ms/page")
	b.ReportMetric(medianF(et)/1e6, "extract-ms/page")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)*9/10], "p90-ratio")
}

func median(ds []time.Duration) float64 {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = float64(d)
	}
	return medianF(fs)
}

func medianF(fs []float64) float64 {
	if len(fs) == 0 {
		return 0
	}
	s := slices.Clone(fs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
