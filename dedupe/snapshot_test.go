package dedupe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeSnapshot(t testing.TB, dd *Decider, tag string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := dd.WriteSnapshot(&buf, []byte(tag)); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	return buf.Bytes()
}

func acceptAny([]byte) error { return nil }

// restoreAllFeeds is restoreAll into an index that knows feeds already, in that order: a
// snapshot keeps the feeds' numbers, which are those of the first articles recorded.
func restoreAllFeeds(t testing.TB, rows []restoreRow, feeds []string) *Decider {
	t.Helper()
	dd := NewDecider(newMemKeys(), 0)
	for _, f := range feeds {
		dd.idx.feedOf(f)
	}
	err := dd.RestoreAll(func(restore RestoreFunc) error {
		for _, r := range rows {
			if err := restore(r.id, r.cluster, r.feed, r.at, r.fp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RestoreAll: %v", err)
	}
	return dd
}

// loadSnapshot loads b into a new Decider.
func loadSnapshot(t testing.TB, b []byte, since time.Time) *Decider {
	t.Helper()
	dd := NewDecider(newMemKeys(), 0)
	if _, err := dd.LoadSnapshot(bytes.NewReader(b), since, acceptAny); err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
	return dd
}

// TestSnapshotLoadsSameIndex writes the index that recording built, with odd ids, several feeds
// and pruned articles in it, and checks that loading it builds, cell for cell, the index that
// restoring the same articles from the store builds; and that the two then decide alike.
func TestSnapshotLoadsSameIndex(t *testing.T) {
	docs := synthDocs(900)
	split := 700
	recorded, rows := recordAll(t, docs[:split])
	cut := rows[len(rows)/5].at
	recorded.Prune(cut) // a fifth dead, not yet compacted
	if recorded.idx.n == recorded.idx.live {
		t.Fatal("the index compacted: the test wants dead entries in it")
	}
	kept := slices.DeleteFunc(slices.Clone(rows), func(r restoreRow) bool { return r.at.Before(cut) })
	want := restoreAllFeeds(t, kept, recorded.idx.feeds)

	snap := writeSnapshot(t, recorded, "mark")
	got := loadSnapshot(t, snap, time.Time{})
	sameIndex(t, got.idx, want.idx)
	if len(got.idx.odd) == 0 {
		t.Fatal("no odd ids in the index: the test proves less than it says")
	}

	// Loading with a later start of the window leaves the older articles out.
	later := rows[len(rows)/2].at
	sameIndex(t, loadSnapshot(t, snap, later).idx, restoreAllFeeds(t,
		slices.DeleteFunc(slices.Clone(rows), func(r restoreRow) bool { return r.at.Before(later) }), recorded.idx.feeds).idx)

	dups := 0
	for i, d := range docs[split:] {
		g, w := mustDecide(t, got, d, d.PublishedAt), mustDecide(t, want, d, d.PublishedAt)
		if g.Verdict != w.Verdict || g.DuplicateOf != w.DuplicateOf || g.ClusterID != w.ClusterID || g.Similarity != w.Similarity {
			t.Fatalf("article %d: got %v of %q, want %v of %q", split+i, g.Verdict, g.DuplicateOf, w.Verdict, w.DuplicateOf)
		}
		if g.Verdict == Duplicate {
			dups++
		}
		got.Record(docID(split+i), g.ClusterID, g)
		want.Record(docID(split+i), w.ClusterID, w)
	}
	if dups == 0 {
		t.Error("no later article was a duplicate: the decisions compared prove little")
	}
	sameIndex(t, got.idx, want.idx)

	// An empty index makes a snapshot too.
	empty := loadSnapshot(t, writeSnapshot(t, NewDecider(newMemKeys(), 0), ""), time.Time{})
	if empty.Len() != 0 {
		t.Errorf("empty snapshot loaded %d articles", empty.Len())
	}
}

// TestSnapshotRejectsDamage checks that a snapshot cut short anywhere, or with any byte changed,
// is refused and leaves the index empty; and that one of another format or fingerprint version
// is refused as such.
func TestSnapshotRejectsDamage(t *testing.T) {
	recorded, _ := recordAll(t, synthDocs(12)) // the ninth has an odd id
	snap := writeSnapshot(t, recorded, "tag")
	if len(snap) < 12*snapshotRecordSize || len(recorded.idx.odd) == 0 {
		t.Fatalf("snapshot of %d bytes for 12 articles, %d odd ids", len(snap), len(recorded.idx.odd))
	}
	try := func(name string, b []byte) error {
		t.Helper()
		dd := NewDecider(newMemKeys(), 0)
		n, err := dd.LoadSnapshot(bytes.NewReader(b), time.Time{}, acceptAny)
		if err == nil {
			t.Fatalf("%s: loaded %d articles, want an error", name, n)
		}
		if dd.Len() != 0 || dd.idx.n != 0 {
			t.Fatalf("%s: %v, and the index holds %d articles", name, err, dd.Len())
		}
		return err
	}
	for n := range len(snap) {
		err := try("truncated", snap[:n])
		if n > 30 && !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("truncated to %d bytes: got %v, want an error saying truncated", n, err)
		}
	}
	try("longer", append(slices.Clone(snap), 0))
	for i := range snap {
		b := slices.Clone(snap)
		b[i] ^= 0x10
		try("flipped", b)
	}

	header := len(snapshotMagic)
	for _, field := range []struct {
		name string
		off  int
	}{{"format", header}, {"fingerprint version", header + 4}, {"record size", header + 8}} {
		b := slices.Clone(snap)
		binary.LittleEndian.PutUint32(b[field.off:], binary.LittleEndian.Uint32(b[field.off:])+1)
		if err := try(field.name, b); !errors.Is(err, ErrSnapshotFormat) {
			t.Errorf("%s changed: got %v, want ErrSnapshotFormat", field.name, err)
		}
	}
}

func TestSnapshotCheckAndNonEmptyIndex(t *testing.T) {
	recorded, rows := recordAll(t, synthDocs(40))
	snap := writeSnapshot(t, recorded, "store 1 gen 7")
	stale := errors.New("stale")
	dd := NewDecider(newMemKeys(), 0)
	var seen string
	_, err := dd.LoadSnapshot(bytes.NewReader(snap), time.Time{}, func(tag []byte) error { seen = string(tag); return stale })
	if err != stale || seen != "store 1 gen 7" || dd.Len() != 0 {
		t.Errorf("refused tag: got %v with tag %q and %d articles, want the check's error, the tag and none", err, seen, dd.Len())
	}
	r := rows[0]
	if err := dd.Restore(r.id, r.cluster, r.feed, r.at, r.fp); err != nil {
		t.Fatal(err)
	}
	if _, err := dd.LoadSnapshot(bytes.NewReader(snap), time.Time{}, acceptAny); err == nil || dd.Len() != 1 {
		t.Errorf("load into a non-empty index: got %v, %d articles; want an error and the index as it was", err, dd.Len())
	}
}

// BenchmarkSnapshot writes and loads a snapshot of 50,000 synthetic articles, beside RestoreAll
// of the same articles (BenchmarkRestore/all).
func BenchmarkSnapshot(b *testing.B) {
	dd, rows := recordAll(b, synthDocs(50_000))
	snap := writeSnapshot(b, dd, "")
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			writeSnapshot(b, dd, "")
		}
		b.SetBytes(int64(len(snap)))
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			loadSnapshot(b, snap, time.Time{})
		}
		b.SetBytes(int64(len(snap)))
	})
	b.Run("restore-all", func(b *testing.B) {
		for b.Loop() {
			restoreAll(b, rows)
		}
	})
}

// FuzzLoadSnapshot feeds LoadSnapshot damaged snapshots: it must refuse them without panicking,
// and whatever it accepts must be an index that searches and records.
func FuzzLoadSnapshot(f *testing.F) {
	recorded, _ := recordAll(f, synthDocs(12))
	f.Add(writeSnapshot(f, recorded, "t"))
	f.Add(writeSnapshot(f, NewDecider(newMemKeys(), 0), ""))
	probe := synthDocs(13)[12]
	f.Fuzz(func(t *testing.T, b []byte) {
		dd := NewDecider(newMemKeys(), 0)
		if _, err := dd.LoadSnapshot(bytes.NewReader(b), time.Time{}, acceptAny); err != nil {
			return
		}
		dec := mustDecide(t, dd, probe, probe.PublishedAt)
		dd.Record("probe", "probe", dec)
	})
}

// TestBuildParallelSameTable checks that the parallel build fills the table with the cells the
// serial one does, on an index with long runs of one key (each fingerprint seven times), with
// two to eight workers.
func TestBuildParallelSameTable(t *testing.T) {
	_, rows := recordAll(t, synthDocs(2400))
	var many []restoreRow
	for i := range 7 {
		for j, r := range rows {
			r.id = fmt.Sprintf("%064x", i*len(rows)+j+1)
			many = append(many, r)
		}
	}
	if len(many) < 1<<14 {
		t.Fatalf("%d articles: too few for the parallel build", len(many))
	}
	want := restoreAll(t, many)
	for _, procs := range []int{2, 3, 8} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			got := NewDecider(newMemKeys(), 0)
			var f fingerprint
			for _, r := range many {
				if err := f.UnmarshalBinary(r.fp); err != nil {
					t.Fatal(err)
				}
				got.idx.push(r.id, r.cluster, r.feed, r.at, &f)
			}
			got.idx.buildParallel()
			sameIndex(t, got.idx, want.idx)
		})
	}
}

// BenchmarkBuildFromSnapshot fills the LSH table of the index a snapshot file holds, named by
// FEEDD_BENCH_SNAPSHOT_FILE (for example the data_dir/index.snap that the start-to-ready
// benchmark leaves), with build and with buildParallel.
func BenchmarkBuildFromSnapshot(b *testing.B) {
	path := os.Getenv("FEEDD_BENCH_SNAPSHOT_FILE")
	if path == "" {
		b.Skip("FEEDD_BENCH_SNAPSHOT_FILE names no snapshot")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	x, err := readSnapshot(f, time.Time{}, acceptAny)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			x.table = bandTable{}
			x.build(0)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for b.Loop() {
			x.table = bandTable{}
			x.buildParallel()
		}
	})
}
