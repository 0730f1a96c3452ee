package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// fpRow is one row the fingerprint loader gave.
type fpRow struct {
	id, cluster, feed string
	at                time.Time
	fp                []byte
}

func loadFingerprints(t *testing.T, s *Store, since time.Time) []fpRow {
	t.Helper()
	var rows []fpRow
	err := s.Fingerprints(t.Context(), since, func(id, cluster, feed string, at time.Time, fp []byte) error {
		rows = append(rows, fpRow{id, cluster, feed, at, bytes.Clone(fp)})
		return nil
	})
	if err != nil {
		t.Fatalf("Fingerprints: %v", err)
	}
	return rows
}

func TestFingerprintsInsertLoadPrune(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	var want []fpRow
	for i := range 4 {
		a, m := testArticle(i)
		switch i {
		case 1:
			a.Fingerprint = nil // an article without words: no fingerprint row
		case 2:
			a.PublishedAt = time.Time{} // the fetch time stands in
			a.Fingerprint = []byte{2, byte(i)}
			a.ClusterID = want[0].id
		default:
			a.Fingerprint = []byte{1, byte(i), 0}
		}
		mustInsert(t, s, a, m)
		if a.Fingerprint == nil {
			continue
		}
		at := a.PublishedAt
		if at.IsZero() {
			at = a.FetchedAt
		}
		want = append(want, fpRow{a.ID, a.ClusterID, a.FeedID, at, a.Fingerprint})
	}

	tests := []struct {
		name  string
		since time.Time
		want  []fpRow
	}{
		{"all", time.Time{}, want},
		{"since the second", want[1].at, want[1:]},
		{"after the last", want[2].at.Add(time.Millisecond), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadFingerprints(t, s, tt.since)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d fingerprints, want %d", len(got), len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.id != w.id || g.cluster != w.cluster || g.feed != w.feed || !g.at.Equal(w.at) || !bytes.Equal(g.fp, w.fp) {
					t.Errorf("row %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}

	n, err := s.PruneFingerprints(ctx, want[1].at)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("pruned %d fingerprints, want 1", n)
	}
	if got := loadFingerprints(t, s, time.Time{}); len(got) != 2 || got[0].id != want[1].id {
		t.Errorf("after prune got %+v, want the last two", got)
	}
	// The pruned article's repeat keys stay.
	a0, _ := testArticle(0)
	if ok, err := s.HasURL(ctx, a0.CanonicalURL); err != nil || !ok {
		t.Errorf("HasURL after prune = %v, %v; want true", ok, err)
	}
	if n, err := s.PruneFingerprints(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("PruneFingerprints(zero) = %d, %v; want 0, nil", n, err)
	}
}

func TestFingerprintsCallbackError(t *testing.T) {
	s := openTest(t)
	a, m := testArticle(0)
	a.Fingerprint = []byte{1}
	mustInsert(t, s, a, m)
	boom := errors.New("boom")
	err := s.Fingerprints(t.Context(), time.Time{}, func(string, string, string, time.Time, []byte) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want an error wrapping %v", err, boom)
	}
}

func TestFingerprintRolledBackWithArticle(t *testing.T) {
	s := openTest(t)
	a, m := testArticle(0)
	a.Fingerprint = []byte{1}
	mustInsert(t, s, a, m)
	// Same message id: the outbox insert fails after the article and fingerprint rows.
	b, _ := testArticle(1)
	b.Fingerprint = []byte{2}
	if _, err := s.Insert(t.Context(), b, m); err == nil {
		t.Fatal("Insert with a duplicate message id succeeded, want an error")
	}
	if got := loadFingerprints(t, s, time.Time{}); len(got) != 1 || got[0].id != a.ID {
		t.Errorf("got %+v, want only article %s", got, a.ID)
	}
}
