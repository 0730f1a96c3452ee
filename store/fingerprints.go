package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const (
	queryInsertFingerprint = `INSERT INTO fingerprints (article_id, at, data) VALUES (?, ?, ?)`
	// Oldest first, so that a rebuilt index holds the articles in the order they came.
	queryFingerprints = `SELECT f.article_id, a.cluster_id, a.feed_id, f.at, f.data
FROM fingerprints f JOIN articles a ON a.id = f.article_id
WHERE f.at >= ?
ORDER BY f.at, a.rowid`
	queryPruneFingerprints = `DELETE FROM fingerprints WHERE at < ?`
)

// insertFingerprint records a's fingerprint, if it has one, within the transaction that records a.
func insertFingerprint(ctx context.Context, tx *sql.Tx, a Article) error {
	if a.Fingerprint == nil {
		return nil
	}
	at := a.PublishedAt
	if at.IsZero() {
		at = a.FetchedAt
	}
	_, err := tx.ExecContext(ctx, queryInsertFingerprint, a.ID, at.UnixMilli(), a.Fingerprint)
	return err
}

// Fingerprints calls fn, oldest first, for each article with a fingerprint whose time is at or
// after since (a zero since means all): its id, its cluster id, its feed id, its time (UTC,
// millisecond precision) and the fingerprint as recorded. fn must not use the Store; the first error it
// returns stops the scan and is returned wrapped.
func (s *Store) Fingerprints(ctx context.Context, since time.Time,
	fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error {
	rows, err := s.db.QueryContext(ctx, queryFingerprints, sinceMillis(since))
	if err != nil {
		return fmt.Errorf("store: fingerprints: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, cluster, feed string
			at                int64
			data              []byte
		)
		if err := rows.Scan(&id, &cluster, &feed, &at, &data); err != nil {
			return fmt.Errorf("store: fingerprints: %w", classify(err))
		}
		if err := fn(id, cluster, feed, fromMillis(sql.NullInt64{Int64: at, Valid: true}), data); err != nil {
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
