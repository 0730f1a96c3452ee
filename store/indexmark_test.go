package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func indexMark(t *testing.T, s *Store) IndexMark {
	t.Helper()
	m, err := s.IndexMark(t.Context())
	if err != nil {
		t.Fatalf("IndexMark: %v", err)
	}
	return m
}

// A snapshot of the duplicate index is only as good as the mark it is checked against: appending
// keeps the generation and moves the mark; anything else changes the generation.
func TestIndexMarkFollowsEveryChange(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	m0 := indexMark(t, s)
	if m0.Store == "" || len(m0.Store) != 32 {
		t.Fatalf("store id %q, want 32 hex digits", m0.Store)
	}
	insert := func(i int, fp []byte) int64 {
		a, m := testArticle(i)
		a.Fingerprint = fp
		mustInsert(t, s, a, m)
		var rowid int64
		if err := s.db.QueryRowContext(ctx, `SELECT rowid FROM articles WHERE id = ?`, a.ID).Scan(&rowid); err != nil {
			t.Fatal(err)
		}
		return rowid
	}
	r1 := insert(1, []byte{1, 1})
	m1 := indexMark(t, s)
	if m1.Store != m0.Store || m1.Generation != m0.Generation || m1.Seq != r1 {
		t.Fatalf("after appending: mark %+v, want %+v with seq %d", m1, m0, r1)
	}
	insert(2, nil) // no fingerprint: nothing the index holds changed
	if m := indexMark(t, s); m != m1 {
		t.Fatalf("after an article without fingerprint: mark %+v, want %+v", m, m1)
	}
	r3 := insert(3, []byte{1, 3})
	m3 := indexMark(t, s)
	if m3.Generation != m1.Generation || m3.Seq != r3 {
		t.Fatalf("after a second append: mark %+v, want generation %d seq %d", m3, m1.Generation, r3)
	}

	changes := []struct {
		name string
		sql  string
	}{
		{"prune", ""},
		{"update", `UPDATE fingerprints SET cluster_id = 'x'`},
		{"article deleted (cascade)", `DELETE FROM articles WHERE id = (SELECT article_id FROM fingerprints LIMIT 1)`},
		// A fingerprint for an article older than the mark: not after it, so not read as new.
		{"insert below the mark", `INSERT INTO fingerprints (at, seq, article_id, cluster_id, feed_id, data)
SELECT 0, rowid, id, id, feed_id, x'01' FROM articles WHERE id NOT IN (SELECT article_id FROM fingerprints) LIMIT 1`},
	}
	last := m3
	for _, c := range changes {
		if c.name == "prune" {
			n, err := s.PruneFingerprints(ctx, base.Add(90*time.Second))
			if err != nil || n != 1 {
				t.Fatalf("PruneFingerprints: %d, %v; want 1 row", n, err)
			}
		} else if res, err := s.db.ExecContext(ctx, c.sql); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s: %d rows changed, want 1", c.name, n)
		}
		m := indexMark(t, s)
		if m.Generation == last.Generation || m.Store != last.Store || m.Seq < last.Seq {
			t.Errorf("after %s: mark %+v, want a new generation after %+v", c.name, m, last)
		}
		last = m
	}
}

// The mark is made for a database written by an older feedd, at the articles' highest rowid.
func TestIndexMarkOnExistingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feedd.db")
	createV3(t, path)
	s := openAt(t, path)
	var maxRowid int64
	if err := s.db.QueryRowContext(t.Context(), `SELECT max(rowid) FROM articles`).Scan(&maxRowid); err != nil {
		t.Fatal(err)
	}
	if m := indexMark(t, s); m.Seq != maxRowid || m.Store == "" {
		t.Errorf("mark %+v, want seq %d", m, maxRowid)
	}
	// Another database file has another id.
	if a, b := indexMark(t, s), indexMark(t, openTest(t)); a.Store == b.Store {
		t.Errorf("two databases share the store id %s", a.Store)
	}
}

func TestFingerprintsAfter(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	var all []fpRow
	var marks []int64
	for i := range 6 {
		a, m := testArticle(i)
		a.PublishedAt = base.Add(time.Duration(5-i) * time.Minute) // newest first: not the time order
		if i != 2 {
			a.Fingerprint = []byte{1, byte(i)}
			all = append(all, fpRow{a.ID, a.ClusterID, a.FeedID, a.PublishedAt, a.Fingerprint})
		}
		mustInsert(t, s, a, m)
		marks = append(marks, indexMark(t, s).Seq)
	}
	load := func(seq int64, since time.Time) []fpRow {
		var rows []fpRow
		err := s.FingerprintsAfter(ctx, seq, since, func(id, cluster, feed string, at time.Time, fp []byte) error {
			rows = append(rows, fpRow{id, cluster, feed, at, append([]byte(nil), fp...)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	sameRows(t, load(0, time.Time{}), all)
	sameRows(t, load(marks[1], time.Time{}), all[2:]) // article 2 has no fingerprint
	sameRows(t, load(marks[5], time.Time{}), nil)
	sameRows(t, load(marks[1], base.Add(2*time.Minute)), all[2:3]) // articles 4 and 5 are older

	// Few rows after the mark are read without scanning the fingerprints.
	plan := queryPlan(t, s, queryFingerprintsAfter, marks[4], 0)
	if !strings.Contains(plan, "SEARCH a USING INTEGER PRIMARY KEY (rowid>?)") || strings.Contains(plan, "SCAN") ||
		strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan %q: want a rowid range of the articles, no scan, no sort", plan)
	}
}
