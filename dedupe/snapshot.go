package dedupe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"runtime"
	"time"
)

// A snapshot is the near-duplicate index written to a file, so that a daemon starting again
// reads its articles back in one sequential read instead of a database query and a decoding of
// every row. It holds records, not the index's tables: each live article's ids, feed, time and
// encoded fingerprint (the persisted form, versioned by fingerprintVersion), so that a change to
// the LSH or the slab does not change the format; the LSH table is built again on load.
//
// Layout, little-endian:
//
//	magic "feeddidx", format uint32, fingerprint version uint32, record size uint32
//	tag: uint32 length, bytes (the caller's: what the snapshot covers)
//	feeds: uint32 count, each a uint16 length and the name
//	records: uint64 count
//	odd ids: uint32 count, each the record's number (uint64) and its id and cluster id (each a
//	  uint16 length and the bytes; empty when that one is the usual 64 hex digits)
//	records, each snapshotRecordSize bytes: id [32], cluster [32], time int64 (unix seconds),
//	  feed number uint16, flags uint8, fingerprint length uint16, the fingerprint padded with
//	  zeros to maxEncodedLen
//	CRC-32C (Castagnoli) of every byte before it, uint32
//
// A reader believes nothing before the checksum matches: a truncated, corrupt or foreign file
// is an error and leaves the index as it was.
const (
	snapshotMagic  = "feeddidx"
	snapshotFormat = 1

	snapshotRecordSize = 32 + 32 + 8 + 2 + 1 + 2 + maxEncodedLen

	// snapshotMaxTag bounds the caller's tag.
	snapshotMaxTag = 1 << 16
	// snapshotBatch is how many records are read and decoded at a time.
	snapshotBatch = chunkEntries
)

var snapshotCRC = crc32.MakeTable(crc32.Castagnoli)

// ErrSnapshotFormat reports a snapshot written by another version of the package (its format or
// its fingerprints): not corrupt, but not usable either.
var ErrSnapshotFormat = errors.New("dedupe: snapshot of another version")

// WriteSnapshot writes the articles of the index, with tag, to w, and returns how many it
// wrote. The tag says what the snapshot covers (the caller's high-water mark); LoadSnapshot
// hands it back to be checked. Recording waits until WriteSnapshot returns; decisions do not.
// The caller makes sure that nothing is recorded or forgotten meanwhile that its tag does not
// account for.
func (dd *Decider) WriteSnapshot(w io.Writer, tag []byte) (int, error) {
	if len(tag) > snapshotMaxTag {
		return 0, fmt.Errorf("dedupe: snapshot tag of %d bytes, at most %d", len(tag), snapshotMaxTag)
	}
	dd.mu.RLock()
	defer dd.mu.RUnlock()
	x := dd.idx
	crc := crc32.New(snapshotCRC)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	put := func(v any) { _ = binary.Write(bw, binary.LittleEndian, v) } // bw keeps the first error
	putString := func(s string) {
		put(uint16(len(s)))
		bw.WriteString(s)
	}

	bw.WriteString(snapshotMagic)
	put([3]uint32{snapshotFormat, fingerprintVersion, snapshotRecordSize})
	put(uint32(len(tag)))
	bw.Write(tag)
	put(uint32(len(x.feeds)))
	for _, f := range x.feeds {
		if len(f) > 0xFFFF {
			return 0, fmt.Errorf("dedupe: snapshot: feed name of %d bytes", len(f))
		}
		putString(f)
	}
	// The live articles, numbered in slot order; the odd ids by that number.
	type oddRec struct {
		rec uint64
		ids [2]string
	}
	var odd []oddRec
	live := 0
	for s := range x.n {
		e := x.slot(uint32(s))
		if e.flags&itemDead != 0 {
			continue
		}
		if e.flags&(itemOddID|itemOddCluster) != 0 {
			ids := x.odd[uint32(s)]
			if len(ids[0]) > 0xFFFF || len(ids[1]) > 0xFFFF {
				return 0, fmt.Errorf("dedupe: snapshot: article id of more than 65535 bytes")
			}
			odd = append(odd, oddRec{uint64(live), ids})
		}
		live++
	}
	put(uint64(live))
	put(uint32(len(odd)))
	for _, o := range odd {
		put(o.rec)
		putString(o.ids[0])
		putString(o.ids[1])
	}
	var rec [snapshotRecordSize]byte
	for s := range x.n {
		e := x.slot(uint32(s))
		if e.flags&itemDead != 0 {
			continue
		}
		encodeRecord(&rec, e)
		if _, err := bw.Write(rec[:]); err != nil {
			return 0, fmt.Errorf("dedupe: write snapshot: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("dedupe: write snapshot: %w", err)
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	if _, err := w.Write(sum[:]); err != nil {
		return 0, fmt.Errorf("dedupe: write snapshot: %w", err)
	}
	return live, nil
}

// encodeRecord writes e into rec.
func encodeRecord(rec *[snapshotRecordSize]byte, e *item) {
	copy(rec[0:32], e.id[:])
	copy(rec[32:64], e.cluster[:])
	binary.LittleEndian.PutUint64(rec[64:72], uint64(e.at))
	binary.LittleEndian.PutUint16(rec[72:74], e.feed)
	rec[74] = e.flags & (itemOddID | itemOddCluster)
	fp := e.fp.appendBinary(rec[77:77:snapshotRecordSize])
	binary.LittleEndian.PutUint16(rec[75:77], uint16(len(fp)))
	clear(rec[77+len(fp):])
}

// LoadSnapshot fills an empty index with the articles of a snapshot that WriteSnapshot wrote,
// but for those older than since (the start of the window; zero keeps all), and returns how
// many it loaded. check is given the snapshot's tag before any article is read: an error from
// it stops the load and is returned as it is. A snapshot of another format or fingerprint
// version gives an error that wraps ErrSnapshotFormat; a truncated or corrupt one, an error
// that says so. On any error the index is left as it was. The index must be empty: load a
// snapshot first, then restore what was recorded after it (RestoreAll adds to an index).
func (dd *Decider) LoadSnapshot(r io.Reader, since time.Time, check func(tag []byte) error) (int, error) {
	x, err := readSnapshot(r, since, check)
	if err != nil {
		return 0, err
	}
	x.buildParallel()
	dd.mu.Lock()
	defer dd.mu.Unlock()
	if dd.idx.n != 0 {
		return 0, errors.New("dedupe: load snapshot: the index is not empty")
	}
	dd.idx = x
	return x.live, nil
}

// snapshotReader reads a snapshot and sums what it read.
type snapshotReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error // the first error
}

func (sr *snapshotReader) full(b []byte) {
	if sr.err != nil {
		clear(b)
		return
	}
	if _, err := io.ReadFull(sr.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("truncated")
		}
		sr.err = err
		clear(b)
		return
	}
	sr.crc.Write(b)
}

func (sr *snapshotReader) u16() uint16 {
	var b [2]byte
	sr.full(b[:])
	return binary.LittleEndian.Uint16(b[:])
}

func (sr *snapshotReader) u32() uint32 {
	var b [4]byte
	sr.full(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func (sr *snapshotReader) u64() uint64 {
	var b [8]byte
	sr.full(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func (sr *snapshotReader) str() string {
	b := make([]byte, sr.u16())
	sr.full(b)
	return string(b)
}

// readSnapshot reads a snapshot into a new index whose LSH table is not built yet.
func readSnapshot(r io.Reader, since time.Time, check func(tag []byte) error) (*index, error) {
	// The records are read straight into buf, past the reader's buffer, which only serves
	// the header.
	sr := &snapshotReader{r: bufio.NewReaderSize(r, 64<<10), crc: crc32.New(snapshotCRC)}
	fail := func(format string, args ...any) (*index, error) {
		return nil, fmt.Errorf("dedupe: load snapshot: "+format, args...)
	}
	var magic [len(snapshotMagic)]byte
	sr.full(magic[:])
	if sr.err != nil {
		return fail("%v", sr.err)
	}
	if string(magic[:]) != snapshotMagic {
		return fail("not a snapshot of the duplicate index")
	}
	format, fpVersion, recSize := sr.u32(), sr.u32(), sr.u32()
	switch {
	case sr.err != nil:
		return fail("%v", sr.err)
	case format != snapshotFormat || recSize != snapshotRecordSize:
		return fail("format %d (records of %d bytes), this build reads %d (%d bytes): %w",
			format, recSize, snapshotFormat, snapshotRecordSize, ErrSnapshotFormat)
	case fpVersion != fingerprintVersion:
		return fail("fingerprint version %d, this build makes %d: %w", fpVersion, fingerprintVersion, ErrSnapshotFormat)
	}
	tagLen := sr.u32()
	if tagLen > snapshotMaxTag {
		return fail("tag of %d bytes, at most %d", tagLen, snapshotMaxTag)
	}
	tag := make([]byte, tagLen)
	sr.full(tag)
	if sr.err != nil {
		return fail("%v", sr.err)
	}
	if err := check(tag); err != nil {
		return nil, err
	}

	x := newIndex()
	nFeeds := sr.u32()
	if nFeeds > 0xFFFF {
		return fail("%d feeds, at most 65535", nFeeds)
	}
	for range nFeeds {
		x.feeds = append(x.feeds, sr.str())
		if sr.err != nil {
			return fail("%v", sr.err)
		}
		x.feedNum[x.feeds[len(x.feeds)-1]] = uint16(len(x.feeds) - 1)
	}
	nRec := sr.u64()
	nOdd := sr.u32()
	if sr.err != nil {
		return fail("%v", sr.err)
	}
	if uint64(nOdd) > nRec {
		return fail("%d odd ids for %d records", nOdd, nRec)
	}
	odd := make(map[uint64][2]string)
	for range nOdd {
		rec := sr.u64()
		ids := [2]string{sr.str(), sr.str()}
		if sr.err != nil {
			return fail("%v", sr.err)
		}
		if rec >= nRec {
			return fail("odd id of record %d of %d", rec, nRec)
		}
		odd[rec] = ids
	}

	cut := since.Unix()
	if since.IsZero() {
		cut = minUnix
	}
	batch := int(min(nRec, snapshotBatch))
	buf := make([]byte, batch*snapshotRecordSize)
	slots := make([]int32, batch) // each record's slot, -1 when it is left out
	for done := uint64(0); done < nRec; {
		k := int(min(nRec-done, snapshotBatch))
		b := buf[:k*snapshotRecordSize]
		sr.full(b)
		if sr.err != nil {
			return fail("%v after %d of %d records", sr.err, done, nRec)
		}
		// Slots first, in record order; then decode the records in parallel, each into its slot.
		for i := range k {
			rec := b[i*snapshotRecordSize:]
			if int64(binary.LittleEndian.Uint64(rec[64:72])) < cut {
				slots[i] = -1
				continue
			}
			s := x.alloc()
			slots[i] = int32(s)
			if ids, ok := odd[done+uint64(i)]; ok {
				x.odd[s] = ids
			}
		}
		if err := decodeRecords(x, b, slots[:k], uint64(len(x.feeds))); err != nil {
			return fail("record %d: %v", done+uint64(err.rec), err.err)
		}
		done += uint64(k)
	}
	want := sr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(sr.r, sum[:]); err != nil {
		return fail("truncated: no checksum")
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return fail("checksum %08x, want %08x: the file is corrupt", got, want)
	}
	if n, _ := sr.r.Read(sum[:1]); n != 0 {
		return fail("bytes after the checksum")
	}
	// Every odd id belongs to a record marked odd, and the other way round.
	for s := range x.n {
		e := x.slot(uint32(s))
		ids, ok := x.odd[uint32(s)]
		if ok != (e.flags != 0) || e.flags&itemOddID != 0 && ids[0] == "" || e.flags&itemOddCluster != 0 && ids[1] == "" {
			return fail("odd ids do not match the records")
		}
	}
	return x, nil
}

// minUnix is before any time an article may have.
const minUnix = -1 << 62

// recordError is a bad record: its number in the batch and what is wrong.
type recordError struct {
	rec int
	err error
}

// decodeRecords decodes the records of b into the slots given, on every processor: the
// fingerprints' decoding and checks are most of a load's work.
func decodeRecords(x *index, b []byte, slots []int32, nFeeds uint64) *recordError {
	workers := min(runtime.GOMAXPROCS(0), 8, max(1, len(slots)/256))
	errs := make([]*recordError, workers)
	per := (len(slots) + workers - 1) / workers
	parallel(workers, func(w int) {
		for i := w * per; i < min((w+1)*per, len(slots)); i++ {
			if slots[i] < 0 {
				continue
			}
			if err := decodeRecord(x.slot(uint32(slots[i])), b[i*snapshotRecordSize:(i+1)*snapshotRecordSize], nFeeds); err != nil {
				errs[w] = &recordError{i, err}
				return
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeRecord fills e from one record.
func decodeRecord(e *item, rec []byte, nFeeds uint64) error {
	copy(e.id[:], rec[0:32])
	copy(e.cluster[:], rec[32:64])
	e.at = int64(binary.LittleEndian.Uint64(rec[64:72]))
	e.feed = binary.LittleEndian.Uint16(rec[72:74])
	e.flags = rec[74]
	if uint64(e.feed) >= nFeeds && (e.feed != 0xFFFF || nFeeds != 0xFFFF) {
		return fmt.Errorf("feed %d of %d", e.feed, nFeeds)
	}
	if e.flags&^(itemOddID|itemOddCluster) != 0 {
		return fmt.Errorf("flags %#x", e.flags)
	}
	n := int(binary.LittleEndian.Uint16(rec[75:77]))
	if n > maxEncodedLen {
		return fmt.Errorf("fingerprint of %d bytes", n)
	}
	return e.fp.UnmarshalBinary(rec[77 : 77+n])
}
