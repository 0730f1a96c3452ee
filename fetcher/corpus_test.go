package fetcher

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/mmcdole/gofeed"
)

// corpusFeeds are the feeds of corpus/feeds with their item counts (see its MANIFEST.md).
var corpusFeeds = []struct {
	file  string
	items int
	atom  bool
}{
	{file: "sky-news-arabia@dcbc5521.xml", items: 10},
	{file: "sky-news-arabia@20b40dc6.xml", items: 15},
	{file: "asharq-al-awsat.xml", items: 15},
	{file: "hespress.xml", items: 10},
	{file: "al-jazeera.xml", items: 10},
	{file: "cnn-arabic.xml", items: 10},
	{file: "al-araby-al-jadeed.xml", items: 10},
	{file: "rt-arabic.xml", items: 10},
	{file: "alhurra.xml", items: 15},
	{file: "arabi21.xml", items: 10},
	{file: "elaph.xml", items: 15},
	{file: "bbc-urdu-atom-2014.xml", items: 53, atom: true},
}

// xmlTitles extracts the item (or entry) titles of a feed with encoding/xml, independently of
// gofeed, as the expected values.
func xmlTitles(t *testing.T, raw []byte, atom bool) []string {
	t.Helper()
	var doc struct {
		Items []struct {
			Title string `xml:"title"`
		} `xml:"channel>item"`
		Entries []struct {
			Title string `xml:"title"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("encoding/xml: %v", err)
	}
	var out []string
	for _, it := range doc.Items {
		out = append(out, strings.TrimSpace(it.Title))
	}
	for _, e := range doc.Entries {
		out = append(out, strings.TrimSpace(e.Title))
	}
	return out
}

func TestFetchCorpusFeeds(t *testing.T) {
	dir := filepath.Join(testfeeds.Corpus(t), "feeds")
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		ct := "application/rss+xml; charset=utf-8"
		if strings.Contains(r.URL.Path, "atom") {
			ct = "application/atom+xml" // no charset: the XML declaration says it
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
	})
	f := New(Options{})
	for _, tt := range corpusFeeds {
		t.Run(tt.file, func(t *testing.T) {
			raw := readCorpus(t, "feeds", tt.file)
			res, err := f.Fetch(t.Context(), Request{URL: srv.URL + "/" + url.PathEscape(tt.file)})
			if err != nil {
				t.Fatal(err)
			}
			wantType := "rss"
			if tt.atom {
				wantType = "atom"
			}
			if res.Feed.FeedType != wantType {
				t.Errorf("got feed type %q, want %q", res.Feed.FeedType, wantType)
			}
			if got := len(res.Feed.Items); got != tt.items {
				t.Errorf("got %d items, want %d", got, tt.items)
			}
			want := xmlTitles(t, raw, tt.atom)
			if got := titles(res); !slices.Equal(got, want) {
				t.Errorf("got titles\n%q\nwant\n%q", got, want)
			}
			for _, title := range titles(res) {
				if !utf8.ValidString(title) || strings.ContainsRune(title, utf8.RuneError) {
					t.Errorf("title %q is not clean UTF-8", title)
				}
				if !strings.ContainsFunc(title, func(r rune) bool { return unicode.Is(unicode.Arabic, r) }) &&
					!strings.HasPrefix(title, "BBC") {
					t.Errorf("title %q has no Arabic script", title)
				}
			}
			if res.Charset != "utf-8" || res.Replaced != 0 || len(res.Warnings) != 0 {
				t.Errorf("got charset %q replaced %d warnings %q, want utf-8, 0, none", res.Charset, res.Replaced, res.Warnings)
			}
			if res.Bytes != int64(len(raw)) {
				t.Errorf("got Bytes %d, want %d", res.Bytes, len(raw))
			}
		})
	}
}

func TestFetchFile(t *testing.T) {
	dir := testfeeds.Corpus(t)
	path, err := filepath.Abs(filepath.Join(dir, "feeds", "al-jazeera.xml"))
	if err != nil {
		t.Fatal(err)
	}
	raw := readCorpus(t, "feeds", "al-jazeera.xml")
	fileURL := (&url.URL{Scheme: "file", Path: path}).String()
	f := New(Options{})

	res, err := f.Fetch(t.Context(), Request{URL: fileURL})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := titles(res), xmlTitles(t, raw, false); !slices.Equal(got, want) {
		t.Errorf("got titles %q, want %q", got, want)
	}
	if res.StatusCode != 0 || res.Header != nil || res.URL != fileURL {
		t.Errorf("got status %d header %v URL %q, want 0, nil, %q", res.StatusCode, res.Header, res.URL, fileURL)
	}
	if res.ETag == "" || res.LastModified == "" {
		t.Errorf("got ETag %q LastModified %q, want both set", res.ETag, res.LastModified)
	}

	again, err := f.Fetch(t.Context(), Request{URL: fileURL, ETag: res.ETag, LastModified: res.LastModified})
	if err != nil {
		t.Fatal(err)
	}
	if !again.NotModified || again.Feed != nil {
		t.Errorf("unchanged file: got NotModified=%v feed=%v, want NotModified and no feed", again.NotModified, again.Feed != nil)
	}

	t.Run("localhost host", func(t *testing.T) {
		u := (&url.URL{Scheme: "file", Host: "localhost", Path: path}).String()
		if _, err := f.Fetch(t.Context(), Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("gzip file", func(t *testing.T) {
		gz := filepath.Join(t.TempDir(), "feed.xml.gz")
		if err := os.WriteFile(gz, gzipBytes(t, raw), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := f.Fetch(t.Context(), Request{URL: "file://" + gz})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Feed.Items) != 10 {
			t.Errorf("got %d items, want 10", len(res.Feed.Items))
		}
	})
	t.Run("too large", func(t *testing.T) {
		_, err := New(Options{MaxBody: 1024}).Fetch(t.Context(), Request{URL: fileURL})
		wantClass(t, err, ClassTooLarge)
	})
	t.Run("missing", func(t *testing.T) {
		_, err := f.Fetch(t.Context(), Request{URL: "file://" + filepath.Join(t.TempDir(), "none.xml")})
		e := wantClass(t, err, ClassIO)
		if !os.IsNotExist(e.Err) {
			t.Errorf("got %v, want a not-exist error", e.Err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, err := f.Fetch(t.Context(), Request{URL: "file://" + t.TempDir()})
		wantClass(t, err, ClassIO)
	})
}

func BenchmarkParse(b *testing.B) {
	raw := readCorpus(b, "feeds", "sky-news-arabia@20b40dc6.xml")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := parse(raw, "application/rss+xml; charset=utf-8", parseOptions{maxItems: DefaultMaxItems})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.feed.Items) != 15 {
			b.Fatalf("got %d items, want 15", len(p.feed.Items))
		}
	}
}

// devDayFeeds returns the full-text feeds of the SaudiNewsNet development day 2015-08-01, 20
// articles a feed, or skips b when the corpus is absent.
func devDayFeeds(b *testing.B) []testfeeds.Feed {
	b.Helper()
	dir, ok := testfeeds.CorpusDir()
	if !ok {
		b.Skip("corpus not found beside the module")
	}
	arts, err := testfeeds.SaudiNewsNet(dir, "2015-08-01")
	if err != nil {
		b.Fatal(err)
	}
	return testfeeds.Split("2015-08-01", arts, 20)
}

// BenchmarkGofeed parses the full-text feeds of a SaudiNewsNet development day (20 articles a
// feed) with gofeed's default parser and with NewParser, side by side. One op is one feed.
//
//	go test -run '^$' -bench Gofeed -count 5 ./fetcher
func BenchmarkGofeed(b *testing.B) {
	feeds := devDayFeeds(b)
	for _, bc := range []struct {
		name string
		new  func() *gofeed.Parser
	}{{"gofeed.NewParser", gofeed.NewParser}, {"fetcher.NewParser", NewParser}} {
		b.Run(bc.name, func(b *testing.B) {
			i, size := 0, int64(0)
			for b.Loop() {
				body := feeds[i%len(feeds)].Body
				if _, err := bc.new().Parse(bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
				size += int64(len(body))
				i++
			}
			b.ReportMetric(float64(size)/float64(i), "bytes/feed")
		})
	}
}

func BenchmarkFetch(b *testing.B) {
	raw := readCorpus(b, "feeds", "sky-news-arabia@20b40dc6.xml")
	gz := gzipBytes(b, raw)
	srv := serve(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gz)
	})
	f := New(Options{})
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Fetch(b.Context(), Request{URL: srv.URL}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBody makes the full-text feeds of a SaudiNewsNet development day ready for
// gofeed: charset resolution, UTF-8 validation and XML repair, without the parse. One op is one
// feed.
//
//	go test -run '^$' -bench DecodeBody -count 5 ./fetcher
func BenchmarkDecodeBody(b *testing.B) {
	feeds := devDayFeeds(b)
	i, size := 0, int64(0)
	for b.Loop() {
		body := feeds[i%len(feeds)].Body
		if d := decodeBody(body, "application/rss+xml; charset=utf-8", ""); d.repaired != 0 {
			b.Fatalf("%d repairs, want none", d.repaired)
		}
		size += int64(len(body))
		i++
	}
	b.SetBytes(size / int64(i))
}
