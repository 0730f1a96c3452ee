package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// blockAtoms are the elements that start and end a paragraph of plain text.
var blockAtoms = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Dd: true, atom.Details: true, atom.Dialog: true, atom.Div: true, atom.Dl: true,
	atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true,
	atom.Footer: true, atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true,
	atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Section: true, atom.Table: true, atom.Tbody: true,
	atom.Thead: true, atom.Tfoot: true, atom.Tr: true, atom.Td: true, atom.Th: true,
	atom.Ul: true, atom.Caption: true, atom.Summary: true, atom.Center: true,
}

// skipAtoms never hold text a reader sees.
var skipAtoms = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Iframe: true, atom.Svg: true, atom.Math: true, atom.Canvas: true,
	atom.Video: true, atom.Audio: true, atom.Object: true, atom.Embed: true,
	atom.Select: true, atom.Button: true, atom.Input: true, atom.Textarea: true,
}

// textBuilder renders the plain text of nodes: paragraphs separated by "\n\n", line breaks
// inside a paragraph kept as "\n", runs of white space collapsed to one space.
type textBuilder struct {
	paras []string
	cur   strings.Builder
	space bool // a space is pending before the next word
}

func (tb *textBuilder) word(w string) {
	if tb.space && tb.cur.Len() > 0 {
		if s := tb.cur.String(); !strings.HasSuffix(s, "\n") {
			tb.cur.WriteByte(' ')
		}
	}
	tb.space = false
	tb.cur.WriteString(w)
}

func (tb *textBuilder) newline() {
	if tb.cur.Len() > 0 {
		tb.cur.WriteByte('\n')
	}
	tb.space = false
}

func (tb *textBuilder) flush() {
	p := strings.TrimSpace(tb.cur.String())
	if p != "" {
		tb.paras = append(tb.paras, p)
	}
	tb.cur.Reset()
	tb.space = false
}

func (tb *textBuilder) text(s string) {
	start := -1
	for i, r := range s {
		if unicode.IsSpace(r) {
			if start >= 0 {
				tb.word(s[start:i])
				start = -1
			}
			tb.space = true
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		tb.word(s[start:])
	}
}

func (tb *textBuilder) pre(s string) {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			tb.newline()
		}
		tb.text(line)
	}
}

func (tb *textBuilder) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		tb.text(n.Data)
		return
	case html.ElementNode:
		a := tagAtom(n)
		if skipAtoms[a] || isHidden(n) {
			return
		}
		if a == atom.Br {
			tb.newline()
			return
		}
		if a == atom.Pre {
			tb.flush()
			tb.pre(textContent(n))
			tb.flush()
			return
		}
	case html.CommentNode, html.DoctypeNode:
		return
	}
	block := n.Type == html.ElementNode && blockAtoms[tagAtom(n)]
	if block {
		tb.flush()
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		tb.node(c)
	}
	if block {
		tb.flush()
	}
}

// tagAtom is n's element name as an atom. The general extractor renames elements (a <div>
// that holds only text becomes a <p>) without updating DataAtom.
func tagAtom(n *html.Node) atom.Atom {
	if a := atom.Lookup([]byte(n.Data)); a != 0 || n.DataAtom == 0 {
		return a
	}
	return n.DataAtom
}

// plainText renders the text of nodes as paragraphs separated by "\n\n".
func plainText(nodes ...*html.Node) string {
	var tb textBuilder
	for _, n := range nodes {
		tb.node(n)
		tb.flush()
	}
	return strings.Join(tb.paras, "\n\n")
}

// textContent is all text under n, as it is in the document.
func textContent(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			return
		}
		if n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style) {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// collapse returns s with runs of white space made one space, trimmed.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// charCount counts the non-space characters of s (runes, not bytes: an Arabic letter is one).
func charCount(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// isHidden reports an element the page hides from readers.
func isHidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if a.Val == "true" {
				return true
			}
		case "style":
			s := strings.ToLower(a.Val)
			if strings.Contains(s, "display:none") || strings.Contains(s, "display: none") ||
				strings.Contains(s, "visibility:hidden") || strings.Contains(s, "visibility: hidden") {
				return true
			}
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// validUTF8 replaces invalid bytes in s with U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
