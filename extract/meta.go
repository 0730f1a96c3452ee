package extract

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/feedd/feedd/feeddate"
)

// meta is what a page says about its article outside the body: <meta> tags, JSON-LD,
// <title>, the first <h1>, a <time> element and byline markup.
type meta struct {
	title, byline, image string
	published            time.Time
}

// pageMeta holds the candidates found in one walk of the document, best first per field.
type pageMeta struct {
	props    map[string]string // <meta property|name|itemprop> keys, lower-cased; first value wins
	ldTitle  string
	ldAuthor string
	ldDate   string
	ldImage  string
	title    string // <title>
	h1       string
	timeAttr string // first <time datetime>
	byline   string // first element marked as the byline or author
}

func readMeta(doc *html.Node, base *url.URL) meta {
	pm := pageMeta{props: map[string]string{}}
	pm.walk(doc)
	var m meta
	m.title = firstNonEmpty(pm.props["og:title"], pm.ldTitle, pm.props["twitter:title"], pm.h1, pm.title)
	m.title = collapse(m.title)
	m.byline = collapse(firstNonEmpty(pm.ldAuthor, notURL(pm.props["author"]), notURL(pm.props["article:author"]),
		notURL(pm.props["dc.creator"]), pm.byline))
	m.byline = trimBylinePrefix(m.byline)
	if charCount(m.byline) > 100 {
		m.byline = ""
	}
	img := firstNonEmpty(pm.props["og:image"], pm.props["og:image:url"], pm.props["og:image:secure_url"],
		pm.ldImage, pm.props["twitter:image"], pm.props["twitter:image:src"], pm.props["image_src"])
	m.image = absURL(base, img)
	for _, s := range []string{pm.props["article:published_time"], pm.ldDate, pm.props["datepublished"],
		pm.props["og:published_time"], pm.props["pubdate"], pm.props["publishdate"],
		pm.props["dc.date.issued"], pm.props["dc.date"], pm.props["date"], pm.timeAttr} {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if t, err := feeddate.Parse(s, time.UTC); err == nil && t.Year() >= 1995 {
			m.published = t.UTC()
			break
		}
	}
	return m
}

func (pm *pageMeta) walk(n *html.Node) {
	if n.Type == html.ElementNode {
		switch n.DataAtom {
		case atom.Meta:
			key := strings.ToLower(firstNonEmpty(attr(n, "property"), attr(n, "name"), attr(n, "itemprop")))
			val := firstNonEmpty(attr(n, "content"), attr(n, "datetime"))
			if key != "" && val != "" {
				if _, ok := pm.props[key]; !ok {
					pm.props[key] = val
				}
			}
		case atom.Link:
			if strings.EqualFold(attr(n, "rel"), "image_src") {
				if _, ok := pm.props["image_src"]; !ok {
					pm.props["image_src"] = attr(n, "href")
				}
			}
		case atom.Title:
			if pm.title == "" && n.Parent != nil && n.Parent.DataAtom == atom.Head {
				pm.title = textContent(n)
			}
		case atom.H1:
			if pm.h1 == "" {
				pm.h1 = collapse(textContent(n))
			}
		case atom.Time:
			if pm.timeAttr == "" {
				pm.timeAttr = attr(n, "datetime")
			}
		case atom.Script:
			if strings.Contains(strings.ToLower(attr(n, "type")), "ld+json") {
				pm.jsonLD(textContent(n))
			}
			return
		case atom.Style, atom.Svg:
			return
		}
		if ip := attr(n, "itemprop"); ip != "" && n.DataAtom != atom.Meta {
			key := strings.ToLower(ip)
			if key == "datepublished" {
				if _, ok := pm.props[key]; !ok {
					if v := firstNonEmpty(attr(n, "datetime"), attr(n, "content")); v != "" {
						pm.props[key] = v
					}
				}
			}
			if key == "author" && pm.byline == "" {
				pm.byline = collapse(textContent(n))
			}
		}
		if pm.byline == "" && (strings.EqualFold(attr(n, "rel"), "author") || hasClass(n, "byline")) {
			pm.byline = collapse(textContent(n))
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		pm.walk(c)
	}
}

// jsonLD reads headline, author, datePublished and image from the first Article-like object.
func (pm *pageMeta) jsonLD(src string) {
	if pm.ldTitle != "" || len(src) > 1<<20 {
		return
	}
	var v any
	if err := json.Unmarshal([]byte(strings.TrimSpace(src)), &v); err != nil {
		return
	}
	obj := findArticleLD(v, 0)
	if obj == nil {
		return
	}
	pm.ldTitle = ldString(obj["headline"])
	pm.ldAuthor = ldName(obj["author"])
	pm.ldDate = ldString(obj["datePublished"])
	pm.ldImage = ldURL(obj["image"])
}

func findArticleLD(v any, depth int) map[string]any {
	if depth > 4 {
		return nil
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if o := findArticleLD(e, depth+1); o != nil {
				return o
			}
		}
	case map[string]any:
		if isArticleType(x["@type"]) {
			return x
		}
		if g, ok := x["@graph"]; ok {
			return findArticleLD(g, depth+1)
		}
	}
	return nil
}

func isArticleType(t any) bool {
	switch x := t.(type) {
	case string:
		return strings.HasSuffix(x, "Article") || x == "BlogPosting" || x == "Report"
	case []any:
		for _, e := range x {
			if isArticleType(e) {
				return true
			}
		}
	}
	return false
}

func ldString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func ldName(v any) string {
	switch x := v.(type) {
	case string:
		return notURL(x)
	case map[string]any:
		return ldString(x["name"])
	case []any:
		var names []string
		for _, e := range x {
			if s := ldName(e); s != "" {
				names = append(names, s)
			}
		}
		return strings.Join(names, ", ")
	}
	return ""
}

func ldURL(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		return ldString(x["url"])
	case []any:
		if len(x) > 0 {
			return ldURL(x[0])
		}
	}
	return ""
}

// bylinePrefixes introduce an author's name in a byline.
var bylinePrefixes = []string{"بقلم", "كتب", "كتبت", "إعداد", "by", "By", "BY"}

// trimBylinePrefix removes "بقلم:", "By" and the like from the start of a byline: a prefix
// that is a word of its own, followed by a name.
func trimBylinePrefix(s string) string {
	for _, p := range bylinePrefixes {
		rest, ok := strings.CutPrefix(s, p)
		if !ok || rest == "" || !strings.ContainsRune(" :-–", []rune(rest)[0]) {
			continue
		}
		if rest = strings.TrimLeft(rest, " :-–"); rest != "" {
			return rest
		}
	}
	return s
}

func notURL(s string) string {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return ""
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, f := range strings.Fields(attr(n, "class")) {
		if strings.EqualFold(f, class) {
			return true
		}
	}
	return false
}

// absURL resolves ref against base; "" when ref is empty or not an http(s) URL once resolved.
func absURL(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	return u.String()
}
