// Package testfeeds turns the project's test corpus into feeds for tests and benchmarks: it
// finds ../shared/corpus beside the module, reads SaudiNewsNet days, renders RSS 2.0 with full
// text, and serves feeds over HTTP with ETags.
//
// The SaudiNewsNet days 2015-08-08, -09 and -10 are held out for evaluation by others: this
// package refuses to read them.
package testfeeds

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Corpus returns the shared corpus directory (see CorpusDir), or skips tb when it is absent.
func Corpus(tb testing.TB) string {
	tb.Helper()
	dir, ok := CorpusDir()
	if !ok {
		tb.Skipf("corpus not available at %s", dir)
	}
	return dir
}

// CorpusDir returns the shared corpus directory, ../shared/corpus beside the module root, found
// by walking up from the working directory to go.mod. ok is false when it is absent.
func CorpusDir() (dir string, ok bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpus")
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				return c, true
			}
			return c, false
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Article is one SaudiNewsNet record.
type Article struct {
	Source        string `json:"source"`
	URL           string `json:"url"`
	DateExtracted string `json:"date_extracted"`
	Title         string `json:"title"`
	Author        string `json:"author"`
	Content       string `json:"content"`
}

// riyadh is the zone of SaudiNewsNet's timestamps (UTC+3, no daylight saving).
var riyadh = time.FixedZone("AST", 3*3600)

// Published returns the extraction time, which the corpus documents as the publication time for
// these days.
func (a Article) Published() time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", a.DateExtracted, riyadh)
	if err != nil {
		return time.Time{}
	}
	return t
}

// heldOut are the days reserved for evaluation by others.
var heldOut = []string{"2015-08-08", "2015-08-09", "2015-08-10"}

// ErrHeldOut is returned for a day reserved for evaluation by others.
var ErrHeldOut = errors.New("testfeeds: held-out day")

// SaudiNewsNet reads one day ("2015-08-01") of the corpus in corpusDir.
func SaudiNewsNet(corpusDir, day string) ([]Article, error) {
	if slices.Contains(heldOut, day) {
		return nil, fmt.Errorf("%w: %s", ErrHeldOut, day)
	}
	path := filepath.Join(corpusDir, "saudinewsnet", day+".zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("testfeeds: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("testfeeds: %s: %w", path, err)
		}
		var as []Article
		err = json.NewDecoder(rc).Decode(&as)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("testfeeds: %s: %s: %w", path, f.Name, err)
		}
		return as, nil
	}
	return nil, fmt.Errorf("testfeeds: %s holds no JSON file", path)
}

// RSS renders items as an RSS 2.0 feed with the full text in content:encoded (paragraphs as
// <p>) and the first paragraph as the description, items newest first.
func RSS(title, link string, items []Article) []byte {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b Article) int { return b.Published().Compare(a.Published()) })
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>`)
	elem(&b, "title", title)
	elem(&b, "link", link)
	elem(&b, "description", title)
	for _, a := range sorted {
		b.WriteString("<item>")
		elem(&b, "title", a.Title)
		elem(&b, "link", a.URL)
		b.WriteString(`<guid isPermaLink="true">`)
		xml.EscapeText(&b, []byte(a.URL))
		b.WriteString("</guid>")
		if t := a.Published(); !t.IsZero() {
			elem(&b, "pubDate", t.Format(time.RFC1123Z))
		}
		if a.Author != "" {
			elem(&b, "dc:creator", a.Author)
		}
		paras := paragraphs(a.Content)
		if len(paras) > 0 {
			elem(&b, "description", paras[0])
		}
		var html strings.Builder
		for _, p := range paras {
			html.WriteString("<p>")
			xml.EscapeText(&html, []byte(p))
			html.WriteString("</p>")
		}
		if html.Len() > 0 {
			elem(&b, "content:encoded", html.String())
		}
		b.WriteString("</item>\n")
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}

func elem(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}

func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Feed is one rendered feed.
type Feed struct {
	ID   string // [a-z0-9_-]+
	Path string // URL path, "/<id>.xml"
	Name string
	Body []byte
}

// Split groups articles by outlet and cuts each outlet's articles into feeds of at most perFeed
// items, in corpus order. Feed ids are <source>-<prefix>-<n>.
func Split(prefix string, articles []Article, perFeed int) []Feed {
	bySource := map[string][]Article{}
	var sources []string
	for _, a := range articles {
		if _, ok := bySource[a.Source]; !ok {
			sources = append(sources, a.Source)
		}
		bySource[a.Source] = append(bySource[a.Source], a)
	}
	var feeds []Feed
	for _, src := range sources {
		as := bySource[src]
		for i := 0; i < len(as); i += perFeed {
			id := fmt.Sprintf("%s-%s-%d", strings.ToLower(src), prefix, i/perFeed)
			feeds = append(feeds, Feed{
				ID:   id,
				Path: "/" + id + ".xml",
				Name: src,
				Body: RSS(src, "https://"+src+".example/", as[i:min(i+perFeed, len(as))]),
			})
		}
	}
	return feeds
}

// Handler serves feeds at their paths with strong ETags and conditional GET.
func Handler(feeds []Feed) http.Handler {
	byPath := make(map[string]Feed, len(feeds))
	etags := make(map[string]string, len(feeds))
	for _, f := range feeds {
		byPath[f.Path] = f
		sum := sha256.Sum256(f.Body)
		etags[f.Path] = fmt.Sprintf(`"%x"`, sum[:8])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", etags[r.URL.Path])
		if r.Header.Get("If-None-Match") == etags[r.URL.Path] {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = io.Copy(w, bytes.NewReader(f.Body))
	})
}
