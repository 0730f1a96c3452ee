package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Recent is a recorded article as the status page lists it.
type Recent struct {
	ID          string
	FeedID      string
	URL         string // the canonical URL, "" when the item had no link
	Title       string
	PublishedAt time.Time // zero when unknown
	FetchedAt   time.Time
	// DuplicateOf is the id of the original, "" for a new article; OriginalTitle and
	// OriginalFeedID describe it, "" when it is not recorded.
	DuplicateOf    string
	OriginalTitle  string
	OriginalFeedID string
}

// Recent returns the last n articles recorded, the latest first.
func (s *Store) Recent(ctx context.Context, n int) ([]Recent, error) {
	if n <= 0 {
		return nil, nil
	}
	// The rowid is the order of insertion; its index is the table itself.
	rows, err := s.db.QueryContext(ctx, `
SELECT a.id, a.feed_id, a.canonical_url, a.title, a.published_at, a.fetched_at, a.duplicate_of,
	coalesce(o.title, ''), coalesce(o.feed_id, '')
FROM articles a LEFT JOIN articles o ON a.duplicate_of <> '' AND o.id = a.duplicate_of
ORDER BY a.rowid DESC
LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent articles: %w", classify(err))
	}
	defer rows.Close()
	out := make([]Recent, 0, n)
	for rows.Next() {
		var (
			r         Recent
			published sql.NullInt64
			fetched   int64
		)
		if err := rows.Scan(&r.ID, &r.FeedID, &r.URL, &r.Title, &published, &fetched, &r.DuplicateOf,
			&r.OriginalTitle, &r.OriginalFeedID); err != nil {
			return nil, fmt.Errorf("store: recent articles: %w", classify(err))
		}
		r.PublishedAt = fromMillis(published)
		r.FetchedAt = time.UnixMilli(fetched).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recent articles: %w", classify(err))
	}
	return out, nil
}
