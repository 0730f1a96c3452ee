package extract

import (
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/feedd/feedd/feeddate"
)

// The boilerplate pass runs before the general extractor. It removes what news pages put
// around (and inside) an article that the extractor's scoring lets through: blocks marked as
// share bars, related or most-read lists, comments, tickers, newsletters and the like by their
// class or id; blocks headed by the words that introduce such lists ("اقرأ أيضا", "الأكثر
// قراءة", "أخبار ذات صلة", "Related", …), which is all that marks them on pages with
// generated class names; and datelines ("نشر في: …", "Updated …", a bare date).
//
// A block is never removed when it holds half or more of the page's text: a page that wraps
// its article in a "share-container" keeps its article.

// boilerTokens are class or id tokens (lower case) that mark boilerplate when a token
// contains them.
var boilerTokens = []string{
	"share", "sharing", "social", "related", "most-read", "mostread", "most_read",
	"most-viewed", "mostviewed", "popular", "read-also", "readalso", "read_also",
	"readmore", "read-more", "more-news", "morenews", "more_news", "comment", "disqus",
	"newsletter", "subscribe", "cookie", "consent", "ticker", "breadcrumb",
	"taglist", "tag-list", "post-tags", "article-tags", "widget", "sidebar", "outbrain",
	"taboola", "recommend", "promo", "app-store", "appstore", "download-app", "google-play",
	"advert", "banner", "footer", "masthead", "navbar", "nav-menu", "main-menu", "menu",
	"caption", "credit",
}

// boilerExact are class or id tokens that mark boilerplate only when they are the whole token.
var boilerExact = map[string]bool{
	"tags": true, "tag": true, "print": true, "nav": true, "ad": true, "ads": true,
	"byline": true, "author": true, "date": true, "meta": true, "toolbar": true,
	"aside": true, "keywords": true, "rating": true,
}

// kind of a heading phrase: what the block it heads is.
type phraseKind int

const (
	listPhrase    phraseKind = iota + 1 // a list of links to other stories, or a share bar
	commentPhrase                       // comments
	datePhrase                          // a dateline: the phrase starts a date line
	furniture                           // a copyright line, an app-store footer, a cookie notice
)

// phrases are the headings that introduce boilerplate blocks, folded (see fold).
var phrases = map[string]phraseKind{}

func init() {
	for _, p := range []string{
		"اقرأ أيضا", "اقرأ أيضًا", "إقرأ أيضا", "اقرأ المزيد", "اقرأ ايضا", "شاهد أيضا",
		"الأكثر قراءة", "الأكثر مشاهدة", "الأكثر تداولا", "الأكثر شعبية", "الأكثر تعليقا",
		"الأكثر قراءة اليوم", "أخبار ذات صلة", "مواضيع ذات صلة", "مواد ذات صلة",
		"مقالات ذات صلة", "ذات صلة", "أخبار متعلقة", "موضوعات متعلقة", "قد يعجبك أيضا",
		"قد يهمك أيضا", "قد يهمك", "المزيد من الأخبار", "المزيد", "آخر الأخبار", "أخبار عاجلة",
		"عاجل", "تابعونا", "تابعنا على", "تابعونا على", "شارك", "شارك الخبر", "شارك المقال",
		"شارك هذا المقال", "مشاركة", "الوسوم", "وسوم", "كلمات مفتاحية", "كلمات دالة",
		"طباعة", "إرسال لصديق", "أرسل لصديق", "حفظ", "إعلان", "النشرة البريدية",
		"read more", "read also", "see also", "related", "related articles", "related stories",
		"related posts", "related content", "related news", "more stories", "more news",
		"most read", "most popular", "most viewed", "trending", "trending now",
		"you may also like", "you might also like", "recommended", "recommended for you",
		"share", "share this", "share this article", "share this story", "tags", "topics",
		"latest news", "breaking news", "follow us", "advertisement", "sign up", "newsletter",
		"print", "email",
	} {
		phrases[fold(p)] = listPhrase
	}
	for _, p := range []string{"التعليقات", "تعليقات", "أضف تعليق", "أضف تعليقك", "أرسل تعليقك",
		"اترك تعليقا", "comments", "leave a comment", "leave a reply", "join the conversation"} {
		phrases[fold(p)] = commentPhrase
	}
}

// boilerSentences are the sentences of page furniture: app-store footers, copyright lines,
// cookie notices, newsletter calls. Each is a set of folded words that must all be in a short
// block's folded text.
var boilerSentences = [][]string{
	{"app store", "google play"},
	{"اب ستور", "جوجل بلاي"},
	{"ابل ستور", "جوجل بلاي"},
	{"جميع الحقوق محفوظه"},
	{"all rights reserved"},
	{"copyright"},
	{"ملفات تعريف الارتباط"},
	{"we use cookies"},
	{"uses cookies"},
	{"النشره البريديه"},
	{"النشره الاخباريه", "اشترك"},
	{"sign up for", "newsletter"},
	{"subscribe to our newsletter"},
}

// isBoilerSentence reports whether folded text is page furniture.
func isBoilerSentence(f string) bool {
	for _, words := range boilerSentences {
		all := true
		for _, w := range words {
			if !strings.Contains(f, w) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// phrasePrefixes start the headings of lists of other stories ("More news from Sci-Tech").
var phrasePrefixes = []string{
	"more news from", "more from", "more stories from", "more in ", "related ", "see more",
	fold("اقرأ أيضا"), fold("الأكثر قراءة"), fold("المزيد من"), fold("أخبار ذات صلة"), fold("مواضيع ذات صلة"),
}

// datePrefixes start a dateline, folded.
var datePrefixes = []string{
	fold("نشر في"), fold("تاريخ النشر"), fold("آخر تحديث"), fold("تم النشر"), fold("نُشر"),
	fold("تحديث"), "published", "updated", "posted on", "last updated", "first published",
}

// fold prepares text for phrase matching: lower case; harakat, tatweel and punctuation
// removed; alef, yeh and teh marbuta variants folded; digits dropped; spaces collapsed.
func fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r >= 0x064B && r <= 0x065F, r == 0x0670, r == 0x0640, r == 0x200F, r == 0x200E:
			continue
		case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
			r = 'ا'
		case r == 'ى':
			r = 'ي'
		case r == 'ة':
			r = 'ه'
		}
		if unicode.IsLetter(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		space = true
	}
	return b.String()
}

// cleaner removes boilerplate from one document.
type cleaner struct {
	main    *html.Node // the likely article container: it and its ancestors are never removed
	removed []*html.Node
}

// debugRemovals, when set, is told of every removal (tests only).
var debugRemovals func(why string, n *html.Node)

func removeBoilerplate(doc *html.Node) {
	body := findBody(doc)
	if body == nil {
		return
	}
	cleanTree(body, findMain(body))
}

// cleanTree removes boilerplate under root, never main or its ancestors.
func cleanTree(body, main *html.Node) {
	c := &cleaner{main: main}
	if debugRemovals != nil && c.main != nil {
		debugRemovals("main", c.main)
	}
	c.byClass(body)
	for _, n := range c.removed {
		if debugRemovals != nil {
			debugRemovals("class", n)
		}
		if n.Parent != nil {
			n.Parent.RemoveChild(n)
		}
	}
	c.removed = c.removed[:0]
	var heads []*html.Node
	c.short(body, &heads)
	for _, h := range heads {
		if h.Parent == nil || detached(h) {
			continue
		}
		c.removeHeaded(h)
	}
}

// protected reports whether n is the article container or holds it.
func (c *cleaner) protected(n *html.Node) bool {
	for m := c.main; m != nil; m = m.Parent {
		if m == n {
			return true
		}
	}
	return false
}

// findMain returns the element whose own paragraphs hold the most text that is not link text:
// the text of its children that hold no block of their own (paragraphs, or lines of text
// between <br>s). Candidates inside elements named as boilerplate count for less.
func findMain(body *html.Node) *html.Node {
	type cand struct {
		n     *html.Node
		score int
	}
	var top [3]cand
	var walk func(n *html.Node, boiler, inTeaser bool) (nonLink int, block bool)
	walk = func(n *html.Node, boiler, inTeaser bool) (int, bool) {
		if n.Type == html.TextNode {
			return charCount(n.Data), false
		}
		if n.Type != html.ElementNode {
			return 0, false
		}
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg, atom.Head:
			return 0, false
		}
		boiler = boiler || boilerName(n)
		teaser := startsWithLink(n)
		total, own, block := 0, 0, false
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			t, b := walk(ch, boiler, teaser)
			total += t
			if b {
				block = true
			} else {
				own += t
			}
			if ch.Type == html.ElementNode && blockAtoms[ch.DataAtom] {
				block = true
			}
		}
		if n.DataAtom == atom.A {
			return 0, block
		}
		score := own
		if boiler || teaser || inTeaser {
			// Inside a block named as boilerplate, or a teaser (a headline link, then its
			// lead) or its lead.
			score = score * 3 / 10
		}
		if score > top[len(top)-1].score {
			i := len(top) - 1
			for i > 0 && top[i-1].score < score {
				top[i] = top[i-1]
				i--
			}
			top[i] = cand{n, score}
		}
		return total, block
	}
	walk(body, false, false)
	// A page whose article is tiny may have its footer as the largest block of text.
	for _, c := range top {
		if c.n != nil && (c.score > maxFurniture || !isBoilerSentence(fold(textContent(c.n)))) {
			return c.n
		}
	}
	return top[0].n
}

func findBody(n *html.Node) *html.Node {
	if n.Type == html.ElementNode && n.DataAtom == atom.Body {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if b := findBody(c); b != nil {
			return b
		}
	}
	return nil
}

// detached reports a node no longer under a document.
func detached(n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n.Type == html.DocumentNode {
			return false
		}
	}
	return true
}

// byClass marks the elements under n that class or id names as boilerplate.
func (c *cleaner) byClass(n *html.Node) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type != html.ElementNode {
			continue
		}
		switch ch.DataAtom {
		case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg:
			continue
		case atom.Marquee, atom.Figcaption:
			c.removed = append(c.removed, ch)
			continue
		case atom.Nav, atom.Aside, atom.Footer, atom.Form:
			if !c.protected(ch) {
				c.removed = append(c.removed, ch)
				continue
			}
		}
		if boilerName(ch) && ch.DataAtom != atom.Main && ch.DataAtom != atom.Article && !c.protected(ch) {
			c.removed = append(c.removed, ch)
			continue
		}
		c.byClass(ch)
	}
}

func boilerName(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Key != "class" && a.Key != "id" {
			continue
		}
		for _, tok := range strings.Fields(strings.ToLower(a.Val)) {
			if boilerExact[tok] {
				return true
			}
			for _, b := range boilerTokens {
				if strings.Contains(tok, b) {
					return true
				}
			}
		}
	}
	return false
}

// short walks n, returns the runes of its text, and collects in heads the elements of at most
// 60 runes whose text is a boilerplate heading or a dateline.
func (c *cleaner) short(n *html.Node, heads *[]*html.Node) int {
	if n.Type == html.TextNode {
		return charCount(n.Data)
	}
	if n.Type != html.ElementNode && n.Type != html.DocumentNode {
		return 0
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg:
		return 0
	}
	total := 0
	found := len(*heads)
	var small [8]struct {
		n   *html.Node
		len int
	}
	nsmall := 0
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		t := c.short(ch, heads)
		total += t
		if ch.Type == html.ElementNode && t > 0 && t <= maxFurniture && nsmall < len(small) {
			small[nsmall].n, small[nsmall].len = ch, t
			nsmall++
		}
	}
	if n.Type == html.ElementNode && total > 0 && total <= 60 && len(*heads) == found && n.DataAtom != atom.A {
		if headingKind(n) != 0 {
			*heads = append(*heads, n)
		}
	}
	if total > maxFurniture || n.DataAtom == atom.Body {
		// The largest blocks short enough to be furniture: a copyright line, an app footer.
		for _, s := range small[:nsmall] {
			if !c.protected(s.n) && isBoilerSentence(fold(textContent(s.n))) {
				*heads = append(*heads, s.n)
			}
		}
	}
	return total
}

// maxFurniture is the most runes a block of page furniture (see boilerSentences) holds.
const maxFurniture = 300

// headingKind tells whether n's text is a boilerplate heading, a dateline or furniture.
func headingKind(n *html.Node) phraseKind {
	f := fold(textContent(n))
	if f == "" {
		return 0
	}
	if len(f) <= 4*maxFurniture && isBoilerSentence(f) {
		return furniture
	}
	if k := phrases[f]; k != 0 {
		return k
	}
	for _, p := range phrasePrefixes {
		if strings.HasPrefix(f, p) {
			return listPhrase
		}
	}
	for _, p := range datePrefixes {
		if strings.HasPrefix(f, p) {
			return datePhrase
		}
	}
	if n.DataAtom == atom.Time || (n.DataAtom != atom.Td && n.DataAtom != atom.Th && n.DataAtom != atom.Li) {
		if s := collapse(textContent(n)); len(s) >= 8 && containsDigit(s) {
			if t, err := feeddate.Parse(s, time.UTC); err == nil && t.Year() >= 1995 {
				return datePhrase
			}
		}
	}
	return 0
}

func containsDigit(s string) bool {
	for _, r := range s {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// removeHeaded removes a heading and the block it heads: it climbs from the heading to the
// largest ancestor that the heading starts and that holds only what such a block holds
// (links to other stories, or little text), then removes it.
func (c *cleaner) removeHeaded(h *html.Node) {
	kind := headingKind(h)
	node := h
	if kind == listPhrase || kind == commentPhrase {
		for {
			p := node.Parent
			if p == nil || p.Type != html.ElementNode || !startsWith(p, node) {
				break
			}
			switch p.DataAtom {
			case atom.Body, atom.Html, atom.Main, atom.Article:
				goto done
			}
			if c.protected(p) {
				break
			}
			rest := textLen(p) - textLen(node)
			ok := rest <= 200 || kind == listPhrase && linkList(p, node) || kind == commentPhrase
			if !ok {
				break
			}
			node = p
		}
	}
done:
	if kind == listPhrase && !hasLink(node) {
		// A heading followed by its list, as siblings: remove the lists too.
		for s := nextElement(node); s != nil && isLinkBlock(s) && !c.protected(s); {
			next := nextElement(s)
			s.Parent.RemoveChild(s)
			s = next
		}
	}
	if !c.protected(node) {
		if debugRemovals != nil {
			debugRemovals("heading", node)
		}
		node.Parent.RemoveChild(node)
	}
}

// startsWithLink reports whether n's first content (through its first descendants) is a link
// with a headline's text.
func startsWithLink(n *html.Node) bool {
	for depth := 0; depth < 4; depth++ {
		var first *html.Node
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if ch.Type == html.CommentNode || ch.Type == html.TextNode && strings.TrimSpace(ch.Data) == "" {
				continue
			}
			first = ch
			break
		}
		if first == nil || first.Type != html.ElementNode {
			return false
		}
		if first.DataAtom == atom.A {
			return attr(first, "href") != "" && charCount(textContent(first)) >= 10
		}
		n = first
	}
	return false
}

// startsWith reports whether child is the first content of p (white space and comments aside).
func startsWith(p, child *html.Node) bool {
	for ch := p.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch == child {
			return true
		}
		if ch.Type == html.CommentNode || (ch.Type == html.TextNode && strings.TrimSpace(ch.Data) == "") {
			continue
		}
		return false
	}
	return false
}

// linkList reports whether the element children of p after head mostly hold links.
func linkList(p, head *html.Node) bool {
	n, links := 0, 0
	for ch := p.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch == head || ch.Type != html.ElementNode {
			continue
		}
		n++
		if ch.DataAtom == atom.A || hasLink(ch) {
			links++
		}
	}
	return 2*links >= n
}

func hasLink(n *html.Node) bool {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && (ch.DataAtom == atom.A && attr(ch, "href") != "" || hasLink(ch)) {
			return true
		}
	}
	return false
}

// isLinkBlock reports a list or a block whose text is mostly link text.
func isLinkBlock(n *html.Node) bool {
	total := textLen(n)
	if total == 0 {
		return false
	}
	return 2*linkTextLen(n) >= total
}

func linkTextLen(n *html.Node) int {
	if n.Type == html.ElementNode && n.DataAtom == atom.A {
		return textLen(n)
	}
	t := 0
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		t += linkTextLen(ch)
	}
	return t
}

func nextElement(n *html.Node) *html.Node {
	for s := n.NextSibling; s != nil; s = s.NextSibling {
		if s.Type == html.ElementNode {
			return s
		}
		if s.Type == html.TextNode && strings.TrimSpace(s.Data) != "" {
			return nil
		}
	}
	return nil
}

// textLen counts the non-space runes of the text under n.
func textLen(n *html.Node) int {
	if n.Type == html.TextNode {
		return charCount(n.Data)
	}
	if n.Type == html.ElementNode {
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg:
			return 0
		}
	}
	t := 0
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		t += textLen(ch)
	}
	return t
}
