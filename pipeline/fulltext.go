package pipeline

import (
	"context"
	"errors"
	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/dedupe"
	"strings"
	"sync"
	"time"
	"unicode"
)

// FullText says when an item's article page is fetched for its text.
type FullText string

const (
	// FullTextAuto fetches the page when the feed's own text is shorter than MinWords.
	FullTextAuto FullText = "auto"
	// FullTextAlways fetches the page of every item with a link.
	FullTextAlways FullText = "always"
	// FullTextNever keeps the feed's text.
	FullTextNever FullText = "never"
)

// PageRule is a per-site rule for finding an article's text: CSS selectors.
type PageRule struct {
	Body  string   // the article body; "" lets the general extractor find it
	Strip []string // nodes to remove from it
}

// Page is what an article page yields. Zero values mean not found.
type Page struct {
	Title       string
	Byline      string
	PublishedAt time.Time // UTC
	ImageURL    string
	Text        string // plain text, paragraphs separated by blank lines
	HTML        string // the article's HTML, not sanitised
}

// PageReader fetches an article page and finds its main text. The extract package implements it
// (cmd/feedd adapts it). Its errors should be *PageError, so that failures are counted by reason
// and transient ones retried.
type PageReader interface {
	ReadPage(ctx context.Context, rawURL string, rule *PageRule) (Page, error)
}

// PageError is why a page could not be had.
type PageError struct {
	Reason     string        // a short metric label: timeout, status_4xx, robots, not_html, ...
	Transient  bool          // worth one more try within the poll
	RetryAfter time.Duration // the server's wish, for a transient failure
	Err        error
}

func (e *PageError) Error() string { return e.Err.Error() }
func (e *PageError) Unwrap() error { return e.Err }

// Reasons a page is not used that PageReader does not report.
const (
	pageShort    = "shorter_than_feed" // the extraction is shorter than the feed's own text
	pageMismatch = "mismatch"          // the extraction does not hold the feed's text: another page
	pageCanceled = "canceled"          // the poll ended first
	pageOther    = "other"             // an error that is not a *PageError
)

// maxPageRetryAfter is the longest Retry-After a poll waits for before its one retry of a page.
const maxPageRetryAfter = 10 * time.Second

// fullText fetches the article pages of the entries that need one, at most opts.PageConcurrency
// at once across all polls and within the per-host limits of feeds, and puts the page's text in
// place of the feed's. It runs outside the decision lock. A page that cannot be had leaves its
// entry with the feed's text, counted by reason; no entry is dropped or held past its poll.
func (p *Pipeline) fullText(ctx context.Context, f Feed, entries []entry) (c Counts) {
	if p.pages == nil {
		return c
	}
	byURL := map[string][]*entry{} // a page is fetched once per canonical URL
	var order []string
	for i := range entries {
		e := &entries[i]
		if !p.wantsPage(e) {
			continue
		}
		if _, ok := byURL[e.art.CanonicalURL]; !ok {
			order = append(order, e.art.CanonicalURL)
		}
		byURL[e.art.CanonicalURL] = append(byURL[e.art.CanonicalURL], e)
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex // guards c
	)
	for _, cu := range order {
		es := byURL[cu]
		select {
		case p.pageSlots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return c
		}
		wg.Go(func() {
			defer func() { <-p.pageSlots }()
			page, err := p.readPage(ctx, es[0].art.URL, f.Rule)
			for _, e := range es {
				reason := p.usePage(e, page, err)
				mu.Lock()
				if reason == "" {
					c.PagesRead++
				} else {
					c.add(Counts{PagesFailed: map[string]int{reason: 1}})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return c
}

// wantsPage reports whether e's text should come from its page: there is a page reader, e has
// a link, and its feed's mode is always, or auto with a feed text shorter than MinWords.
func (p *Pipeline) wantsPage(e *entry) bool {
	if p.pages == nil || e.art.URL == "" || e.art.CanonicalURL == "" {
		return false
	}
	mode := e.mode
	if mode == "" {
		mode = p.opts.FullText
	}
	switch mode {
	case FullTextAlways:
		return true
	case FullTextAuto:
		return words(e.doc.Text) < p.opts.MinWords
	}
	return false
}

// readPage reads one page within the per-host limits, retrying a transient failure once.
func (p *Pipeline) readPage(ctx context.Context, rawURL string, rule *PageRule) (Page, error) {
	for try := 0; ; try++ {
		release, err := p.hosts.acquire(ctx, host(rawURL))
		if err != nil {
			return Page{}, err
		}
		start := time.Now()
		page, err := p.pages.ReadPage(ctx, rawURL, rule)
		release()
		p.m.PageDuration.Observe(time.Since(start).Seconds())
		var pe *PageError
		if err == nil || try > 0 || ctx.Err() != nil || !errors.As(err, &pe) || !pe.Transient ||
			pe.RetryAfter > maxPageRetryAfter {
			return page, err
		}
		if pe.RetryAfter > 0 {
			select {
			case <-p.opts.Clock.After(pe.RetryAfter):
			case <-ctx.Done():
				return page, err
			}
		}
	}
}

// usePage puts a page's text in e, or counts why it could not, and returns that reason ("" when
// the page's text was taken).
func (p *Pipeline) usePage(e *entry, page Page, err error) string {
	a := &e.art
	switch {
	case err != nil:
	case words(page.Text) <= words(e.doc.Text):
		err = &PageError{Reason: pageShort, Err: errors.New("the page's text is no longer than the feed's")}
	case !tellsFeedText(page.Text, e.doc.Text):
		err = &PageError{Reason: pageMismatch, Err: errors.New("the page's text does not hold the feed's")}
	}
	if err != nil {
		reason := pageOther
		var pe *PageError
		switch {
		case errors.As(err, &pe):
			reason = pe.Reason
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			reason = pageCanceled
		}
		p.m.Pages.WithLabelValues(reason).Inc()
		if a.ContentText == "" && a.Summary != "" {
			// The feed's text is all there is: it stands for the article's.
			a.ContentText, a.ContentSource = a.Summary, article.ContentFromFeed
		}
		p.log.Debug("article page not used: keeping the feed's text", "feed", a.FeedID, "url", a.URL,
			"reason", reason, "err", err)
		return reason
	}
	p.m.Pages.WithLabelValues("ok").Inc()
	a.ContentText = page.Text
	a.ContentHTML = strings.TrimSpace(p.asm.sanitize(page.HTML))
	a.ContentSource = article.ContentFromPage
	if a.Summary == "" {
		a.Summary = lead(page.Text, 300)
	}
	if len(a.Authors) == 0 && page.Byline != "" {
		a.Authors = []string{page.Byline}
	}
	if a.ImageURL == "" {
		a.ImageURL = page.ImageURL
	}
	if a.PublishedAtGuessed && !page.PublishedAt.IsZero() && !page.PublishedAt.After(a.FetchedAt.Add(maxFuture)) &&
		!page.PublishedAt.Before(minPlausible) {
		a.PublishedAt = page.PublishedAt.UTC().Truncate(time.Second)
		a.PublishedAtGuessed = false
		a.PublishedAtRaw = ""
		e.doc.PublishedAt = a.PublishedAt
	}
	e.doc.Text = page.Text
	return ""
}

// tellsFeedText reports whether a page's text holds at least half the words of the feed's text
// (normalised, so spelling variants count; one of one or two words): a feed's summary is the
// article's lead or a teaser drawn from it. A page that does not is another page: a consent wall, a "page not found" served
// with 200, a site's front page, or an extraction that missed a one-line article.
func tellsFeedText(page, feed string) bool {
	fw := dedupe.Tokens(feed)
	if len(fw) == 0 {
		return true // nothing to tell by
	}
	in := make(map[string]bool, len(fw)*8)
	for _, w := range dedupe.Tokens(page) {
		in[w] = true
	}
	found := 0
	for _, w := range fw {
		if in[w] {
			found++
		}
	}
	return 2*found >= len(fw)
}

// words counts the words of s: runs of letters or digits.
func words(s string) int {
	n, in := 0, false
	for _, r := range s {
		w := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		if w && !in {
			n++
		}
		in = w
	}
	return n
}
