package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/feedd/feedd/extract"
	"github.com/feedd/feedd/pipeline"
)

// pageReader reads article pages for the pipeline: the extract package's fetcher, then its
// extractor. Failures come back as *pipeline.PageError with the fetcher's reason, or
// "no_article" when the page holds no article text.
type pageReader struct{ f *extract.Fetcher }

var _ pipeline.PageReader = pageReader{}

func (r pageReader) ReadPage(ctx context.Context, rawURL string, rule *pipeline.PageRule) (pipeline.Page, error) {
	page, err := r.f.Fetch(ctx, rawURL)
	if err != nil {
		pe := &pipeline.PageError{Reason: string(extract.ReasonOf(err)), Err: err}
		var ee *extract.Error
		if errors.As(err, &ee) {
			pe.Transient, pe.RetryAfter = ee.Transient(), ee.RetryAfter
		}
		return pipeline.Page{}, pe
	}
	res, err := extractPage(page.Body, page.URL, rule)
	if err != nil {
		return pipeline.Page{}, &pipeline.PageError{Reason: "no_article", Err: err}
	}
	return pipeline.Page{Title: res.Title, Byline: res.Byline, PublishedAt: res.PublishedAt,
		ImageURL: res.ImageURL, Text: res.Text, HTML: res.HTML}, nil
}

// extractPage finds the article in a page decoded to UTF-8, at pageURL, with the feed's rule if
// it has one.
func extractPage(body []byte, pageURL string, rule *pipeline.PageRule) (*extract.Result, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("page url %q: %w", pageURL, err)
	}
	var r *extract.Rule
	if rule != nil {
		r = &extract.Rule{Body: rule.Body, Strip: rule.Strip}
	}
	return extract.Extract(body, u, r)
}
