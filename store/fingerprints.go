package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const (
	// The article's rowid orders articles of the same time as they were inserted.
	queryInsertFingerprint = `INSERT INTO fingerprints (at, seq, article_id, cluster_id, feed_id, data)
VALUES (?, (SELECT rowid FROM articles WHERE id = ?), ?, ?, ?, ?)`
	// Oldest first, so that a rebuilt index holds the articles in the order they came: the
	// order of the table's primary key, read as one range scan with no sort and no join.
	queryFingerprints = `SELECT article_id, cluster_id, feed_id, at, data FROM fingerprints
WHERE at >= ?
ORDER BY at, seq`
	queryPruneFingerprints = `DELETE FROM fingerprints WHERE at < ?`
)

// insertFingerprint records a's fingerprint, if it has one, within the transaction that records
// a, after a's article row.
func insertFingerprint(ctx context.Context, tx *sql.Tx, a Article) error {
	if a.Fingerprint == nil {
		return nil
	}
	at := a.PublishedAt
	if at.IsZero() {
		at = a.FetchedAt
	}
	_, err := tx.ExecContext(ctx, queryInsertFingerprint, at.UnixMilli(), a.ID, a.ID, a.ClusterID, a.FeedID, a.Fingerprint)
	return err
}

// Fingerprints calls fn, oldest first, for each article with a fingerprint whose time is at or
// after since (a zero since means all): its id, its cluster id, its feed id, its time (UTC,
// millisecond precision) and the fingerprint as recorded. Articles of the same time come in the
// order they were recorded. fp is only valid until fn returns: the next row reuses its memory,
// so fn must copy what it keeps. fn must not use the Store; the first error it returns stops the
// scan and is returned wrapped.
func (s *Store) Fingerprints(ctx context.Context, since time.Time,
	fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error {
	return s.scanFingerprints(ctx, queryFingerprints, []any{sinceMillis(since)}, fn)
}

// scanFingerprints runs query, which selects article_id, cluster_id, feed_id, at and data, and
// calls fn for each row as Fingerprints describes.
func (s *Store) scanFingerprints(ctx context.Context, query string, args []any,
	fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: fingerprints: %w", classify(err))
	}
	defer rows.Close()
	var (
		id, cluster, feed string
		at                int64
		data              sql.RawBytes // the driver's copy of the row: no second copy
	)
	for rows.Next() {
		if err := rows.Scan(&id, &cluster, &feed, &at, &data); err != nil {
			return fmt.Errorf("store: fingerprints: %w", classify(err))
		}
		if err := fn(id, cluster, feed, time.UnixMilli(at).UTC(), data); err != nil {
			return fmt.Errorf("store: fingerprint of article %s: %w", id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: fingerprints: %w", classify(err))
	}
	return nil
}

// PruneFingerprints deletes the fingerprints of articles whose time is before the given time
// and returns how many it deleted. The articles themselves, and so their repeat keys (canonical
// URL, GUID) and content keys, stay.
func (s *Store) PruneFingerprints(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queryPruneFingerprints, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune fingerprints before %s: %w",
			before.UTC().Format(time.RFC3339), classify(err))
	}
	return n, nil
}
