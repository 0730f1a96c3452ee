package pipeline

import (
	"context"
	"time"

	"github.com/feedd/feedd/store"
)

// inflight holds the repeat and content keys of the articles decided but not yet committed:
// ingest decides under ingestMu and writes after releasing it, so a decision must see the
// articles of the batches still being written as well as the store's. It is guarded by ingestMu.
type inflight struct {
	ids     map[string]bool
	urls    map[string]bool
	guids   map[feedGUID]bool
	content map[string]store.Ref // the first article in flight with the content key
}

type feedGUID struct{ feed, guid string }

func newInflight() *inflight {
	return &inflight{ids: map[string]bool{}, urls: map[string]bool{}, guids: map[feedGUID]bool{},
		content: map[string]store.Ref{}}
}

// add registers the keys of a decided article.
func (f *inflight) add(a *store.Article) {
	f.ids[a.ID] = true
	if a.CanonicalURL != "" {
		f.urls[a.CanonicalURL] = true
	}
	if a.GUID != "" {
		f.guids[feedGUID{a.FeedID, a.GUID}] = true
	}
	if a.ContentKey != "" {
		if _, ok := f.content[a.ContentKey]; !ok {
			f.content[a.ContentKey] = store.Ref{ID: a.ID, ClusterID: a.ClusterID, PublishedAt: a.PublishedAt}
		}
	}
}

// remove drops the keys of an article once it is committed (the store answers for it now) or
// abandoned.
func (f *inflight) remove(a *store.Article) {
	delete(f.ids, a.ID)
	delete(f.urls, a.CanonicalURL)
	delete(f.guids, feedGUID{a.FeedID, a.GUID})
	if ref, ok := f.content[a.ContentKey]; ok && ref.ID == a.ID {
		delete(f.content, a.ContentKey)
	}
}

// inflightKeys answers the duplicate decision's lookups from the committed articles and those
// in flight. The caller holds ingestMu.
type inflightKeys struct {
	store KeyStore
	f     *inflight
}

func (k inflightKeys) HasURL(ctx context.Context, u string) (bool, error) {
	if k.f.urls[u] {
		return true, nil
	}
	return k.store.HasURL(ctx, u)
}

func (k inflightKeys) HasGUID(ctx context.Context, feedID, guid string) (bool, error) {
	if k.f.guids[feedGUID{feedID, guid}] {
		return true, nil
	}
	return k.store.HasGUID(ctx, feedID, guid)
}

// FindContent prefers a committed original, which is older than any in flight.
func (k inflightKeys) FindContent(ctx context.Context, key string, since time.Time) (store.Ref, bool, error) {
	ref, ok, err := k.store.FindContent(ctx, key, since)
	if ok || err != nil {
		return ref, ok, err
	}
	ref, ok = k.f.content[key]
	return ref, ok, nil
}
