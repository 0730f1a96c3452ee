package dedupe

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// textModel generates realistic synthetic articles: a word bigram chain learnt from the
// development days (real vocabulary, real word frequencies, common phrases shared between
// articles as in real news) and their distribution of article lengths.
type textModel struct {
	words   []string
	next    []int32 // the words that followed each word (with repetition), word by word
	off     []int32 // word w's followers are next[off[w]:off[w+1]]
	starts  []int32
	lengths []int
}

func newTextModel(arts []snnArticle) *textModel {
	m := &textModel{}
	ids := map[string]int32{}
	id := func(w string) int32 {
		i, ok := ids[w]
		if !ok {
			i = int32(len(m.words))
			ids[w] = i
			m.words = append(m.words, w)
		}
		return i
	}
	var pairs [][2]int32
	for i := range arts {
		fields := strings.Fields(arts[i].Content)
		if len(fields) < 2 {
			continue
		}
		m.lengths = append(m.lengths, len(fields))
		// Words that send Normalize down its NFKC path are left out: 22 of the 3,942 articles
		// hold one, and a chain would spread them over every synthetic article.
		fields = slices.DeleteFunc(fields, func(w string) bool {
			_, _, slow, _ := appendFold(nil, w, true, nil)
			return slow
		})
		if len(fields) < 2 {
			continue
		}
		prev := id(fields[0])
		m.starts = append(m.starts, prev)
		for _, w := range fields[1:] {
			cur := id(w)
			pairs = append(pairs, [2]int32{prev, cur})
			prev = cur
		}
	}
	slices.SortFunc(pairs, func(a, b [2]int32) int { return int(a[0]) - int(b[0]) })
	m.off = make([]int32, len(m.words)+1)
	m.next = make([]int32, len(pairs))
	for i, p := range pairs {
		m.next[i] = p[1]
		m.off[p[0]+1]++
	}
	for i := 1; i < len(m.off); i++ {
		m.off[i] += m.off[i-1]
	}
	return m
}

// article writes one synthetic article into buf: a title of 5 to 12 words and a body whose
// length is drawn from the corpus, in paragraphs of 40 words.
func (m *textModel) article(r *rand.Rand, buf []byte) (title, body string, _ []byte) {
	walk := func(n int) {
		w := m.starts[r.IntN(len(m.starts))]
		for i := range n {
			if i > 0 {
				if i%40 == 0 {
					buf = append(buf, '\n')
				} else {
					buf = append(buf, ' ')
				}
			}
			buf = append(buf, m.words[w]...)
			lo, hi := m.off[w], m.off[w+1]
			if lo == hi {
				w = m.starts[r.IntN(len(m.starts))]
			} else {
				w = m.next[lo+int32(r.IntN(int(hi-lo)))]
			}
		}
	}
	buf = buf[:0]
	walk(5 + r.IntN(8))
	title = string(buf)
	buf = buf[:0]
	walk(m.lengths[r.IntN(len(m.lengths))])
	body = string(buf)
	return title, body, buf
}

// benchIndex is a Decider holding 1,000,000 synthetic articles spread over the last 7 days, built
// once per benchmark run, with the heap it cost.
type benchIndex struct {
	dd           *Decider
	model        *textModel
	bytesPerItem float64
	end          time.Time

	rand *rand.Rand
	buf  []byte
	used int // new articles decided by earlier runs
}

// next returns n new articles for a run: one in four an edited copy of the one before it.
func (bi *benchIndex) next(n int) []Doc {
	docs := make([]Doc, n)
	for i := range docs {
		var title, body string
		title, body, bi.buf = bi.model.article(bi.rand, bi.buf)
		if i%4 == 3 {
			prev := docs[i-1]
			title, body = "عاجل: "+prev.Title, strings.Replace(prev.Text, " ", " ـ", 3)+" المصدر: واس"
		}
		docs[i] = Doc{Title: title, Text: body, PublishedAt: bi.end}
	}
	return docs
}

const benchArticles = 1_000_000

var buildBenchIndex = sync.OnceValues(func() (*benchIndex, error) {
	arts, err := devCorpus()
	if err != nil {
		return nil, err
	}
	m := newTextModel(arts)
	r := rand.New(rand.NewPCG(1, 2))
	end := time.Date(2015, 8, 8, 0, 0, 0, 0, time.UTC)
	start := end.Add(-DefaultWindow)
	step := DefaultWindow / benchArticles

	// Fingerprints are computed first, then indexed: the heap the index takes is measured alone.
	dd := NewDecider(nopKeys{}, 0)
	fps := make([]fingerprint, 0, benchArticles)
	var a analysis
	var buf []byte
	for len(fps) < benchArticles {
		var title, body string
		title, body, buf = m.article(r, buf)
		a.analyze(Normalize(title), Normalize(body))
		if !a.ok {
			continue
		}
		a.pickRare(dd.df)
		fps = append(fps, a.fp)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range fps {
		dd.idx.add(fmt.Sprintf("%064x", i+1), fmt.Sprintf("%064x", i+1), fmt.Sprint("feed", i%50), start.Add(time.Duration(i)*step), &fps[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after) // fps is still alive: the delta is the index alone
	runtime.KeepAlive(fps)
	return &benchIndex{
		dd:           dd,
		model:        m,
		bytesPerItem: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / benchArticles,
		end:          end,
		rand:         rand.New(rand.NewPCG(3, 4)),
	}, nil
})

// nopKeys has seen nothing: every article reaches the near-duplicate index.
type nopKeys struct{}

func (nopKeys) HasURL(context.Context, string) (bool, error)          { return false, nil }
func (nopKeys) HasGUID(context.Context, string, string) (bool, error) { return false, nil }
func (nopKeys) FindContent(context.Context, string, time.Time) (Match, bool, error) {
	return Match{}, false, nil
}

// BenchmarkDecide1M measures one full decision (normalise, sign, query the LSH index, verify the
// candidates, record) against an index of 1,000,000 articles. One new article in four is an
// edited copy of the one before, so verification runs. It reports the median and 99th
// percentile of single decisions and the index's heap per article. Building the index takes a
// minute or two, once per process:
//
//	go test ./dedupe -run '^$' -bench Decide1M -benchtime 20000x -count 5
func BenchmarkDecide1M(b *testing.B) {
	bi, err := buildBenchIndex()
	if err != nil {
		b.Skipf("corpus not available: %v", err)
	}
	// New articles: fresh ones, and copies of fresh ones already recorded (edited lightly). Every
	// decision sees an article no earlier run saw: a repeated one would meet its own copies.
	docs := bi.next(b.N)
	ctx := context.Background()
	times := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for ; i < b.N; i++ {
		d := docs[i]
		t0 := time.Now()
		dec, err := bi.dd.Decide(ctx, d, d.PublishedAt)
		if err != nil {
			b.Fatal(err)
		}
		bi.dd.Record(fmt.Sprintf("%064x", benchArticles+bi.used+i+1), "", dec)
		if len(times) < cap(times) {
			times = append(times, time.Since(t0))
		}
	}
	b.StopTimer()
	bi.used += i
	slices.Sort(times)
	if len(times) > 0 {
		b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
	}
	b.ReportMetric(bi.bytesPerItem, "bytes/article")
}

// BenchmarkFingerprint measures signing one article: normalise the title and text, shingle,
// MinHash the body and the lead, collect numbers and title words.
func BenchmarkFingerprint(b *testing.B) {
	var a analysis
	b.SetBytes(int64(len(story)))
	b.ReportAllocs()
	for b.Loop() {
		a.analyzeText("وزارة الصحة تسجل 12 إصابة جديدة بكورونا", story)
	}
}

// BenchmarkDecideEmpty measures the part of a decision that does not depend on the index: the
// same articles as BenchmarkDecide1M against an empty index (normalise, content key, sign).
func BenchmarkDecideEmpty(b *testing.B) {
	arts := loadDevCorpus(b)
	m := newTextModel(arts)
	r := rand.New(rand.NewPCG(3, 4))
	var buf []byte
	docs := make([]Doc, 1024)
	for i := range docs {
		var title, body string
		title, body, buf = m.article(r, buf)
		docs[i] = Doc{Title: title, Text: body, PublishedAt: time.Unix(1e9, 0)}
	}
	dd := NewDecider(nopKeys{}, 0)
	ctx := context.Background()
	i := 0
	ts := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		d := docs[i%len(docs)]
		t0 := time.Now()
		dec, _ := dd.Decide(ctx, d, d.PublishedAt)
		if len(ts) < cap(ts) {
			ts = append(ts, time.Since(t0))
		}
		_ = dec
		i++
	}
	slices.Sort(ts)
	b.ReportMetric(float64(ts[len(ts)/2]), "p50-ns")
}

// BenchmarkNormalizeSynthetic measures Normalize on the synthetic articles of the benchmarks.
func BenchmarkNormalizeSynthetic(b *testing.B) {
	arts := loadDevCorpus(b)
	m := newTextModel(arts)
	r := rand.New(rand.NewPCG(3, 4))
	var buf []byte
	docs := make([]string, 1024)
	for i := range docs {
		_, docs[i], buf = m.article(r, buf)
	}
	i := 0
	for b.Loop() {
		Normalize(docs[i%len(docs)])
		i++
	}
}
