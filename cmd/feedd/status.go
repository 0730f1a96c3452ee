package main

import (
	"sync/atomic"
	"time"

	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/ops"
)

// feedInfos is what the status page shows of the configured feeds.
func feedInfos(list []config.Feed) []ops.FeedInfo {
	feeds := make([]ops.FeedInfo, len(list))
	for i, f := range list {
		feeds[i] = ops.FeedInfo{ID: f.ID, Name: f.Name, URL: f.URL, Lang: f.Language}
	}
	return feeds
}

// statusPage configures the status page at / of the ops listener over the feeds that feeds
// holds: the configured ones, replaced when the feed list is reloaded.
func statusPage(feeds *atomic.Pointer[[]ops.FeedInfo], src ops.StatusSource) ops.Status {
	return ops.Status{
		Source:  src,
		Feeds:   func() []ops.FeedInfo { return *feeds.Load() },
		Version: version,
		Refresh: 30 * time.Second,
	}
}
