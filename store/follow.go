package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A replica in cluster mode follows the stream its leader publishes to: it records each
// message's article as already sent, and the stream sequence it applied, in one transaction,
// so that it starts again after the last message it recorded.

// Applied returns the sequence of the last message of stream applied with Follow, 0 for none.
func (s *Store) Applied(ctx context.Context, stream string) (uint64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT applied FROM follow WHERE stream = ?`, stream).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: applied of stream %s: %w", stream, classify(err))
	}
	return uint64(seq), nil
}

// Follow records message seq of stream, in one transaction: the article a, if not nil, as
// already sent (no outbox row), and seq as the last applied. When a's id or keys are already
// recorded (this replica recorded it itself, as the leader, or an earlier message carried it),
// the article is not recorded again; an unsent outbox row with the message id msgID is marked
// sent at the given time instead, since the stream holds it. It reports whether a was recorded.
func (s *Store) Follow(ctx context.Context, stream string, seq uint64, a *Article, msgID string, at time.Time) (recorded bool, err error) {
	var marked int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		qctx, err := quiet(ctx)
		if err != nil {
			return err
		}
		if a != nil {
			recorded, err = follow(qctx, tx, *a)
			if err != nil {
				return err
			}
		}
		if !recorded && msgID != "" {
			res, err := tx.ExecContext(qctx, `UPDATE outbox SET sent_at = ? WHERE msg_id = ? AND sent_at IS NULL`,
				at.UnixMilli(), msgID)
			if err != nil {
				return fmt.Errorf("mark message %s sent: %w", msgID, err)
			}
			if marked, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(qctx, `INSERT INTO follow (stream, applied) VALUES (?, ?)
ON CONFLICT (stream) DO UPDATE SET applied = excluded.applied`, stream, int64(seq))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: follow %s message %d: %w", stream, seq, classify(err))
	}
	s.unsent.Add(-marked)
	return recorded, nil
}

// follow records a within tx without a message, and reports false when its keys are taken.
func follow(ctx context.Context, tx *sql.Tx, a Article) (bool, error) {
	switch {
	case a.ID == "":
		return false, errors.New("article id is empty")
	case a.FeedID == "":
		return false, fmt.Errorf("article %s: feed id is empty", a.ID)
	case a.FetchedAt.IsZero():
		return false, fmt.Errorf("article %s: fetched at is zero", a.ID)
	}
	if _, taken, err := insertArticle(ctx, tx, a); taken {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("article %s: %w", a.ID, err)
	}
	return true, nil
}

// DropUnsent deletes every unsent outbox message, and the articles recorded with them (by
// message id: the articles of new and duplicate messages, not those an update event revised),
// with their fingerprints, in one transaction. It returns the ids of the articles deleted.
//
// A replica that stops leading calls it, so that its state holds again exactly what the stream
// holds: what it recorded but did not publish is read again from the feeds by the next leader.
func (s *Store) DropUnsent(ctx context.Context) (ids []string, err error) {
	var dropped int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `DELETE FROM articles
WHERE id IN (SELECT msg_id FROM outbox WHERE sent_at IS NULL) RETURNING id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at IS NULL`)
		if err != nil {
			return err
		}
		dropped, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: drop unsent messages: %w", classify(err))
	}
	s.unsent.Add(-dropped)
	return ids, nil
}

// OldestUnsent returns the sequence of the oldest unsent outbox message, 0 when none is: every
// message below it is published.
func (s *Store) OldestUnsent(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(min(seq), 0) FROM outbox WHERE sent_at IS NULL`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: oldest unsent message: %w", classify(err))
	}
	return seq, nil
}

// LastSeq returns the sequence of the last message queued in the outbox, 0 for none.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM outbox`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: last outbox sequence: %w", classify(err))
	}
	return seq, nil
}
