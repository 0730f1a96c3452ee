package extract

import (
	"fmt"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
)

// extractDoc extracts the article of a parsed document. It mutates doc.
func extractDoc(doc *html.Node, pageURL *url.URL, rule *Rule, builtin bool) (*Result, error) {
	m := readMeta(doc, pageURL)
	var body []*html.Node
	if rule != nil {
		var err error
		body, err = applyRule(doc, rule)
		if err != nil {
			return nil, fmt.Errorf("extract %s: %w", urlString(pageURL), err)
		}
		if builtin && charCount(plainText(body...)) < minRuleText {
			body = nil // the outlet's pages changed: the general extractor does better
		}
	}
	if len(body) == 0 {
		n, err := general(doc, pageURL, m.title)
		if err != nil {
			return nil, fmt.Errorf("extract %s: %w", urlString(pageURL), err)
		}
		body = []*html.Node{n}
	}
	text := validUTF8(plainText(body...))
	if charCount(text) < minText {
		return nil, fmt.Errorf("extract %s: %w", urlString(pageURL), ErrNoArticle)
	}
	var hb strings.Builder
	for _, n := range body {
		if err := html.Render(&hb, n); err != nil {
			return nil, fmt.Errorf("extract %s: render html: %w", urlString(pageURL), err)
		}
	}
	return &Result{
		Title:       validUTF8(m.title),
		Byline:      validUTF8(m.byline),
		PublishedAt: m.published,
		ImageURL:    validUTF8(m.image),
		Text:        text,
		HTML:        validUTF8(hb.String()),
	}, nil
}

// plainReadability turns feedd's passes off, leaving go-readability alone (evaluations set it
// to measure what the passes add).
var plainReadability bool

// minRuleText is the fewest non-space characters a built-in rule must select to be used.
const minRuleText = 80

// minText is the fewest non-space characters an article has: less is no article.
const minText = 25

// general runs the general extractor on doc and returns the article's container.
func general(doc *html.Node, pageURL *url.URL, title string) (*html.Node, error) {
	if !plainReadability {
		removeBoilerplate(doc)
	}
	p := readability.NewParser()
	p.DisableJSONLD = true // readMeta reads JSON-LD; the parser would parse it again
	if pageURL == nil {
		pageURL = &url.URL{}
	}
	art, err := p.ParseAndMutate(doc, pageURL)
	if err != nil {
		return nil, err
	}
	if art.Node == nil {
		return nil, ErrNoArticle
	}
	if !plainReadability {
		removeTitle(art.Node, title, art.Title())
	}
	return art.Node, nil
}

// removeTitle removes the article's title from the top of its body, where the general
// extractor often keeps it: the first element, before any other text, whose text is a title.
func removeTitle(body *html.Node, titles ...string) {
	var folded []string
	for _, t := range titles {
		if f := fold(t); f != "" {
			folded = append(folded, f)
		}
	}
	if len(folded) == 0 {
		return
	}
	seen := 0
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		if seen > 0 {
			return true
		}
		if n.Type == html.TextNode {
			seen += charCount(n.Data)
			return seen > 0
		}
		if n.Type != html.ElementNode {
			return false
		}
		if n != body && textLen(n) <= 300 {
			f := fold(textContent(n))
			for _, t := range folded {
				if f == t {
					n.Parent.RemoveChild(n)
					return true
				}
			}
		}
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			if walk(c) {
				return true
			}
			c = next
		}
		return false
	}
	walk(body)
}
