package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are applied in order; after migration i the schema version (PRAGMA user_version)
// is i+1. Append new migrations; never edit or reorder applied ones.
var migrations = []string{
	// 1: feeds, articles with their dedupe keys, outbox.
	`
CREATE TABLE feeds (
	id                   TEXT PRIMARY KEY,
	url                  TEXT NOT NULL,
	etag                 TEXT NOT NULL DEFAULT '',
	last_modified        TEXT NOT NULL DEFAULT '',
	last_poll_at         INTEGER, -- unix ms UTC; NULL when never
	last_success_at      INTEGER,
	next_poll_at         INTEGER,
	last_status          INTEGER NOT NULL DEFAULT 0,
	last_error           TEXT NOT NULL DEFAULT '',
	error_class          TEXT NOT NULL DEFAULT '',
	consecutive_failures INTEGER NOT NULL DEFAULT 0,
	items                INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE articles (
	id            TEXT PRIMARY KEY,
	feed_id       TEXT NOT NULL,
	canonical_url TEXT NOT NULL DEFAULT '',
	guid          TEXT NOT NULL DEFAULT '',
	content_key   TEXT NOT NULL DEFAULT '',
	cluster_id    TEXT NOT NULL DEFAULT '',
	duplicate_of  TEXT NOT NULL DEFAULT '',
	title         TEXT NOT NULL DEFAULT '',
	published_at  INTEGER,          -- unix ms UTC; NULL when unknown
	fetched_at    INTEGER NOT NULL  -- unix ms UTC
) STRICT;

-- Repeats: a canonical URL in any feed, a GUID within its feed. Empty keys are not keys.
CREATE UNIQUE INDEX articles_canonical_url ON articles (canonical_url) WHERE canonical_url <> '';
CREATE UNIQUE INDEX articles_feed_guid ON articles (feed_id, guid) WHERE guid <> '';
-- Exact-content duplicates: the oldest article with a key within a time window.
CREATE INDEX articles_content_key ON articles (content_key, fetched_at) WHERE content_key <> '';

CREATE TABLE outbox (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after pruning
	msg_id     TEXT NOT NULL UNIQUE,
	subject    TEXT NOT NULL,
	header     TEXT NOT NULL DEFAULT '{}', -- JSON object of string values
	data       BLOB NOT NULL,
	created_at INTEGER NOT NULL, -- unix ms UTC
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	sent_at    INTEGER           -- unix ms UTC; NULL while unsent
) STRICT;

CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
`,
	// 2: near-duplicate fingerprints, kept apart from the articles so that pruning them (outside
	// the duplicate window) leaves the repeat keys in place.
	`
CREATE TABLE fingerprints (
	article_id TEXT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
	at         INTEGER NOT NULL, -- unix ms UTC: the article's time (published, else fetched)
	data       BLOB NOT NULL     -- the dedupe package's encoding, opaque here
) STRICT;

CREATE INDEX fingerprints_at ON fingerprints (at);
`,
	// 3: where a feed lives after a permanent redirect, and how often it publishes.
	`
ALTER TABLE feeds ADD COLUMN fetch_url TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN publishing_gap_ms INTEGER NOT NULL DEFAULT 0;
`,
	// 4: the fingerprints carry what rebuilding the duplicate index needs (the article's cluster
	// and feed, copied from the immutable article row, so that no join is needed) and are kept in
	// the order it reads them: a table clustered on (at, seq), where seq is the article's rowid
	// (ties on the time go to the earlier insert), turns the restore into one sequential range
	// scan instead of a table lookup per row.
	`
CREATE TABLE fingerprints_v4 (
	at         INTEGER NOT NULL, -- unix ms UTC: the article's time (published, else fetched)
	seq        INTEGER NOT NULL, -- the article's rowid
	article_id TEXT NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE,
	cluster_id TEXT NOT NULL,
	feed_id    TEXT NOT NULL,
	data       BLOB NOT NULL,    -- the dedupe package's encoding, opaque here
	PRIMARY KEY (at, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO fingerprints_v4 (at, seq, article_id, cluster_id, feed_id, data)
SELECT f.at, a.rowid, f.article_id, a.cluster_id, a.feed_id, f.data
FROM fingerprints f JOIN articles a ON a.id = f.article_id
ORDER BY f.at, a.rowid;

DROP TABLE fingerprints;
ALTER TABLE fingerprints_v4 RENAME TO fingerprints;
`,
	// 5: message bodies in a table of their own, so that marking a message sent rewrites a
	// small row rather than the whole body.
	`
CREATE TABLE outbox_body (
	seq  INTEGER PRIMARY KEY REFERENCES outbox (seq) ON DELETE CASCADE,
	data BLOB NOT NULL
) STRICT;
INSERT INTO outbox_body (seq, data) SELECT seq, data FROM outbox;
ALTER TABLE outbox DROP COLUMN data;
`,
	// 6: a hash of the item as the feed last gave it, so that a repeat whose feed text is
	// unchanged is told from one that may carry a correction without processing its text.
	`
ALTER TABLE articles ADD COLUMN item_hash TEXT NOT NULL DEFAULT '';
`,
	// 7: what full text did for each feed: pages read, and pages not used by reason (a JSON
	// object of counts).
	`
ALTER TABLE feeds ADD COLUMN pages_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN pages_failed TEXT NOT NULL DEFAULT '{}';
`,
	// 8: in cluster mode, the last message of the followed stream whose article this replica
	// recorded, written in the transaction that records it.
	`
CREATE TABLE follow (
	stream  TEXT PRIMARY KEY,
	applied INTEGER NOT NULL -- stream sequence
) STRICT;
`,
}

// migrate applies the migrations the database lacks, each in its own transaction together with
// the version bump, so a failed migration leaves the previous version intact.
func (s *Store) migrate(ctx context.Context) error {
	for {
		err := s.write(ctx, func(tx *sql.Tx) error {
			// Read the version inside the (immediate) transaction: a second process opening
			// the same new file waits here instead of applying the same migration twice.
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			switch {
			case v > len(migrations):
				return fmt.Errorf("schema version %d is newer than this build knows (%d)", v, len(migrations))
			case v == len(migrations):
				return errUpToDate
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			// PRAGMA takes no bound parameters; v+1 is an int we computed.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
				return fmt.Errorf("migration %d: set schema version: %w", v+1, err)
			}
			return nil
		})
		if errors.Is(err, errUpToDate) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// errUpToDate ends the migration loop; it never leaves the package.
var errUpToDate = errors.New("schema up to date")
