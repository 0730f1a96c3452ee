// Package extract finds the main text of one article page: its body as plain text and HTML, and
// its title, byline, date and image. A per-site Rule (CSS selectors for the body and for nodes to
// strip) applies first when one is given or built in; otherwise a general extractor, built on
// go-readability and tuned for Arabic news pages, finds the article.
//
// Extract never panics on bad input: a page with no article is an error.
package extract

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/net/html"
)

// Rule is a per-site rule: CSS selectors for the article body and for nodes to strip.
type Rule struct {
	Body  string   `yaml:"body"`
	Strip []string `yaml:"strip"`
}

// Result is what one page yields. Zero values mean "not found".
type Result struct {
	Title       string
	Byline      string
	PublishedAt time.Time // UTC; zero when the page gives none
	ImageURL    string    // absolute
	Text        string    // plain text, paragraphs separated by "\n\n"
	HTML        string    // the article's HTML (not sanitised: the pipeline sanitises it)
}

// ErrNoArticle is returned (wrapped) for a page in which no article text was found.
var ErrNoArticle = errors.New("no article found")

// Extract finds the main text of a page already decoded to UTF-8, at pageURL (for relative links).
// rule may be nil; then the built-in rule for pageURL's host, if any, applies, then the general
// extractor. It returns an error (never panics) for pages with no article.
func Extract(page []byte, pageURL *url.URL, rule *Rule) (*Result, error) {
	return ExtractWith(page, pageURL, rule, Options{})
}

// Options tune ExtractWith.
type Options struct {
	// NoBuiltinRules skips the built-in per-site rules: with a nil rule, only the general
	// extractor runs (evaluations use it to measure the general extractor alone).
	NoBuiltinRules bool
}

// ExtractWith is Extract with options.
func ExtractWith(page []byte, pageURL *url.URL, rule *Rule, opts Options) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("extract %s: internal error: %v", urlString(pageURL), r)
		}
	}()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("extract %s: parse html: %w", urlString(pageURL), err)
	}
	builtin := false
	if rule == nil && pageURL != nil && !opts.NoBuiltinRules {
		rule, builtin = RuleFor(pageURL.Hostname())
	}
	return extractDoc(doc, pageURL, rule, builtin)
}

func urlString(u *url.URL) string {
	if u == nil {
		return "page"
	}
	return u.Redacted()
}
