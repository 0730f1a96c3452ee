// Package testpages builds Arabic article pages for tests from the SaudiNewsNet development days:
// each page carries one article's text inside the clutter of a real outlet's page (menus, a
// breaking-news ticker, share bars, "read also", "most read" and "related" lists that carry
// OTHER articles' titles and leads, comments, footers), in one of several templates. The
// article's text is the ground truth; the titles and leads of the other articles are what an
// extractor must leave out.
//
// Compare and Summary score an extraction as the Scrapinghub article extraction benchmark
// does. Handler serves pages over HTTP and SummaryRSS renders summary-only feeds whose item
// links point at them, for end-to-end tests of full-text fetching.
package testpages

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/feedd/feedd/internal/testfeeds"
)

// Page is one generated article page.
type Page struct {
	Path     string // URL path (and query) of the article's corpus URL, where Handler serves it
	URL      string // the article's corpus URL
	Template string // the template's name
	Charset  string // the page's charset: "utf-8" or "windows-1256"
	Body     []byte // the page, encoded in Charset
	Article  testfeeds.Article
	Title    string   // the article's title
	Text     string   // the truth: the article's paragraphs joined by "\n\n"
	Lead     string   // the first sentence of the article, at most 30 words (a feed's summary)
	Others   []string // the titles and leads of other articles that the page shows: never article text
}

// HTML returns the page decoded to UTF-8.
func (p Page) HTML() []byte {
	if p.Charset == "utf-8" {
		return p.Body
	}
	b, err := charmap.Windows1256.NewDecoder().Bytes(p.Body)
	if err != nil {
		panic(err) // Build encodes only what the charset holds
	}
	return b
}

// template renders a page from its parts; others are the other articles it lists.
type template struct {
	name    string
	charset string
	render  func(b *strings.Builder, a article, others []article)
}

var templates = []template{
	{"portal", "utf-8", portal},
	{"semantic", "utf-8", semantic},
	{"legacy", "windows-1256", legacy},
	{"agency", "utf-8", agency},
	{"hashed", "utf-8", hashed},
	{"blog", "utf-8", blog},
}

// Templates returns the names of the templates, in the order Pages rotates through them.
func Templates() []string {
	var names []string
	for _, t := range templates {
		names = append(names, t.name)
	}
	return names
}

// article is what a template needs of one article.
type article struct {
	title, author, url, source string
	paras                      []string
	lead                       string
	published                  time.Time
}

func toArticle(a testfeeds.Article) article {
	var paras []string
	for _, p := range strings.Split(a.Content, "\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			paras = append(paras, p)
		}
	}
	return article{
		title: strings.Join(strings.Fields(a.Title), " "), author: strings.TrimSpace(a.Author),
		url: a.URL, source: a.Source, paras: paras, lead: lead(paras), published: a.Published(),
	}
}

// lead is the first sentence of the first paragraph, cut to at most 30 words.
func lead(paras []string) string {
	if len(paras) == 0 {
		return ""
	}
	p := paras[0]
	if i := strings.IndexAny(p, ".!؟?"); i > 0 {
		p = p[:i+1]
	}
	words := strings.Fields(p)
	if len(words) > 30 {
		words = words[:30]
	}
	return strings.Join(words, " ")
}

// NumOthers is how many other articles a page lists.
const NumOthers = 8

// Build renders article a in the named template, listing others (NumOthers are used, fewer if
// fewer are given) in its ticker, "read also", "most read" and "related" blocks.
func Build(a testfeeds.Article, others []testfeeds.Article, templateName string) (Page, error) {
	i := slices.IndexFunc(templates, func(t template) bool { return t.name == templateName })
	if i < 0 {
		return Page{}, fmt.Errorf("testpages: no template %q", templateName)
	}
	t := templates[i]
	u, err := url.Parse(a.URL)
	if err != nil {
		return Page{}, fmt.Errorf("testpages: article URL %q: %w", a.URL, err)
	}
	art := toArticle(a)
	var listed []article
	var otherText []string
	for _, o := range others {
		if len(listed) == NumOthers {
			break
		}
		oa := toArticle(o)
		if oa.title == "" || oa.lead == "" || o.URL == a.URL {
			continue
		}
		listed = append(listed, oa)
	}
	var b strings.Builder
	t.render(&b, art, listed)
	for _, o := range listed {
		for _, s := range []string{o.title, o.lead} {
			if strings.Contains(b.String(), esc(s)) {
				otherText = append(otherText, s)
			}
		}
	}
	body := []byte(b.String())
	if t.charset == "windows-1256" {
		body = encode1256(b.String())
	}
	return Page{
		Path:     u.EscapedPath() + query(u),
		URL:      a.URL,
		Template: t.name,
		Charset:  t.charset,
		Body:     body,
		Article:  a,
		Title:    art.title,
		Text:     strings.Join(art.paras, "\n\n"),
		Lead:     art.lead,
		Others:   otherText,
	}, nil
}

func query(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// Pages builds one page per article with a title and some text, rotating through the
// templates; each page lists the NumOthers articles that follow it (wrapping around).
//
// About 2% of the corpus's records have under 30 words (a name, a caption): their pages hold
// no real article, and the other articles' leads outweigh them. The extract evaluation leaves
// them out (len(Tokens(p.Text)) < 30); end-to-end tests that require page text may too.
func Pages(articles []testfeeds.Article) []Page {
	var usable []testfeeds.Article
	seen := map[string]bool{}
	for _, a := range articles {
		if strings.TrimSpace(a.Title) == "" || strings.TrimSpace(a.Content) == "" || seen[a.URL] {
			continue
		}
		if _, err := url.Parse(a.URL); err != nil {
			continue
		}
		seen[a.URL] = true
		usable = append(usable, a)
	}
	pages := make([]Page, 0, len(usable))
	for i, a := range usable {
		var others []testfeeds.Article
		for j := 1; j <= NumOthers+2 && j < len(usable); j++ {
			others = append(others, usable[(i+j)%len(usable)])
		}
		p, err := Build(a, others, templates[i%len(templates)].name)
		if err != nil {
			continue
		}
		pages = append(pages, p)
	}
	return pages
}

// Handler serves pages at their Path, with their charset in Content-Type.
func Handler(pages []Page) http.Handler {
	byPath := make(map[string]Page, len(pages))
	for _, p := range pages {
		byPath[p.Path] = p
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := byPath[r.URL.EscapedPath()+query(r.URL)]
		if !ok {
			p, ok = byPath[r.URL.EscapedPath()]
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset="+p.Charset)
		_, _ = w.Write(p.Body)
	})
}

// SummaryRSS renders an RSS 2.0 feed of pages with only a summary per item (the article's
// lead) and item links at base (such as an httptest server's URL) joined with each page's
// Path; base "" keeps the corpus URLs.
func SummaryRSS(title, base string, pages []Page) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<rss version="2.0"><channel>`)
	elem(&b, "title", title)
	elem(&b, "link", firstNonEmpty(base, "https://example.com")+"/")
	elem(&b, "description", title)
	for _, p := range pages {
		link := p.URL
		if base != "" {
			link = strings.TrimSuffix(base, "/") + p.Path
		}
		b.WriteString("<item>")
		elem(&b, "title", p.Title)
		elem(&b, "link", link)
		elem(&b, "guid", link)
		if t := p.Article.Published(); !t.IsZero() {
			elem(&b, "pubDate", t.Format(time.RFC1123Z))
		}
		elem(&b, "description", p.Lead)
		b.WriteString("</item>")
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}

func elem(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// encode1256 encodes s in windows-1256, writing characters it lacks as numeric character
// references, so that the decoded page is the same document.
func encode1256(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		if c, ok := charmap.Windows1256.EncodeRune(r); ok {
			out = append(out, c)
			continue
		}
		out = append(out, fmt.Sprintf("&#%d;", r)...)
	}
	return out
}

// esc escapes text for HTML.
func esc(s string) string { return html.EscapeString(s) }
