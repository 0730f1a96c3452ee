package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// PriorKey is one item's keys for Priors: its canonical URL and its GUID, either of them "".
type PriorKey struct{ CanonicalURL, GUID string }

const (
	// The canonical URLs and the GUIDs are looked up by their unique indexes, which hold only
	// the non-empty keys: the <> '' lets the planner use them.
	queryPriorsURL = `SELECT canonical_url, id, cluster_id, duplicate_of, content_key, item_hash, fetched_at FROM articles
WHERE canonical_url <> '' AND canonical_url IN `
	queryPriorsGUID = `SELECT guid, id, cluster_id, duplicate_of, content_key, item_hash, fetched_at FROM articles
WHERE feed_id = ? AND guid <> '' AND guid IN `
	// maxPriorsIn is the most keys one query asks for; more are asked in several.
	maxPriorsIn = 200
)

// Priors is Prior for many items of feed feedID at once: out[i] is what Prior finds for
// keys[i], or the zero Prior (its ID "") where it finds nothing. It asks for all the canonical
// URLs in one query, then for the GUIDs of the items not found by their URL in another, on one
// connection: a feed's repeats cost two statements instead of one or two per item.
func (s *Store) Priors(ctx context.Context, feedID string, keys []PriorKey) ([]Prior, error) {
	out := make([]Prior, len(keys))
	byURL := make(map[string][]int, len(keys))
	for i, k := range keys {
		if k.CanonicalURL != "" {
			byURL[k.CanonicalURL] = append(byURL[k.CanonicalURL], i)
		}
	}
	var byGUID map[string][]int // filled once the URLs are looked up
	if len(byURL) == 0 && !anyGUID(keys) {
		return out, nil
	}
	c, qctx, err := s.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: priors of feed %s: %w", feedID, err)
	}
	defer c.Close()
	if err := priorsIn(qctx, c, queryPriorsURL, nil, byURL, out); err != nil {
		return nil, fmt.Errorf("store: priors of feed %s: %w", feedID, classify(err))
	}
	for i, k := range keys {
		if out[i].ID == "" && k.GUID != "" {
			if byGUID == nil {
				byGUID = make(map[string][]int, len(keys))
			}
			byGUID[k.GUID] = append(byGUID[k.GUID], i)
		}
	}
	if err := priorsIn(qctx, c, queryPriorsGUID, []any{feedID}, byGUID, out); err != nil {
		return nil, fmt.Errorf("store: priors of feed %s: %w", feedID, classify(err))
	}
	return out, nil
}

func anyGUID(keys []PriorKey) bool {
	for _, k := range keys {
		if k.GUID != "" {
			return true
		}
	}
	return false
}

// priorsIn runs query, which selects the key then a Prior's columns and ends in "IN ", with
// args then the keys of want as its parameters, at most maxPriorsIn at a time, and sets out[i]
// for each index i that want gives the key found.
func priorsIn(ctx context.Context, c *sql.Conn, query string, args []any, want map[string][]int, out []Prior) error {
	if len(want) == 0 {
		return nil
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same statements, in the same order, for the same items
	params := make([]any, 0, len(args)+min(len(keys), maxPriorsIn))
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), maxPriorsIn)]
		keys = keys[len(chunk):]
		params = append(params[:0], args...)
		for _, k := range chunk {
			params = append(params, k)
		}
		rows, err := c.QueryContext(ctx, query+"(?"+strings.Repeat(",?", len(chunk)-1)+")", params...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				key     string
				p       Prior
				fetched int64
			)
			if err := rows.Scan(&key, &p.ID, &p.ClusterID, &p.DuplicateOf, &p.ContentKey, &p.ItemHash, &fetched); err != nil {
				rows.Close()
				return err
			}
			p.FetchedAt = time.UnixMilli(fetched).UTC()
			for _, i := range want[key] {
				out[i] = p
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
