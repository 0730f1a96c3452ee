package pipeline

import (
	"unicode/utf8"

	"github.com/feedd/feedd/article"
)

// DefaultMaxMessage keeps a message, with its headers, under NATS's default 1 MiB payload limit.
const DefaultMaxMessage = 1<<20 - 16<<10

// encode returns the JSON body of a, shrunk to fit MaxMessage: a message NATS refuses would block
// nothing (the relay drops it) but would be lost. The sanitised HTML goes first, then the plain
// text is cut, with a warning; no real article comes near the limit.
func (p *Pipeline) encode(a *article.Article) ([]byte, error) {
	data, err := article.Marshal(a)
	if err != nil {
		return nil, err
	}
	if len(data) <= p.opts.MaxMessage {
		return data, nil
	}
	size := len(data)
	a.ContentHTML = ""
	for range 8 {
		if data, err = article.Marshal(a); err != nil {
			return nil, err
		}
		over := len(data) - p.opts.MaxMessage
		if over <= 0 {
			break
		}
		// JSON escapes can make a byte of text cost up to six; cut generously.
		a.ContentText = cutBytes(a.ContentText, len(a.ContentText)-over-1024)
		a.Summary = cutBytes(a.Summary, min(len(a.Summary), p.opts.MaxMessage/8))
	}
	p.log.Warn("article too large for one message: content shortened", "id", a.ID, "url", a.URL,
		"bytes", size, "limit", p.opts.MaxMessage)
	return data, nil
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
