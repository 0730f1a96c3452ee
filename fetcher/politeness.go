package fetcher

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxCacheFor bounds CacheFor and each of its sources, so that no arithmetic on a hostile
// header overflows. The scheduler applies its own, much shorter, maximum interval.
const maxCacheFor = 365 * 24 * time.Hour

// headerCacheFor returns how long the response may be reused according to its headers: the
// larger of Cache-Control max-age and Expires minus Date (minus now when Date is missing or
// invalid). A Cache-Control no-cache or no-store makes it 0, Expires included; s-maxage, meant
// for shared caches, is ignored. An invalid or past value counts as 0.
func headerCacheFor(h http.Header, now time.Time) time.Duration {
	var maxAge time.Duration
	for _, v := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(v, ",") {
			name, value, hasValue := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				return 0
			case "no-cache":
				if !hasValue { // no-cache="Set-Cookie" restricts only the named fields
					return 0
				}
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err == nil && n > 0 {
					maxAge = max(maxAge, time.Duration(min(n, int64(maxCacheFor/time.Second)))*time.Second)
				}
			}
		}
	}
	var expires time.Duration
	if v := h.Get("Expires"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			base := now
			if d, err := http.ParseTime(h.Get("Date")); err == nil {
				base = d
			}
			expires = min(max(t.Sub(base), 0), maxCacheFor)
		}
	}
	return max(maxAge, expires)
}

// ttlElement matches an RSS <ttl> element: minutes the channel may be cached.
var ttlElement = regexp.MustCompile(`<ttl\s*>\s*([0-9]{1,9})\s*</ttl\s*>`)

// rssTTL returns the channel's <ttl> of an RSS document, or 0. gofeed's universal Feed does not
// carry it (only its RSS-specific parser does), so it is read from the channel's header: the
// text before the first item.
func rssTTL(text []byte) time.Duration {
	head := text
	if i := bytes.Index(text, []byte("<item")); i >= 0 {
		head = text[:i]
	}
	m := ttlElement.FindSubmatch(head)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Minute, maxCacheFor)
}
