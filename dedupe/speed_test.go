package dedupe

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The tests of this file pin what the speed work on the decision may not change: the features a
// pair of fingerprints measures, whichever way they are computed. Each compares the fast path
// with a plain reference, on the development days.

// refCompareRare is compareRare as first written: every word of one list looked for in the other.
func refCompareRare(a, b *fingerprint) (shared, top int) {
	topA, topB := 0, 0
	for i, r := range a.rareList() {
		for j, q := range b.rareList() {
			if q == r {
				shared++
				if i < 3 {
					topA++
				}
				if j < 3 {
					topB++
				}
				break
			}
		}
	}
	return shared, max(topA, topB)
}

// refCompareNames is compareNames as first written: the frequencies read from the table df.
func refCompareNames(a, b *fingerprint, df *docFreq) (sharedMinDF, sharedNames, ownA, ownB int) {
	contains := func(s []uint32, v uint32) bool {
		for _, x := range s {
			if x == v {
				return true
			}
		}
		return false
	}
	rank := func(w uint32) uint64 { return rankedWord(df.get(uint64(w)<<32), w) }
	limit := func(f *fingerprint) uint64 {
		if f.nRare < maxRare {
			return ^uint64(0)
		}
		return rank(f.rare[maxRare-1])
	}
	limA, limB := limit(a), limit(b)
	sharedMinDF = 255
	for _, r := range a.rareList() {
		d := int(df.get(uint64(r) << 32))
		if contains(b.rareList(), r) {
			sharedMinDF = min(sharedMinDF, d)
			sharedNames += b2i(d <= ownDF)
		} else if d <= ownDF && rank(r) <= limB {
			ownA++
		}
	}
	for _, r := range b.rareList() {
		if d := int(df.get(uint64(r) << 32)); d <= ownDF && rank(r) <= limA && !contains(a.rareList(), r) {
			ownB++
		}
	}
	return sharedMinDF, sharedNames, ownA, ownB
}

// TestRareComparisonsMatchReference compares the rare-word features of pairs of development
// articles, computed from the frequencies the fingerprints carry, with the reference that reads
// the table: the pairs within 400 articles of each other (about a day), as picked and as decoded
// from their encoding. It also checks that a decoded fingerprint is the one encoded, frequencies
// included.
func TestRareComparisonsMatchReference(t *testing.T) {
	arts := loadDevCorpus(t)
	df := builtinDocFreq()
	var fps []fingerprint
	var a analysis
	for i := range arts {
		fp, ok := a.fingerprintWith(arts[i].Title, arts[i].Content, df)
		if !ok {
			continue
		}
		for k, r := range fp.rareList() {
			if fp.rareDF[k] != df.get(uint64(r)<<32) {
				t.Fatalf("article %d: rare word %d has frequency %d, the table %d", i, k, fp.rareDF[k], df.get(uint64(r)<<32))
			}
		}
		var dec fingerprint
		if err := dec.UnmarshalBinary(fp.appendBinary(nil)); err != nil {
			t.Fatal(err)
		}
		if dec != fp {
			t.Fatalf("article %d: decoding changed the fingerprint:\ngot  %+v\nwant %+v", i, dec, fp)
		}
		fps = append(fps, dec)
	}
	pairs, sharing := 0, 0
	for i := range fps {
		for j := i + 1; j < min(len(fps), i+400); j++ {
			x, y := &fps[i], &fps[j]
			for _, p := range [][2]*fingerprint{{x, y}, {y, x}} {
				s, top := compareRare(p[0], p[1])
				rs, rtop := refCompareRare(p[0], p[1])
				if s != rs || top != rtop {
					t.Fatalf("compareRare(%d, %d) = %d, %d; reference %d, %d", i, j, s, top, rs, rtop)
				}
				m, n, oa, ob := compareNames(p[0], p[1])
				rm, rn, roa, rob := refCompareNames(p[0], p[1], df)
				if m != rm || n != rn || oa != roa || ob != rob {
					t.Fatalf("compareNames(%d, %d) = %d %d %d %d; reference %d %d %d %d", i, j, m, n, oa, ob, rm, rn, roa, rob)
				}
				sharing += b2i(rs > 0)
			}
			pairs++
		}
	}
	if sharing < 1000 {
		t.Fatalf("only %d of %d ordered pairs share a rare word: the comparison tests little", sharing, 2*pairs)
	}
	t.Logf("%d pairs, %d ordered pairs sharing a rare word", pairs, sharing)
}

// TestMeasureIsDeterministicAcrossEncoding measures pairs of development articles with their
// fingerprints as picked and as decoded: the features must be equal, since the index measures
// restored fingerprints against new ones.
func TestMeasureIsDeterministicAcrossEncoding(t *testing.T) {
	arts := loadDevCorpus(t)
	df := builtinDocFreq()
	var picked, decoded []fingerprint
	var a analysis
	for i := range arts {
		fp, ok := a.fingerprintWith(arts[i].Title, arts[i].Content, df)
		if !ok {
			continue
		}
		var dec fingerprint
		if err := dec.UnmarshalBinary(fp.appendBinary(nil)); err != nil {
			t.Fatal(err)
		}
		picked, decoded = append(picked, fp), append(decoded, dec)
	}
	for i := 0; i+1 < len(picked); i++ {
		j := i + 1 + i%97
		if j >= len(picked) {
			break
		}
		f := measure(&picked[i], &picked[j], time.Hour)
		g := measure(&decoded[i], &decoded[j], time.Hour)
		if f != g {
			t.Fatalf("pair %d, %d: picked %v, decoded %v", i, j, f, g)
		}
	}
}

// refMeasure is measure as first written, with branches, and the rare-word features read
// through the table (refCompareRare, refCompareNames).
func refMeasure(a, b *fingerprint, dt time.Duration, df *docFreq) features {
	var f features
	s, l := a, b
	if shorter(b, a) {
		s, l = b, a
	}
	f.nS, f.nL = int(s.shingles), int(l.shingles)
	f.hours = dt.Abs().Hours()
	total := 0
	first, last := -1, -1
	prefixLimit := float64(f.nS) / float64(max(f.nL, 1)) * (emptyPos - 1)
	prefixFound, prefixTotal := 0, 0
	for i := range sigSize {
		es, el := s.pos[i] == emptyPos, l.pos[i] == emptyPos
		if es && el {
			continue
		}
		total++
		same := !es && !el && s.sig[i] == l.sig[i]
		if !el && float64(l.pos[i]) <= prefixLimit {
			prefixTotal++
			if same {
				prefixFound++
			}
		}
		if !same {
			continue
		}
		f.matched++
		p := int(l.pos[i])
		if first < 0 || p < first {
			first = p
		}
		last = max(last, p)
	}
	if total > 0 {
		f.jaccard = float64(f.matched) / float64(total)
	}
	f.contained = min(1, f.jaccard*float64(f.nS+f.nL)/(1+f.jaccard)/float64(max(f.nS, 1)))
	f.prefixSamples = prefixTotal
	if prefixTotal > 0 {
		f.prefix = float64(prefixFound) / float64(prefixTotal)
	}
	if f.matched > 0 {
		f.firstL, f.lastL = float64(first)/(emptyPos-1), float64(last)/(emptyPos-1)
	}
	lm := 0
	for i := range leadSize {
		if s.lead[i] == l.lead[i] {
			lm++
		}
	}
	f.lead = float64(lm) / leadSize
	f.leadCoverS = f.lead * min(1, float64(s.leadShingles)/float64(max(f.nS, 1)))
	f.numShared, f.numOnlyS, f.numOnlyL = compareSamples(s.numberList(), l.numberList(),
		int(s.nNums) < int(s.numbers), int(l.nNums) < int(l.numbers))
	f.titleShared, f.titleS, f.titleL = compareSamples(s.titleList(), l.titleList(),
		s.nTitle == maxTitleWords, l.nTitle == maxTitleWords)
	f.titleS += f.titleShared
	f.titleL += f.titleShared
	f.rareShared, f.top = refCompareRare(s, l)
	f.sharedMinDF, f.sharedNames, f.ownS, f.ownL = refCompareNames(s, l, df)
	return f
}

// measuredPart is what refMeasure computes of the features (a feature added to measure
// later is not compared).
type measuredPart struct {
	jaccard, contained, prefix, firstL, lastL, lead, leadCoverS, hours float64
	prefixSamples, matched, nS, nL                                     int
	numShared, numOnlyS, numOnlyL, titleShared, titleS, titleL         int
	rareShared, top, sharedMinDF, ownS, ownL, sharedNames              int
}

func partOf(f *features) measuredPart {
	return measuredPart{f.jaccard, f.contained, f.prefix, f.firstL, f.lastL, f.lead, f.leadCoverS, f.hours,
		f.prefixSamples, f.matched, f.nS, f.nL, f.numShared, f.numOnlyS, f.numOnlyL, f.titleShared, f.titleS, f.titleL,
		f.rareShared, f.top, f.sharedMinDF, f.ownS, f.ownL, f.sharedNames}
}

// TestMeasureMatchesReference measures pairs of development articles (each with the next 40,
// about an hour of news, and the copies of the near-duplicate tests) with measure and with
// the reference: the features must be equal, to the bit.
func TestMeasureMatchesReference(t *testing.T) {
	arts := loadDevCorpus(t)
	df := builtinDocFreq()
	var fps []fingerprint
	var a analysis
	for i := range arts {
		fp, ok := a.fingerprintWith(arts[i].Title, arts[i].Content, df)
		if !ok {
			continue
		}
		fps = append(fps, fp)
		// A light copy and a lead of the article, so that matched samples and prefixes occur.
		for _, v := range [][2]string{
			{"عاجل: " + arts[i].Title, strings.Replace(arts[i].Content, " ", " ـ", 3) + " المصدر: واس"},
			{arts[i].Title, firstWords(arts[i].Content, 60)},
		} {
			if fp, ok := a.fingerprintWith(v[0], v[1], df); ok {
				fps = append(fps, fp)
			}
		}
	}
	matched := 0
	for i := range fps {
		for j := i + 1; j < min(len(fps), i+40); j++ {
			dt := time.Duration(j-i) * time.Minute
			f, g := measure(&fps[i], &fps[j], dt), refMeasure(&fps[i], &fps[j], dt, df)
			if partOf(&f) != partOf(&g) {
				t.Fatalf("pair %d, %d: measure %v, reference %v", i, j, f, g)
			}
			matched += b2i(g.matched > 0)
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d pairs have a matched sample: the comparison tests little", matched)
	}
}

// firstWords returns the first n words of s.
func firstWords(s string, n int) string {
	w := strings.Fields(s)
	return strings.Join(w[:min(n, len(w))], " ")
}

// TestMeasureMatchesReferenceRandom compares measure with the reference on random
// fingerprints made to hit the edges of the bucket comparison: empty buckets on either side,
// equal and unequal samples, positions on both sides of the prefix limit, and every length
// ratio.
func TestMeasureMatchesReferenceRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	df := builtinDocFreq()
	random := func() fingerprint {
		var f fingerprint
		f.shingles = uint16(1 + r.IntN(600))
		for i := range f.sig {
			f.sig[i] = uint16(r.IntN(4)) << uint(r.IntN(2)*15) // few values: many equal
			switch r.IntN(4) {
			case 0:
				f.pos[i] = emptyPos
			case 1:
				f.pos[i] = uint8(r.IntN(255))
			default:
				f.pos[i] = uint8(r.IntN(4) * 85)
			}
		}
		return f
	}
	for n := range 200000 {
		a, b := random(), random()
		if n%3 == 0 {
			b.sig, b.pos = a.sig, a.pos
			b.pos[r.IntN(sigSize)] = emptyPos
		}
		f, g := measure(&a, &b, 0), refMeasure(&a, &b, 0, df)
		if partOf(&f) != partOf(&g) {
			t.Fatalf("measure %v, reference %v\na %+v\nb %+v", f, g, a, b)
		}
	}
	for range 100000 {
		var x uint64
		want := uint64(0)
		for i := range 8 {
			if r.IntN(2) == 0 {
				x |= 0x80 << (8 * i)
				want |= 1 << i
			}
		}
		if got := movemask(x); got != want {
			t.Fatalf("movemask(%#x) = %#x, want %#x", x, got, want)
		}
	}
}
