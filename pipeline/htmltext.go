package pipeline

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// plainText renders a fragment of HTML (or plain text with entities) as plain text: tags dropped,
// entities decoded, script and style skipped, block elements and <br> turned into line breaks,
// runs of spaces collapsed, paragraphs separated by one blank line.
func plainText(s string) string {
	text, _ := htmlText(s)
	return text
}

// image is the first <img> element of a fragment of HTML that has a src attribute.
type image struct {
	src   string // the attribute's value, entities decoded; it may be empty
	found bool
}

// htmlText returns plainText(s) and the first image of s, found in the same pass. It finds the
// image gofeed's content image scan finds with a full HTML parse: the first <img> with a src
// attribute, in document order, outside script, style and the other elements whose content is
// raw text. Like the parser, it takes <image> for <img> outside SVG and MathML, and leaves SVG
// and MathML at the HTML tags that break out of them. It does not follow the parser everywhere:
// where tree building drops elements (an <img> in a <select> or a <frameset>), and inside SVG
// and MathML's HTML integration points (foreignObject, mtext, …) or their style and title
// elements (markup there, raw text in HTML), the two can differ. Article HTML does not carry
// such markup.
func htmlText(s string) (string, image) {
	if s == "" {
		return "", image{}
	}
	if !strings.ContainsAny(s, "<&") {
		return collapse(s), image{}
	}
	var (
		b   strings.Builder
		img image
	)
	b.Grow(len(s))
	z := html.NewTokenizer(strings.NewReader(s))
	skip, foreign := 0, 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return collapse(b.String()), img
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if hasAttr && !img.found && (string(name) == "img" || string(name) == "image" && foreign == 0) {
				img = srcAttr(z)
			}
			if foreign > 0 && breaksOut[string(name)] {
				foreign = 0
			}
			switch string(name) {
			case "svg", "math":
				if z.Token().Type == html.StartTagToken {
					foreign++
				}
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
			case "svg", "math":
				if foreign > 0 {
					foreign--
				}
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

// breaksOut are the start tags that end SVG and MathML content: the HTML parser closes every
// open foreign element when it meets one (the HTML standard's "in foreign content" rules; <font>
// breaks out only with some attributes, and is left out).
var breaksOut = map[string]bool{
	"b": true, "big": true, "blockquote": true, "body": true, "br": true, "center": true,
	"code": true, "dd": true, "div": true, "dl": true, "dt": true, "em": true, "embed": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "head": true,
	"hr": true, "i": true, "img": true, "li": true, "listing": true, "menu": true, "meta": true,
	"nobr": true, "ol": true, "p": true, "pre": true, "ruby": true, "s": true, "small": true,
	"span": true, "strong": true, "strike": true, "sub": true, "sup": true, "table": true,
	"tt": true, "u": true, "ul": true, "var": true,
}

// srcAttr reads the src attribute of the tag z is on, if it has one.
func srcAttr(z *html.Tokenizer) image {
	for {
		key, val, more := z.TagAttr()
		if string(key) == "src" {
			return image{src: string(val), found: true}
		}
		if !more {
			return image{}
		}
	}
}

// collapse trims s, collapses runs of horizontal white space to one space and runs of line breaks
// to one blank line, and drops control characters other than newline. CR LF is one line break.
//
// It copies runs of visible characters whole and decodes only non-ASCII runes, checking them
// against white space only where Unicode has any: a long Arabic text costs little more than a
// copy.
func collapse(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space, newlines := false, 0
	run := -1 // start of the pending run of visible characters, -1 when none
	flush := func(end int) {
		if run >= 0 {
			b.WriteString(s[run:end])
			run = -1
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch kind := runeKind(r); {
		case kind == kindVisible:
			if run < 0 {
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
				run = i
			}
			if r == utf8.RuneError && size == 1 { // an invalid byte becomes U+FFFD
				flush(i)
				b.WriteRune(utf8.RuneError)
			}
		case kind == kindBreak:
			flush(i)
			if r == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				size = 2
			}
			newlines++
			space = false
		case kind == kindSpace:
			flush(i)
			space = true
		default: // a control character: dropped
			flush(i)
		}
		i += size
	}
	flush(len(s))
	return b.String()
}

const (
	kindVisible = iota
	kindBreak   // a line break: LF, CR, LINE SEPARATOR, PARAGRAPH SEPARATOR
	kindSpace   // other white space
	kindControl // other control characters
)

// runeKind sorts r for collapse.
func runeKind(r rune) int {
	switch {
	case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
		return kindBreak
	case r < 0x100:
		switch {
		case unicode.IsSpace(r):
			return kindSpace
		case unicode.IsControl(r):
			return kindControl
		}
		return kindVisible
	case r < 0x1680: // no white space between Latin-1 and OGHAM SPACE MARK: Arabic lands here
		return kindVisible
	case unicode.IsSpace(r):
		return kindSpace
	}
	return kindVisible
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
