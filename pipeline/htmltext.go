package pipeline

import (
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// plainText renders a fragment of HTML (or plain text with entities) as plain text: tags dropped,
// entities decoded, script and style skipped, block elements and <br> turned into line breaks,
// runs of spaces collapsed, paragraphs separated by one blank line.
func plainText(s string) string {
	if s == "" {
		return ""
	}
	if !strings.ContainsAny(s, "<&") {
		return collapse(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return collapse(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "noscript", "template", "iframe", "object":
				if z.Token().Type == html.StartTagToken {
					skip++
				}
			case "br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
				"blockquote", "pre", "table", "tr", "section", "article", "figure", "figcaption", "hr":
				b.WriteByte('\n')
			case "td", "th", "img":
				b.WriteByte(' ')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "noscript", "template", "iframe", "object":
				if skip > 0 {
					skip--
				}
			case "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
				"table", "tr", "section", "article", "figure", "figcaption":
				b.WriteByte('\n')
			}
		}
	}
}

// collapse trims s, collapses runs of horizontal white space to one space and runs of line breaks
// to one blank line, and drops control characters other than newline.
func collapse(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space, newlines := false, 0
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			newlines++
			space = false
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r):
			// drop
		default:
			if b.Len() > 0 {
				switch {
				case newlines >= 2:
					b.WriteString("\n\n")
				case newlines == 1:
					b.WriteByte('\n')
				case space:
					b.WriteByte(' ')
				}
			}
			space, newlines = false, 0
			b.WriteRune(r)
		}
	}
	return b.String()
}

// newSanitizer returns the policy content_html is passed through: the usual user-generated-content
// allow-list (text formatting, links, images, tables, lists), links made nofollow and absolute
// ones opened safely, no scripts, styles, forms or event handlers.
func newSanitizer() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("dir", "lang").Globally()
	return p
}
