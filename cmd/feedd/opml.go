package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/opml"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"
)

// cmdFeedsImport reads an OPML subscription list and prints its feeds as the feeds: list of a
// configuration on stdout.
func cmdFeedsImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("feeds import", stderr)
	skip := fs.Bool("skip-invalid", false, "leave out the outlines that are not usable feeds (each is named on stderr) instead of failing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feedd feeds import [--skip-invalid] FILE.opml   (- reads stdin)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{exitOK, errSilent}
		}
		return &exitError{exitBadConfig, errSilent}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{exitBadConfig, errors.New("feeds import takes one OPML file")}
	}
	name := fs.Arg(0)
	var in io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return &exitError{exitBadConfig, err}
		}
		defer f.Close()
		in = f
	}
	doc, err := opml.Parse(in)
	if err != nil {
		return &exitError{exitBadConfig, fmt.Errorf("%s: %w", name, err)}
	}
	if len(doc.Invalid) > 0 {
		if !*skip {
			fmt.Fprintf(stderr, "feedd: %s: %s (--skip-invalid leaves them out):\n", name, plural(len(doc.Invalid), "unusable feed outline", "unusable feed outlines"))
			for _, e := range doc.Invalid {
				fmt.Fprintf(stderr, "  %s\n", e)
			}
			return &exitError{exitBadConfig, errSilent}
		}
		for _, e := range doc.Invalid {
			fmt.Fprintf(stderr, "feedd: %s: skipped %s\n", name, e)
		}
	}
	if len(doc.Feeds) == 0 {
		return &exitError{exitBadConfig, fmt.Errorf("%s: no feeds (no outline with an xmlUrl)", name)}
	}
	feeds := importFeeds(doc.Feeds, func(f opml.Feed, lang string) {
		fmt.Fprintf(stderr, "feedd: %s: line %d: %q: language %q left out: not a tag such as ar or ar-EG\n", name, f.Line, f.Title, lang)
	})

	// What is printed must load: validate it as a configuration would be.
	cfg := config.Default()
	cfg.Feeds = make([]config.Feed, len(feeds))
	for i, f := range feeds {
		cfg.Feeds[i] = f.Feed
		if cfg.Feeds[i].Language == "" {
			cfg.Feeds[i].Language = config.DefaultLanguage
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s: the imported feeds do not make a valid configuration: %w", name, err)
	}

	out, err := feedsYAML(name, doc, feeds)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// imported is one feed of an import, with what its YAML comment says.
type imported struct {
	config.Feed
	line       int
	categories []string
}

var (
	// languageTag is what config accepts as a feed's language, lower-cased.
	languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]+)*$`)
	// nonID is a run of characters that cannot be in a feed id.
	nonID = regexp.MustCompile(`[^a-z0-9]+`)
)

// importFeeds turns OPML feeds into configured feeds with unique ids. badLang is told of each
// language attribute that is not a usable tag.
func importFeeds(feeds []opml.Feed, badLang func(f opml.Feed, lang string)) []imported {
	out := make([]imported, 0, len(feeds))
	used := map[string]bool{}
	for _, f := range feeds {
		id := feedID(f.Title, f.XMLURL)
		if used[id] {
			for n := 2; ; n++ {
				if c := id + "-" + strconv.Itoa(n); !used[c] {
					id = c
					break
				}
			}
		}
		used[id] = true
		lang := strings.ReplaceAll(strings.ToLower(f.Language), "_", "-")
		if lang != "" && !languageTag.MatchString(lang) {
			badLang(f, f.Language)
			lang = ""
		}
		out = append(out, imported{
			Feed:       config.Feed{ID: id, URL: f.XMLURL, Name: f.Title, Language: lang},
			line:       f.Line,
			categories: f.Categories,
		})
	}
	return out
}

// feedID derives a feed id ([a-z0-9_-]+) from a feed's title when the title is mostly Latin
// ("BBC News عربي" gives bbc-news, "À la une" a-la-une), else from its host without the usual
// prefixes and the public suffix ("https://www.aljazeera.net/rss" gives aljazeera,
// "feeds.bbci.co.uk" bbci).
func feedID(title, rawURL string) string {
	latin, other := 0, 0
	for _, r := range title {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			latin++
		case unicode.In(r, unicode.Latin) && unicode.IsLetter(r):
			latin++
		case unicode.IsLetter(r):
			other++
		}
	}
	if latin >= 2 && latin >= other {
		if id := slug(title); id != "" {
			return id
		}
	}
	if u, err := url.Parse(rawURL); err == nil {
		labels := strings.Split(strings.ToLower(u.Hostname()), ".")
		for len(labels) > 1 && slices.Contains([]string{"www", "www1", "www2", "m", "feeds", "feed", "rss"}, labels[0]) {
			labels = labels[1:]
		}
		if n := len(labels); n > 1 && !isDigits(labels[n-1]) {
			labels = labels[:n-1] // the top-level domain
			if n := len(labels); n > 1 && slices.Contains([]string{"co", "com", "net", "org", "gov", "edu", "ac"}, labels[n-1]) {
				labels = labels[:n-1] // co.uk, com.eg, ...
			}
		}
		if id := slug(strings.Join(labels, " ")); id != "" {
			return id
		}
	}
	return "feed"
}

// slug lower-cases s, takes the accents off Latin letters, keeps ASCII letters and digits, and
// joins their runs with "-", at most 40 characters.
func slug(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	id := strings.Trim(nonID.ReplaceAllString(b.String(), "-"), "-")
	if len(id) > 40 {
		id = strings.TrimRight(id[:40], "-")
	}
	return id
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// feedsYAML renders the feeds as a configuration's feeds: list, each with a comment giving the
// line of its outline and its folders.
func feedsYAML(name string, doc *opml.Document, feeds []imported) ([]byte, error) {
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, f := range feeds {
		m := &yaml.Node{Kind: yaml.MappingNode}
		add := func(k, v string) {
			if v != "" {
				m.Content = append(m.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Value: k},
					&yaml.Node{Kind: yaml.ScalarNode, Value: v})
			}
		}
		add("id", f.ID)
		add("url", f.URL)
		add("name", f.Name)
		add("language", f.Language)
		comment := fmt.Sprintf("line %d", f.line)
		if len(f.categories) > 0 {
			comment += ": " + strings.Join(f.categories, ", ")
		}
		m.Content[1].LineComment = strings.ReplaceAll(comment, "\n", " ")
		list.Content = append(list.Content, m)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "feeds"}, list,
	}}
	src := name
	if doc.Title != "" {
		src += " (" + doc.Title + ")"
	}
	root.HeadComment = strings.ReplaceAll(fmt.Sprintf("%s imported by feedd %s from %s", plural(len(feeds), "feed", "feeds"), version, src), "\n", " ")
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("feeds import: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("feeds import: %w", err)
	}
	return buf.Bytes(), nil
}

// cmdFeedsExport writes the effective feed list as OPML 2.0 on stdout.
func cmdFeedsExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("feeds export", stderr)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	feeds := make([]opml.Feed, len(cfg.Feeds))
	for i, f := range cfg.Feeds {
		feeds[i] = opml.Feed{Title: f.Name, XMLURL: f.URL, Language: f.Language}
	}
	return opml.Write(stdout, "feedd feeds", time.Now(), feeds)
}
