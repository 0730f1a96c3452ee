package dedupe

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// fingerprint is what the near-duplicate decision keeps of an article: a fixed-size summary of its
// text, 376 bytes in memory, at most 357 bytes encoded. It is derived from the normalised title and
// text only, so it can be persisted and reloaded as it is. The arrays come first and the counts
// after them, so that no byte is padding.
type fingerprint struct {
	// sig is the body's one-permutation MinHash: bucket i holds the low 16 bits of the smallest
	// shingle hash whose top bits are i. Its bands are the LSH keys; its non-empty buckets are a
	// uniform sample of the body's shingles.
	sig [sigSize]uint16
	// pos is where in the body each sampled shingle first occurs, 0..254 of its length, or
	// emptyPos for a bucket no shingle fell into.
	pos [sigSize]uint8
	// lead is the MinHash of the first leadWords words of the body.
	lead [leadSize]uint16
	// nums holds the 16-bit values of the nNums smallest hashes of the numbers the title and
	// body state, sorted; numbers (below) is how many distinct numbers there were.
	nums [maxNumbers]uint16
	// title holds nTitle title word hashes (16-bit, distinct, sorted).
	title [maxTitleWords]uint16
	// rare holds the top 32 bits of the hashes of the body's nRare rarest words (fewest
	// articles of the builtin table containing them, stop words and numbers left out), rarest
	// first: the names, places and terms that make the story. The first rareKeys are LSH keys.
	rare [maxRare]uint32
	// rareDF holds the document frequency of each rare word in the table it was ranked by, so
	// that comparing two fingerprints reads no table (the table is far from the processor by
	// then). It is not encoded: decoding reads it again from the builtin table.
	rareDF [maxRare]uint8
	// shingles is the number of shingles of the body (capped at 65535).
	shingles uint16
	// leadShingles is the number of shingles of the lead.
	leadShingles uint8
	// numbers is the number of distinct numbers the title and body state (capped at 255).
	numbers uint8
	nNums   uint8
	nTitle  uint8
	nRare   uint8
	// nKeys is how many of the first rare words were rare enough to be keys (see maxKeyDF).
	nKeys uint8
}

// fingerprintVersion is the first byte of an encoded fingerprint. Bump it whenever the
// fingerprint's meaning changes (shingling, hashing, normalisation): an index is never rebuilt
// from fingerprints of another version. Version 2: the rare words are ranked by the builtin
// document frequencies, no longer by those counted as articles were recorded.
const fingerprintVersion = 2

// fixedEncodedLen is the encoded size before the variable-length lists; maxEncodedLen the most
// an encoding takes.
const (
	fixedEncodedLen = 1 + 2 + 1 + 2*sigSize + sigSize + 2*leadSize + 1
	maxEncodedLen   = fixedEncodedLen + 1 + 2*maxNumbers + 1 + 2*maxTitleWords + 2 + 4*maxRare
)

// errFingerprintVersion reports a fingerprint encoded by another version of the package.
var errFingerprintVersion = errors.New("fingerprint version mismatch")

// MarshalBinary encodes f: the version byte, the counts, the signature, positions and lead, then
// the number and title lists, all little-endian.
func (f *fingerprint) MarshalBinary() ([]byte, error) {
	return f.appendBinary(make([]byte, 0, maxEncodedLen)), nil
}

func (f *fingerprint) appendBinary(b []byte) []byte {
	b = append(b, fingerprintVersion)
	b = binary.LittleEndian.AppendUint16(b, f.shingles)
	b = append(b, f.leadShingles)
	for _, v := range f.sig {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	b = append(b, f.pos[:]...)
	for _, v := range f.lead {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	b = append(b, f.numbers, f.nNums)
	for _, v := range f.nums[:f.nNums] {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	b = append(b, f.nTitle)
	for _, v := range f.title[:f.nTitle] {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	b = append(b, f.nRare, f.nKeys)
	for _, v := range f.rare[:f.nRare] {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// UnmarshalBinary decodes what MarshalBinary encoded. It rejects another version, a truncated or
// over-long encoding, lists longer than their bounds or not strictly increasing, and positions
// out of range, so that a fingerprint that loads is one the package could have made.
func (f *fingerprint) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return errors.New("decode fingerprint: empty")
	}
	if b[0] != fingerprintVersion {
		return fmt.Errorf("decode fingerprint: version %d, want %d: %w", b[0], fingerprintVersion, errFingerprintVersion)
	}
	if len(b) < fixedEncodedLen+1 {
		return fmt.Errorf("decode fingerprint: %d bytes, want at least %d", len(b), fixedEncodedLen+1)
	}
	var g fingerprint
	p := 1
	u16 := func() uint16 {
		v := binary.LittleEndian.Uint16(b[p:])
		p += 2
		return v
	}
	g.shingles = u16()
	g.leadShingles = b[p]
	p++
	for i := range g.sig {
		g.sig[i] = u16()
	}
	copy(g.pos[:], b[p:p+sigSize])
	p += sigSize
	for i := range g.lead {
		g.lead[i] = u16()
	}
	g.numbers, g.nNums = b[p], b[p+1]
	p += 2
	if g.nNums > maxNumbers || g.nNums > g.numbers {
		return fmt.Errorf("decode fingerprint: %d numbers kept of %d, at most %d", g.nNums, g.numbers, maxNumbers)
	}
	if len(b) < p+2*int(g.nNums)+1 {
		return fmt.Errorf("decode fingerprint: truncated number list (%d bytes)", len(b))
	}
	for i := range int(g.nNums) {
		g.nums[i] = u16()
	}
	g.nTitle = b[p]
	p++
	if g.nTitle > maxTitleWords {
		return fmt.Errorf("decode fingerprint: %d title words, at most %d", g.nTitle, maxTitleWords)
	}
	if len(b) < p+2*int(g.nTitle) {
		return fmt.Errorf("decode fingerprint: truncated title list (%d bytes)", len(b))
	}
	for i := range int(g.nTitle) {
		g.title[i] = u16()
	}
	if len(b) < p+2 {
		return fmt.Errorf("decode fingerprint: truncated rare word list (%d bytes)", len(b))
	}
	g.nRare, g.nKeys = b[p], b[p+1]
	p += 2
	if g.nRare > maxRare || g.nKeys > g.nRare {
		return fmt.Errorf("decode fingerprint: %d rare words (%d keys), at most %d", g.nRare, g.nKeys, maxRare)
	}
	if len(b) != p+4*int(g.nRare) {
		return fmt.Errorf("decode fingerprint: %d bytes, want %d", len(b), p+4*int(g.nRare))
	}
	df := builtinDocFreq()
	for i := range int(g.nRare) {
		g.rare[i] = binary.LittleEndian.Uint32(b[p:])
		g.rareDF[i] = df.get(uint64(g.rare[i]) << 32)
		p += 4
	}
	if err := g.check(); err != nil {
		return fmt.Errorf("decode fingerprint: %w", err)
	}
	*f = g
	return nil
}

// check verifies the invariants the decision relies on.
func (f *fingerprint) check() error {
	if f.shingles == 0 {
		return errors.New("no shingles")
	}
	if int(f.leadShingles) > leadWords {
		return fmt.Errorf("%d lead shingles, at most %d", f.leadShingles, leadWords)
	}
	samples := 0 // every position but emptyPos (0..254) is valid
	for _, p := range f.pos {
		if p != emptyPos {
			samples++
		}
	}
	if samples == 0 || samples > int(f.shingles) {
		return fmt.Errorf("%d sampled buckets for %d shingles", samples, f.shingles)
	}
	if !strictlyIncreasing(f.nums[:f.nNums]) {
		return errors.New("numbers not strictly increasing")
	}
	if !strictlyIncreasing(f.title[:f.nTitle]) {
		return errors.New("title words not strictly increasing")
	}
	for i, r := range f.rareList() {
		for _, q := range f.rare[:i] {
			if q == r {
				return fmt.Errorf("rare word %08x twice", r)
			}
		}
	}
	return nil
}

// rareList returns the kept rare words, rarest first.
func (f *fingerprint) rareList() []uint32 { return f.rare[:f.nRare] }

func strictlyIncreasing(s []uint16) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

// numberList and titleList return the kept lists.
func (f *fingerprint) numberList() []uint16 { return f.nums[:f.nNums] }
func (f *fingerprint) titleList() []uint16  { return f.title[:f.nTitle] }

// setNumbers and setTitle store sorted distinct lists, truncated to their bounds.
func (f *fingerprint) setNumbers(vals []uint16, total int) {
	f.numbers = uint8(min(total, 255))
	f.nNums = uint8(copy(f.nums[:], vals))
	f.numbers = max(f.numbers, f.nNums)
}

func (f *fingerprint) setTitle(vals []uint16) {
	f.nTitle = uint8(copy(f.title[:], vals))
}
