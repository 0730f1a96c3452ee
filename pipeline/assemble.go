package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/store"
	"github.com/microcosm-cc/bluemonday"
	"github.com/mmcdole/gofeed"
)

// entry is one feed item made ready for the duplicate decision and publication.
type entry struct {
	art      article.Article
	doc      dedupe.Doc
	itemHash string   // a hash of the item as the feed gave it; see itemHash
	mode     FullText // its feed's full-text mode ("": the default)
	// prior is the record of the article this item was recorded as before, when its feed
	// text changed since: a possible correction (see Pipeline.revise); nil for an unseen item.
	prior *store.Prior
}

// assembler turns parsed feed items into articles. It is safe for concurrent use.
type assembler struct {
	sanitizer *bluemonday.Policy
}

func newAssembler() *assembler {
	return &assembler{sanitizer: newSanitizer()}
}

// maxFuture is how far past the fetch time a publication date may lie before it is distrusted:
// clocks and time zones are often a little off, a day or more is a wrong date.
const maxFuture = 2 * time.Hour

// minPlausible is the earliest publication date taken at face value.
var minPlausible = time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)

// assemble converts the items of one fetched feed. Items without any identity (no link, no GUID,
// no title, no text) are skipped: there is nothing to publish or to deduplicate.
func (a *assembler) assemble(f Feed, parsed *gofeed.Feed, fetchURL string, fetchedAt time.Time) []entry {
	out, _ := a.assembleUnseen(f, parsed, fetchURL, fetchedAt, nil)
	return out
}

// seenItem is what the repeat lookup knows of an item: its canonical URL (or ""), its GUID (or "")
// and its item hash.
type seenItem struct{ canonical, guid, hash string }

// seenFunc looks up the items of one feed at once: for items[i], repeat[i] reports an item
// recorded before and unchanged, prior[i] the record of one recorded before whose feed text
// changed since.
type seenFunc func(items []seenItem) (prior []*store.Prior, repeat []bool)

// assembleUnseen is assemble, skipping the items seen reports as repeats before any of their
// text is processed: in the steady state nearly every item of a feed is a repeat, and it costs
// no more than its link. It returns the entries and the number of items skipped. seen may be nil.
func (a *assembler) assembleUnseen(f Feed, parsed *gofeed.Feed, fetchURL string, fetchedAt time.Time, seen seenFunc) (out []entry, repeats int) {
	fetchedAt = fetchedAt.UTC().Truncate(time.Second)
	base := feedBase(parsed, fetchURL)
	// The titles' plain text, the outlet suffix they share and the outlet's names serve only
	// the items that are assembled: in a round of repeats they are never needed.
	var (
		titles []string
		suffix string
		outlet []string
	)
	title := func(i int) string {
		if titles == nil {
			titles = make([]string, len(parsed.Items))
			for i, it := range parsed.Items {
				if it != nil {
					titles[i] = plainText(it.Title)
				}
			}
			suffix = siteSuffix(titles)
			outlet = []string{dedupe.Normalize(f.Name), dedupe.Normalize(parsed.Title)} // once per feed
		}
		return stripSuffix(titles[i], suffix, outlet)
	}

	// Every item's keys and hash first, for one lookup of the feed's items in the store.
	n := len(parsed.Items)
	keys, hashes := make([]itemKeys, n), make([]string, n)
	var (
		asked []seenItem
		at    []int // the item of each asked
	)
	for i, it := range parsed.Items {
		if it == nil {
			continue
		}
		hashes[i], keys[i] = itemHash(it), keysOf(base, it)
		if seen != nil && (keys[i].canonical != "" || keys[i].guid != "") {
			asked = append(asked, seenItem{keys[i].canonical, keys[i].guid, hashes[i]})
			at = append(at, i)
		}
	}
	priors, repeat := make([]*store.Prior, n), make([]bool, n)
	if len(asked) > 0 {
		p, r := seen(asked)
		for j, i := range at {
			priors[i], repeat[i] = p[j], r[j]
		}
	}

	src := source{feed: f, base: base, fetchedAt: fetchedAt, htmlImage: parsed.FeedType == "rss"}
	for i, it := range parsed.Items {
		if it == nil {
			continue
		}
		if repeat[i] {
			repeats++
			continue
		}
		e := a.item(src, it, keys[i], title(i))
		if e.art.ID == "" {
			continue
		}
		e.itemHash, e.prior, e.mode = hashes[i], priors[i], f.FullText
		if out == nil {
			out = make([]entry, 0, len(parsed.Items)-i)
		}
		out = append(out, e)
	}
	return out, repeats
}

// itemHash hashes what an item says (title, description, content, as the feed wrote them): a
// repeat whose hash is unchanged cannot be a correction. Dates and links are left out.
func itemHash(it *gofeed.Item) string {
	h := sha256.New()
	// The strings go through one small buffer: []byte(s) would copy each into a new
	// allocation, the whole content of every item of every poll.
	buf := make([]byte, 0, 1024)
	for _, s := range []string{it.Title, it.Description, it.Content} {
		for len(s) > 0 {
			n := min(len(s), cap(buf))
			h.Write(append(buf[:0], s[:n]...))
			s = s[n:]
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(buf[:0])[:8])
}

// keysOf returns an item's keys: its link resolved against base, its canonical URL ("" without
// a usable link) and its GUID.
func keysOf(base *url.URL, it *gofeed.Item) (k itemKeys) {
	k.link = resolve(base, firstNonEmpty(it.Link, firstLink(it.Links)))
	if k.link != "" {
		if c, err := dedupe.CanonicalURL(k.link); err == nil {
			k.canonical = c
		}
	}
	k.guid = strings.TrimSpace(it.GUID)
	return k
}

// itemKeys are an item's absolute link, its canonical URL and its GUID, worked out once for
// the repeat lookup and the article.
type itemKeys struct{ link, canonical, guid string }

// sanitize returns a.sanitizer.Sanitize(s), written into a builder sized for s. bluemonday's
// own buffer starts empty and doubles as it fills, then is copied into the string: three times
// the article's size in garbage, for HTML that comes out about as long as it went in.
func (a *assembler) sanitize(s string) string {
	if strings.TrimSpace(s) == "" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/8) // links gain rel and target attributes
	if err := a.sanitizer.SanitizeReaderToWriter(strings.NewReader(s), &b); err != nil {
		return "" // as Sanitize does
	}
	return b.String()
}

// source is what the items of one fetched feed share.
type source struct {
	feed      Feed
	base      *url.URL // relative links resolve against it
	fetchedAt time.Time
	// htmlImage gives an item without an image of its own the first image of its HTML, as
	// gofeed's RSS translator would (its Atom translator does not): see fetcher.NewParser.
	htmlImage bool
}

func (a *assembler) item(src source, it *gofeed.Item, keys itemKeys, title string) entry {
	f, base, fetchedAt := src.feed, src.base, src.fetchedAt
	link, canonical, guid := keys.link, keys.canonical, keys.guid

	contentHTML := ""
	contentText := ""
	var img image // the first image of the content, else of the description
	if strings.TrimSpace(it.Content) != "" {
		contentHTML = strings.TrimSpace(a.sanitize(it.Content))
		contentText, img = htmlText(it.Content)
	}
	description, descImg := htmlText(it.Description)
	if !img.found {
		img = descImg
	}
	if !src.htmlImage {
		img = image{}
	}
	summary := stripBoilerplate(description)
	if summary == "" && contentText != "" {
		summary = lead(contentText, 300)
	}
	if title == "" && summary == "" && contentText == "" && link == "" && guid == "" {
		return entry{}
	}

	published, guessed := pubDate(it, fetchedAt)
	raw := ""
	if guessed {
		raw = strings.TrimSpace(firstNonEmpty(it.Published, it.Updated))
	}
	text := contentText
	if text == "" {
		text = summary
	}
	fallback := "" // only an item with neither link nor GUID is known by its text
	if canonical == "" && guid == "" {
		fallback = dedupe.Normalize(title) + "\n" + dedupe.Normalize(summary)
	}
	id := article.ID(canonical, f.ID, guid, fallback)

	source := article.ContentNone // until pages are fetched: the feed's content, or none
	if contentText != "" || contentHTML != "" {
		source = article.ContentFromFeed
	}
	art := article.Article{
		SchemaVersion:      article.SchemaVersion,
		ID:                 id,
		URL:                link,
		CanonicalURL:       canonical,
		GUID:               guid,
		FeedID:             f.ID,
		FeedURL:            f.URL,
		Source:             f.Name,
		Lang:               f.Lang,
		Title:              title,
		Summary:            summary,
		ContentText:        contentText,
		ContentHTML:        contentHTML,
		ContentSource:      source,
		Authors:            authors(it),
		Categories:         categories(it),
		ImageURL:           imageURL(it, img, base),
		PublishedAt:        published,
		PublishedAtGuessed: guessed,
		PublishedAtRaw:     raw,
		FetchedAt:          fetchedAt,
		ClusterID:          id,
	}
	doc := dedupe.Doc{
		FeedID:       f.ID,
		Source:       f.Name,
		CanonicalURL: canonical,
		GUID:         guid,
		Title:        title,
		Text:         text,
		PublishedAt:  published,
	}
	return entry{art: art, doc: doc}
}

// feedBase is the URL relative item links are resolved against: the feed's own link when it is
// absolute, else the URL the feed was fetched from.
func feedBase(parsed *gofeed.Feed, fetchURL string) *url.URL {
	fu, _ := url.Parse(fetchURL)
	if parsed.Link != "" {
		if u, err := url.Parse(strings.TrimSpace(parsed.Link)); err == nil && u.IsAbs() && u.Host != "" {
			return u
		}
	}
	return fu
}

// ampersands are the escaped forms of & that feeds leave in links when they escape twice
// (&amp;#038; arrives as &#038; after XML decoding). Only these are undone: a general HTML
// unescape would also turn "&section=" into "§ion=" (legacy entities need no semicolon).
var ampersands = strings.NewReplacer("&amp;", "&", "&#038;", "&", "&#38;", "&", "&#x26;", "&", "&#X26;", "&")

// resolve makes ref absolute against base, undoing a double escape of its ampersands. It
// returns "" for an empty or unparseable reference.
func resolve(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	for range 2 {
		if !strings.Contains(ref, "&") {
			break
		}
		ref = ampersands.Replace(ref)
	}
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if u.IsAbs() || base == nil {
		return u.String()
	}
	return base.ResolveReference(u).String()
}

func pubDate(it *gofeed.Item, fetchedAt time.Time) (time.Time, bool) {
	for _, t := range []*time.Time{it.PublishedParsed, it.UpdatedParsed} {
		if t == nil {
			continue
		}
		u := t.UTC().Truncate(time.Second)
		if u.Before(minPlausible) || u.After(fetchedAt.Add(maxFuture)) {
			continue
		}
		return u, false
	}
	return fetchedAt, true
}

func authors(it *gofeed.Item) []string {
	out := []string{}
	seen := map[string]bool{}
	add := func(p *gofeed.Person) {
		if p == nil {
			return
		}
		name := plainText(firstNonEmpty(p.Name, p.Email))
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, p := range it.Authors {
		add(p)
	}
	if len(out) == 0 {
		add(it.Author)
	}
	return out
}

func categories(it *gofeed.Item) []string {
	out := make([]string, 0, len(it.Categories))
	seen := map[string]bool{}
	for _, c := range it.Categories {
		c = plainText(c)
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// imageURL picks the item's image: its own image element (gofeed's: iTunes image, Media RSS
// image, image enclosure), else the first image in its HTML, else the first enclosure that looks
// like an image, else Media RSS content that looks like an image, or a thumbnail. gofeed would
// put the image from the HTML in the item's image element; feedd's parser leaves that to the
// pipeline (fetcher.NewParser). gofeed looked only in <content:encoded> and <description>; the
// pipeline looks in the content and description gofeed fills in, which come from atom:content,
// dc:description, itunes:summary or atom:summary when those are missing.
func imageURL(it *gofeed.Item, html image, base *url.URL) string {
	if it.Image != nil && it.Image.URL != "" {
		return resolve(base, it.Image.URL)
	}
	if html.src != "" {
		return resolve(base, html.src)
	}
	for _, e := range it.Enclosures {
		if e != nil && e.URL != "" && (strings.HasPrefix(e.Type, "image/") || e.Type == "" && looksLikeImage(e.URL)) {
			return resolve(base, e.URL)
		}
	}
	if media, ok := it.Extensions["media"]; ok {
		for _, name := range []string{"content", "thumbnail"} {
			for _, ex := range media[name] {
				if u := ex.Attrs["url"]; u != "" && (name == "thumbnail" || ex.Attrs["medium"] == "image" ||
					strings.HasPrefix(ex.Attrs["type"], "image/") || looksLikeImage(u)) {
					return resolve(base, u)
				}
			}
		}
	}
	return ""
}

func looksLikeImage(u string) bool {
	p := strings.ToLower(u)
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	for _, ext := range []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// titleSeparators split a headline from the outlet name appended to it.
var titleSeparators = []string{" | ", " - ", " – ", " — ", " :: ", " ｜ "}

// splitSuffix returns the headline and the trailing segment after the last separator, or ok false.
func splitSuffix(title string) (head, suffix string, ok bool) {
	best := -1
	sepLen := 0
	for _, sep := range titleSeparators {
		if i := strings.LastIndex(title, sep); i > best {
			best, sepLen = i, len(sep)
		}
	}
	if best <= 0 {
		return title, "", false
	}
	return strings.TrimSpace(title[:best]), strings.TrimSpace(title[best+sepLen:]), true
}

// siteSuffix finds the outlet suffix a feed appends to its titles: a short trailing segment
// shared by at least three titles and by at least half of them ("عنوان | الحرة").
func siteSuffix(titles []string) string {
	counts := map[string]int{}
	for _, t := range titles {
		if _, s, ok := splitSuffix(t); ok && len(strings.Fields(s)) <= 5 {
			counts[s]++
		}
	}
	best, n := "", 0
	for s, c := range counts {
		if c > n || c == n && s < best {
			best, n = s, c
		}
	}
	if n >= 3 && 2*n >= len(titles) {
		return best
	}
	return ""
}

// stripSuffix removes the outlet name from the end of a title: the feed's recurring suffix, or a
// trailing segment that names the outlet (its configured name or the channel title, given
// normalised in names). The title is kept whole when what would remain is a single word.
func stripSuffix(title, recurring string, names []string) string {
	head, s, ok := splitSuffix(title)
	if !ok || len(strings.Fields(head)) < 2 {
		return title
	}
	if recurring != "" && s == recurring {
		return head
	}
	ns := dedupe.Normalize(s)
	if ns == "" {
		return title
	}
	for _, nn := range names {
		if nn != "" && (ns == nn || strings.Contains(nn, ns) && len(ns) >= 4) {
			return head
		}
	}
	return title
}

// boilerplate matches what blog engines append to feed summaries. Each pattern runs only when
// one of its markers is in the text: most summaries have none, and the regexps are not cheap.
// They are compiled the first time they are needed: their counted repeats (.{0,500}) make
// programs of thousands of instructions, which cost every start of feedd several milliseconds
// when they were compiled at init, for a round that may have no summary to clean.
var boilerplate = []struct {
	markers []string
	re      func() *regexp.Regexp
}{
	{[]string{"appeared first on"}, lazyRegexp(`(?s)\s*The post .{0,500}? appeared first on .{0,200}$`)},
	{[]string{"أولاً على"}, lazyRegexp(`(?s)\s*ظهرت المقالة .{0,500}? أولاً على .{0,200}$`)},
	{[]string{"Continue reading", "Read more", "اقرأ المزيد", "إقرأ المزيد"},
		lazyRegexp(`(?s)\s*(Continue reading|Read more|اقرأ المزيد|إقرأ المزيد)\s*(\.\.\.|…|»|>>)?\s*$`)},
}

// lazyRegexp returns a function that compiles expr on its first call and returns it on every
// call. expr must compile: TestBoilerplateCompiles compiles them all.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

func stripBoilerplate(s string) string {
	for _, b := range boilerplate {
		if slices.ContainsFunc(b.markers, func(m string) bool { return strings.Contains(s, m) }) {
			s = b.re().ReplaceAllString(s, "")
		}
	}
	return strings.TrimSpace(s)
}

// lead returns the first paragraph of s, cut at a word boundary to at most n runes.
func lead(s string, n int) string {
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func firstLink(links []string) string {
	if len(links) > 0 {
		return links[0]
	}
	return ""
}
