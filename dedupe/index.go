package dedupe

import (
	"encoding/hex"
	"slices"
	"time"
	"unsafe"
)

// LSH banding. A band is bandRows consecutive signature values; two articles become candidates
// when any band is equal. With 16-bit values, a band of three is a 48-bit key, so unrelated
// articles collide only when they share the shingles. For a pair of Jaccard similarity s, the
// chance of at least one equal band among the 21 is 1-(1-s³)^21: 0.44 at s=0.3, 0.75 at 0.4,
// 0.94 at 0.5, 0.99 at 0.6. The lead bands (4 bands of 4 of the 16 lead values) find a copy
// truncated to its lead, whose body Jaccard with the full text is small; the rare-word keys
// (see rareKeys) find rewrites, which share names and places more than wording.
const (
	bandRows     = 3
	bodyBands    = sigSize / bandRows // 21; the 64th value takes part in no band
	leadBandRows = 4
	leadBands    = leadSize / leadBandRows // 4
	bandsPerDoc  = bodyBands + leadBands

	// chunkEntries is the number of entries per slab chunk: the slab grows a chunk at a time,
	// never more than one chunk beyond what it holds.
	chunkEntries = 4096
)

// item is one indexed article. It holds no pointers, so the slab costs the garbage collector
// nothing to scan. What a candidate's measuring reads (time, flags, feed, fingerprint) comes
// first, in the fewest cache lines; the ids, read only for an accepted one, last.
type item struct {
	at      int64  // unix seconds: the article's time (publication, else fetch)
	feed    uint16 // index into index.feeds
	flags   uint8
	fp      fingerprint
	id      [32]byte
	cluster [32]byte
}

// itemMeasured is how many bytes of an item, from its start, measuring a candidate reads.
const itemMeasured = unsafe.Offsetof(item{}.id)

const (
	itemDead       = 1 << iota // pruned; the slot waits for the next compaction
	itemOddID                  // the id is not 64 hex digits: it is in index.odd
	itemOddCluster             // the cluster id is not 64 hex digits: it is in index.odd
)

// index is the in-memory near-duplicate index: a slab of fixed-size entries and one LSH
// multimap from band keys to slab slots. It is not safe for concurrent use; the Decider guards it.
//
// Memory per article: the item (fingerprint 376 B, time, two 32-byte ids and flags: 456 B) and
// up to 40 band cells of 8 bytes in a linear-probing table kept between 53% and 80% full: about
// 923 B measured at a million articles. Pruned entries keep their memory until the next
// compaction, which runs when they are as many as the live ones.
type index struct {
	chunks [][]item
	n      int // slots used
	live   int

	table bandTable

	// odd holds ids that are not 64 hex digits (tests, foreign ids), by slot: [id, cluster].
	odd map[uint32][2]string

	// feeds interns feed ids: an item keeps the feed's number.
	feeds   []string
	feedNum map[string]uint16
}

func newIndex() *index {
	return &index{odd: make(map[uint32][2]string), feedNum: make(map[string]uint16)}
}

// feedOf returns the number of a feed id, adding it when new. Past 65535 feeds, further ones
// share the last number (the feed only sharpens a guard).
func (x *index) feedOf(feed string) uint16 {
	if n, ok := x.feedNum[feed]; ok {
		return n
	}
	if len(x.feeds) == 0xFFFF {
		return 0xFFFF
	}
	n := uint16(len(x.feeds))
	x.feeds = append(x.feeds, feed)
	x.feedNum[feed] = n
	return n
}

// sameFeed reports whether the item at slot s came from the feed.
func (x *index) sameFeed(s uint32, feed string) bool {
	n, ok := x.feedNum[feed]
	return ok && x.slot(s).feed == n
}

// slot returns the item at slot s.
func (x *index) slot(s uint32) *item {
	return &x.chunks[s/chunkEntries][s%chunkEntries]
}

// add indexes a fingerprint and returns its slot.
func (x *index) add(id, cluster, feed string, at time.Time, fp *fingerprint) uint32 {
	s := x.push(id, cluster, feed, at, fp)
	var keys [bandsPerDoc + maxRareKeys]uint32
	for _, k := range bandKeys(&keys, fp, rareKeys) {
		x.table.insert(k, s)
	}
	return s
}

// push appends a fingerprint to the slab and returns its slot, without entering its band keys
// in the table: build must follow before the index is searched.
func (x *index) push(id, cluster, feed string, at time.Time, fp *fingerprint) uint32 {
	s := x.alloc()
	e := x.slot(s)
	*e = item{fp: *fp, at: at.Unix(), feed: x.feedOf(feed)}
	var odd [2]string
	if !decodeID(&e.id, id) {
		e.flags |= itemOddID
		odd[0] = id
	}
	switch {
	case cluster == id && e.flags&itemOddID == 0:
		e.cluster = e.id // the first article of its story: no second decoding
	case !decodeID(&e.cluster, cluster):
		e.flags |= itemOddCluster
		odd[1] = cluster
	}
	if e.flags&(itemOddID|itemOddCluster) != 0 {
		x.odd[s] = odd
	}
	return s
}

// alloc returns the next slot of the slab, a live one, growing the slab by a chunk when it is full.
func (x *index) alloc() uint32 {
	if x.n == len(x.chunks)*chunkEntries {
		x.chunks = append(x.chunks, make([]item, chunkEntries))
	}
	s := uint32(x.n)
	x.n++
	x.live++
	return s
}

// build enters in the table the band keys of the slots from from on, which push added: the same
// cells as adding them one by one, in a fraction of the time. One by one, each key lands at a
// random place in a table far larger than the processor's caches, a cache miss for each of the
// 25 to 40 keys of every article. build sizes the table once for all the keys, sorts them by
// the region of the table they fall in (a counting sort that keeps the slot order within a
// region), then fills the table a region at a time, each region small enough to stay in cache.
// A key's cells still go in in slot order.
func (x *index) build(from int) {
	if from >= x.n {
		return
	}
	var keys [bandsPerDoc + maxRareKeys]uint32
	total := 0
	for s := from; s < x.n; s++ {
		total += keyCount(&x.slot(uint32(s)).fp)
	}
	x.table.reserve(total)
	// Regions of about buildRegionCells cells: the top bits of a key give its region, as its
	// home cell is the key scaled to the table size.
	bits := 0
	for bits < 16 && len(x.table.cells)>>bits > buildRegionCells {
		bits++
	}
	starts := make([]int, 1<<bits+1)
	shift := 32 - bits // 32 when bits is 0: one region, as a shift by 32 gives 0
	region := func(k uint32) uint32 { return k >> shift }
	for s := from; s < x.n; s++ {
		for _, k := range bandKeys(&keys, &x.slot(uint32(s)).fp, rareKeys) {
			starts[region(k)+1]++
		}
	}
	for r := 1; r < len(starts); r++ {
		starts[r] += starts[r-1]
	}
	sorted := make([]bandCell, total)
	for s := from; s < x.n; s++ {
		for _, k := range bandKeys(&keys, &x.slot(uint32(s)).fp, rareKeys) {
			r := region(k)
			sorted[starts[r]] = bandCell{key: k, slot: uint32(s)}
			starts[r]++
		}
	}
	for _, c := range sorted {
		x.table.insert(c.key, c.slot)
	}
}

// buildRegionCells is about how many table cells build fills at a time: 32 KiB of them.
const buildRegionCells = 4096

// ids returns the id and cluster id of the item at slot s.
func (x *index) ids(s uint32) (id, cluster string) {
	e := x.slot(s)
	odd := x.odd[s]
	if e.flags&itemOddID != 0 {
		id = odd[0]
	} else {
		id = hex.EncodeToString(e.id[:])
	}
	if e.flags&itemOddCluster != 0 {
		cluster = odd[1]
	} else {
		cluster = hex.EncodeToString(e.cluster[:])
	}
	return id, cluster
}

// decodeID stores a 64-hex-digit lower-case id in dst; it reports false for any other id.
func decodeID(dst *[32]byte, id string) bool {
	if len(id) != 64 {
		return false
	}
	var v [64]byte
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case '0' <= c && c <= '9':
			v[i] = c - '0'
		case 'a' <= c && c <= 'f':
			v[i] = c - 'a' + 10
		default:
			return false
		}
	}
	for i := range dst {
		dst[i] = v[2*i]<<4 | v[2*i+1]
	}
	return true
}

// candidates appends to dst the live slots that share a band with fp, each once, in slot order.
// It adds to *sink what it read to prefetch (see touch).
func (x *index) candidates(dst []uint32, fp *fingerprint, sink *uint32) []uint32 {
	var keys [bandsPerDoc + maxRareKeys]uint32
	ks := bandKeys(&keys, fp, rareKeys) // the keys it is indexed under: a pair meets either way
	*sink += x.table.touch(ks)
	for _, k := range ks {
		dst = x.table.lookup(dst, k)
	}
	slices.Sort(dst)
	dst = slices.Compact(dst)
	*sink += x.touchItems(dst)
	out := dst[:0]
	for _, s := range dst {
		if x.slot(s).flags&itemDead == 0 {
			out = append(out, s)
		}
	}
	return out
}

// touchItems reads every cache line of the measured part of each candidate's item before any is
// measured, as bandTable.touch does for the table: the reads are independent, so the processor
// overlaps their cache misses, where measuring one candidate after the other would wait for
// each item in turn (the slab of a million articles is far larger than any cache). It returns a
// sum of what it read, for the caller to keep.
func (x *index) touchItems(slots []uint32) uint32 {
	var sum uint32
	for _, s := range slots {
		p := unsafe.Pointer(x.slot(s))
		for off := uintptr(0); off < itemMeasured; off += 64 {
			sum += uint32(*(*uint8)(unsafe.Add(p, off)))
		}
		sum += uint32(*(*uint8)(unsafe.Add(p, itemMeasured-1)))
	}
	return sum
}

// prune marks every item older than before dead, and compacts the index when the dead entries
// are at least as many as the live ones. It returns the number of entries pruned and whether it
// compacted.
func (x *index) prune(before time.Time) (int, bool) {
	cut := before.Unix()
	pruned := 0
	for s := range x.n {
		e := x.slot(uint32(s))
		if e.flags&itemDead == 0 && e.at < cut {
			e.flags |= itemDead
			pruned++
		}
	}
	x.live -= pruned
	if pruned > 0 && x.n-x.live >= x.live {
		x.compact()
		return pruned, true
	}
	return pruned, false
}

// compact rebuilds the slab and the table from the live entries.
func (x *index) compact() {
	old := x
	nx := newIndex()
	for s := range old.n {
		e := old.slot(uint32(s))
		if e.flags&itemDead != 0 {
			continue
		}
		id, cluster := old.ids(uint32(s))
		nx.push(id, cluster, old.feeds[e.feed], time.Unix(e.at, 0), &e.fp)
	}
	nx.buildParallel()
	*x = *nx
}

// bandKeys computes the LSH keys of fp into keys: the body bands, the lead bands, then every pair
// of its rarest words, up to rare of them. Each key mixes the band's number with its values, so equal values in
// different bands do not meet.
func bandKeys(keys *[bandsPerDoc + maxRareKeys]uint32, fp *fingerprint, rare int) []uint32 {
	for b := range bodyBands {
		v := fp.sig[b*bandRows:]
		k := uint64(v[0]) | uint64(v[1])<<16 | uint64(v[2])<<32 | uint64(b)<<48
		keys[b] = uint32(mix64(k) >> 32)
	}
	for b := range leadBands {
		v := fp.lead[b*leadBandRows:]
		k := uint64(v[0]) | uint64(v[1])<<16 | uint64(v[2])<<32 | uint64(v[3])<<48
		k = mix64(k) ^ uint64(bodyBands+b)<<56
		keys[bodyBands+b] = uint32(mix64(k) >> 32)
	}
	// Pairs of rare words, not single ones: a word rare in the builtin table may be common in
	// the window (a name in the news all week), and its key would gather every article that
	// names it; two such words together are rare. The pair's key does not depend on which of
	// the two is rarer in either text.
	n := min(rare, int(fp.nKeys))
	k := bandsPerDoc
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			x, y := uint64(fp.rare[i]), uint64(fp.rare[j])
			if x > y {
				x, y = y, x
			}
			keys[k] = uint32(mix64(mix64(x<<32|y)^0xA5<<56) >> 32)
			k++
		}
	}
	return keys[:k]
}

// rareKeyCount is how many rare-word keys bandKeys makes of n key words: one per pair.
func rareKeyCount(n int) int { return n * (n - 1) / 2 }

// keyCount is how many keys bandKeys makes of fp: its bands and its rare-word pairs.
func keyCount(fp *fingerprint) int {
	return bandsPerDoc + rareKeyCount(min(rareKeys, int(fp.nKeys)))
}

// bandTable is a multimap from 32-bit band keys to slots: open addressing with linear probing,
// where one key may fill several cells. The cell of a key is found by scaling the key to the
// table size (the keys are hashes already). It grows by half when 80% full.
type bandTable struct {
	cells []bandCell
	used  int
}

// bandCell is one item of the table; slot is stored plus one, zero marks an empty cell.
type bandCell struct {
	key  uint32
	slot uint32
}

const (
	tableMinSize = 1024
	tableMaxLoad = 0.8
	// tableBuildLoad is how full reserve leaves the table: in the middle of the range that
	// growing keeps, so that recording goes on for a while before the next growth.
	tableBuildLoad = 2.0 / 3
)

func (t *bandTable) home(key uint32) int {
	return int(uint64(key) * uint64(len(t.cells)) >> 32)
}

// insert adds (key, slot). A key gathers every slot entered under it: a cap would keep the
// first ones, and whether two articles meet would depend on what arrived before them.
func (t *bandTable) insert(key, slot uint32) {
	if float64(t.used+1) > tableMaxLoad*float64(len(t.cells)) {
		t.grow()
	}
	n := len(t.cells)
	for j := t.home(key); ; {
		c := &t.cells[j]
		if c.slot == 0 {
			c.key, c.slot = key, slot+1
			t.used++
			return
		}
		if j++; j == n {
			j = 0
		}
	}
}

// touch reads the home cell of each key before any lookup starts: the reads are independent, so
// the processor overlaps their cache misses instead of waiting for each in turn (the table of a
// million articles is far larger than any cache). It returns a sum of what it read, for the
// caller to keep, so that the reads are not optimised away.
func (t *bandTable) touch(keys []uint32) uint32 {
	if len(t.cells) == 0 {
		return 0
	}
	var sum uint32
	last := len(t.cells) - 1
	for _, k := range keys {
		// The home cell, and the cache line after it, where a key's cells often run on.
		j := t.home(k)
		sum += t.cells[j].slot + t.cells[min(j+8, last)].slot
	}
	return sum
}

// lookup appends the slots stored under key.
func (t *bandTable) lookup(dst []uint32, key uint32) []uint32 {
	n := len(t.cells)
	if n == 0 {
		return dst
	}
	for j := t.home(key); ; {
		c := t.cells[j]
		if c.slot == 0 {
			return dst
		}
		if c.key == key {
			dst = append(dst, c.slot-1)
		}
		if j++; j == n {
			j = 0
		}
	}
}

func (t *bandTable) grow() {
	t.resize(max(tableMinSize, len(t.cells)+len(t.cells)/2))
}

// reserve makes room for n more cells, so that inserting them does not grow the table step by
// step: when they would fill it beyond tableMaxLoad, it is resized once to hold them all at
// tableBuildLoad.
func (t *bandTable) reserve(n int) {
	want := t.used + n
	if float64(want) <= tableMaxLoad*float64(len(t.cells)) {
		return
	}
	t.resize(max(tableMinSize, int(float64(want)/tableBuildLoad)+1))
}

// resize moves the cells to a table of size cells.
func (t *bandTable) resize(size int) {
	old := t.cells
	t.cells = make([]bandCell, size)
	t.used = 0
	for _, c := range old {
		if c.slot != 0 {
			t.reinsert(c)
		}
	}
}

// reinsert places a cell during growth (no bucket cap: the cells were admitted already).
func (t *bandTable) reinsert(c bandCell) {
	n := len(t.cells)
	for j := t.home(c.key); ; {
		if t.cells[j].slot == 0 {
			t.cells[j] = c
			t.used++
			return
		}
		if j++; j == n {
			j = 0
		}
	}
}
