package store

import (
	"context"
	"fmt"
	"time"
)

// IndexMark says which fingerprints a snapshot of the duplicate index covers. A snapshot taken
// when the mark was m holds exactly the fingerprints the table held then, and later holds them
// still, as long as [IndexMark] returns a mark with the same Store and Generation and a Seq at
// least m.Seq: the fingerprints recorded since are those of the articles after m.Seq, which
// [Store.FingerprintsAfter] reads. Any other change to the table (a prune, a deleted article,
// an update) bumps Generation, and a snapshot of another database file has another Store.
type IndexMark struct {
	// Store identifies the database file: random, made when the mark was created.
	Store string
	// Generation changes whenever the fingerprints change otherwise than by appending.
	Generation int64
	// Seq is the highest article rowid whose fingerprint the table may hold.
	Seq int64
}

const (
	queryIndexMark = `SELECT store_id, gen, seq FROM index_mark WHERE id = 1`
	// The articles after the mark, by rowid (a range of the table's b-tree), each with its
	// fingerprint looked up by the article id's unique index: no scan of the fingerprints.
	// CROSS JOIN keeps articles as the outer loop.
	queryFingerprintsAfter = `SELECT f.article_id, f.cluster_id, f.feed_id, f.at, f.data
FROM articles a CROSS JOIN fingerprints f ON f.article_id = a.id
WHERE a.rowid > ? AND f.at >= ?
ORDER BY a.rowid`
)

// IndexMark returns the current mark of the fingerprints table.
func (s *Store) IndexMark(ctx context.Context) (IndexMark, error) {
	var m IndexMark
	if err := s.db.QueryRowContext(ctx, queryIndexMark).Scan(&m.Store, &m.Generation, &m.Seq); err != nil {
		return IndexMark{}, fmt.Errorf("store: index mark: %w", classify(err))
	}
	return m, nil
}

// FingerprintsAfter is [Store.Fingerprints] for the articles recorded after the mark seq (an
// [IndexMark.Seq]) only, in the order they were recorded, whose time is at or after since.
func (s *Store) FingerprintsAfter(ctx context.Context, seq int64, since time.Time,
	fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error {
	return s.scanFingerprints(ctx, queryFingerprintsAfter, []any{seq, sinceMillis(since)}, fn)
}
