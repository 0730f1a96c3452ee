package dedupe

import "slices"

// analysis is the full view of a new article that the decision compares candidates against:
// its fingerprint plus what a fingerprint only samples (every shingle with its position, every
// number, every title word). It is scratch space, reused between decisions.
type analysis struct {
	fp fingerprint
	ok bool // the text has at least one shingle

	body, title words
	shingles    []uint64 // body shingle hashes, in text order
	scratch     []uint64
	numbers     []uint16 // 16-bit values of every distinct number hash, sorted
	titleWords  []uint16 // 16-bit values of every distinct title word hash, sorted
	content32   []uint32 // top 32 bits of the distinct words of the title and body, neither stop
	// words nor numbers
	words  u32Set // content32 as a set
	ranked []rankedWord

	// set maps a shingle's sampleKey to the position of its first occurrence; built on demand,
	// only when there is a candidate to verify.
	set     shingleSet
	haveSet bool

	cands    []uint32 // candidate slots
	accepted []match  // candidates judge accepted
}

// match is a candidate that judge accepted.
type match struct {
	slot         uint32
	sim, jaccard float64
	hours        float64
}

// analyze fills a from the normalised title and text. The body is the text, or the title when the
// text has no words (a title-only item).
func (a *analysis) analyze(normTitle, normText string) {
	a.body.reset()
	a.title.reset()
	a.shingles = a.shingles[:0]
	a.haveSet = false
	a.fp = fingerprint{}

	a.title.appendWords(normTitle)
	a.body.appendWords(normText)
	if len(a.body.hashes) == 0 {
		a.body.appendWords(normTitle)
	}
	a.shingles = appendShingles(a.shingles, a.body.hashes)
	a.ok = len(a.shingles) > 0
	if !a.ok {
		return
	}
	f := &a.fp
	f.shingles = uint16(min(len(a.shingles), 65535))
	oph(f.sig[:], f.pos[:], a.shingles, sigShift)

	lead := a.body.hashes[:min(len(a.body.hashes), leadWords)]
	start := len(a.shingles)
	a.shingles = appendShingles(a.shingles, lead)
	leadShingles := a.shingles[start:]
	f.leadShingles = uint8(len(leadShingles))
	oph(f.lead[:], nil, leadShingles, leadShift)
	a.shingles = a.shingles[:start]

	// Numbers of the title and the body.
	a.scratch = a.scratch[:0]
	for _, w := range []*words{&a.title, &a.body} {
		for i, h := range w.hashes {
			if w.number[i] {
				a.scratch = append(a.scratch, h)
			}
		}
	}
	a.numbers = sortedDistinct16(a.numbers[:0], a.scratch)
	kept, total := smallestDistinct(a.scratch, maxNumbers)
	f.setNumbers(kept, total)

	a.scratch = a.scratch[:0]
	for i, h := range a.title.hashes {
		if !a.title.number[i] && !stopWords.has(h) {
			a.scratch = append(a.scratch, h)
		}
	}
	a.titleWords = sortedDistinct16(a.titleWords[:0], a.scratch)
	kept, _ = smallestDistinct(a.scratch, maxTitleWords)
	f.setTitle(kept)

	// Distinct content words, by a set rather than a sort: a few hundred words per article.
	a.words.reset(len(a.title.hashes) + len(a.body.hashes))
	a.content32 = a.content32[:0]
	for _, w := range []*words{&a.title, &a.body} {
		for i, h := range w.hashes {
			if w.number[i] || stopWords.has(h) {
				continue
			}
			if h32 := uint32(h >> 32); a.words.add(h32) {
				a.content32 = append(a.content32, h32)
			}
		}
	}
}

// rankedWord is a content word with its document frequency.
type rankedWord struct {
	df uint8
	h  uint32
}

// pickRare fills the fingerprint's rare words: the content words that the fewest recorded
// articles contain, ties broken by hash, and counts how many of them are rare enough to be LSH
// keys (in at most maxKeyDF articles).
func (a *analysis) pickRare(df *docFreq) {
	// Keep the maxRare smallest (df, hash) pairs by insertion into a short sorted list.
	top := a.ranked[:0]
	for _, h := range a.content32 {
		w := rankedWord{df.get(uint64(h) << 32), h}
		if len(top) == maxRare && !w.less(top[maxRare-1]) {
			continue
		}
		if len(top) < maxRare {
			top = append(top, w)
		} else {
			top[maxRare-1] = w
		}
		for i := len(top) - 1; i > 0 && top[i].less(top[i-1]); i-- {
			top[i], top[i-1] = top[i-1], top[i]
		}
	}
	a.ranked = top
	a.fp.nKeys = 0
	for i, w := range top {
		a.fp.rare[i] = w.h
		if w.df <= maxKeyDF {
			a.fp.nKeys++
		}
	}
	a.fp.nRare = uint8(len(top))
}

func (w rankedWord) less(v rankedWord) bool {
	return w.df < v.df || w.df == v.df && w.h < v.h
}

// hasContent reports whether the article has the content word whose hash has these top bits.
func (a *analysis) hasContent(h32 uint32) bool { return a.words.has(h32) }

// u32Set is an open-addressing set of 32-bit hashes, cleared and reused between articles. Keys
// are stored plus one, so that zero marks an empty cell (a hash of all ones is taken as zero).
type u32Set struct {
	keys []uint32
	mask uint32
}

func (s *u32Set) reset(n int) {
	size := 64
	for size < 2*n {
		size <<= 1
	}
	if cap(s.keys) < size {
		s.keys = make([]uint32, size)
	} else {
		s.keys = s.keys[:size]
		clear(s.keys)
	}
	s.mask = uint32(size - 1)
}

// add inserts k and reports whether it was new.
func (s *u32Set) add(k uint32) bool {
	k++
	for j := mix32(k) & s.mask; ; j = (j + 1) & s.mask {
		switch s.keys[j] {
		case 0:
			s.keys[j] = k
			return true
		case k:
			return false
		}
	}
}

func (s *u32Set) has(k uint32) bool {
	if len(s.keys) == 0 {
		return false
	}
	k++
	for j := mix32(k) & s.mask; ; j = (j + 1) & s.mask {
		switch s.keys[j] {
		case 0:
			return false
		case k:
			return true
		}
	}
}

// sortedDistinct16 appends the distinct 16-bit values (top bits) of hs to dst, sorted.
func sortedDistinct16(dst []uint16, hs []uint64) []uint16 {
	for _, h := range hs {
		dst = append(dst, uint16(h>>48))
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// shingleSetOf returns the lookup from sample key to first position, building it once.
func (a *analysis) shingleSetOf() *shingleSet {
	if !a.haveSet {
		a.set.build(a.shingles)
		a.haveSet = true
	}
	return &a.set
}

// shingleSet is an open-addressing map from a shingle's sampleKey to the position of its first
// occurrence in the text. Keys are stored plus one, so that zero marks an empty cell.
type shingleSet struct {
	keys []uint32
	pos  []int32
	mask uint32
	n    int // distinct keys
}

func (s *shingleSet) build(shingles []uint64) {
	size := 16
	for size < 2*len(shingles) {
		size <<= 1
	}
	if cap(s.keys) < size {
		s.keys = make([]uint32, size)
		s.pos = make([]int32, size)
	} else {
		s.keys = s.keys[:size]
		s.pos = s.pos[:size]
		clear(s.keys)
	}
	s.mask = uint32(size - 1)
	s.n = 0
	for i, h := range shingles {
		k := shingleKey(h) + 1
		for j := mix32(k) & s.mask; ; j = (j + 1) & s.mask {
			if s.keys[j] == 0 {
				s.keys[j] = k
				s.pos[j] = int32(i)
				s.n++
				break
			}
			if s.keys[j] == k {
				break
			}
		}
	}
}

// lookup returns the first position of the shingle with this sample key, or -1.
func (s *shingleSet) lookup(key uint32) int32 {
	k := key + 1
	for j := mix32(k) & s.mask; ; j = (j + 1) & s.mask {
		switch s.keys[j] {
		case k:
			return s.pos[j]
		case 0:
			return -1
		}
	}
}

// mix32 scrambles a 32-bit key for table placement (the low bits of a sample key are hash bits
// already, but its high bits are a small bucket number).
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}
