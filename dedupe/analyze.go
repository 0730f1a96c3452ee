package dedupe

import "slices"

// analysis is the full view of a new article that the decision compares candidates against:
// its fingerprint plus what a fingerprint only samples (every shingle with its position, every
// number, every title word). It is scratch space, reused between decisions.
type analysis struct {
	fp fingerprint
	ok bool // the text has at least one shingle

	// norm is the normalised title, a zero byte and the normalised text: what a content key
	// hashes (see analyzeText); ws is appendFold's scratch for their words (two values each).
	norm []byte
	ws   []uint64

	body, title words
	shingles    []uint64 // body shingle hashes, in text order
	scratch     []uint64
	numbers     []uint16 // 16-bit values of every distinct number hash, sorted
	titleWords  []uint16 // 16-bit values of every distinct title word hash, sorted
	content32   []uint32 // top 32 bits of the distinct words of the title and body, neither stop
	// words nor numbers
	words  u32Set   // content32 as a set
	ranked []uint64 // content32 with their document frequencies, as rankedWord makes them
	sink   uint32   // a sum of what the index's prefetching read, so that the reads are kept

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
	copyOf       bool // the new article is a copy of the candidate, or its start cut short
}

// analyze fills a from the normalised title and text. The body is the text, or the title when the
// text has no words (a title-only item).
func (a *analysis) analyze(normTitle, normText string) {
	a.reset()
	a.title.appendWords(normTitle)
	a.body.appendWords(normText)
	a.finish()
}

// analyzeText is analyze of a title and text not yet normalised: it normalises them into a.norm,
// hashing their words as it goes, and returns the length of the normalised title.
func (a *analysis) analyzeText(title, text string) int {
	a.reset()
	a.norm = a.appendNormalized(a.norm[:0], title, &a.title)
	n := len(a.norm)
	a.norm = append(a.norm, 0)
	a.norm = a.appendNormalized(a.norm, text, &a.body)
	a.finish()
	return n
}

// appendNormalized appends Normalize(s) to dst and its words to w.
func (a *analysis) appendNormalized(dst []byte, s string, w *words) []byte {
	// Room for the words of s if they average two bytes and a separator or more (news words
	// average six); a text with shorter ones has its words hashed again from the result.
	if n := len(s)/2 + 8; len(a.ws) < n {
		a.ws = make([]uint64, n)
	}
	start := len(dst)
	out, n, ok := appendNormalized(dst, s, a.ws)
	if ok {
		w.addFolded(out, start, a.ws[:n])
	} else {
		w.appendWords(string(out[start:]))
	}
	return out
}

// reset clears a for another article.
func (a *analysis) reset() {
	a.body.reset()
	a.title.reset()
	a.shingles = a.shingles[:0]
	a.haveSet = false
	a.fp = fingerprint{}
}

// finish analyses the words of the title and the body.
func (a *analysis) finish() {
	if len(a.body.hashes) == 0 {
		a.body.hashes = append(a.body.hashes, a.title.hashes...)
		a.body.number = append(a.body.number, a.title.number...)
	}
	a.shingles = appendShingles(a.shingles, a.body.hashes)
	a.ok = len(a.shingles) > 0
	if !a.ok {
		return
	}
	f := &a.fp
	f.shingles = uint16(min(len(a.shingles), 65535))
	oph(f.sig[:], f.pos[:], a.shingles, sigShift)

	// The lead's shingles, those of the first leadWords words, are the first of the body's.
	leadShingles := a.shingles[:min(len(a.shingles), leadWords-shingleSize+1)]
	f.leadShingles = uint8(len(leadShingles))
	oph(f.lead[:], nil, leadShingles, leadShift)

	// One pass over the words of the title and the body gathers the numbers, and the content
	// words: neither numbers nor stop words. A set then keeps the first of each content word
	// (a set rather than a sort: a few hundred words per article). The loops branch only on
	// what is rare (a number, a collision in the set).
	a.scratch = a.scratch[:0]
	n := len(a.title.hashes) + len(a.body.hashes)
	content := slices.Grow(a.content32[:0], n)[:n]
	n = 0
	stop := stopWords
	for _, w := range []*words{&a.title, &a.body} {
		number := w.number[:len(w.hashes)]
		for i, h := range w.hashes {
			if number[i] {
				a.scratch = append(a.scratch, h)
			}
			content[n] = uint32(h >> 32)
			n += b2i(!number[i]) & (1 - b2i(stop.has(h)))
		}
	}
	a.words.reset(n)
	distinct := 0
	for _, h32 := range content[:n] {
		content[distinct] = h32
		distinct += a.words.insert(h32)
	}
	a.content32 = content[:distinct]

	a.numbers = sortedDistinct16(a.numbers[:0], a.scratch)
	var buf [max(maxNumbers, maxTitleWords)]uint16
	kept, total := smallestDistinct(buf[:0], a.scratch, maxNumbers)
	f.setNumbers(kept, total)

	a.scratch = a.scratch[:0]
	for i, h := range a.title.hashes {
		if !a.title.number[i] && !stopWords.has(h) {
			a.scratch = append(a.scratch, h)
		}
	}
	a.titleWords = sortedDistinct16(a.titleWords[:0], a.scratch)
	kept, _ = smallestDistinct(buf[:0], a.scratch, maxTitleWords)
	f.setTitle(kept)
}

// rankedWord makes a content word's rank: its document frequency, then its hash, so that the
// rarest word has the smallest rank and ties are broken by hash.
func rankedWord(df uint8, h32 uint32) uint64 { return uint64(df)<<32 | uint64(h32) }

// pickRare fills the fingerprint's rare words: the content words that the fewest articles of
// the table df contain (the Decider passes the builtin table), ties broken by hash, and counts how many of them are rare enough to be LSH
// keys (in at most maxKeyDF articles).
func (a *analysis) pickRare(df *docFreq) {
	// The document frequencies first: reads independent of each other, which the processor
	// overlaps (the table is in the cache, but rarely in the nearest).
	ranked := slices.Grow(a.ranked[:0], len(a.content32))[:len(a.content32)]
	for i, h := range a.content32 {
		ranked[i] = rankedWord(df.get(uint64(h)<<32), h)
	}
	a.ranked = ranked
	// Keep the maxRare smallest ranks by insertion into a short sorted list.
	var top [maxRare]uint64
	n := 0
	for _, w := range ranked {
		if n == maxRare && w >= top[maxRare-1] {
			continue
		}
		n = min(n+1, maxRare)
		i := n - 1
		for ; i > 0 && w < top[i-1]; i-- {
			top[i] = top[i-1]
		}
		top[i] = w
	}
	a.fp.nKeys = 0
	for i, w := range top[:n] {
		a.fp.rare[i] = uint32(w)
		a.fp.rareDF[i] = uint8(w >> 32)
		if w>>32 <= maxKeyDF {
			a.fp.nKeys++
		}
	}
	a.fp.nRare = uint8(n)
}

// hasContent reports whether the article has the content word whose hash has these top bits.
func (a *analysis) hasContent(h32 uint32) bool { return a.words.has(h32) }

// u32Set is an open-addressing set of 32-bit hashes, cleared and reused between articles, at
// most a quarter full. Keys are stored plus one, so that zero marks an empty cell (a hash of all
// ones is taken as zero: it is never found, and each insert of it counts as new).
type u32Set struct {
	keys []uint32
	mask uint32
}

func (s *u32Set) reset(n int) {
	size := 64
	for size < 4*n {
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

// insert adds k and returns 1 when it was new, 0 when it was there already.
func (s *u32Set) insert(k uint32) int {
	k++
	for j := mix32(k) & s.mask; ; j = (j + 1) & s.mask {
		if cur := s.keys[j]; cur == 0 || cur == k {
			s.keys[j] = k
			return b2i(cur == 0)
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
