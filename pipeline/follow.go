package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/store"
)

// In cluster mode every replica follows the stream the leader publishes to: its repeat keys
// and duplicate index hold what the stream holds, so that it can lead at once (see package
// cluster). Apply records one message of the stream; a replica that stops leading calls
// DropUnsent so that its state is again the stream's.

// StreamStore is the part of the store that following the stream writes. The store package
// implements it.
type StreamStore interface {
	// Follow records message seq of stream: the article a (nil for none) as already sent, or,
	// when its keys are recorded, marks the unsent message msgID sent; and seq as applied.
	Follow(ctx context.Context, stream string, seq uint64, a *store.Article, msgID string, at time.Time) (bool, error)
	// DropUnsent deletes the unsent messages and their articles, and returns the articles' ids.
	DropUnsent(ctx context.Context) ([]string, error)
}

var _ StreamStore = (*store.Store)(nil)

// errNoStreamStore is returned when the pipeline's store cannot follow a stream.
var errNoStreamStore = errors.New("pipeline: the store cannot follow a stream")

// Apply records a, the article of message seq of stream (with Nats-Msg-Id msgID), as a
// standby does: its repeat keys and content key as already published, and its fingerprint,
// recomputed from its title and text, in the duplicate index; the sequence is recorded in the
// same transaction. An article already recorded (the leader's own, or an update event of a
// known article) is not recorded again: its outbox message, if still unsent, is marked sent,
// since the stream holds it. A message without an id, feed or fetch time is skipped, its
// sequence recorded. It reports whether a was recorded.
func (p *Pipeline) Apply(ctx context.Context, stream string, seq uint64, a *article.Article, msgID string) (bool, error) {
	ss, ok := p.store.(StreamStore)
	if !ok {
		return false, errNoStreamStore
	}
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	if a.ID == "" || a.FeedID == "" || a.FetchedAt.IsZero() {
		// Not an article feedd published: skipped, so that it cannot stop the follower.
		p.log.Warn("a message of the stream is not an article: skipped", "stream", stream, "seq", seq,
			"id", a.ID, "feed", a.FeedID)
		_, err := ss.Follow(ctx, stream, seq, nil, "", time.Now())
		return false, err
	}
	text := a.ContentText
	if text == "" {
		text = a.Summary
	}
	dec, err := p.decider.Decide(ctx, dedupe.Doc{FeedID: a.FeedID, Source: a.Source, CanonicalURL: a.CanonicalURL,
		GUID: a.GUID, Title: a.Title, Text: text, PublishedAt: a.PublishedAt}, a.FetchedAt)
	if err != nil {
		return false, fmt.Errorf("decide article %s: %w", a.ID, err)
	}
	var rec *store.Article
	if dec.Verdict != dedupe.Repeat && a.UpdatedOf == "" {
		rec = &store.Article{
			ID: a.ID, FeedID: a.FeedID, CanonicalURL: a.CanonicalURL, GUID: a.GUID,
			ContentKey: dec.ContentKey, Fingerprint: dec.Fingerprint,
			ClusterID: a.ClusterID, DuplicateOf: a.DuplicateOf, Title: a.Title,
			PublishedAt: a.PublishedAt, FetchedAt: a.FetchedAt,
		}
		if rec.ClusterID == "" {
			rec.ClusterID = rec.ID
		}
	}
	recorded, err := ss.Follow(ctx, stream, seq, rec, msgID, time.Now())
	if err != nil {
		return false, err
	}
	if recorded && rec.Fingerprint != nil {
		p.decider.Record(rec.ID, rec.ClusterID, dec)
	}
	return recorded, nil
}

// DropUnsent deletes what was recorded but not published (the unsent outbox messages and
// their articles) and forgets those articles from the duplicate index, so that the state is
// again exactly what the stream holds. A replica in cluster mode calls it when it stops
// leading, after its relay has stopped. It returns how many articles it dropped.
func (p *Pipeline) DropUnsent(ctx context.Context) (int, error) {
	ss, ok := p.store.(StreamStore)
	if !ok {
		return 0, errNoStreamStore
	}
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	ids, err := ss.DropUnsent(ctx)
	if err != nil {
		return 0, err
	}
	p.decider.Forget(ids...)
	p.m.OutboxDepth.Set(float64(p.store.Unsent()))
	return len(ids), nil
}
