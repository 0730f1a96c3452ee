package main

import (
	"time"

	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/ops"
)

// statusPage configures the status page at / of the ops listener over the configured feeds.
func statusPage(cfg config.Config, src ops.StatusSource) ops.Status {
	feeds := make([]ops.FeedInfo, len(cfg.Feeds))
	for i, f := range cfg.Feeds {
		feeds[i] = ops.FeedInfo{ID: f.ID, Name: f.Name, URL: f.URL, Lang: f.Language}
	}
	return ops.Status{
		Source:  src,
		Feeds:   func() []ops.FeedInfo { return feeds },
		Version: version,
		Refresh: 30 * time.Second,
	}
}
