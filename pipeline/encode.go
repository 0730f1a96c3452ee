package pipeline

import (
	"unicode/utf8"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
)

// DefaultMaxMessage keeps a message, with its headers, under NATS's default 1 MiB payload limit.
const DefaultMaxMessage = 1<<20 - 16<<10

// encode returns the JSON body of a, cut to fit the largest message: MaxMessage, and the
// server's max_payload less the message's headers (as last taken from the server). The
// sanitised HTML goes first, then the plain text, the summary, the authors and categories and
// the title are cut, with a warning; no real article comes near the limit. An article that
// cannot be made to fit is returned as small as it got, with an error logged: the relay holds
// it in the outbox rather than lose it, and a poll never fails for it.
func (p *Pipeline) encode(a *article.Article) ([]byte, error) {
	limit := p.opts.MaxMessage
	if server := p.relay.maxPayload(); server > 0 {
		limit = min(limit, server-headerSize(a))
	}
	size := 0
	data, ok, err := fit(a, limit, &size)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		p.log.Error("article too large for one message even when cut: it stays in the outbox", "id", a.ID,
			"url", a.URL, "bytes", size, "cut_to", len(data), "limit", limit)
	case len(data) < size:
		p.log.Warn("article too large for one message: content shortened", "id", a.ID, "url", a.URL,
			"bytes", size, "limit", limit)
	}
	return data, nil
}

// headerSize returns the bytes the headers of a's message take against max_payload.
func headerSize(a *article.Article) int {
	m := bus.Message{ID: a.ID, Header: a.Headers()}
	return m.Size()
}

// fit returns the JSON body of a in at most limit bytes, cutting a's fields in place to get
// there, in this order: the sanitised HTML, the plain text, the summary, the authors and
// categories, the title. ok is false when even that is over limit; data is then the smallest
// body made. *full is set to the size of the body before any cut.
func fit(a *article.Article, limit int, full *int) (data []byte, ok bool, err error) {
	if data, err = article.Marshal(a); err != nil {
		return nil, false, err
	}
	*full = len(data)
	// Each cut takes a field down by the bytes the body is over: a byte of text costs at least
	// a byte of JSON, so one cut of a long enough field is enough.
	cuts := []func(over int) bool{
		func(int) bool { return drop(&a.ContentHTML) },
		func(over int) bool { return cutBy(&a.ContentText, over) },
		func(over int) bool { return cutBy(&a.Summary, over) },
		func(int) bool {
			if len(a.Authors) == 0 && len(a.Categories) == 0 {
				return false
			}
			a.Authors, a.Categories = nil, nil
			return true
		},
		func(over int) bool { return cutBy(&a.Title, over) },
	}
	for _, cut := range cuts {
		for len(data) > limit && cut(len(data)-limit) {
			if data, err = article.Marshal(a); err != nil {
				return nil, false, err
			}
		}
		if len(data) <= limit {
			return data, true, nil
		}
	}
	return data, false, nil
}

// drop empties *s, and reports whether there was anything to drop.
func drop(s *string) bool {
	if *s == "" {
		return false
	}
	*s = ""
	return true
}

// cutBy shortens *s by at least over bytes, at a rune boundary and marked with an ellipsis, or
// empties it; it reports whether there was anything to cut.
func cutBy(s *string, over int) bool {
	if *s == "" {
		return false
	}
	if n := len(*s) - over; n > len("…") {
		*s = cutBytes(*s, n)
	} else {
		*s = ""
	}
	return true
}

// cutBytes cuts s to at most n bytes at a rune boundary, marking the cut with an ellipsis.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n-len("…"), 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
