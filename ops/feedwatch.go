package ops

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// FeedWatch notices when every feed is failing at once, which is most often the network (no
// route, no DNS) rather than the outlets. It says so once at warn level when it happens, once at
// info level when a feed answers again, and in /readyz through Check while it lasts.
type FeedWatch struct {
	feeds int
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	failing map[string]string // key of a feed that failed since any feed last succeeded → class
	since   time.Time         // when every feed was first seen failing; zero while one works
}

// NewFeedWatch watches feeds feeds. Report each poll's outcome with Failed or Succeeded.
func NewFeedWatch(feeds int, log *slog.Logger) *FeedWatch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FeedWatch{feeds: feeds, log: log, now: time.Now, failing: map[string]string{}}
}

// Failed records that the feed known by key (its URL) failed with the error class class.
func (w *FeedWatch) Failed(key, class string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failing[key] = class
	if w.since.IsZero() && w.feeds > 0 && len(w.failing) >= w.feeds {
		w.since = w.now()
		w.log.Warn("every feed is failing: is the network down?", "feeds", len(w.failing), "classes", w.classes())
	}
}

// Succeeded records that the feed known by key was fetched: not every feed is failing.
func (w *FeedWatch) Succeeded(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.since.IsZero() {
		w.log.Info("a feed answers again after every feed failed", "feed_url", key,
			"failing_for", w.now().Sub(w.since).Round(time.Second))
		w.since = time.Time{}
	}
	clear(w.failing)
}

// Reset watches a new number of feeds (after the feed list was reloaded), forgetting what failed:
// the new list is judged afresh.
func (w *FeedWatch) Reset(feeds int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.feeds = feeds
	w.since = time.Time{}
	clear(w.failing)
}

// Check is a /readyz check: a Degraded error while every feed is failing, else nil.
func (w *FeedWatch) Check(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since.IsZero() {
		return nil
	}
	return Degraded(fmt.Errorf("every feed failing since %s (%d feeds: %s): is the network down?",
		w.since.UTC().Format(time.RFC3339), len(w.failing), w.classes()))
}

// classes counts the failing feeds by class: "dns 17, timeout 1". w.mu is held.
func (w *FeedWatch) classes() string {
	n := map[string]int{}
	for _, c := range w.failing {
		n[c]++
	}
	keys := slices.Sorted(maps.Keys(n))
	slices.SortStableFunc(keys, func(a, b string) int { return n[b] - n[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, n[k])
	}
	return strings.Join(parts, ", ")
}
