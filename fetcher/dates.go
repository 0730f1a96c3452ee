package fetcher

import (
	"strings"
	"time"

	"github.com/feedd/feedd/feeddate"
	"github.com/mmcdole/gofeed"
)

// maxDateWarnings bounds the unreadable dates reported in Result.Warnings.
const maxDateWarnings = 3

// dateFix is what fixDates did to a feed.
type dateFix struct {
	fallbacks int      // items with a date string but no date either parser could read
	warnings  []string // the first unreadable date strings, with the reason
}

// fixDates reads the feed's and each item's Published and Updated strings with feeddate, in
// zone when they name none. feeddate's reading replaces gofeed's when gofeed read nothing (an
// Arabic date), and also when the two differ: gofeed gives an abbreviation it does not know
// (AST, GST, MSK) a zero offset, and reads a date without a zone as UTC whatever the feed's
// zone. When feeddate cannot read a string, gofeed's reading, if any, stays.
func fixDates(feed *gofeed.Feed, zone *time.Location) dateFix {
	var fix dateFix
	seen := map[string]bool{}
	read := func(raw string, parsed **time.Time) bool {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return false
		}
		t, err := feeddate.Parse(raw, zone)
		if err != nil {
			if *parsed == nil && !seen[raw] && len(fix.warnings) < maxDateWarnings {
				seen[raw] = true
				fix.warnings = append(fix.warnings, err.Error())
			}
			return true
		}
		if *parsed == nil || !(*parsed).Equal(t) {
			*parsed = &t
		}
		return true
	}
	read(feed.Published, &feed.PublishedParsed)
	read(feed.Updated, &feed.UpdatedParsed)
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		hasDate := read(it.Published, &it.PublishedParsed)
		hasDate = read(it.Updated, &it.UpdatedParsed) || hasDate
		if hasDate && it.PublishedParsed == nil && it.UpdatedParsed == nil {
			fix.fallbacks++
		}
	}
	return fix
}
