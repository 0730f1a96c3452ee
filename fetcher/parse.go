package fetcher

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/mmcdole/gofeed"
)

var (
	errEmptyBody = errors.New("empty body")
	errHTML      = errors.New("body is an HTML page, not a feed")
)

// parseOptions are the per-fetch settings of parse.
type parseOptions struct {
	charset  string         // the feed's configured charset, or ""
	maxItems int            // items kept, 0 for all
	zone     *time.Location // the zone of dates that name none; nil for UTC
}

// parsed is a body decoded and parsed.
type parsed struct {
	feed  *gofeed.Feed
	dec   decoded
	ttl   time.Duration // the RSS channel's <ttl>, or 0
	dates dateFix
}

// parse resolves the charset of body, repairs what can be repaired, parses it with gofeed,
// keeping at most o.maxItems items, and reads the dates gofeed could not. Its error is an
// *Error without URL, of class ClassNotFeed or ClassParse.
func parse(body []byte, contentType string, o parseOptions) (parsed, error) {
	dec := decodeBody(body, contentType, o.charset)
	p := parsed{dec: dec}
	trimmed := bytes.TrimSpace(dec.text)
	if len(trimmed) == 0 {
		return p, &Error{Class: ClassNotFeed, Err: errEmptyBody}
	}
	if looksHTML(trimmed) {
		return p, &Error{Class: ClassNotFeed, Err: errHTML}
	}
	feed, err := parseFeed(trimmed)
	if err != nil {
		if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
			return p, &Error{Class: ClassNotFeed, Err: fmt.Errorf("parse feed: %w", err)}
		}
		return p, &Error{Class: ClassParse, Err: fmt.Errorf("parse feed: %w", err)}
	}
	if feed == nil {
		return p, &Error{Class: ClassParse, Err: errors.New("parse feed: no feed")}
	}
	if o.maxItems > 0 && len(feed.Items) > o.maxItems {
		clear(feed.Items[o.maxItems:])
		feed.Items = feed.Items[:o.maxItems:o.maxItems]
	}
	if feed.FeedType == "rss" {
		p.ttl = rssTTL(trimmed)
	}
	p.dates = fixDates(feed, o.zone)
	p.feed = feed
	return p, nil
}

// NewParser returns the gofeed parser the fetcher uses: gofeed's own, except that an RSS item
// without an image of its own (iTunes image, Media RSS image, image enclosure) does not get one
// from the first <img> of its HTML. gofeed finds that image with a full HTML parse of every
// item's content and description, which cost a fifth of gofeed's time on full-text feeds; the
// pipeline looks for it in the pass it makes over that HTML anyway.
func NewParser() *gofeed.Parser {
	p := gofeed.NewParser()
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	return p
}

// parseFeed runs gofeed, turning a panic inside it into an error.
func parseFeed(text []byte) (feed *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("gofeed panicked: %v", r)
		}
	}()
	return NewParser().Parse(bytes.NewReader(text))
}

// looksHTML reports whether a trimmed document is an HTML page: it starts with a doctype or an
// html element, or an html element comes before any rss, rdf or feed element near its start.
func looksHTML(text []byte) bool {
	head := bytes.ToLower(text[:min(len(text), 1024)])
	if bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html")) {
		return true
	}
	i := bytes.Index(head, []byte("<html"))
	if i < 0 {
		return false
	}
	for _, root := range []string{"<rss", "<rdf", "<feed", "{"} {
		if j := bytes.Index(head, []byte(root)); j >= 0 && j < i {
			return false
		}
	}
	return true
}
