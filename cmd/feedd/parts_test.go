package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/pipeline"
)

// partsFor loads a configuration from a file holding yaml (none when empty) and the
// environment variables env, and returns what the daemon's parts get from it.
func partsFor(t *testing.T, yaml string, env ...string) parts {
	t.Helper()
	path := ""
	if yaml != "" {
		path = filepath.Join(t.TempDir(), "feedd.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(path, env)
	if err != nil {
		t.Fatalf("config %q %v: %v", yaml, env, err)
	}
	p, err := partsOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEveryKeyReachesItsPart sets each configuration key to a value other than its default and
// checks that the option it configures changed. A key of config.Settings or
// config.FeedSettings without a row here fails the test: a documented key can never again be
// a no-op.
func TestEveryKeyReachesItsPart(t *testing.T) {
	type change struct {
		value string
		base  []string // environment applied to the default too, where the key needs it
		// changed reports whether the option the key configures differs from the default's.
		changed func(def, got parts) bool
	}
	const (
		remote    = "FEEDD_NATS_URL=nats://10.1.2.3:4222"
		clustered = "FEEDD_CLUSTER_ENABLED=true"
	)
	keys := map[string]change{
		"data_dir": {value: "/srv/feedd", changed: func(d, g parts) bool {
			return g.dbPath == "/srv/feedd/feedd.db" && g.embedded.StoreDir == "/srv/feedd/nats"
		}},
		"shutdown_timeout": {value: "42s", changed: func(d, g parts) bool { return g.shutdownTimeout != d.shutdownTimeout }},
		"log.level":        {value: "debug", changed: func(d, g parts) bool { return g.logLevel != d.logLevel }},
		"log.format":       {value: "json", changed: func(d, g parts) bool { return g.logJSON != d.logJSON }},
		"nats.url": {value: "nats://10.1.2.3:4222", changed: func(d, g parts) bool {
			return d.embedded != nil && g.embedded == nil && g.bus.URL == "nats://10.1.2.3:4222"
		}},
		"nats.listen": {value: "127.0.0.1:14222", changed: func(d, g parts) bool { return g.embedded.Listen != d.embedded.Listen }},
		"nats.creds":  {value: "/etc/feedd/nats.creds", base: []string{remote}, changed: func(d, g parts) bool { return g.bus.Creds != d.bus.Creds }},
		"nats.stream": {value: "NEWS", changed: func(d, g parts) bool { return g.stream.Name != d.stream.Name }},
		"nats.replicas": {value: "3", base: []string{remote, clustered}, changed: func(d, g parts) bool {
			return g.stream.Replicas != d.stream.Replicas && g.cluster.replicas == 3 && d.cluster.replicas != 3
		}},
		"nats.duplicate_window": {value: "2h", changed: func(d, g parts) bool { return g.stream.DuplicateWindow != d.stream.DuplicateWindow }},
		"nats.max_age":          {value: "1000h", changed: func(d, g parts) bool { return g.stream.MaxAge != d.stream.MaxAge }},
		"http.listen":           {value: "127.0.0.1:19090", changed: func(d, g parts) bool { return g.httpListen != d.httpListen }},
		"poll.interval":         {value: "17m", changed: func(d, g parts) bool { return g.pipeline.Interval != d.pipeline.Interval }},
		"poll.concurrency":      {value: "3", changed: func(d, g parts) bool { return g.pipeline.Concurrency != d.pipeline.Concurrency }},
		"poll.per_host":         {value: "5", changed: func(d, g parts) bool { return g.pipeline.PerHost != d.pipeline.PerHost }},
		"poll.timeout":          {value: "7s", changed: func(d, g parts) bool { return g.fetcher.Timeout != d.fetcher.Timeout }},
		"poll.max_body":         {value: "1MiB", changed: func(d, g parts) bool { return g.fetcher.MaxBody != d.fetcher.MaxBody }},
		"poll.user_agent":       {value: "test-agent/1", changed: func(d, g parts) bool { return g.fetcher.UserAgent == "test-agent/1" }},
		"poll.min_interval": {value: "3m", changed: func(d, g parts) bool {
			return g.pipeline.Policy.MinInterval != d.pipeline.Policy.MinInterval
		}},
		"poll.max_interval": {value: "5h", changed: func(d, g parts) bool {
			return g.pipeline.Policy.MaxInterval != d.pipeline.Policy.MaxInterval
		}},
		"poll.host_gap":  {value: "3s", changed: func(d, g parts) bool { return g.pipeline.HostGap != d.pipeline.HostGap }},
		"poll.max_items": {value: "50", changed: func(d, g parts) bool { return g.fetcher.MaxItems != d.fetcher.MaxItems }},
		"poll.deny_private_networks": {value: "true", changed: func(d, g parts) bool {
			return g.fetcher.DenyPrivateNetworks != d.fetcher.DenyPrivateNetworks
		}},
		"dedupe.window":      {value: "48h", changed: func(d, g parts) bool { return g.pipeline.DedupeWindow != d.pipeline.DedupeWindow }},
		"outbox.max_pending": {value: "500", changed: func(d, g parts) bool { return g.pipeline.MaxPending != d.pipeline.MaxPending }},
		"extract.full_text": {value: "never", changed: func(d, g parts) bool {
			return g.pipeline.FullText == pipeline.FullTextNever && d.pages != nil && g.pages == nil
		}},
		"extract.min_words":      {value: "40", changed: func(d, g parts) bool { return g.pipeline.MinWords != d.pipeline.MinWords }},
		"extract.concurrency":    {value: "3", changed: func(d, g parts) bool { return g.pipeline.PageConcurrency != d.pipeline.PageConcurrency }},
		"extract.timeout":        {value: "9s", changed: func(d, g parts) bool { return g.pages.Timeout != d.pages.Timeout }},
		"extract.max_body":       {value: "1MiB", changed: func(d, g parts) bool { return g.pages.MaxBody != d.pages.MaxBody }},
		"extract.respect_robots": {value: "false", changed: func(d, g parts) bool { return g.pages.RespectRobots != d.pages.RespectRobots }},
		"cluster.enabled": {value: "true", base: []string{remote}, changed: func(d, g parts) bool {
			return d.cluster == nil && g.cluster != nil && g.cluster.name == "feedd" && g.cluster.leaseTTL == 10*time.Second
		}},
		"cluster.name": {value: "newsroom", base: []string{remote, clustered}, changed: func(d, g parts) bool {
			return g.cluster.name == "newsroom" && d.cluster.name != "newsroom"
		}},
		"cluster.lease_ttl": {value: "4s", base: []string{remote, clustered}, changed: func(d, g parts) bool {
			return g.cluster.leaseTTL == 4*time.Second && d.cluster.leaseTTL != 4*time.Second
		}},
	}
	for _, s := range config.Settings() {
		t.Run(s.Key, func(t *testing.T) {
			c, ok := keys[s.Key]
			if !ok {
				t.Fatalf("key %s has no row in this test: say which option it configures", s.Key)
			}
			def := partsFor(t, "", c.base...)
			got := partsFor(t, "", append(c.base, s.Env+"="+c.value)...)
			if !c.changed(def, got) {
				t.Errorf("%s=%s changed nothing it should: the key does not reach the code it configures", s.Env, c.value)
			}
		})
		delete(keys, s.Key)
	}
	for k := range keys {
		t.Errorf("row %s names no configuration key", k)
	}

	const feed = "feeds:\n  - id: one\n    url: https://example.com/feed.xml\n"
	feedKeys := map[string]change{
		"id":       {value: "two", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].ID == "two" }},
		"url":      {value: "https://example.org/rss", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].URL == "https://example.org/rss" }},
		"name":     {value: "الجزيرة", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].Name == "الجزيرة" }},
		"language": {value: "ar-EG", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].Lang == "ar-EG" }},
		"interval": {value: "7m", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].Interval != d.pipeline.Feeds[0].Interval }},
		"charset":  {value: "windows-1256", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].Charset == "windows-1256" }},
		"extract.body": {value: "div.article-body", changed: func(d, g parts) bool {
			r := g.pipeline.Feeds[0].Rule
			return r != nil && r.Body == "div.article-body" && len(r.Strip) == 1 && r.Strip[0] == "aside"
		}},
		"full_text": {value: "always", changed: func(d, g parts) bool { return g.pipeline.Feeds[0].FullText == pipeline.FullTextAlways }},
		"timezone": {value: "Asia/Riyadh", changed: func(d, g parts) bool {
			return g.pipeline.Feeds[0].Zone != nil && g.pipeline.Feeds[0].Zone.String() == "Asia/Riyadh"
		}},
	}
	def := partsFor(t, feed)
	for _, s := range config.FeedSettings() {
		t.Run("feeds."+s.Key, func(t *testing.T) {
			c, ok := feedKeys[s.Key]
			if !ok {
				t.Fatalf("feed key %s has no row in this test: say which option it configures", s.Key)
			}
			var yaml string
			switch s.Key {
			case "id", "url":
				yaml = strings.Replace(feed, map[string]string{"id": "one", "url": "https://example.com/feed.xml"}[s.Key], c.value, 1)
			case "extract.body": // a mapping, with the list of selectors to strip beside it
				yaml = feed + "    extract:\n      body: " + c.value + "\n      strip: [aside]\n"
			default:
				yaml = feed + "    " + s.Key + ": " + c.value + "\n"
			}
			if got := partsFor(t, yaml); !c.changed(def, got) {
				t.Errorf("feeds[0].%s: %s changed nothing it should: the key does not reach the code it configures", s.Key, c.value)
			}
		})
		delete(feedKeys, s.Key)
	}
	for k := range feedKeys {
		t.Errorf("row feeds.%s names no feed key", k)
	}
}
