package config

import (
	"fmt"

	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/andybalholm/cascadia"
	"golang.org/x/text/encoding/htmlindex"
)

// MinLeaseTTL is the shortest cluster.lease_ttl: below it, a leader renews too often and a
// network hiccup or a JetStream leader election costs the lease.
const MinLeaseTTL = time.Second

var (
	feedIDPattern   = regexp.MustCompile(`^[a-z0-9_-]+$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]+)*$`)
)

// Validate reports everything wrong with c as a *Problems, or returns nil. It checks only what
// would really fail or misbehave: a missing or malformed value, an out-of-range number, a
// duration that must be positive, feed ids that clash.
func (c Config) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return &ps
	}
	return nil
}

func (c Config) problems() Problems {
	var ps Problems
	if c.DataDir == "" {
		ps.add("data_dir", "", "must not be empty")
	}
	positive(&ps, "shutdown_timeout", c.ShutdownTimeout)

	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		ps.add("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	if !oneOf(c.Log.Format, "text", "json") {
		ps.add("log.format", c.Log.Format, "must be text or json")
	}

	if c.NATS.URL != "" {
		if msg := checkNATSURLs(c.NATS.URL); msg != "" {
			ps.add("nats.url", redactURLs(c.NATS.URL), msg)
		}
	}
	hostPort(&ps, "nats.listen", c.NATS.Listen)
	if msg := checkStream(c.NATS.Stream); msg != "" {
		ps.add("nats.stream", c.NATS.Stream, msg)
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		ps.add("nats.replicas", strconv.Itoa(c.NATS.Replicas), "must be from 1 to 5")
	}
	positive(&ps, "nats.duplicate_window", c.NATS.DuplicateWindow)
	if positive(&ps, "nats.max_age", c.NATS.MaxAge) && c.NATS.DuplicateWindow > 0 && c.NATS.MaxAge < c.NATS.DuplicateWindow {
		ps.add("nats.max_age", formatDuration(c.NATS.MaxAge),
			"must be at least nats.duplicate_window ("+formatDuration(c.NATS.DuplicateWindow)+")")
	}

	hostPort(&ps, "http.listen", c.HTTP.Listen)

	positive(&ps, "poll.interval", c.Poll.Interval)
	atLeastOne(&ps, "poll.concurrency", c.Poll.Concurrency)
	atLeastOne(&ps, "poll.per_host", c.Poll.PerHost)
	positive(&ps, "poll.timeout", c.Poll.Timeout)
	atLeastSize(&ps, "poll.max_body", c.Poll.MaxBody, MinMaxBody)
	if strings.ContainsFunc(c.Poll.UserAgent, unicode.IsControl) {
		ps.add("poll.user_agent", c.Poll.UserAgent, "must not contain control characters")
	}

	if positive(&ps, "poll.min_interval", c.Poll.MinInterval) && positive(&ps, "poll.max_interval", c.Poll.MaxInterval) &&
		c.Poll.MaxInterval < c.Poll.MinInterval {
		ps.add("poll.max_interval", formatDuration(c.Poll.MaxInterval),
			"must be at least poll.min_interval ("+formatDuration(c.Poll.MinInterval)+")")
	}
	if c.Poll.HostGap < 0 {
		ps.add("poll.host_gap", formatDuration(c.Poll.HostGap), "must not be negative")
	}
	atLeastOne(&ps, "poll.max_items", c.Poll.MaxItems)

	positive(&ps, "dedupe.window", c.Dedupe.Window)
	atLeastOne(&ps, "outbox.max_pending", c.Outbox.MaxPending)

	if !feedIDPattern.MatchString(c.Cluster.Name) {
		ps.add("cluster.name", c.Cluster.Name, "must match [a-z0-9_-]+")
	}
	if c.Cluster.LeaseTTL < MinLeaseTTL {
		ps.add("cluster.lease_ttl", formatDuration(c.Cluster.LeaseTTL), "must be at least "+formatDuration(MinLeaseTTL))
	}
	if c.Cluster.Enabled && c.NATS.URL == "" {
		ps.add("cluster.enabled", "true", "cluster mode needs nats.url: the replicas share a NATS cluster, not an embedded server")
	}
	if !oneOf(c.Extract.FullText, FullTextAuto, FullTextAlways, FullTextNever) {
		ps.add("extract.full_text", c.Extract.FullText, "must be auto, always or never")
	}
	if c.Extract.MinWords < 0 {
		ps.add("extract.min_words", strconv.Itoa(c.Extract.MinWords), "must not be negative")
	}
	atLeastOne(&ps, "extract.concurrency", c.Extract.Concurrency)
	positive(&ps, "extract.timeout", c.Extract.Timeout)
	if c.Extract.MaxBody <= 0 {
		ps.add("extract.max_body", c.Extract.MaxBody.String(), "must be positive")
	}

	if len(c.Feeds) == 0 {
		ps.add(feedsKey, "", "must list at least one feed")
	}
	firstIndex := make(map[string]int, len(c.Feeds))
	for i, f := range c.Feeds {
		path := feedsKey + "[" + strconv.Itoa(i) + "]"
		switch {
		case f.ID == "":
			ps.add(path+".id", "", "required")
		case !feedIDPattern.MatchString(f.ID):
			ps.add(path+".id", f.ID, "must match [a-z0-9_-]+")
		default:
			if j, dup := firstIndex[f.ID]; dup {
				ps.add(path+".id", f.ID, fmt.Sprintf("duplicate of %s[%d]", feedsKey, j))
			} else {
				firstIndex[f.ID] = i
			}
		}
		if f.URL == "" {
			ps.add(path+".url", "", "required")
		} else if msg := checkFeedURL(f.URL); msg != "" {
			ps.add(path+".url", redactURL(f.URL), msg)
		}
		switch {
		case f.Language == "":
			ps.add(path+".language", "", "required")
		case !languagePattern.MatchString(f.Language):
			ps.add(path+".language", f.Language, "must be a language tag such as ar or ar-EG")
		}
		if f.Interval < 0 {
			ps.add(path+".interval", formatDuration(f.Interval), "must not be negative (0 uses poll.interval)")
		}
		if f.Charset != "" {
			if _, err := htmlindex.Get(f.Charset); err != nil {
				ps.add(path+".charset", f.Charset, "unknown character set")
			}
		}
		if f.FullText != "" && !oneOf(f.FullText, FullTextAuto, FullTextAlways, FullTextNever) {
			ps.add(path+".full_text", f.FullText, `must be auto, always or never ("" uses extract.full_text)`)
		}
		if f.Extract.Body != "" {
			if msg := checkSelector(f.Extract.Body); msg != "" {
				ps.add(path+".extract.body", f.Extract.Body, msg)
			}
		}
		for j, sel := range f.Extract.Strip {
			if msg := checkSelector(sel); msg != "" {
				ps.add(path+".extract.strip["+strconv.Itoa(j)+"]", sel, msg)
			}
		}
		if f.Timezone != "" {
			if _, err := time.LoadLocation(f.Timezone); err != nil || f.Timezone == "Local" {
				ps.add(path+".timezone", f.Timezone, "unknown time zone (use an IANA name such as Asia/Riyadh)")
			}
		}
	}
	return ps
}

// checkSelector returns why a CSS selector does not compile, or "".
func checkSelector(sel string) string {
	if strings.TrimSpace(sel) == "" {
		return "empty CSS selector"
	}
	if _, err := cascadia.Compile(sel); err != nil {
		return "invalid CSS selector: " + err.Error()
	}
	return ""
}

// positive adds a problem unless d > 0 and reports whether it did not.
func positive(ps *Problems, key string, d time.Duration) bool {
	if d <= 0 {
		ps.add(key, formatDuration(d), "must be positive")
		return false
	}
	return true
}

// MinMaxBody is the least poll.max_body: the smallest real feeds are a few KiB, so anything below
// this is a size written without its unit ("16" for 16MiB), which would fail every feed as too large.
const MinMaxBody = 64 * KiB

// atLeastSize adds a problem when n is not positive, or below least, which is most likely a size
// written without its unit.
func atLeastSize(ps *Problems, key string, n, least Size) {
	switch {
	case n <= 0:
		ps.add(key, n.String(), "must be positive")
	case n < least:
		ps.add(key, n.String(), "must be at least "+least.String()+" (a size without a unit is in bytes: write 16MiB, 512KiB)")
	}
}

func atLeastOne(ps *Problems, key string, n int) {
	if n < 1 {
		ps.add(key, strconv.Itoa(n), "must be at least 1")
	}
}

func oneOf(s string, values ...string) bool {
	for _, v := range values {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// hostPort adds a problem unless addr is empty or a host:port with a numeric port.
func hostPort(ps *Problems, key, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ps.add(key, addr, "must be host:port, such as 127.0.0.1:9090 or :9090")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add(key, addr, "port must be a number from 0 to 65535")
	}
}

// checkStream says what is wrong with a JetStream stream name, or returns "".
func checkStream(name string) string {
	if name == "" {
		return "must not be empty"
	}
	if strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(`.*>/\`, r)
	}) {
		return `must not contain whitespace, control characters or any of . * > / \`
	}
	return ""
}

// checkNATSURLs says what is wrong with a comma-separated list of NATS server URLs, or returns
// "". As in nats.go, a URL without a scheme is taken as nats://.
func checkNATSURLs(list string) string {
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return "empty URL in the list"
		}
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return "invalid URL: " + urlErr(err)
		}
		switch strings.ToLower(u.Scheme) {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Sprintf("scheme %q is not nats, tls, ws or wss", u.Scheme)
		}
		if u.Hostname() == "" {
			return "URL has no host"
		}
	}
	return ""
}

// checkFeedURL says what is wrong with a feed URL, or returns "".
func checkFeedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid URL: " + urlErr(err)
	}
	if !u.IsAbs() {
		return "must be an absolute http, https or file URL"
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Hostname() == "" {
			return "http(s) URL has no host"
		}
	case "file":
		if u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
			return "file URL must be file:///absolute/path"
		}
		if u.Host != "" && u.Host != "localhost" {
			return "file URL must not name a host: use file:///absolute/path"
		}
	default:
		return fmt.Sprintf("scheme %q is not http, https or file", u.Scheme)
	}
	return ""
}

// urlErr is the reason in a *url.Error, without the operation and the URL it repeats.
func urlErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// redactURL hides a password in raw, so that problems can be printed and logged.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = redactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// SlogLevel returns the slog level named by l.Level, or slog.LevelInfo when it names none
// (Validate reports that).
func (l Log) SlogLevel() slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return level
}
