package dedupe

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// restoreRow is one persisted article as the store gives it back.
type restoreRow struct {
	id, cluster, feed string
	at                time.Time
	fp                []byte
}

// synthDocs returns n articles a minute apart, from three feeds, made of words of a made-up
// vocabulary: one in three opens with the same boilerplate lead, so that its lead bands gather
// more than 32 articles, and one in five is an edited copy of an earlier article.
func synthDocs(n int) []Doc {
	const letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
	runes := []rune(letters)
	vocab := make([]string, 3000)
	for i := range vocab {
		vocab[i] = string([]rune{runes[i%28], runes[i/28%28], runes[(i*7+3)%28], runes[i/784%28]})
	}
	r := rand.New(rand.NewPCG(6, 1))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(w, " ")
	}
	lead := words(45)
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)
	docs := make([]Doc, n)
	for i := range docs {
		d := Doc{FeedID: []string{"spa", "okaz", "alyaum"}[i%3], Title: words(6), Text: words(120 + r.IntN(200)),
			PublishedAt: t0.Add(time.Duration(i) * time.Minute)}
		switch {
		case i%5 == 4 && i > 10:
			src := docs[r.IntN(i)]
			d.Title, d.Text = "عاجل: "+src.Title, strings.Replace(src.Text, " ", " و", 4)+" "+words(5)
		case i%3 == 0:
			d.Text = lead + " " + d.Text
		}
		d.CanonicalURL = fmt.Sprintf("https://%s.example/%d", d.FeedID, i)
		docs[i] = d
	}
	return docs
}

// devDocs returns the first n articles of the development days, or skips.
func devDocs(t *testing.T, n int) []Doc {
	arts := loadDevCorpus(t)
	docs := make([]Doc, 0, n)
	for i := range arts[:min(n, len(arts))] {
		docs = append(docs, arts[i].doc())
	}
	return docs
}

// docID is the id of the i-th article: 64 hex digits, but for one in nine.
func docID(i int) string {
	if i%9 == 8 {
		return fmt.Sprintf("odd-%d", i)
	}
	return fmt.Sprintf("%064x", i+1)
}

// recordAll decides and records docs in order with a new Decider, as the pipeline does, and
// returns it with the rows the store would hold for them.
func recordAll(t testing.TB, docs []Doc) (*Decider, []restoreRow) {
	t.Helper()
	keys := newMemKeys()
	dd := NewDecider(keys, 0)
	var rows []restoreRow
	for i, d := range docs {
		dec := mustDecide(t, dd, d, d.PublishedAt)
		if dec.Verdict == Repeat {
			continue
		}
		id := docID(i)
		cluster := id
		if dec.Verdict == Duplicate {
			cluster = dec.ClusterID
		}
		keys.record(d, id, dec, d.PublishedAt)
		dd.Record(id, cluster, dec)
		if dec.Fingerprint != nil {
			rows = append(rows, restoreRow{id, cluster, d.FeedID, d.PublishedAt, dec.Fingerprint})
		}
	}
	return dd, rows
}

// restoreAll rebuilds a Decider from rows with RestoreAll, handing each row's fingerprint in a
// buffer that the next row overwrites, as the store does.
func restoreAll(t testing.TB, rows []restoreRow) *Decider {
	t.Helper()
	dd := NewDecider(newMemKeys(), 0)
	err := dd.RestoreAll(func(restore RestoreFunc) error {
		var buf []byte
		for _, r := range rows {
			buf = append(buf[:0], r.fp...)
			if err := restore(r.id, r.cluster, r.feed, r.at, buf); err != nil {
				return err
			}
			clear(buf)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RestoreAll: %v", err)
	}
	return dd
}

// restoreEach rebuilds a Decider from rows one Restore at a time: the reference.
func restoreEach(t testing.TB, rows []restoreRow) *Decider {
	t.Helper()
	dd := NewDecider(newMemKeys(), 0)
	for _, r := range rows {
		if err := dd.Restore(r.id, r.cluster, r.feed, r.at, r.fp); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	return dd
}

// tableContents returns the slots the table holds under each key, sorted.
func tableContents(tb *bandTable) map[uint32][]uint32 {
	m := map[uint32][]uint32{}
	for _, c := range tb.cells {
		if c.slot != 0 {
			m[c.key] = append(m[c.key], c.slot-1)
		}
	}
	for _, s := range m {
		slices.Sort(s)
	}
	return m
}

// sameIndex fails unless got holds what want holds: the same items in the same slots, the same
// odd ids and feeds, and the same slots under each band key (wherever the cells lie).
func sameIndex(t *testing.T, got, want *index) {
	t.Helper()
	if got.n != want.n || got.live != want.live {
		t.Fatalf("got %d items (%d live), want %d (%d live)", got.n, got.live, want.n, want.live)
	}
	for s := range uint32(got.n) {
		if *got.slot(s) != *want.slot(s) {
			gid, _ := got.ids(s)
			wid, _ := want.ids(s)
			t.Fatalf("slot %d: got article %s, want %s, or another field differs", s, gid, wid)
		}
	}
	if !maps.Equal(got.odd, want.odd) {
		t.Errorf("got %d odd ids, want %d, or they differ", len(got.odd), len(want.odd))
	}
	if !slices.Equal(got.feeds, want.feeds) {
		t.Errorf("got feeds %q, want %q", got.feeds, want.feeds)
	}
	gt, wt := tableContents(&got.table), tableContents(&want.table)
	if len(gt) != len(wt) {
		t.Errorf("got %d band keys, want %d", len(gt), len(wt))
	}
	for k, ws := range wt {
		if gs := gt[k]; !slices.Equal(gs, ws) {
			t.Errorf("band key %08x: got slots %v, want %v", k, gs, ws)
		}
	}
	if got.table.used != want.table.used {
		t.Errorf("got %d table cells used, want %d", got.table.used, want.table.used)
	}
}

// TestRestoreAllBuildsSameIndex checks that RestoreAll rebuilds, cell for cell, the index that
// recording the articles built and that restoring them one at a time builds, and that the two
// restored Deciders then make the same decisions and grow the same index.
func TestRestoreAllBuildsSameIndex(t *testing.T) {
	tests := []struct {
		name string
		docs func(t *testing.T) []Doc
	}{
		{"synthetic", func(*testing.T) []Doc { return synthDocs(800) }},
		{"development days", func(t *testing.T) []Doc { return devDocs(t, 800) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := tt.docs(t)
			split := len(docs) * 3 / 4
			recorded, rows := recordAll(t, docs[:split])
			all := restoreAll(t, rows)
			each := restoreEach(t, rows)
			for s, r := range rows {
				if id, cluster := all.idx.ids(uint32(s)); id != r.id || cluster != r.cluster {
					t.Fatalf("slot %d: got ids %q, %q, want %q, %q", s, id, cluster, r.id, r.cluster)
				}
			}
			sameIndex(t, all.idx, recorded.idx)
			sameIndex(t, all.idx, each.idx)
			if !slices.Equal(all.df.counts, each.df.counts) {
				t.Error("document frequencies differ between RestoreAll and Restore")
			}
			if load := float64(all.idx.table.used) / float64(len(all.idx.table.cells)); load > tableMaxLoad || load < 0.5 {
				t.Errorf("table %.2f full after RestoreAll, want between 0.5 and %.1f", load, tableMaxLoad)
			}
			big := 0
			for _, s := range tableContents(&all.idx.table) {
				big = max(big, len(s))
			}
			if tt.name == "synthetic" && big <= 32 {
				t.Errorf("the largest band key holds %d slots: the test does not reach a long bucket", big)
			}

			dups := 0
			for i, d := range docs[split:] {
				got, want := mustDecide(t, all, d, d.PublishedAt), mustDecide(t, each, d, d.PublishedAt)
				if got.Verdict != want.Verdict || got.DuplicateOf != want.DuplicateOf || got.ClusterID != want.ClusterID ||
					got.Similarity != want.Similarity || !slices.Equal(got.Fingerprint, want.Fingerprint) {
					t.Fatalf("article %d: got %v of %q (%.3f), want %v of %q (%.3f)", split+i,
						got.Verdict, got.DuplicateOf, got.Similarity, want.Verdict, want.DuplicateOf, want.Similarity)
				}
				if got.Verdict == Duplicate {
					dups++
				}
				id := docID(split + i)
				all.Record(id, got.ClusterID, got)
				each.Record(id, want.ClusterID, want)
			}
			if dups == 0 {
				t.Error("no later article was a duplicate: the decisions compared prove little")
			}
			sameIndex(t, all.idx, each.idx)
		})
	}
}

// TestCompactBuildsSameIndex prunes enough of an index to compact it, and checks that the
// compacted index holds what adding the remaining articles one at a time holds.
func TestCompactBuildsSameIndex(t *testing.T) {
	docs := synthDocs(600)
	dd, _ := recordAll(t, docs)
	cut := docs[len(docs)/2+10].PublishedAt
	want := newIndex()
	for s := range uint32(dd.idx.n) {
		e := dd.idx.slot(s)
		if e.at >= cut.Unix() {
			id, cluster := dd.idx.ids(s)
			want.add(id, cluster, dd.idx.feeds[e.feed], time.Unix(e.at, 0), &e.fp)
		}
	}
	dd.Prune(cut)
	if dd.idx.n != dd.idx.live {
		t.Fatalf("after Prune: %d slots for %d live articles, want a compacted index", dd.idx.n, dd.idx.live)
	}
	sameIndex(t, dd.idx, want)
}

func TestRestoreAllErrors(t *testing.T) {
	docs := synthDocs(30)
	_, rows := recordAll(t, docs)
	boom := errors.New("boom")
	corrupt := restoreRow{"corrupt-article", "", "spa", rows[0].at, []byte{fingerprintVersion, 1}}
	newer := restoreRow{"newer-article", "", "spa", rows[0].at, []byte{fingerprintVersion + 1, 1}}
	tests := []struct {
		name    string
		rows    []restoreRow
		loadErr error
		wantErr string // "" for none
		wantLen int
	}{
		{"all", rows, nil, "", len(rows)},
		{"load fails after three", rows[:3], boom, "boom", 3},
		{"corrupt fingerprint", append(slices.Clone(rows[:2]), corrupt), nil, "restore article corrupt-article", 2},
		{"fingerprint of another version", append(slices.Clone(rows[:2]), newer), nil, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dd := NewDecider(newMemKeys(), 0)
			err := dd.RestoreAll(func(restore RestoreFunc) error {
				for _, r := range tt.rows {
					if err := restore(r.id, r.cluster, r.feed, r.at, r.fp); err != nil {
						return err
					}
				}
				return tt.loadErr
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one saying %q", err, tt.wantErr)
			case tt.loadErr != nil && err != tt.loadErr:
				t.Errorf("got error %v, want load's error as it is", err)
			}
			if got := dd.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			// What was restored is searchable: a copy of the last restored article is found.
			last := tt.wantLen - 1
			d := docs[slices.IndexFunc(docs, func(d Doc) bool { return d.PublishedAt.Equal(rows[last].at) })]
			d.FeedID, d.CanonicalURL, d.PublishedAt = "other", "https://other.example/1", d.PublishedAt.Add(time.Hour)
			if dec := mustDecide(t, dd, d, d.PublishedAt); dec.Verdict != Duplicate || dec.DuplicateOf != rows[last].id {
				t.Errorf("copy of the last restored article: got %v of %q, want duplicate of %q", dec.Verdict, dec.DuplicateOf, rows[last].id)
			}
		})
	}

	t.Run("restore after RestoreAll returned", func(t *testing.T) {
		dd := NewDecider(newMemKeys(), 0)
		var kept RestoreFunc
		if err := dd.RestoreAll(func(restore RestoreFunc) error { kept = restore; return nil }); err != nil {
			t.Fatal(err)
		}
		r := rows[0]
		if err := kept(r.id, r.cluster, r.feed, r.at, r.fp); err == nil {
			t.Error("got nil, want an error")
		}
		if got := dd.Len(); got != 0 {
			t.Errorf("Len() = %d, want 0", got)
		}
	})
}

// BenchmarkRestore rebuilds an index of 50,000 synthetic articles one Restore at a time and with
// RestoreAll.
func BenchmarkRestore(b *testing.B) {
	_, rows := recordAll(b, synthDocs(50_000))
	b.Run("each", func(b *testing.B) {
		for b.Loop() {
			restoreEach(b, rows)
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			restoreAll(b, rows)
		}
	})
}
