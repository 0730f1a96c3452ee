package extract

import (
	"fmt"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// builtinRules are the per-site rules of the built-in outlets, by host without "www.".
//
// A rule is only listed where its selectors are known from the outlet's pages; the general
// extractor handles the others. A built-in rule whose body selects nothing, or too little
// text, gives way to the general extractor, so that a redesign of an outlet's pages costs
// nothing but the rule's help.
var builtinRules = map[string]Rule{
	// Al Jazeera's article text; its "اقرأ أيضا" lists inside it go with the boilerplate pass.
	"aljazeera.net": {Body: "div.wysiwyg--all-content", Strip: []string{"aside", ".article-related", ".more-on"}},
}

// RuleFor returns the built-in rule for a host, if any.
func RuleFor(host string) (*Rule, bool) {
	host = strings.TrimPrefix(strings.ToLower(strings.TrimSuffix(host, ".")), "www.")
	r, ok := builtinRules[host]
	if !ok {
		return nil, false
	}
	r.Strip = append([]string(nil), r.Strip...)
	return &r, true
}

// applyRule strips rule.Strip from doc and returns the nodes rule.Body selects, outermost only.
//
// A rule with no body only strips; the general extractor then finds the article.
func applyRule(doc *html.Node, rule *Rule) ([]*html.Node, error) {
	var body cascadia.Selector
	if rule.Body != "" {
		var err error
		if body, err = cascadia.Compile(rule.Body); err != nil {
			return nil, fmt.Errorf("rule body %q: %w", rule.Body, err)
		}
	}
	for _, s := range rule.Strip {
		sel, err := cascadia.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("rule strip %q: %w", s, err)
		}
		for _, n := range cascadia.QueryAll(doc, sel) {
			if n.Parent != nil {
				n.Parent.RemoveChild(n)
			}
		}
	}
	if body == nil {
		return nil, nil
	}
	var out []*html.Node
	for _, n := range cascadia.QueryAll(doc, body) {
		if !hasAncestor(n, out) {
			out = append(out, n)
		}
	}
	for _, n := range out {
		cleanTree(n, n)
	}
	return out, nil
}

func hasAncestor(n *html.Node, set []*html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		for _, s := range set {
			if s == p {
				return true
			}
		}
	}
	return false
}
