package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Feed is the poll state of one feed.
type Feed struct {
	ID  string
	URL string // the URL configured for the feed
	// FetchURL is where the feed is fetched from when it differs from URL: the target of a
	// permanent redirect (301, 308). Empty means URL.
	FetchURL     string
	ETag         string // validator of the last 200 response, sent back as If-None-Match
	LastModified string // validator of the last 200 response, sent back as If-Modified-Since

	LastPollAt    time.Time // zero when never polled
	LastSuccessAt time.Time // zero when never polled successfully
	NextPollAt    time.Time // zero when not scheduled

	LastStatus          int    // HTTP status of the last poll; 0 for file feeds or none
	LastError           string // of the last failed poll; the caller clears it on success
	ErrorClass          string // class of LastError
	ConsecutiveFailures int
	Items               int64         // articles recorded in total
	PublishingGap       time.Duration // how often the feed publishes, as last measured; 0 unknown
	// PagesRead counts the articles whose text came from their page; PagesFailed, by reason,
	// those whose page was wanted but not used. Both since the feed was first polled.
	PagesRead   int64
	PagesFailed map[string]int64
}

const feedColumns = `id, url, etag, last_modified, last_poll_at, last_success_at, next_poll_at,
	last_status, last_error, error_class, consecutive_failures, items, fetch_url, publishing_gap_ms,
	pages_read, pages_failed`

// Feed returns the state of the feed with the given id, and whether it is recorded.
func (s *Store) Feed(ctx context.Context, id string) (Feed, bool, error) {
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return Feed{}, false, fmt.Errorf("store: feed %q: %w", id, err)
	}
	defer c.Close()
	row := c.QueryRowContext(ctx, `SELECT `+feedColumns+` FROM feeds WHERE id = ?`, id)
	f, err := scanFeed(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Feed{}, false, nil
	}
	if err != nil {
		return Feed{}, false, fmt.Errorf("store: feed %q: %w", id, classify(err))
	}
	return f, true, nil
}

// PutFeed records the state of a feed, replacing any earlier state of the same id.
func (s *Store) PutFeed(ctx context.Context, f Feed) error {
	switch {
	case f.ID == "":
		return fmt.Errorf("store: put feed: id is empty (url %q)", f.URL)
	case f.URL == "":
		return fmt.Errorf("store: put feed %q: url is empty", f.ID)
	}
	pagesFailed := "{}"
	if len(f.PagesFailed) > 0 {
		b, err := json.Marshal(f.PagesFailed)
		if err != nil {
			return fmt.Errorf("store: put feed %q: pages failed: %w", f.ID, err)
		}
		pagesFailed = string(b)
	}
	qctx, err := quiet(ctx)
	if err != nil {
		return fmt.Errorf("store: put feed %q: %w", f.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(qctx, `
INSERT INTO feeds (`+feedColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	url = excluded.url,
	etag = excluded.etag,
	last_modified = excluded.last_modified,
	last_poll_at = excluded.last_poll_at,
	last_success_at = excluded.last_success_at,
	next_poll_at = excluded.next_poll_at,
	last_status = excluded.last_status,
	last_error = excluded.last_error,
	error_class = excluded.error_class,
	consecutive_failures = excluded.consecutive_failures,
	items = excluded.items,
	fetch_url = excluded.fetch_url,
	publishing_gap_ms = excluded.publishing_gap_ms,
	pages_read = excluded.pages_read,
	pages_failed = excluded.pages_failed`,
			f.ID, f.URL, f.ETag, f.LastModified,
			millis(f.LastPollAt), millis(f.LastSuccessAt), millis(f.NextPollAt),
			f.LastStatus, f.LastError, f.ErrorClass, f.ConsecutiveFailures, f.Items,
			f.FetchURL, f.PublishingGap.Milliseconds(), f.PagesRead, pagesFailed)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: put feed %q: %w", f.ID, classify(err))
	}
	return nil
}

// Feeds returns the state of every recorded feed, ordered by id.
func (s *Store) Feeds(ctx context.Context) ([]Feed, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+feedColumns+` FROM feeds ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: feeds: %w", classify(err))
	}
	defer rows.Close()
	var feeds []Feed
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("store: feeds: %w", classify(err))
		}
		feeds = append(feeds, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: feeds: %w", classify(err))
	}
	return feeds, nil
}

// scanFeed reads one row of feedColumns.
func scanFeed(row interface{ Scan(...any) error }) (Feed, error) {
	var (
		f                       Feed
		lastPoll, lastOK, nextP sql.NullInt64
		gapMillis               int64
		pagesFailed             string
	)
	err := row.Scan(&f.ID, &f.URL, &f.ETag, &f.LastModified, &lastPoll, &lastOK, &nextP,
		&f.LastStatus, &f.LastError, &f.ErrorClass, &f.ConsecutiveFailures, &f.Items,
		&f.FetchURL, &gapMillis, &f.PagesRead, &pagesFailed)
	if err != nil {
		return Feed{}, err
	}
	if pagesFailed != "{}" && pagesFailed != "" {
		if err := json.Unmarshal([]byte(pagesFailed), &f.PagesFailed); err != nil {
			return Feed{}, fmt.Errorf("pages failed %q: %w", pagesFailed, err)
		}
	}
	f.PublishingGap = time.Duration(gapMillis) * time.Millisecond
	f.LastPollAt, f.LastSuccessAt, f.NextPollAt = fromMillis(lastPoll), fromMillis(lastOK), fromMillis(nextP)
	return f, nil
}
