package dedupe

import (
	"math/bits"
	"slices"
)

// Shingling parameters. Changing any of them changes every fingerprint: bump fingerprintVersion.
const (
	// shingleSize is the number of words in a shingle. Three words make a shingle specific
	// enough that two unrelated articles rarely share one, and loose enough that a light edit
	// (a word changed every dozen) keeps most of them.
	shingleSize = 3
	// sigSize is the number of one-permutation MinHash buckets of the body's shingles.
	sigSize = 64
	// sigShift selects a shingle's bucket from the top bits of its hash.
	sigShift = 64 - 6
	// leadWords is how many words of the body make its lead, the part that a copy truncated to
	// its first paragraph keeps.
	leadWords = 40
	// leadSize is the number of MinHash buckets of the lead's shingles.
	leadSize = 16
	// leadShift selects a lead shingle's bucket.
	leadShift = 64 - 4
	// maxNumbers is how many of the numbers an article states its fingerprint keeps: the ones
	// with the smallest hashes, a uniform sample that two fingerprints can compare.
	maxNumbers = 16
	// maxTitleWords is how many distinct title words a fingerprint keeps.
	maxTitleWords = 16
	// maxRare is how many of its rarest words a fingerprint keeps.
	maxRare = 16
	// rareKeys is how many of an article's rarest words make LSH keys, each pair of them one
	// key, the same keys when it is indexed and when it is looked up, so that two articles meet
	// whichever comes first: a rewrite of a story shares its names and places, but not
	// necessarily its rarest one. maxRareKeys is the number of pairs.
	rareKeys    = 6
	maxRareKeys = rareKeys * (rareKeys - 1) / 2
	// maxKeyDF is how many recorded articles may contain a word for it to be an LSH key: a
	// story's names and places are in the handful of articles that tell it; a word in more
	// says little and would gather long lists of candidates.
	maxKeyDF = 32
	// emptyPos marks a signature bucket that no shingle fell into: its value was borrowed from
	// a neighbour for the LSH bands and is not a sample of the text.
	emptyPos = 255
)

// wordHash hashes one normalised word (FNV-1a, 64 bits, finished with a mixer so that the bits
// used for buckets and values are independent). It is stable across processes and versions:
// fingerprints are persisted.
func wordHash(w string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(w); i++ {
		h ^= uint64(w[i])
		h *= fnvPrime
	}
	return mix64(h)
}

// mix64 is the finaliser of SplitMix64: a bijection whose output bits each depend on all input bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// shingleHash combines the hashes of consecutive words; the order of the words matters.
func shingleHash(a, b, c uint64) uint64 {
	return mix64(a ^ bits.RotateLeft64(b, 21) ^ bits.RotateLeft64(c, 42) ^ 0x9e3779b97f4a7c15)
}

// words is the word-level view of a normalised string: each word's hash and whether it is a
// number (ASCII digits only).
type words struct {
	hashes []uint64
	number []bool
}

// appendWords splits a normalised string on spaces and appends each word's hash (computed in
// the same pass: wordHash, inlined).
func (w *words) appendWords(norm string) {
	h := uint64(fnvOffset)
	digits, n := true, 0
	for i := 0; i < len(norm); i++ {
		c := norm[i]
		if c == ' ' {
			if n > 0 {
				w.hashes = append(w.hashes, mix64(h))
				w.number = append(w.number, digits)
			}
			h, digits, n = fnvOffset, true, 0
			continue
		}
		h ^= uint64(c)
		h *= fnvPrime
		n++
		if c < '0' || c > '9' {
			digits = false
		}
	}
	if n > 0 {
		w.hashes = append(w.hashes, mix64(h))
		w.number = append(w.number, digits)
	}
}

// addFolded appends the words that appendFold hashed while it wrote norm[start:]: ws holds, for
// each, its FNV-1a state and where it ends in norm.
func (w *words) addFolded(norm []byte, start int, ws []uint64) {
	w.hashes = slices.Grow(w.hashes, len(ws)/2)
	w.number = slices.Grow(w.number, len(ws)/2)
	for i := 0; i+1 < len(ws); i += 2 {
		end := int(ws[i+1])
		w.hashes = append(w.hashes, mix64(ws[i]))
		w.number = append(w.number, isNumber(norm[start:end]))
		start = end + 1
	}
}

// isNumber reports whether a word is made of ASCII digits only.
func isNumber(word []byte) bool {
	for _, c := range word {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (w *words) reset() {
	w.hashes = w.hashes[:0]
	w.number = w.number[:0]
}

// shingles appends the hashes of the word shingles of hs, in order. Fewer words than a shingle
// make one shingle of them all (padded with zeros); no words make none.
func appendShingles(dst []uint64, hs []uint64) []uint64 {
	switch len(hs) {
	case 0:
		return dst
	case 1:
		return append(dst, shingleHash(hs[0], 0, 0))
	case 2:
		return append(dst, shingleHash(hs[0], hs[1], 0))
	}
	for i := 0; i+shingleSize <= len(hs); i++ {
		dst = append(dst, shingleHash(hs[i], hs[i+1], hs[i+2]))
	}
	return dst
}

// oph fills sig with a one-permutation MinHash of the shingle hashes: the hash's top bits pick
// a bucket and each bucket keeps the low 16 bits of its smallest member (compared on all the
// bits below the bucket bits). pos, when not nil, receives where in the text each bucket's
// member first occurs, scaled to 0..254 of the shingle count, or emptyPos for an empty bucket.
// Empty buckets are then filled for banding by rotation densification: each takes the value of
// the next non-empty bucket to its right, rehashed with the distance, so that two equal sets
// still have equal signatures. It reports whether any bucket was filled.
func oph(sig []uint16, pos []uint8, shingles []uint64, shift uint) bool {
	var mins [sigSize]uint64
	var at [sigSize]int32
	k := len(sig)
	mins2 := mins[:k]
	for i := range mins2 {
		mins2[i] = ^uint64(0)
	}
	mask := uint64(1)<<shift - 1
	for i, h := range shingles {
		// Without a branch: whether a shingle is its bucket's smallest so far is unpredictable.
		b := h >> shift % sigSize
		v, old := h&mask, mins[b]
		less := -uint64(b2i(v < old))
		mins[b] = old ^ (old^v)&less
		at[b] ^= (at[b] ^ int32(i)) & int32(less)
	}
	any := false
	for i, m := range mins2 {
		if m == ^uint64(0) {
			continue
		}
		any = true
		sig[i] = uint16(m)
		if pos != nil {
			// A shingle that occurs again later keeps its first position: mins only takes
			// strictly smaller values.
			pos[i] = uint8(int(at[i]) * (emptyPos - 1) / max(len(shingles)-1, 1))
		}
	}
	if !any {
		return false
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
	return true
}

// sampleKey is how a signature bucket's member is looked up among another text's shingles:
// the bucket and the low 16 bits of the hash.
func sampleKey(bucket int, v uint16) uint32 { return uint32(bucket)<<16 | uint32(v) }

// shingleKey is the sampleKey of a full shingle hash in the body signature.
func shingleKey(h uint64) uint32 { return sampleKey(int(h>>sigShift), uint16(h)) }

// smallestDistinct sorts hs, removes duplicates and keeps at most k, the smallest, as 16-bit
// values appended to dst; it returns them and the number of distinct hashes there were.
func smallestDistinct(dst []uint16, hs []uint64, k int) ([]uint16, int) {
	if len(hs) == 0 {
		return dst, 0
	}
	slices.Sort(hs)
	hs = slices.Compact(hs)
	for _, h := range hs[:min(k, len(hs))] {
		// The sample is the k smallest full hashes; its 16-bit values are compared.
		dst = append(dst, uint16(h>>48))
	}
	slices.Sort(dst)
	dst = slices.Compact(dst)
	return dst, len(hs)
}
