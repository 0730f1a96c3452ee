package dedupe

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// refAnalysis is the analysis as it was before normalisation and word hashing were done in one
// pass and its loops were made branch-free, kept to check that the fingerprints, content words
// and lists of the faster analysis are the same. It keeps the stop words and the content word set
// in maps, with the old sets' semantics.
type refAnalysis struct {
	fp                  fingerprint
	ok                  bool
	shingles            []uint64
	numbers, titleWords []uint16
	content32           []uint32
}

var refStopWords = func() map[uint64]bool {
	m := map[uint64]bool{}
	for _, w := range strings.Fields(stopWordList) {
		m[wordHash(refNormalize(w))|1] = true
	}
	return m
}()

func refIsStop(h uint64) bool { return refStopWords[h|1] }

// analyze is the old analysis of a title and text: the reference normalisation, the reference
// word split, then the fingerprint, with the rare words ranked by df.
func (a *refAnalysis) analyze(title, text string, df *docFreq) {
	normTitle, normText := refNormalize(title), refNormalize(text)
	tw := refWords(normTitle)
	bw := refWords(normText)
	if len(bw.hashes) == 0 {
		bw = refWords(normTitle)
	}
	*a = refAnalysis{}
	a.shingles = appendShingles(nil, bw.hashes)
	a.ok = len(a.shingles) > 0
	if !a.ok {
		return
	}
	f := &a.fp
	f.shingles = uint16(min(len(a.shingles), 65535))
	refOPH(f.sig[:], f.pos[:], a.shingles, sigShift)
	lead := appendShingles(nil, bw.hashes[:min(len(bw.hashes), leadWords)])
	f.leadShingles = uint8(len(lead))
	refOPH(f.lead[:], nil, lead, leadShift)

	var scratch []uint64
	for _, w := range []words{tw, bw} {
		for i, h := range w.hashes {
			if w.number[i] {
				scratch = append(scratch, h)
			}
		}
	}
	a.numbers = refSortedDistinct16(scratch)
	kept, total := refSmallestDistinct(scratch, maxNumbers)
	f.setNumbers(kept, total)
	scratch = scratch[:0]
	for i, h := range tw.hashes {
		if !tw.number[i] && !refIsStop(h) {
			scratch = append(scratch, h)
		}
	}
	a.titleWords = refSortedDistinct16(scratch)
	kept, _ = refSmallestDistinct(scratch, maxTitleWords)
	f.setTitle(kept)

	set := map[uint32]bool{}
	for _, w := range []words{tw, bw} {
		for i, h := range w.hashes {
			if w.number[i] || refIsStop(h) {
				continue
			}
			h32 := uint32(h >> 32)
			// The old set stored keys plus one, zero meaning empty: a hash of all ones was
			// never stored, and counted as new each time.
			if k := h32 + 1; k == 0 || !set[k] {
				set[k] = k != 0
				a.content32 = append(a.content32, h32)
			}
		}
	}

	// The old rare word ranking: insertion into a short sorted list.
	type rankedWord struct {
		df uint8
		h  uint32
	}
	less := func(w, v rankedWord) bool { return w.df < v.df || w.df == v.df && w.h < v.h }
	var top []rankedWord
	for _, h := range a.content32 {
		w := rankedWord{df.get(uint64(h) << 32), h}
		if len(top) == maxRare && !less(w, top[maxRare-1]) {
			continue
		}
		if len(top) < maxRare {
			top = append(top, w)
		} else {
			top[maxRare-1] = w
		}
		for i := len(top) - 1; i > 0 && less(top[i], top[i-1]); i-- {
			top[i], top[i-1] = top[i-1], top[i]
		}
	}
	for i, w := range top {
		f.rare[i] = w.h
		if w.df <= maxKeyDF {
			f.nKeys++
		}
	}
	f.nRare = uint8(len(top))
}

func refOPH(sig []uint16, pos []uint8, shingles []uint64, shift uint) {
	var mins [sigSize]uint64
	var at [sigSize]int32
	k := len(sig)
	mins2 := mins[:k]
	for i := range mins2 {
		mins2[i] = ^uint64(0)
	}
	mask := uint64(1)<<shift - 1
	for i, h := range shingles {
		b := h >> shift
		if v := h & mask; v < mins2[b] {
			mins2[b] = v
			at[b] = int32(i)
		}
	}
	for i, m := range mins2 {
		if m == ^uint64(0) {
			continue
		}
		sig[i] = uint16(m)
		if pos != nil {
			pos[i] = uint8(int(at[i]) * (emptyPos - 1) / max(len(shingles)-1, 1))
		}
	}
	for i, m := range mins2 {
		if m != ^uint64(0) {
			continue
		}
		if pos != nil {
			pos[i] = emptyPos
		}
		for d := 1; d < k; d++ {
			j := (i + d) % k
			if mins2[j] != ^uint64(0) {
				sig[i] = uint16(mix64(uint64(sig[j])<<8|uint64(d)) >> 48)
				break
			}
		}
	}
}

func refSortedDistinct16(hs []uint64) []uint16 {
	var out []uint16
	for _, h := range hs {
		out = append(out, uint16(h>>48))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func refSmallestDistinct(hs []uint64, k int) ([]uint16, int) {
	hs = slices.Clone(hs)
	slices.Sort(hs)
	hs = slices.Compact(hs)
	var out []uint16
	for _, h := range hs {
		if len(out) == k {
			break
		}
		out = append(out, uint16(h>>48))
	}
	slices.Sort(out)
	return slices.Compact(out), len(hs)
}

// checkAnalysis checks analyzeText and pickRare against the reference analysis.
func checkAnalysis(t *testing.T, a *analysis, title, text string, df *docFreq) {
	t.Helper()
	var ref refAnalysis
	ref.analyze(title, text, df)
	n := a.analyzeText(title, text)
	if want := refNormalize(title) + "\x00" + refNormalize(text); string(a.norm) != want || n != len(refNormalize(title)) {
		t.Fatalf("analyzeText(%q, %q) normalised to %q (title %d bytes), want %q", title, text, a.norm, n, want)
	}
	if a.ok != ref.ok {
		t.Fatalf("analyzeText(%q, %q): ok %v, want %v", title, text, a.ok, ref.ok)
	}
	if !a.ok {
		return
	}
	a.pickRare(df)
	got := fmt.Sprintf("%x|%v|%v|%x|%x", a.fp.appendBinary(nil), a.numbers, a.titleWords, a.content32, a.shingles)
	want := fmt.Sprintf("%x|%v|%v|%x|%x", ref.fp.appendBinary(nil), ref.numbers, ref.titleWords, ref.content32, ref.shingles)
	if got != want {
		t.Fatalf("analysis of %q, %q:\n got %s\nwant %s", title, text, got, want)
	}
}

// TestAnalysisMatchesReference checks the analysis against the reference on every article of the
// development days, ranked by document frequencies built as Record builds them, and on texts of
// every length up to past the lead, with numbers, stop words and repeated words.
func TestAnalysisMatchesReference(t *testing.T) {
	var a analysis
	df := newDocFreq()
	words := strings.Fields("في الرياض 12 وزارة الصحة ١٣ تسجل في إصابة جديدة 2015 في بكورونا الرياض")
	for n := range 2 * leadWords {
		var text []string
		for i := range n {
			text = append(text, words[i%len(words)], fmt.Sprint("كلمة", i%7))
		}
		checkAnalysis(t, &a, strings.Join(words[:n%len(words)], " "), strings.Join(text, " "), df)
		checkAnalysis(t, &a, strings.Join(text, " "), "", df)
	}
	arts := loadDevCorpus(t)
	for i := range arts {
		checkAnalysis(t, &a, arts[i].Title, arts[i].Content, df)
		if a.ok {
			for _, w := range a.content32 {
				df.add(uint64(w) << 32)
			}
		}
	}
}

func FuzzAnalyzeText(f *testing.F) {
	f.Add("عنوان الخبر 2015", "نص الخبر في الرياض ١٢ مرة، ثم «نص» آخر")
	f.Add("", "a b")
	f.Add("title only", "")
	f.Add("ﻟ«حماس»", "قُتِل\u200d في سبيل الاحتلال!")
	f.Fuzz(func(t *testing.T, title, text string) {
		var a analysis
		checkAnalysis(t, &a, title, text, newDocFreq())
	})
}
