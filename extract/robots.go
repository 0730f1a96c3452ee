package extract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/feedd/feedd/internal/httpget"
)

// robots.txt, as RFC 9309 and Google's documentation describe it:
//
//   - It is fetched once per scheme, host and port, and cached: a readable file or a 4xx for
//     RobotsTTL, an unreachable one for RobotsRetry.
//   - 2xx: its rules apply. Only the first RobotsMaxSize bytes are read (Google reads 500 KiB),
//     only the groups that apply to us are kept, and their rules past 64 KiB of patterns are
//     ignored, so that a hostile file cannot fill the memory.
//   - 4xx other than 429 (404 above all): no robots.txt, everything is allowed.
//   - 429, 5xx, a timeout or a network failure: the whole host is disallowed for RobotsRetry,
//     as Google does, unless an earlier copy was read: that copy goes on applying. Pages of
//     such a host fall back to the feed's text with Reason "robots"; nothing is lost.
//   - Its fetch has its own deadline (RobotsTimeout, within the page's), follows up to 5
//     redirects, and takes the page fetcher's proxy and private-network guard.
//   - The group of our product token (the User-Agent's first word, "feedd") applies; without
//     one, the "*" group; without either, everything is allowed. Groups naming the same agent
//     are merged. Allow and Disallow patterns take "*" (any characters) and a final "$" (end
//     of the URL); the longest matching pattern wins, Allow on a tie; /robots.txt itself is
//     always allowed.

// robots.txt settings.
const (
	RobotsTTL     = 24 * time.Hour   // how long a robots.txt (or its absence) is kept
	RobotsRetry   = 10 * time.Minute // how long an unreachable robots.txt disallows its host
	RobotsTimeout = 10 * time.Second // the fetch of one robots.txt, at most
	RobotsMaxSize = 512 << 10        // bytes of a robots.txt read; the rest is ignored

	defaultRobotsCacheSize = 1024 // hosts whose robots.txt is kept: at most 128 KiB of patterns each
)

// robotsCache holds the robots.txt of each host, fetching each at most once at a time.
type robotsCache struct {
	fetch func(ctx context.Context, robotsURL string) (*robotsFile, error)
	size  int
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*robotsEntry
}

// robotsEntry is one host's robots.txt: ready is closed once rules and err are set.
type robotsEntry struct {
	ready   chan struct{}
	rules   *robotsFile // nil while unknown
	err     error       // why the host is disallowed for now (rules may then be a stale copy)
	expires time.Time
}

func newRobotsCache(fetch func(context.Context, string) (*robotsFile, error), size int) *robotsCache {
	return &robotsCache{fetch: fetch, size: size, now: time.Now, entries: make(map[string]*robotsEntry)}
}

// check returns nil when u may be fetched, else an *Error with ReasonRobots (or the
// context's error while waiting).
func (c *robotsCache) check(ctx context.Context, u *url.URL) error {
	if u.EscapedPath() == "/robots.txt" {
		return nil
	}
	e, err := c.entry(ctx, u)
	if err != nil {
		return err
	}
	if e.err != nil && e.rules == nil {
		if fe, ok := errors.AsType[*Error](e.err); ok {
			cp := *fe // the page's error, not the cached one: the caller sets its URL
			return &cp
		}
		return &Error{Reason: ReasonRobots, Err: e.err}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if !e.rules.allowed(path) {
		return &Error{Reason: ReasonRobots, Err: errors.New("disallowed by robots.txt")}
	}
	return nil
}

// entry returns the host's current entry, fetching robots.txt when it is missing or expired.
func (c *robotsCache) entry(ctx context.Context, u *url.URL) (*robotsEntry, error) {
	key := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
	c.mu.Lock()
	e := c.entries[key]
	fresh := e != nil && (!isClosed(e.ready) || c.now().Before(e.expires))
	if !fresh {
		old := e
		e = &robotsEntry{ready: make(chan struct{})}
		if old != nil && isClosed(old.ready) {
			e.rules = old.rules // a stale copy, used if the new fetch fails
		}
		c.evictLocked()
		c.entries[key] = e
		c.mu.Unlock()
		// The fetch is not the page's alone: other pages of the host wait on it, so it runs
		// to its own deadline even if this page's context ends.
		go c.load(context.WithoutCancel(ctx), e, key+"/robots.txt")
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// load fetches robots.txt into e and publishes it.
func (c *robotsCache) load(ctx context.Context, e *robotsEntry, robotsURL string) {
	ctx, cancel := context.WithTimeout(ctx, RobotsTimeout)
	defer cancel()
	rules, err := c.fetch(ctx, robotsURL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		e.err = err
		e.expires = c.now().Add(RobotsRetry)
	} else {
		e.rules = rules
		e.expires = c.now().Add(RobotsTTL)
	}
	close(e.ready)
}

// evictLocked makes room for one more entry: expired ones go first, else the one that expires
// soonest. Entries still loading stay.
func (c *robotsCache) evictLocked() {
	if len(c.entries) < c.size {
		return
	}
	now := c.now()
	var victim string
	var soonest time.Time
	for k, e := range c.entries {
		if !isClosed(e.ready) {
			continue
		}
		if now.After(e.expires) {
			delete(c.entries, k)
			continue
		}
		if victim == "" || e.expires.Before(soonest) {
			victim, soonest = k, e.expires
		}
	}
	if len(c.entries) >= c.size && victim != "" {
		delete(c.entries, victim)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// fetchRobots fetches and parses one robots.txt. A 4xx other than 429 gives an empty file
// (everything allowed); a 429, a 5xx or a failure gives an error.
func (f *Fetcher) fetchRobots(ctx context.Context, robotsURL string) (*robotsFile, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, robotsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", "text/plain, */*;q=0.5")
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	resp, err := f.client.Do(req)
	if err != nil {
		if httpget.IsForbidden(err) { // the host itself is refused: say so, not robots
			return nil, &Error{Reason: ReasonPrivateNetwork, Err: err}
		}
		return nil, fmt.Errorf("robots.txt unreachable, host disallowed for %v: %w", RobotsRetry, err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code <= 299:
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, fmt.Errorf("robots.txt answered http status %d, host disallowed for %v", code, RobotsRetry)
	case code >= 400:
		return &robotsFile{}, nil
	default:
		return nil, fmt.Errorf("robots.txt answered http status %d, host disallowed for %v", code, RobotsRetry)
	}
	body, err := httpget.ReadBody(resp.Body, resp.Header.Get("Content-Encoding"), RobotsMaxSize)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); !ok {
			return nil, fmt.Errorf("robots.txt unreadable, host disallowed for %v: %w", RobotsRetry, err)
		}
		// Past RobotsMaxSize the rest is ignored; a cut last line is dropped.
		if i := strings.LastIndexAny(string(body), "\r\n"); i >= 0 {
			body = body[:i]
		}
	}
	return parseRobots(body, f.agent), nil
}
