package store

import (
	"bytes"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// queryFingerprintsV3 is how schema version 3 read the fingerprints: the reference the migrated
// table must reproduce, row for row and in the same order.
const queryFingerprintsV3 = `SELECT f.article_id, a.cluster_id, a.feed_id, f.at, f.data
FROM fingerprints f JOIN articles a ON a.id = f.article_id
WHERE f.at >= ?
ORDER BY f.at, a.rowid`

// createV3 creates a database at schema version 3 holding articles with fingerprints, written as
// version 3 wrote them, and returns the rows its fingerprint query gave.
func createV3(t *testing.T, path string) []fpRow {
	t.Helper()
	ctx := t.Context()
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, m := range migrations[:3] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	// Times out of insertion order, ties on the time (which go to the earlier insert), a
	// duplicate in another article's cluster, several feeds, an article without fingerprint.
	// The articles go in out of id order, so that only the insertion order breaks the ties.
	order := []int{6, 2, 9, 0, 4, 8, 1, 5, 3, 7}
	minutes := []int{5, 1, 5, 3, 1, 5, 0, 2, 5, 4}
	for i, min := range minutes {
		a, _ := testArticle(order[i])
		a.FeedID = []string{"aljazeera", "spa", "okaz"}[i%3]
		if i%4 == 3 {
			a.ClusterID = fmt.Sprintf("%064x", 7) // testArticle(6)'s id, the first inserted
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO articles (id, feed_id, canonical_url, cluster_id, fetched_at)
VALUES (?, ?, ?, ?, ?)`, a.ID, a.FeedID, a.CanonicalURL, a.ClusterID, a.FetchedAt.UnixMilli()); err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			continue
		}
		at := base.Add(time.Duration(min) * time.Minute)
		if _, err := db.ExecContext(ctx, `INSERT INTO fingerprints (article_id, at, data) VALUES (?, ?, ?)`,
			a.ID, at.UnixMilli(), bytes.Repeat([]byte{byte(i)}, 300+i)); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.QueryContext(ctx, queryFingerprintsV3, sinceMillis(time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want []fpRow
	for rows.Next() {
		var r fpRow
		var at int64
		if err := rows.Scan(&r.id, &r.cluster, &r.feed, &at, &r.fp); err != nil {
			t.Fatal(err)
		}
		r.at = time.UnixMilli(at).UTC()
		want = append(want, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(minutes)-1 {
		t.Fatalf("version 3 gave %d fingerprints, want %d", len(want), len(minutes)-1)
	}
	return want
}

func sameRows(t *testing.T, got, want []fpRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d fingerprints, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.id != w.id || g.cluster != w.cluster || g.feed != w.feed || !g.at.Equal(w.at) || !bytes.Equal(g.fp, w.fp) {
			t.Errorf("row %d: got %q %q %s %s %d bytes, want %q %q %s %s %d bytes", i,
				strings.TrimLeft(g.id, "0"), strings.TrimLeft(g.cluster, "0"), g.feed, g.at.Format(time.TimeOnly), len(g.fp),
				strings.TrimLeft(w.id, "0"), strings.TrimLeft(w.cluster, "0"), w.feed, w.at.Format(time.TimeOnly), len(w.fp))
		}
	}
}

// TestMigrateFingerprintsFromV3 opens a database written at schema version 3: migration 4 copies
// each fingerprint's cluster and feed from its article, and the fingerprints then load exactly
// as version 3 loaded them, in the same order. Articles recorded after the migration sort in
// among them by time, after the older articles of the same time.
func TestMigrateFingerprintsFromV3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feedd.db")
	want := createV3(t, path)
	s := openAt(t, path)
	if got := userVersion(t, s); got != len(migrations) {
		t.Fatalf("user_version = %d, want %d", got, len(migrations))
	}
	sameRows(t, loadFingerprints(t, s, time.Time{}), want)

	// One more article at a time several old ones have, and one before them all.
	for _, tt := range []struct {
		i   int
		min int
	}{{20, 5}, {21, -1}} {
		a, m := testArticle(tt.i)
		a.ID = fmt.Sprintf("%064d", tt.i) // before every other id
		a.PublishedAt = base.Add(time.Duration(tt.min) * time.Minute)
		a.Fingerprint = []byte{byte(tt.i)}
		mustInsert(t, s, a, m)
		r := fpRow{a.ID, a.ClusterID, a.FeedID, a.PublishedAt, a.Fingerprint}
		if tt.min < 0 {
			want = append([]fpRow{r}, want...)
		} else {
			want = append(want, r) // minute 5 is the last in want
		}
	}
	sameRows(t, loadFingerprints(t, s, time.Time{}), want)
	sameRows(t, loadFingerprints(t, s, base.Add(5*time.Minute)), want[len(want)-5:])

	// The migrated table keeps the rules of the old one.
	a, _ := testArticle(0)
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO fingerprints (at, seq, article_id, cluster_id, feed_id, data)
VALUES (0, 999, ?, '', '', x'00')`, a.ID); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Errorf("second fingerprint for article %s: got %v, want a UNIQUE constraint error", a.ID, err)
	}
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO fingerprints (at, seq, article_id, cluster_id, feed_id, data)
VALUES (0, 999, 'nosuch', '', '', x'00')`); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("fingerprint of no article: got %v, want a FOREIGN KEY constraint error", err)
	}
}

// TestFingerprintQueryNeedsNoSort checks that the fingerprints load as one range scan of the
// table, in its key order: no temporary b-tree, no join.
func TestFingerprintQueryNeedsNoSort(t *testing.T) {
	s := openTest(t)
	got := queryPlan(t, s, queryFingerprints, 0)
	if want := "SEARCH fingerprints USING PRIMARY KEY (at>?)"; got != want {
		t.Errorf("got plan %q, want %q", got, want)
	}
}
