// Package config loads feedd's configuration: built-in defaults, then a YAML file, then FEEDD_*
// environment variables, in that order, validated into one Config.
//
// Every scalar key has one entry in a single table (see Settings) that gives its YAML path, its
// environment variable and how its value is parsed; the YAML file, the environment and the
// documentation all use that table. Problems are reported all at once, each naming the key (or
// environment variable) and the bad value, as a *Problems error.
//
// Values:
//   - durations use Go syntax ("90s", "10m", "1h30m") and may start with whole or fractional
//     days ("7d", "1d12h");
//   - sizes are byte counts with an optional IEC or SI unit ("16MiB", "512 KiB", "10MB", "1000");
//   - a YAML null (a key with no value) keeps the default; write "" to set a string to empty.
//
// Feeds can only be listed in the file: they have no environment overrides. When the file lists
// none, DefaultFeeds is used.
//
// In the file, YAML anchors, aliases and merge keys work; top-level keys starting with "x-" are
// ignored, as in Docker Compose, to hold anchors:
//
//	x-egypt: &egypt {language: ar-EG, interval: 15m}
//	feeds:
//	  - {<<: *egypt, id: youm7, url: "https://www.youm7.com/rss/SectionRss?SectionID=65"}
//
// Any other unknown key, and any unknown FEEDD_* variable except FEEDD_CONFIG (ConfigEnv) and
// FEEDD_REPLICA_ID (ReplicaIDEnv), is a problem, so that a typo does not go unnoticed.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is the whole feedd configuration.
type Config struct {
	// DataDir holds the SQLite database and the embedded NATS server's storage.
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Log configures the daemon's logger.
	Log Log `yaml:"log"`
	// NATS configures the connection to NATS JetStream or the embedded server.
	NATS NATS `yaml:"nats"`
	// HTTP configures the operations listener (/healthz, /readyz, /metrics).
	HTTP HTTP `yaml:"http"`
	// Poll configures how feeds are fetched.
	Poll Poll `yaml:"poll"`
	// Dedupe configures the duplicate decision.
	Dedupe Dedupe `yaml:"dedupe"`
	// Outbox configures the queue of articles waiting for JetStream.
	Outbox Outbox `yaml:"outbox"`
	// Cluster configures high availability: several replicas, one leader.
	Cluster Cluster `yaml:"cluster"`
	// Extract configures fetching the article pages of feeds that carry only a summary.
	Extract Extract `yaml:"extract"`
	// Feeds lists the feeds to poll. Load fills it with DefaultFeeds when the file lists none.
	Feeds []Feed `yaml:"feeds"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn or error (case does not matter).
	Level string `yaml:"level"`
	// Format is text or json (case does not matter).
	Format string `yaml:"format"`
}

// NATS configures the message bus.
type NATS struct {
	// URL of a remote NATS server or cluster (comma-separated URLs are allowed); empty runs the
	// embedded server.
	URL string `yaml:"url"`
	// Listen is the embedded server's client address; empty keeps it in-process only.
	Listen string `yaml:"listen"`
	// Creds is a credentials file for a remote server; it is ignored by the embedded server.
	Creds string `yaml:"creds"`
	// Stream is the JetStream stream name.
	Stream string `yaml:"stream"`
	// Replicas is the stream's replica count, 1 to 5.
	Replicas int `yaml:"replicas"`
	// DuplicateWindow is the stream's Nats-Msg-Id duplicate window.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// MaxAge is how long the stream keeps a message; at least DuplicateWindow.
	MaxAge time.Duration `yaml:"max_age"`
}

// HTTP configures the operations listener.
type HTTP struct {
	// Listen is the host:port of /healthz, /readyz and /metrics; empty disables the listener.
	Listen string `yaml:"listen"`
}

// Poll configures fetching.
type Poll struct {
	// Interval is the default time between two polls of a feed.
	Interval time.Duration `yaml:"interval"`
	// Concurrency is the number of feeds fetched at once.
	Concurrency int `yaml:"concurrency"`
	// PerHost is the number of fetches at once against one host.
	PerHost int `yaml:"per_host"`
	// Timeout bounds one fetch, body included.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBody is the largest feed body read.
	MaxBody Size `yaml:"max_body"`
	// UserAgent is sent with every request. The default is empty, which means
	// DefaultUserAgent(version): the caller (cmd/feedd) knows the version, this package does not.
	UserAgent string `yaml:"user_agent"`
	// MinInterval and MaxInterval bound every computed time to the next poll of a feed: the
	// adapted interval, cache hints and backoff (Retry-After may exceed MaxInterval).
	MinInterval time.Duration `yaml:"min_interval"`
	MaxInterval time.Duration `yaml:"max_interval"`
	// HostGap is the least time between the starts of two requests to one host.
	HostGap time.Duration `yaml:"host_gap"`
	// MaxItems caps the items read from one feed (the first ones in the document).
	MaxItems int `yaml:"max_items"`
	// DenyPrivateNetworks refuses connections to loopback, private and link-local addresses,
	// checked after DNS resolution and on every redirect: for feed URLs from untrusted users.
	DenyPrivateNetworks bool `yaml:"deny_private_networks"`
}

// Dedupe configures the duplicate decision.
type Dedupe struct {
	// Window is how far back a near duplicate is looked for.
	Window time.Duration `yaml:"window"`
}

// Outbox configures the queue of articles waiting for JetStream.
type Outbox struct {
	// MaxPending bounds the unsent articles kept on disk while NATS is away: at the bound, polling
	// pauses (nothing is dropped) until the relay has published some.
	MaxPending int `yaml:"max_pending"`
}

// Cluster configures high availability on a NATS cluster: replicas with one Name share one
// leader lease, one feed state and one stream (see package cluster).
type Cluster struct {
	// Enabled joins the replicas named Name on the NATS cluster of NATS.URL, which it needs
	// (validation refuses it with the embedded server).
	Enabled bool `yaml:"enabled"`
	// Name is shared by the replicas of one deployment: [a-z0-9_-]+. It names their key-value
	// buckets.
	Name string `yaml:"name"`
	// LeaseTTL is how long a leader's lease lasts without renewal: a leader that cannot renew
	// stops before it runs out, and a standby takes over after it. At least 1s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Extract configures full text: fetching an item's article page and extracting its text.
type Extract struct {
	// FullText is auto (fetch the page when the feed's own text has fewer than MinWords words),
	// always or never. A feed's full_text overrides it.
	FullText string `yaml:"full_text"`
	// MinWords is the word count under which auto fetches the page.
	MinWords int `yaml:"min_words"`
	// Concurrency is the number of pages fetched at once (poll.per_host and poll.host_gap apply
	// too: a feed and its pages share a host).
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one page fetch, robots.txt and body included.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBody is the largest page read, counted after decompression.
	MaxBody Size `yaml:"max_body"`
	// RespectRobots makes page fetches honour each host's robots.txt.
	RespectRobots bool `yaml:"respect_robots"`
}

// The values of Extract.FullText and Feed.FullText.
const (
	FullTextAuto   = "auto"
	FullTextAlways = "always"
	FullTextNever  = "never"
)

// FeedExtract is a feed's own rule for finding the article in its pages: CSS selectors.
type FeedExtract struct {
	// Body selects the element holding the article's text; "" leaves it to the built-in rule
	// or the general extractor.
	Body string `yaml:"body"`
	// Strip selects elements removed from the article (related lists, share bars...).
	Strip []string `yaml:"strip"`
}

// Feed is one feed to poll.
type Feed struct {
	// ID names the feed in NATS subjects and the store: [a-z0-9_-]+, unique.
	ID string `yaml:"id"`
	// URL is an absolute http, https or file (file:///abs/path) URL.
	URL string `yaml:"url"`
	// Name is the outlet's display name; Load sets it to ID when empty.
	Name string `yaml:"name"`
	// Language is a BCP 47-like tag ("ar", "ar-EG"); Load sets it to "ar" when empty.
	Language string `yaml:"language"`
	// Interval overrides Poll.Interval for this feed when positive; 0 uses Poll.Interval.
	Interval time.Duration `yaml:"interval"`
	// Charset, when set, overrides the feed's declared or detected character set
	// ("windows-1256", "iso-8859-6", "utf-8", ...).
	Charset string `yaml:"charset"`
	// Timezone is the IANA zone of dates the feed writes without one ("Asia/Riyadh"); default UTC.
	Timezone string `yaml:"timezone"`
	// FullText overrides extract.full_text for this feed: auto, always or never; "" inherits.
	FullText string `yaml:"full_text"`
	// Extract is the feed's rule for its article pages; zero uses the built-in rule, if any.
	Extract FeedExtract `yaml:"extract"`
}

// Defaults that are not obvious from Default itself.
const (
	// DefaultLanguage is the language of a feed that does not give one.
	DefaultLanguage = "ar"
	// ProjectURL is the address given in the default User-Agent.
	ProjectURL = "https://github.com/feedd/feedd"
)

// DefaultUserAgent returns the User-Agent used when poll.user_agent is empty, such as
// "feedd/1.2.0 (+https://github.com/feedd/feedd)". An empty version gives "feedd (+…)".
func DefaultUserAgent(version string) string {
	if version == "" {
		return "feedd (+" + ProjectURL + ")"
	}
	return "feedd/" + version + " (+" + ProjectURL + ")"
}

// Default returns the configuration used when nothing is set, with DefaultFeeds.
func Default() Config {
	return Config{
		DataDir:         "./feedd-data",
		ShutdownTimeout: 10 * time.Second,
		Log:             Log{Level: "info", Format: "text"},
		NATS: NATS{
			Listen:          "127.0.0.1:4222",
			Stream:          "ARTICLES",
			Replicas:        1,
			DuplicateWindow: time.Hour,
			MaxAge:          720 * time.Hour,
		},
		HTTP: HTTP{Listen: "127.0.0.1:9090"},
		Poll: Poll{
			Interval:    10 * time.Minute,
			Concurrency: 16,
			PerHost:     2,
			Timeout:     20 * time.Second,
			MaxBody:     16 * MiB,
			MinInterval: 2 * time.Minute,
			MaxInterval: 6 * time.Hour,
			HostGap:     time.Second,
			MaxItems:    1000,
		},
		Dedupe:  Dedupe{Window: 7 * 24 * time.Hour},
		Outbox:  Outbox{MaxPending: 100_000},
		Cluster: Cluster{Name: "feedd", LeaseTTL: 10 * time.Second},
		Extract: Extract{
			FullText:      FullTextAuto,
			MinWords:      120,
			Concurrency:   8,
			Timeout:       20 * time.Second,
			MaxBody:       8 * MiB,
			RespectRobots: true,
		},
		Feeds: DefaultFeeds(),
	}
}

// Load returns the configuration from defaults, then the YAML file at path (none when path is
// ""), then the FEEDD_* variables in environ (os.Environ style "KEY=VALUE"; other variables are
// ignored, and of two settings of one variable the last wins), and validates it.
//
// Any problem (the file cannot be read, bad YAML, an unknown key or variable, a value that does
// not parse, a failed validation) makes Load return a zero Config and a *Problems listing every
// problem found.
func Load(path string, environ []string) (Config, error) {
	var ps Problems
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			ps.add("config", "", err.Error())
		} else {
			ps = append(ps, decodeYAML(&cfg, path, data)...)
		}
	}
	ps = append(ps, applyEnv(&cfg, environ)...)
	ps = append(ps, cfg.problems().without(ps)...)
	if len(ps) > 0 {
		return Config{}, &ps
	}
	return cfg, nil
}

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Key is the YAML path ("poll.interval", "feeds[2].id"), the environment variable
	// ("FEEDD_POLL_INTERVAL") or "config" for the file as a whole.
	Key string
	// Value is the bad value as written; empty when there is none to show.
	Value string
	// Msg says what is wrong.
	Msg string
}

// String formats p as `key: "value": msg`, or `key: msg` when p has no value.
func (p Problem) String() string {
	if p.Value == "" {
		return p.Key + ": " + p.Msg
	}
	return fmt.Sprintf("%s: %q: %s", p.Key, p.Value, p.Msg)
}

// Problems is every problem found in a configuration. *Problems is the error Load and Validate
// return; use errors.As to get it.
type Problems []Problem

// Error lists the problems, one a line.
func (ps *Problems) Error() string {
	if ps == nil || len(*ps) == 0 {
		return "config: no problems"
	}
	b := make([]byte, 0, 64*len(*ps))
	for i, p := range *ps {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, p.String()...)
	}
	return string(b)
}

func (ps *Problems) add(key, value, msg string) {
	*ps = append(*ps, Problem{Key: key, Value: value, Msg: msg})
}

// without drops the problems about a key that is already in reported, or inside one (a parse
// problem at "feeds[1]" hides validation problems at "feeds[1].id"): a value that did not parse
// kept its default, and saying more about it would only confuse.
func (ps Problems) without(reported Problems) Problems {
	if len(reported) == 0 {
		return ps
	}
	var out Problems
	for _, p := range ps {
		if !coveredBy(p.Key, reported) {
			out = append(out, p)
		}
	}
	return out
}

func coveredBy(key string, reported Problems) bool {
	for _, r := range reported {
		if r.Key == key {
			return true
		}
		if rest, ok := strings.CutPrefix(key, r.Key); ok && rest != "" && (rest[0] == '.' || rest[0] == '[') {
			return true
		}
	}
	return false
}

var _ error = (*Problems)(nil)
