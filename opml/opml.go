// Package opml reads and writes OPML subscription lists, the format every feed reader imports and
// exports.
//
// Parse reads OPML 1.0 and 2.0 as real exports write them (Miniflux, FreshRSS, Feedly, Inoreader,
// ...): feeds nested in folders to any depth, attribute names in any case (xmlUrl, xmlurl,
// XMLURL), HTML entities, a byte-order mark, legacy character sets, a feed listed in several
// folders. Write produces OPML 2.0.
package opml

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// Limits of Parse: a subscription list is small, and a document beyond them is refused rather
// than read into memory.
const (
	MaxSize     = 16 << 20 // bytes of the document
	MaxOutlines = 100_000  // outline elements
	MaxDepth    = 64       // outlines nested in outlines
)

// Feed is one subscription: an outline with an xmlUrl.
type Feed struct {
	// Title is the outline's title, else its text, with runs of white space made one space.
	Title string
	// XMLURL is the feed's address: an absolute http or https URL.
	XMLURL string
	// HTMLURL is the site's address, "" when not given.
	HTMLURL string
	// Language is the outline's language attribute as written, "" when absent.
	Language string
	// Categories are the folders the feed sits in (outermost first, joined by "/"), then the
	// paths of its category attribute, without repeats. A feed listed in several folders has
	// them all.
	Categories []string
	// Line is where the feed's outline starts in the document (1-based), 0 for a feed not read
	// from a document.
	Line int
}

// Invalid is an outline that looks like a feed but cannot be used as one.
type Invalid struct {
	Line   int    // where the outline starts
	Title  string // its title or text
	XMLURL string // its xmlUrl as written
	Reason string
}

func (e Invalid) Error() string {
	name := e.Title
	if name == "" {
		name = "(untitled)"
	}
	return fmt.Sprintf("line %d: outline %q: xmlUrl %q: %s", e.Line, name, e.XMLURL, e.Reason)
}

// Document is a parsed subscription list.
type Document struct {
	Version string // the opml element's version attribute: "1.0", "2.0" or as written
	Title   string // head/title
	// Feeds are the usable feeds in document order, each once (by XMLURL).
	Feeds []Feed
	// Invalid are the outlines that have an xmlUrl (or say they are feeds) but no usable URL,
	// in document order.
	Invalid []Invalid
}

// ErrNotOPML is wrapped by the error of a document that is not an OPML subscription list.
var ErrNotOPML = errors.New("not an OPML document")

// Parse reads an OPML document. It fails only for a document that cannot be read as OPML at all
// (not XML, another root element, no body, beyond the limits); an unusable feed outline is
// listed in Document.Invalid and the rest is still read.
func Parse(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("opml: read: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("opml: document larger than %d MiB", MaxSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := parser{
		d:     xml.NewDecoder(bytes.NewReader(data)),
		doc:   &Document{},
		index: map[string]int{},
	}
	p.d.Strict = false // unquoted attributes, unknown entities and stray ampersands, as browsers read them
	p.d.Entity = xml.HTMLEntity
	p.d.AutoClose = xml.HTMLAutoClose
	p.d.CharsetReader = charset.NewReaderLabel
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.doc, nil
}

type parser struct {
	d     *xml.Decoder
	doc   *Document
	index map[string]int // XMLURL to index in doc.Feeds

	folders  []string // titles of the enclosing non-feed outlines ("" for an untitled one)
	kinds    []bool   // for each open outline: whether it is a folder (pushed to folders)
	outlines int
}

// line is the current line of the decoder.
func (p *parser) line() int {
	l, _ := p.d.InputPos()
	return l
}

func (p *parser) run() error {
	// The root element.
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return fmt.Errorf("opml: %w: no root element", ErrNotOPML)
		}
		if err != nil {
			return fmt.Errorf("opml: %w: line %d: %v", ErrNotOPML, p.line(), xmlErr(err))
		}
		if se, ok := tok.(xml.StartElement); ok {
			if !strings.EqualFold(se.Name.Local, "opml") {
				return fmt.Errorf("opml: %w: the root element is <%s>, not <opml>", ErrNotOPML, se.Name.Local)
			}
			p.doc.Version = attr(se, "version")
			break
		}
	}
	var (
		path    []string // open elements below <opml>
		sawBody bool
		title   strings.Builder
	)
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			break // a cut document: keep what was read, as readers do
		}
		if err != nil {
			return fmt.Errorf("opml: line %d: %v", p.line(), xmlErr(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if len(path) == 0 && name == "body" {
				sawBody = true
			}
			if name == "outline" && len(path) > 0 && path[0] == "body" {
				if err := p.outline(t); err != nil {
					return err
				}
			}
			path = append(path, name)
		case xml.EndElement:
			if len(path) == 0 {
				// </opml>: ignore whatever follows, as readers do.
				return p.finish(sawBody, title.String())
			}
			if path[len(path)-1] == "outline" && len(p.kinds) > 0 {
				if p.kinds[len(p.kinds)-1] {
					p.folders = p.folders[:len(p.folders)-1]
				}
				p.kinds = p.kinds[:len(p.kinds)-1]
			}
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) == 2 && path[0] == "head" && path[1] == "title" {
				title.Write(t)
			}
		}
	}
	return p.finish(sawBody, title.String())
}

func (p *parser) finish(sawBody bool, title string) error {
	if !sawBody {
		return fmt.Errorf("opml: %w: no <body>", ErrNotOPML)
	}
	p.doc.Title = clean(title)
	return nil
}

// outline handles one <outline> start tag below <body>.
func (p *parser) outline(se xml.StartElement) error {
	p.outlines++
	if p.outlines > MaxOutlines {
		return fmt.Errorf("opml: more than %d outlines", MaxOutlines)
	}
	if len(p.kinds) >= MaxDepth {
		return fmt.Errorf("opml: line %d: outlines nested deeper than %d", p.line(), MaxDepth)
	}
	title := clean(attr(se, "title"))
	if title == "" {
		title = clean(attr(se, "text"))
	}
	xmlURL, hasURL := attrOK(se, "xmlUrl")
	typ := strings.ToLower(strings.TrimSpace(attr(se, "type")))
	isFeed := hasURL || typ == "rss" || typ == "atom"
	p.kinds = append(p.kinds, !isFeed)
	if !isFeed {
		// A "/" in a folder's name would read as a level of its path.
		p.folders = append(p.folders, strings.ReplaceAll(title, "/", "∕"))
		return nil
	}
	line := p.line()
	raw := strings.TrimSpace(xmlURL)
	if reason := checkURL(raw); reason != "" {
		p.doc.Invalid = append(p.doc.Invalid, Invalid{Line: line, Title: title, XMLURL: xmlURL, Reason: reason})
		return nil
	}
	var cats []string
	if folder := strings.Join(slices.DeleteFunc(slices.Clone(p.folders), func(s string) bool { return s == "" }), "/"); folder != "" {
		cats = append(cats, folder)
	}
	for c := range strings.SplitSeq(attr(se, "category"), ",") {
		if c = strings.Trim(clean(c), "/"); c != "" {
			cats = append(cats, c)
		}
	}
	if i, seen := p.index[raw]; seen {
		f := &p.doc.Feeds[i]
		for _, c := range cats {
			if !slices.Contains(f.Categories, c) {
				f.Categories = append(f.Categories, c)
			}
		}
		return nil
	}
	htmlURL := strings.TrimSpace(attr(se, "htmlUrl"))
	if checkURL(htmlURL) != "" {
		htmlURL = "" // a site link is a nicety: a bad one is dropped, not an error
	}
	p.index[raw] = len(p.doc.Feeds)
	p.doc.Feeds = append(p.doc.Feeds, Feed{
		Title:      title,
		XMLURL:     raw,
		HTMLURL:    htmlURL,
		Language:   strings.TrimSpace(attr(se, "language")),
		Categories: dedupe(cats),
		Line:       line,
	})
	return nil
}

// checkURL returns why raw cannot be a feed's address, or "".
func checkURL(raw string) string {
	if raw == "" {
		return "empty"
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return "contains white space"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL"
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		if u.Scheme == "" {
			return "not an absolute URL"
		}
		return fmt.Sprintf("scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return "no host"
	}
	return ""
}

// attr returns the value of the attribute named name in any case, "" when absent.
func attr(se xml.StartElement, name string) string {
	v, _ := attrOK(se, name)
	return v
}

func attrOK(se xml.StartElement, name string) (string, bool) {
	for _, a := range se.Attr {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

// clean makes every run of white space one space and trims the ends; invalid UTF-8 becomes
// U+FFFD.
func clean(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// xmlErr drops the "XML syntax error on line N:" prefix, which the caller replaces with its own
// line.
func xmlErr(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("XML syntax error: %s", se.Msg)
	}
	return err.Error()
}

// Write writes feeds as an OPML 2.0 document titled title, created at created (omitted when
// zero). A feed with categories is written inside a folder outline named after its first
// category (a category path "a/b" nests two folders), in the order folders first appear;
// the other feeds are written at the top. Each feed outline has type="rss", text and title
// (its Title, else its XMLURL), xmlUrl, and htmlUrl and language when known. Folders and
// feeds keep the order in which they first appear.
func Write(w io.Writer, title string, created time.Time, feeds []Feed) error {
	// Folders and feeds keep the order in which they first appear.
	type node struct {
		name  string
		items []any // *node or Feed
	}
	root := &node{}
	child := func(n *node, name string) *node {
		for _, it := range n.items {
			if c, ok := it.(*node); ok && c.name == name {
				return c
			}
		}
		c := &node{name: name}
		n.items = append(n.items, c)
		return c
	}
	for _, f := range feeds {
		n := root
		if len(f.Categories) > 0 {
			for part := range strings.SplitSeq(f.Categories[0], "/") {
				n = child(n, part)
			}
		}
		n.items = append(n.items, f)
	}

	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	bw.WriteString(`<opml version="2.0">` + "\n  <head>\n    <title>")
	escape(bw, title)
	bw.WriteString("</title>\n")
	if !created.IsZero() {
		bw.WriteString("    <dateCreated>" + created.UTC().Format(time.RFC1123Z) + "</dateCreated>\n")
	}
	bw.WriteString("  </head>\n  <body>\n")
	var writeNode func(n *node, depth int)
	writeFeed := func(f Feed, depth int) {
		name := f.Title
		if name == "" {
			name = f.XMLURL
		}
		bw.WriteString(strings.Repeat("  ", depth) + `<outline type="rss" text="`)
		escape(bw, name)
		bw.WriteString(`" title="`)
		escape(bw, name)
		bw.WriteString(`" xmlUrl="`)
		escape(bw, f.XMLURL)
		bw.WriteString(`"`)
		if f.HTMLURL != "" {
			bw.WriteString(` htmlUrl="`)
			escape(bw, f.HTMLURL)
			bw.WriteString(`"`)
		}
		if f.Language != "" {
			bw.WriteString(` language="`)
			escape(bw, f.Language)
			bw.WriteString(`"`)
		}
		bw.WriteString("/>\n")
	}
	writeNode = func(n *node, depth int) {
		for _, it := range n.items {
			switch it := it.(type) {
			case Feed:
				writeFeed(it, depth)
			case *node:
				bw.WriteString(strings.Repeat("  ", depth) + `<outline text="`)
				escape(bw, it.name)
				bw.WriteString(`" title="`)
				escape(bw, it.name)
				bw.WriteString("\">\n")
				writeNode(it, depth+1)
				bw.WriteString(strings.Repeat("  ", depth) + "</outline>\n")
			}
		}
	}
	writeNode(root, 2)
	bw.WriteString("  </body>\n</opml>\n")
	return bw.Flush()
}

// escape writes s escaped for an attribute value or element text; characters XML cannot hold
// become U+FFFD.
func escape(w *bufio.Writer, s string) {
	_ = xml.EscapeText(w, []byte(s))
}
