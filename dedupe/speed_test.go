package dedupe

import (
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
		a.analyzeText(arts[i].Title, arts[i].Content)
		if !a.ok {
			continue
		}
		a.pickRare(df)
		for k, r := range a.fp.rareList() {
			if a.fp.rareDF[k] != df.get(uint64(r)<<32) {
				t.Fatalf("article %d: rare word %d has frequency %d, the table %d", i, k, a.fp.rareDF[k], df.get(uint64(r)<<32))
			}
		}
		var dec fingerprint
		if err := dec.UnmarshalBinary(a.fp.appendBinary(nil)); err != nil {
			t.Fatal(err)
		}
		if dec != a.fp {
			t.Fatalf("article %d: decoding changed the fingerprint:\ngot  %+v\nwant %+v", i, dec, a.fp)
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
				m, n, oa, ob := compareNames(p[0], p[1], df)
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
		a.analyzeText(arts[i].Title, arts[i].Content)
		if !a.ok {
			continue
		}
		a.pickRare(df)
		var dec fingerprint
		if err := dec.UnmarshalBinary(a.fp.appendBinary(nil)); err != nil {
			t.Fatal(err)
		}
		picked, decoded = append(picked, a.fp), append(decoded, dec)
	}
	for i := 0; i+1 < len(picked); i++ {
		j := i + 1 + i%97
		if j >= len(picked) {
			break
		}
		f := measureWith(&picked[i], &picked[j], time.Hour, df)
		g := measureWith(&decoded[i], &decoded[j], time.Hour, df)
		if f != g {
			t.Fatalf("pair %d, %d: picked %v, decoded %v", i, j, f, g)
		}
	}
}
