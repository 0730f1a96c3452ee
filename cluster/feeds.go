package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats.go/jetstream"
)

// FeedsBucket is the name of the key-value bucket that holds the feed state of the replicas
// named name: "<name>_feeds".
func FeedsBucket(name string) string { return name + "_feeds" }

// EnsureFeedsBucket returns the feed state bucket of the replicas named name, creating it with
// the given replicas when it does not exist. Its entries never expire; a feed's key is its id.
func EnsureFeedsBucket(ctx context.Context, js jetstream.JetStream, name string, replicas int) (jetstream.KeyValue, error) {
	bucket := FeedsBucket(name)
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: "feedd feed state of " + name,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: feeds bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// Term is what a feed state write checks: the writer's epoch, and that its term lasts. *Lease
// is one.
type Term interface {
	Epoch() uint64
	Check() error
}

var _ Term = (*Lease)(nil)

// Feeds is the feed state in a key-value bucket: written by the leader, read by everyone. Its
// type is store.Feed, the state a single replica keeps in SQLite, so that the scheduler reads
// one type whichever holds it.
//
// Every entry carries the epoch of the term that wrote it, and a write is refused when the
// entry holds a later epoch: a deposed leader cannot overwrite what its successor wrote. A new
// leader calls Claim before it polls, so that from then on every entry refuses the older terms.
type Feeds struct {
	kv jetstream.KeyValue
}

// NewFeeds returns the feed state kept in kv (see [EnsureFeedsBucket]).
func NewFeeds(kv jetstream.KeyValue) *Feeds { return &Feeds{kv: kv} }

// entry is a feed's value in the bucket. Its fields are written out rather than taken from
// store.Feed's names, so that a change there cannot silently change what replicas exchange.
type entry struct {
	Epoch               uint64           `json:"epoch"`
	ID                  string           `json:"id"`
	URL                 string           `json:"url"`
	FetchURL            string           `json:"fetch_url,omitempty"`
	ETag                string           `json:"etag,omitempty"`
	LastModified        string           `json:"last_modified,omitempty"`
	LastPollAt          time.Time        `json:"last_poll_at,omitzero"`
	LastSuccessAt       time.Time        `json:"last_success_at,omitzero"`
	NextPollAt          time.Time        `json:"next_poll_at,omitzero"`
	LastStatus          int              `json:"last_status,omitempty"`
	LastError           string           `json:"last_error,omitempty"`
	ErrorClass          string           `json:"error_class,omitempty"`
	ConsecutiveFailures int              `json:"consecutive_failures,omitempty"`
	Items               int64            `json:"items,omitempty"`
	PublishingGapMS     int64            `json:"publishing_gap_ms,omitempty"`
	PagesRead           int64            `json:"pages_read,omitempty"`
	PagesFailed         map[string]int64 `json:"pages_failed,omitempty"`
}

func entryOf(epoch uint64, f store.Feed) entry {
	return entry{
		Epoch: epoch, ID: f.ID, URL: f.URL, FetchURL: f.FetchURL, ETag: f.ETag, LastModified: f.LastModified,
		LastPollAt: f.LastPollAt, LastSuccessAt: f.LastSuccessAt, NextPollAt: f.NextPollAt,
		LastStatus: f.LastStatus, LastError: f.LastError, ErrorClass: f.ErrorClass,
		ConsecutiveFailures: f.ConsecutiveFailures, Items: f.Items, PublishingGapMS: f.PublishingGap.Milliseconds(),
		PagesRead: f.PagesRead, PagesFailed: f.PagesFailed,
	}
}

func encodeEntry(epoch uint64, f store.Feed) ([]byte, error) {
	return json.Marshal(entryOf(epoch, f))
}

func (e entry) feed() store.Feed {
	return store.Feed{
		ID: e.ID, URL: e.URL, FetchURL: e.FetchURL, ETag: e.ETag, LastModified: e.LastModified,
		LastPollAt: e.LastPollAt, LastSuccessAt: e.LastSuccessAt, NextPollAt: e.NextPollAt,
		LastStatus: e.LastStatus, LastError: e.LastError, ErrorClass: e.ErrorClass,
		ConsecutiveFailures: e.ConsecutiveFailures, Items: e.Items,
		PublishingGap: time.Duration(e.PublishingGapMS) * time.Millisecond,
		PagesRead:     e.PagesRead, PagesFailed: e.PagesFailed,
	}
}

func decode(kve jetstream.KeyValueEntry) (entry, error) {
	e, err := parseEntry(kve.Key(), kve.Value())
	if err != nil {
		return entry{}, fmt.Errorf("cluster: feed %q revision %d: %w", kve.Key(), kve.Revision(), err)
	}
	return e, nil
}

// maxGap bounds a feed's publishing gap as read from the bucket: far beyond any poll interval,
// far below a time.Duration's range.
const maxGap = 10 * 365 * 24 * time.Hour

// parseEntry reads the value of the entry of feed id.
func parseEntry(id string, value []byte) (entry, error) {
	var e entry
	if err := json.Unmarshal(value, &e); err != nil {
		return entry{}, err
	}
	if e.ID != id {
		return entry{}, fmt.Errorf("holds feed %q", e.ID[:min(len(e.ID), maxShown)])
	}
	switch {
	case e.Epoch == 0:
		return entry{}, errors.New("no epoch")
	case e.PublishingGapMS < 0 || e.PublishingGapMS > maxGap.Milliseconds():
		return entry{}, fmt.Errorf("publishing gap %d ms out of range", e.PublishingGapMS)
	case e.Items < 0 || e.ConsecutiveFailures < 0 || e.PagesRead < 0:
		return entry{}, fmt.Errorf("negative count (items %d, consecutive failures %d)", e.Items, e.ConsecutiveFailures)
	}
	return e, nil
}

// Get returns the state of the feed with the given id, and whether there is one.
func (fs *Feeds) Get(ctx context.Context, id string) (store.Feed, bool, error) {
	kve, err := fs.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return store.Feed{}, false, nil
	}
	if err != nil {
		return store.Feed{}, false, fmt.Errorf("cluster: feed %q: %w", id, err)
	}
	e, err := decode(kve)
	if err != nil {
		return store.Feed{}, false, err
	}
	return e.feed(), true, nil
}

// All returns the state of every feed, in the bucket's order.
func (fs *Feeds) All(ctx context.Context) ([]store.Feed, error) {
	w, err := fs.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("cluster: list feeds: %w", err)
	}
	defer w.Stop()
	var out []store.Feed
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: list feeds: %w", ctx.Err())
		case kve, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("cluster: list feeds: watcher closed")
			}
			if kve == nil { // all current values delivered
				return out, nil
			}
			e, err := decode(kve)
			if err != nil {
				return nil, err
			}
			out = append(out, e.feed())
		}
	}
}

// Put writes the state of feed f for the term t. It fails without writing when t has ended, and
// with an error wrapping ErrDeposed when the entry was written by a later term.
func (fs *Feeds) Put(ctx context.Context, t Term, f store.Feed) error {
	return fs.write(ctx, t, f.ID, func(store.Feed, bool) (store.Feed, bool) { return f, true })
}

// Claim stamps every feed's entry with t's epoch, so that no earlier term can write it again.
// A new leader calls it before it polls.
func (fs *Feeds) Claim(ctx context.Context, t Term) error {
	ids, err := fs.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: claim feeds: %w", err)
	}
	for _, id := range ids {
		err := fs.write(ctx, t, id, func(cur store.Feed, ok bool) (store.Feed, bool) { return cur, ok })
		if err != nil {
			return err
		}
	}
	return nil
}

// write changes the entry of feed id with change, which gets the current state and whether
// there is one, and returns the new state and whether to write it. The write is conditional on
// the revision read, so a later term's write in between is seen.
func (fs *Feeds) write(ctx context.Context, t Term, id string, change func(store.Feed, bool) (store.Feed, bool)) error {
	for range 10 {
		if err := t.Check(); err != nil {
			return fmt.Errorf("cluster: write feed %q: %w", id, err)
		}
		var (
			rev uint64
			cur store.Feed
			has bool
		)
		kve, err := fs.kv.Get(ctx, id)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		case err != nil:
			return fmt.Errorf("cluster: write feed %q: %w", id, err)
		default:
			e, err := decode(kve)
			if err != nil {
				return err
			}
			if e.Epoch > t.Epoch() {
				return fmt.Errorf("cluster: write feed %q: %w: written by epoch %d, this term is %d", id, ErrDeposed, e.Epoch, t.Epoch())
			}
			rev, cur, has = kve.Revision(), e.feed(), true
		}
		f, ok := change(cur, has)
		if !ok {
			return nil
		}
		value, err := encodeEntry(t.Epoch(), f)
		if err != nil {
			return fmt.Errorf("cluster: write feed %q: %w", id, err)
		}
		if err := t.Check(); err != nil {
			return fmt.Errorf("cluster: write feed %q: %w", id, err)
		}
		if rev == 0 {
			_, err = fs.kv.Create(ctx, id, value)
		} else {
			_, err = fs.kv.Update(ctx, id, value, rev)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			continue // written in between: read it again
		default:
			return fmt.Errorf("cluster: write feed %q: %w", id, err)
		}
	}
	return fmt.Errorf("cluster: write feed %q: written by another writer at every one of 10 attempts", id)
}
