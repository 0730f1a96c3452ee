package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/feedd/feedd/extract"
	"github.com/feedd/feedd/pipeline"
)

// maxExtractFile bounds a page read from a file (after decompression), as extract.max_body
// bounds a fetched one.
const maxExtractFile = 64 << 20

// cmdExtract prints what feedd extracts from one article page: fetched from a URL with the
// configured limits, robots.txt and proxy, or read from a file (gzipped when it ends in .gz).
// It applies the rule of the configured feed whose host the page is on, if any, else the
// built-in rules.
func cmdExtract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("extract", stderr)
	path := configFlag(fs)
	pageURL := fs.String("url", "", "with a FILE: the page's `address`, for its relative links and its site's rule")
	asJSON := fs.Bool("json", false, "print one JSON object: url, title, byline, published_at, image_url, text, html")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{exitOK, errSilent}
		}
		return &exitError{exitBadConfig, errSilent}
	}
	if fs.NArg() != 1 {
		return &exitError{exitBadConfig, errors.New("extract takes one URL or FILE, after the flags")}
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	pt, err := partsOf(cfg)
	if err != nil {
		return &exitError{exitBadConfig, err}
	}
	target := fs.Arg(0)
	var body []byte
	addr := *pageURL
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		page, err := extract.NewFetcher(pageFetchOptions(cfg)).Fetch(ctx, target)
		if err != nil {
			return &exitError{exitFailure, err}
		}
		body, addr = page.Body, page.URL
	} else {
		if body, err = readPageFile(target); err != nil {
			return &exitError{exitFailure, err}
		}
		body, _ = extract.DecodePage(body, "")
	}
	res, err := extractPage(body, addr, ruleFor(pt.pipeline.Feeds, addr))
	if err != nil {
		return &exitError{exitFailure, err}
	}
	if *asJSON {
		out := struct {
			URL         string `json:"url"`
			Title       string `json:"title"`
			Byline      string `json:"byline"`
			PublishedAt string `json:"published_at"`
			ImageURL    string `json:"image_url"`
			Text        string `json:"text"`
			HTML        string `json:"html"`
		}{addr, res.Title, res.Byline, "", res.ImageURL, res.Text, res.HTML}
		if !res.PublishedAt.IsZero() {
			out.PublishedAt = res.PublishedAt.UTC().Format(time.RFC3339)
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "url:       %s\ntitle:     %s\nbyline:    %s\n", addr, res.Title, res.Byline)
	if !res.PublishedAt.IsZero() {
		fmt.Fprintf(stdout, "published: %s\n", res.PublishedAt.UTC().Format(time.RFC3339))
	}
	if res.ImageURL != "" {
		fmt.Fprintf(stdout, "image:     %s\n", res.ImageURL)
	}
	fmt.Fprintf(stdout, "words:     %d\n\n%s\n", len(strings.Fields(res.Text)), res.Text)
	return nil
}

// readPageFile reads a page from a file, decompressing a .gz one, up to maxExtractFile bytes.
func readPageFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r = zr
	}
	var b bytes.Buffer
	if n, err := b.ReadFrom(io.LimitReader(r, maxExtractFile+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	} else if n > maxExtractFile {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, maxExtractFile>>20)
	}
	return b.Bytes(), nil
}

// ruleFor returns the rule of the first configured feed on the page's host that has one.
func ruleFor(feeds []pipeline.Feed, pageURL string) *pipeline.PageRule {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil
	}
	for _, f := range feeds {
		if fu, err := url.Parse(f.URL); err == nil && f.Rule != nil && strings.EqualFold(fu.Hostname(), u.Hostname()) {
			return f.Rule
		}
	}
	return nil
}
