package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Prior is what the store holds of a recorded item: enough to tell a repeat from a correction
// of an article already published.
type Prior struct {
	ID          string
	ClusterID   string
	DuplicateOf string
	ContentKey  string
	ItemHash    string    // "" for an article recorded before item hashes were kept
	FetchedAt   time.Time // when it was first recorded
}

const (
	queryPriorURL = `SELECT id, cluster_id, duplicate_of, content_key, item_hash, fetched_at FROM articles
WHERE canonical_url = ? AND canonical_url <> ''`
	queryPriorGUID = `SELECT id, cluster_id, duplicate_of, content_key, item_hash, fetched_at FROM articles
WHERE feed_id = ? AND guid = ? AND guid <> ''`
)

// Prior returns the recorded article with the canonical URL (in any feed) or, failing that, with
// the GUID in the feed: the article a repeat of the item repeats. Empty keys match nothing.
func (s *Store) Prior(ctx context.Context, feedID, canonicalURL, guid string) (Prior, bool, error) {
	if canonicalURL == "" && guid == "" {
		return Prior{}, false, nil
	}
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return Prior{}, false, fmt.Errorf("store: prior of %q: %w", canonicalURL+" "+guid, err)
	}
	defer c.Close()
	return prior(ctx, c, feedID, canonicalURL, guid)
}

// Prior is [Store.Prior] inside the batch: it sees the batch's own writes.
func (b *Batch) Prior(ctx context.Context, feedID, canonicalURL, guid string) (Prior, bool, error) {
	if (canonicalURL == "" && guid == "") || b.done {
		return b.s.Prior(ctx, feedID, canonicalURL, guid)
	}
	return prior(ctx, b.tx, feedID, canonicalURL, guid)
}

func prior(ctx context.Context, q querier, feedID, canonicalURL, guid string) (Prior, bool, error) {
	ctx, err := quiet(ctx)
	if err != nil {
		return Prior{}, false, err
	}
	for _, l := range []struct {
		query string
		args  []any
		ok    bool
	}{
		{queryPriorURL, []any{canonicalURL}, canonicalURL != ""},
		{queryPriorGUID, []any{feedID, guid}, guid != ""},
	} {
		if !l.ok {
			continue
		}
		var p Prior
		var fetched int64
		err := q.QueryRowContext(ctx, l.query, l.args...).Scan(&p.ID, &p.ClusterID, &p.DuplicateOf, &p.ContentKey, &p.ItemHash, &fetched)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Prior{}, false, fmt.Errorf("store: prior of %q: %w", canonicalURL+" "+guid, classify(err))
		}
		p.FetchedAt = time.UnixMilli(fetched).UTC()
		return p, true, nil
	}
	return Prior{}, false, nil
}

// Revise records a new version of the article id: its item hash and content key, and, when m is
// not nil, the message announcing it, queued in the outbox. The article keeps its id, keys and
// cluster. With m nil it only remembers the item's new hash (a change that is not material).
func (b *Batch) Revise(ctx context.Context, id, itemHash, contentKey string, m *Message) error {
	if b.done {
		return fmt.Errorf("store: revise article %s: %w", id, errBatchDone)
	}
	err := func() error {
		ctx, err := quiet(ctx)
		if err != nil {
			return err
		}
		res, err := b.tx.ExecContext(ctx, `UPDATE articles SET item_hash = ?, content_key = ? WHERE id = ?`,
			itemHash, contentKey, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("no article with that id: %w", sql.ErrNoRows)
		}
		if m == nil {
			return nil
		}
		header, err := encodeHeader(m.Header)
		if err != nil {
			return fmt.Errorf("message header: %w", err)
		}
		createdAt := m.CreatedAt
		if createdAt.IsZero() {
			createdAt = time.Now()
		}
		data := m.Data
		if data == nil {
			data = []byte{}
		}
		if _, err := queue(ctx, b.tx, *m, header, data, createdAt); err != nil {
			return err
		}
		b.queued++
		return nil
	}()
	if err != nil {
		b.s.noteWrite(err)
		return fmt.Errorf("store: revise article %s: %w", id, classify(err))
	}
	return nil
}
