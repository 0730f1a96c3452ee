package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Article is the record of one article: the keys that identify a repeat or an exact-content
// duplicate, and what the duplicate decision needs to point at the original.
type Article struct {
	ID           string // hex SHA-256 (the primary key)
	FeedID       string
	CanonicalURL string // may be ""; unique among articles when not
	GUID         string // may be ""; unique within its feed when not
	ContentKey   string // exact-content hash, may be ""
	ClusterID    string // id of the first article of the story
	DuplicateOf  string // id of the original; "" for a new article
	Title        string
	PublishedAt  time.Time // zero when unknown
	FetchedAt    time.Time // required
	// ItemHash is a hash of the item as its feed gave it (opaque here; "" for none): see
	// [Store.Prior].
	ItemHash string
	// Fingerprint is the near-duplicate fingerprint (opaque bytes from the dedupe package), nil
	// for none. It is recorded with the article's time: PublishedAt, or FetchedAt when that is
	// zero; see [Store.Fingerprints] and [Store.PruneFingerprints].
	Fingerprint []byte
}

// Ref points at a recorded article.
type Ref struct {
	ID          string
	ClusterID   string
	PublishedAt time.Time // zero when unknown
}

// Lookups of the duplicate decision. Each repeats its partial index's "<> ”" condition: SQLite
// uses a partial index only for a query whose WHERE clause implies the index's.
const (
	queryHasURL = `SELECT EXISTS (
	SELECT 1 FROM articles WHERE canonical_url = ? AND canonical_url <> '')`
	queryHasGUID = `SELECT EXISTS (
	SELECT 1 FROM articles WHERE feed_id = ? AND guid = ? AND guid <> '')`
	// Ties on fetched_at go to the earlier insert (rowid), which the index order gives for free.
	queryFindContent = `SELECT id, cluster_id, published_at FROM articles
WHERE content_key = ? AND content_key <> '' AND fetched_at >= ?
ORDER BY fetched_at, rowid
LIMIT 1`
)

// querier runs a one-row query: a *sql.Conn from the pool, or the *sql.Tx of a Batch, whose
// lookups see its own uncommitted inserts.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// HasURL reports whether an article with the canonical URL is recorded, from any feed. The
// empty URL is never recorded.
func (s *Store) HasURL(ctx context.Context, canonicalURL string) (bool, error) {
	if canonicalURL == "" { // never recorded: no need for a connection
		return false, nil
	}
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return false, fmt.Errorf("store: has url %q: %w", canonicalURL, err)
	}
	defer c.Close()
	return hasURL(ctx, c, canonicalURL)
}

// HasGUID reports whether an article with the GUID is recorded for the feed. The empty GUID is
// never recorded.
func (s *Store) HasGUID(ctx context.Context, feedID, guid string) (bool, error) {
	if guid == "" { // never recorded: no need for a connection
		return false, nil
	}
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return false, fmt.Errorf("store: has guid %q in feed %q: %w", guid, feedID, err)
	}
	defer c.Close()
	return hasGUID(ctx, c, feedID, guid)
}

// FindContent returns the first (oldest by fetch time) article with the content key fetched at
// or after since: the original a duplicate points to. A zero since means no lower bound. The
// empty key matches nothing.
func (s *Store) FindContent(ctx context.Context, key string, since time.Time) (Ref, bool, error) {
	if key == "" { // never recorded: no need for a connection
		return Ref{}, false, nil
	}
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: find content %q: %w", key, err)
	}
	defer c.Close()
	return findContent(ctx, c, key, since)
}

func hasURL(ctx context.Context, q querier, canonicalURL string) (bool, error) {
	if canonicalURL == "" {
		return false, nil
	}
	ctx, err := quiet(ctx)
	if err != nil {
		return false, fmt.Errorf("store: has url %q: %w", canonicalURL, err)
	}
	var ok bool
	if err := q.QueryRowContext(ctx, queryHasURL, canonicalURL).Scan(&ok); err != nil {
		return false, fmt.Errorf("store: has url %q: %w", canonicalURL, classify(err))
	}
	return ok, nil
}

func hasGUID(ctx context.Context, q querier, feedID, guid string) (bool, error) {
	if guid == "" {
		return false, nil
	}
	ctx, err := quiet(ctx)
	if err != nil {
		return false, fmt.Errorf("store: has guid %q in feed %q: %w", guid, feedID, err)
	}
	var ok bool
	if err := q.QueryRowContext(ctx, queryHasGUID, feedID, guid).Scan(&ok); err != nil {
		return false, fmt.Errorf("store: has guid %q in feed %q: %w", guid, feedID, classify(err))
	}
	return ok, nil
}

func findContent(ctx context.Context, q querier, key string, since time.Time) (Ref, bool, error) {
	if key == "" {
		return Ref{}, false, nil
	}
	ctx, err := quiet(ctx)
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: find content %q: %w", key, err)
	}
	var (
		ref       Ref
		published sql.NullInt64
	)
	err = q.QueryRowContext(ctx, queryFindContent, key, sinceMillis(since)).
		Scan(&ref.ID, &ref.ClusterID, &published)
	if errors.Is(err, sql.ErrNoRows) {
		return Ref{}, false, nil
	}
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: find content %q: %w", key, classify(err))
	}
	ref.PublishedAt = fromMillis(published)
	return ref, true, nil
}

// Insert records the article and queues its message in one transaction, and returns the
// message's outbox sequence number. Either both are recorded or, on any error, neither.
//
// When the article's id, canonical URL or (feed, GUID) is already recorded, the error wraps
// [ErrExists]. The message's MsgID must be unique among the outbox rows; its Seq, Attempts and
// LastError are ignored, and a zero CreatedAt is replaced by the current time.
func (s *Store) Insert(ctx context.Context, a Article, m Message) (seq int64, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		seq, err = insert(ctx, tx, a, m)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: insert article %s: %w", a.ID, classify(err))
	}
	s.unsent.Add(1)
	return seq, nil
}

// insert records a and queues m within tx. A conflict on the article's keys, found by its first
// statement, leaves nothing behind and returns an error wrapping ErrExists; any other error leaves
// the transaction to be rolled back. The caller names the article in the error.
func insert(ctx context.Context, tx *sql.Tx, a Article, m Message) (int64, error) {
	if err := validateInsert(a, m); err != nil {
		return 0, err
	}
	ctx, err := quiet(ctx)
	if err != nil {
		return 0, err
	}
	header, err := encodeHeader(m.Header)
	if err != nil {
		return 0, fmt.Errorf("message header: %w", err)
	}
	createdAt := m.CreatedAt
	if createdAt.IsZero() {
		createdAt = time.Now()
	}
	data := m.Data
	if data == nil {
		data = []byte{} // NOT NULL column: an empty body is an empty blob
	}
	if msg, taken, err := insertArticle(ctx, tx, a); taken {
		// SQLite undid the failed statement alone: the transaction holds nothing of a.
		return 0, fmt.Errorf("%s: %w", conflict(msg, a), ErrExists)
	} else if err != nil {
		return 0, err
	}
	return queue(ctx, tx, m, header, data, createdAt)
}

// insertArticle adds a and its fingerprint within tx. When a's keys are taken it adds nothing
// and returns the constraint's message with taken true.
func insertArticle(ctx context.Context, tx *sql.Tx, a Article) (msg string, taken bool, err error) {
	_, err = tx.ExecContext(ctx, `
INSERT INTO articles (id, feed_id, canonical_url, guid, content_key, cluster_id, duplicate_of,
	title, published_at, fetched_at, item_hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.FeedID, a.CanonicalURL, a.GUID, a.ContentKey, a.ClusterID, a.DuplicateOf,
		a.Title, millis(a.PublishedAt), a.FetchedAt.UnixMilli(), a.ItemHash)
	if msg, ok := isUnique(err); ok {
		return msg, true, nil
	}
	if err != nil {
		return "", false, err
	}
	if err := insertFingerprint(ctx, tx, a); err != nil {
		return "", false, fmt.Errorf("fingerprint: %w", err)
	}
	return "", false, nil
}

// queue adds m to the outbox within tx.
func queue(ctx context.Context, tx *sql.Tx, m Message, header string, data []byte, createdAt time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `
INSERT INTO outbox (msg_id, subject, header, created_at) VALUES (?, ?, ?, ?)`,
		m.MsgID, m.Subject, header, createdAt.UnixMilli())
	if _, ok := isUnique(err); ok {
		return 0, fmt.Errorf("outbox message id %q already queued: %w", m.MsgID, err)
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_body (seq, data) VALUES (?, ?)`, seq, data); err != nil {
		return 0, fmt.Errorf("outbox body: %w", err)
	}
	return seq, nil
}

// validateInsert checks the fields Insert requires.
func validateInsert(a Article, m Message) error {
	switch {
	case a.ID == "":
		return errors.New("id is empty")
	case a.FeedID == "":
		return errors.New("feed id is empty")
	case a.FetchedAt.IsZero():
		return errors.New("fetched at is zero")
	case m.MsgID == "":
		return errors.New("message id is empty")
	case m.Subject == "":
		return errors.New("message subject is empty")
	}
	return nil
}

// conflict names the key of a that SQLite's UNIQUE constraint message points at.
func conflict(msg string, a Article) string {
	switch {
	case strings.Contains(msg, "articles.canonical_url"):
		return fmt.Sprintf("canonical url %q", a.CanonicalURL)
	case strings.Contains(msg, "articles.guid"):
		return fmt.Sprintf("guid %q in feed %q", a.GUID, a.FeedID)
	default:
		return "same id"
	}
}

// encodeHeader stores a header as a JSON object with its keys in order; an empty header is "{}".
// Keys and values that need no escaping in JSON (the usual ids, URLs, types and times) are
// written as they are, without encoding/json's reflection; others go through encoding/json.
func encodeHeader(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "{}", nil
	}
	keys := make([]string, 0, len(h))
	size := 2
	for k, v := range h {
		if !plainJSON(k) || !plainJSON(v) {
			b, err := json.Marshal(h)
			return string(b), err
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteString(`":"`)
		b.WriteString(h[k])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// plainJSON reports whether s can stand between quotes in JSON as it is: valid UTF-8 without
// quotes, backslashes or control characters. (A real U+FFFD is refused with the invalid bytes it
// stands for: encoding/json takes it.)
func plainJSON(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == '"' || r == '\\' || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// Counts returns the number of recorded articles and of unsent outbox messages.
func (s *Store) Counts(ctx context.Context) (articles, pending int64, err error) {
	err = s.db.QueryRowContext(ctx, `
SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM outbox WHERE sent_at IS NULL)`).
		Scan(&articles, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("store: counts: %w", classify(err))
	}
	return articles, pending, nil
}
