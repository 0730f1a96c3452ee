package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// field is one scalar key of T: its YAML path, how a value written as text is set, how the
// current value is shown, and a line of documentation. The environment variable is derived
// from the path (see envName), so the two cannot drift apart.
type field[T any] struct {
	key string
	doc string
	set func(*T, string) error // errors say what is wrong, not what the value was
	get func(*T) string
}

// configFields is THE table of Config's scalar keys, used by the YAML decoder, the environment
// and Settings. Feeds are not in it: they are a list, set only from the file.
var configFields = []field[Config]{
	stringField("data_dir", "directory of the SQLite database and the embedded NATS storage", func(c *Config) *string { return &c.DataDir }),
	durationField("shutdown_timeout", "how long a graceful shutdown may take", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	stringField("log.level", "debug, info, warn or error", func(c *Config) *string { return &c.Log.Level }),
	stringField("log.format", "text or json", func(c *Config) *string { return &c.Log.Format }),
	stringField("nats.url", `remote NATS URL(s), comma-separated; "" runs the embedded server`, func(c *Config) *string { return &c.NATS.URL }),
	stringField("nats.listen", `embedded server's client host:port; "" keeps it in-process only`, func(c *Config) *string { return &c.NATS.Listen }),
	stringField("nats.creds", "credentials file for a remote server", func(c *Config) *string { return &c.NATS.Creds }),
	stringField("nats.stream", "JetStream stream name", func(c *Config) *string { return &c.NATS.Stream }),
	intField("nats.replicas", "stream replicas, 1 to 5", func(c *Config) *int { return &c.NATS.Replicas }),
	durationField("nats.duplicate_window", "Nats-Msg-Id duplicate window of the stream", func(c *Config) *time.Duration { return &c.NATS.DuplicateWindow }),
	durationField("nats.max_age", "how long the stream keeps a message (at least nats.duplicate_window)", func(c *Config) *time.Duration { return &c.NATS.MaxAge }),
	stringField("http.listen", `host:port of /healthz, /readyz and /metrics; "" disables it`, func(c *Config) *string { return &c.HTTP.Listen }),
	durationField("poll.interval", "default time between two polls of a feed", func(c *Config) *time.Duration { return &c.Poll.Interval }),
	intField("poll.concurrency", "feeds fetched at once", func(c *Config) *int { return &c.Poll.Concurrency }),
	intField("poll.per_host", "fetches at once against one host", func(c *Config) *int { return &c.Poll.PerHost }),
	durationField("poll.timeout", "time limit of one fetch", func(c *Config) *time.Duration { return &c.Poll.Timeout }),
	sizeField("poll.max_body", "largest feed body read", func(c *Config) *Size { return &c.Poll.MaxBody }),
	stringField("poll.user_agent", `User-Agent header; "" means feedd/<version> (+`+ProjectURL+`)`, func(c *Config) *string { return &c.Poll.UserAgent }),
	durationField("poll.min_interval", "least time between two polls of a feed, whatever its interval, cache hints or publishing rate", func(c *Config) *time.Duration { return &c.Poll.MinInterval }),
	durationField("poll.max_interval", "most time between two polls of a feed (adaptation and backoff stop there; Retry-After may exceed it)", func(c *Config) *time.Duration { return &c.Poll.MaxInterval }),
	durationField("poll.host_gap", "least time between the starts of two requests to one host", func(c *Config) *time.Duration { return &c.Poll.HostGap }),
	intField("poll.max_items", "items read from one feed at most", func(c *Config) *int { return &c.Poll.MaxItems }),
	boolField("poll.deny_private_networks", "refuse loopback, private and link-local addresses (after DNS, on every redirect)", func(c *Config) *bool { return &c.Poll.DenyPrivateNetworks }),
	durationField("dedupe.window", "how far back a near duplicate is looked for", func(c *Config) *time.Duration { return &c.Dedupe.Window }),
	intField("outbox.max_pending", "unsent articles kept while NATS is away before polling pauses", func(c *Config) *int { return &c.Outbox.MaxPending }),
	boolField("cluster.enabled", "join the replicas named cluster.name on the NATS cluster of nats.url, one leader at a time (needs nats.url)", func(c *Config) *bool { return &c.Cluster.Enabled }),
	stringField("cluster.name", "[a-z0-9_-]+, shared by the replicas of one deployment; names their key-value buckets", func(c *Config) *string { return &c.Cluster.Name }),
	durationField("cluster.lease_ttl", "a leader that cannot renew its lease within this stops; a standby then takes over (at least 1s)", func(c *Config) *time.Duration { return &c.Cluster.LeaseTTL }),
	stringField("extract.full_text", "auto (fetch the article page when the feed's text is short), always or never", func(c *Config) *string { return &c.Extract.FullText }),
	intField("extract.min_words", "words of feed text under which auto fetches the article page", func(c *Config) *int { return &c.Extract.MinWords }),
	intField("extract.concurrency", "article pages fetched at once (poll.per_host and poll.host_gap apply too)", func(c *Config) *int { return &c.Extract.Concurrency }),
	durationField("extract.timeout", "time limit of one article page, robots.txt and body included", func(c *Config) *time.Duration { return &c.Extract.Timeout }),
	sizeField("extract.max_body", "largest article page read, after decompression", func(c *Config) *Size { return &c.Extract.MaxBody }),
	boolField("extract.respect_robots", "honour each host's robots.txt for article pages", func(c *Config) *bool { return &c.Extract.RespectRobots }),
}

// feedFields is the table of a feed's keys (feeds[i].<key> in YAML).
var feedFields = []field[Feed]{
	stringField("id", "[a-z0-9_-]+, unique; used in NATS subjects", func(f *Feed) *string { return &f.ID }),
	stringField("url", "absolute http, https or file:///abs/path URL", func(f *Feed) *string { return &f.URL }),
	stringField("name", "outlet's display name; defaults to the id", func(f *Feed) *string { return &f.Name }),
	stringField("language", "language tag such as ar or ar-EG; defaults to ar", func(f *Feed) *string { return &f.Language }),
	durationField("interval", "time between two polls; 0 uses poll.interval", func(f *Feed) *time.Duration { return &f.Interval }),
	stringField("charset", "character set overriding the declared or detected one, such as windows-1256", func(f *Feed) *string { return &f.Charset }),
	stringField("timezone", "IANA time zone of dates written without one, such as Asia/Riyadh; default UTC", func(f *Feed) *string { return &f.Timezone }),
	stringField("full_text", `auto, always or never; "" uses extract.full_text`, func(f *Feed) *string { return &f.FullText }),
	stringField("extract.body", "CSS selector of the article's element in the feed's pages", func(f *Feed) *string { return &f.Extract.Body }),
}

// feedExtractKey is the feed key of the page rule, a mapping of extract.body and the list
// extractStripKey.
const (
	feedExtractKey  = "extract"
	extractStripKey = "strip"
)

// feedsKey is the YAML key of the feed list.
const feedsKey = "feeds"

func stringField[T any](key, doc string, ptr func(*T) *string) field[T] {
	return field[T]{
		key: key, doc: doc,
		set: func(t *T, s string) error { *ptr(t) = s; return nil },
		get: func(t *T) string { return *ptr(t) },
	}
}

func intField[T any](key, doc string, ptr func(*T) *int) field[T] {
	return field[T]{
		key: key, doc: doc,
		set: func(t *T, s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return errors.New("integer out of range")
				}
				return errors.New("invalid integer")
			}
			*ptr(t) = n
			return nil
		},
		get: func(t *T) string { return strconv.Itoa(*ptr(t)) },
	}
}

func boolField[T any](key, doc string, ptr func(*T) *bool) field[T] {
	return field[T]{
		key: key, doc: doc,
		set: func(t *T, s string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return errors.New("invalid boolean (true or false)")
			}
			*ptr(t) = b
			return nil
		},
		get: func(t *T) string { return strconv.FormatBool(*ptr(t)) },
	}
}

func durationField[T any](key, doc string, ptr func(*T) *time.Duration) field[T] {
	return field[T]{
		key: key, doc: doc,
		set: func(t *T, s string) error {
			d, err := parseDuration(s)
			if err != nil {
				return err
			}
			*ptr(t) = d
			return nil
		},
		get: func(t *T) string { return formatDuration(*ptr(t)) },
	}
}

func sizeField[T any](key, doc string, ptr func(*T) *Size) field[T] {
	return field[T]{
		key: key, doc: doc,
		set: func(t *T, s string) error {
			n, err := parseSize(s)
			if err != nil {
				return err
			}
			*ptr(t) = n
			return nil
		},
		get: func(t *T) string { return ptr(t).String() },
	}
}

// envPrefix starts every environment variable feedd reads.
const envPrefix = "FEEDD_"

// envName is the environment variable of a YAML path: "poll.max_body" → FEEDD_POLL_MAX_BODY.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Setting documents one scalar configuration key.
type Setting struct {
	// Key is the YAML path, such as "poll.interval".
	Key string
	// Env is the environment variable that overrides it, such as "FEEDD_POLL_INTERVAL".
	Env string
	// Default is the default value as it would be written in YAML.
	Default string
	// Doc says what the key does.
	Doc string
}

// Settings lists every scalar key in the order of the configuration file, for documentation and
// `feedd check`. Feeds are not listed: they are set only in the file.
func Settings() []Setting {
	def := Default()
	out := make([]Setting, 0, len(configFields))
	for _, f := range configFields {
		out = append(out, Setting{Key: f.key, Env: envName(f.key), Default: f.get(&def), Doc: f.doc})
	}
	return out
}

// Get returns the value of the scalar key (a YAML path such as "poll.interval") in c as it would
// be written in YAML, and whether the key exists.
func (c Config) Get(key string) (string, bool) {
	for _, f := range configFields {
		if f.key == key {
			return f.get(&c), true
		}
	}
	return "", false
}

// FeedSettings lists the keys of one feed (feeds[i].<key> in the file), in the order of
// feedFields. They have no environment variable and no default of their own.
func FeedSettings() []Setting {
	out := make([]Setting, 0, len(feedFields))
	for _, f := range feedFields {
		out = append(out, Setting{Key: f.key, Doc: f.doc})
	}
	return out
}
