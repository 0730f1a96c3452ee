package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Batch is one write transaction that records many articles: a poll's worth of articles costs
// one commit instead of one each.
//
// Begin a Batch with [Store.Begin] and end it with Commit or Rollback; until then it holds the
// Store's write slot, so other writers of the Store wait. A Batch is not safe for concurrent use.
type Batch struct {
	s    *Store
	tx   *sql.Tx
	done bool
	// queued counts the messages inserted; they join the Store's unsent count at Commit.
	queued int64
}

// Begin starts a Batch. It waits for the Store's write slot, honouring ctx.
func (s *Store) Begin(ctx context.Context) (*Batch, error) {
	select {
	case s.writeSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("store: begin: %w", ctx.Err())
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		<-s.writeSlot
		s.noteWrite(err)
		return nil, fmt.Errorf("store: begin: %w", classify(err))
	}
	return &Batch{s: s, tx: tx}, nil
}

// Insert adds the article and its message to the batch, as [Store.Insert] does. An error
// wrapping ErrExists leaves the batch usable, without the article; after any other error the
// batch must be rolled back.
func (b *Batch) Insert(ctx context.Context, a Article, m Message) (int64, error) {
	if b.done {
		return 0, fmt.Errorf("store: insert article %s: %w", a.ID, errBatchDone)
	}
	seq, err := insert(ctx, b.tx, a, m)
	if err != nil {
		b.s.noteWrite(err) // a full disk shows in Ping even if the caller never commits
		return 0, fmt.Errorf("store: insert article %s: %w", a.ID, classify(err))
	}
	b.queued++
	return seq, nil
}

// HasURL is [Store.HasURL] inside the batch: it sees the batch's own inserts.
func (b *Batch) HasURL(ctx context.Context, canonicalURL string) (bool, error) {
	if canonicalURL == "" || b.done {
		return b.s.HasURL(ctx, canonicalURL)
	}
	return hasURL(ctx, b.tx, canonicalURL)
}

// HasGUID is [Store.HasGUID] inside the batch: it sees the batch's own inserts.
func (b *Batch) HasGUID(ctx context.Context, feedID, guid string) (bool, error) {
	if guid == "" || b.done {
		return b.s.HasGUID(ctx, feedID, guid)
	}
	return hasGUID(ctx, b.tx, feedID, guid)
}

// FindContent is [Store.FindContent] inside the batch: it sees the batch's own inserts.
func (b *Batch) FindContent(ctx context.Context, key string, since time.Time) (Ref, bool, error) {
	if key == "" || b.done {
		return b.s.FindContent(ctx, key, since)
	}
	return findContent(ctx, b.tx, key, since)
}

// Commit makes every insert of the batch durable at once and ends the batch. On error nothing
// of the batch is recorded.
func (b *Batch) Commit() error {
	if b.done {
		return fmt.Errorf("store: commit: %w", errBatchDone)
	}
	b.done = true
	defer func() { <-b.s.writeSlot }()
	err := b.tx.Commit()
	b.s.noteWrite(err)
	if err != nil {
		return fmt.Errorf("store: commit: %w", classify(err))
	}
	b.s.unsent.Add(b.queued)
	return nil
}

// Rollback discards the batch and ends it. After Commit it does nothing, so that
//
//	defer b.Rollback()
//
// is safe.
func (b *Batch) Rollback() error {
	if b.done {
		return nil
	}
	b.done = true
	defer func() { <-b.s.writeSlot }()
	if err := b.tx.Rollback(); err != nil {
		return fmt.Errorf("store: rollback: %w", err)
	}
	return nil
}

var errBatchDone = errors.New("batch already committed or rolled back")
