package fetcher

import (
	"bytes"
	"html"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/feedd/feedd/internal/charset"
	"github.com/feedd/feedd/internal/testfeeds"
)

func TestRepair(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		want        string
		wantRepairs int
	}{
		{name: "clean", in: `<rss><title>a &amp; b &lt; c &#1575; &#x627; &nbsp;</title></rss>`,
			want: `<rss><title>a &amp; b &lt; c &#1575; &#x627; &nbsp;</title></rss>`},
		{name: "bare ampersand", in: `<t>سلام & حرب</t>`, want: `<t>سلام &amp; حرب</t>`, wantRepairs: 1},
		{name: "query string", in: `<link>http://e/?a=1&b=2&c</link>`, want: `<link>http://e/?a=1&amp;b=2&amp;c</link>`, wantRepairs: 2},
		{name: "ampersand at the end", in: `<t>a</t>&`, want: `<t>a</t>&amp;`, wantRepairs: 1},
		{name: "empty references", in: `<t>&; &#; &#x; &#xZZ;</t>`, want: `<t>&amp;; &amp;#; &amp;#x; &amp;#xZZ;</t>`, wantRepairs: 4},
		{name: "attribute ampersand", in: `<link href="http://e/?a=1&b=2"/>`, want: `<link href="http://e/?a=1&amp;b=2"/>`, wantRepairs: 1},
		{name: "attribute less-than", in: `<a t='x<y'/>`, want: `<a t='x&lt;y'/>`, wantRepairs: 1},
		{name: "forbidden character references", in: `<t>a&#1;b&#x0;c&#65535;d&#xFFFE;e&#9;</t>`, want: `<t>abcde&#9;</t>`, wantRepairs: 4},
		{name: "upper-case hex reference", in: `<t>&#X41;</t>`, want: `<t>&#x41;</t>`, wantRepairs: 1},
		{name: "bare less-than", in: `<t>a < b, <3 and <= c</t>`, want: `<t>a &lt; b, &lt;3 and &lt;= c</t>`, wantRepairs: 3},
		{name: "arabic element name", in: `<عنوان>نص</عنوان>`, want: `<عنوان>نص</عنوان>`},
		{name: "cdata untouched", in: `<t><![CDATA[a & b < c &#1;]]> & </t>`, want: `<t><![CDATA[a & b < c &#1;]]> &amp; </t>`, wantRepairs: 1},
		{name: "comment untouched", in: `<!-- a & b < c --><t/>`, want: `<!-- a & b < c --><t/>`},
		{name: "processing instruction untouched", in: `<?xml-stylesheet href="a?b&c"?><t/>`, want: `<?xml-stylesheet href="a?b&c"?><t/>`},
		{name: "doctype subset untouched", in: `<!DOCTYPE rss [<!ENTITY x "a & b > c">]><rss>&x; &</rss>`,
			want: `<!DOCTYPE rss [<!ENTITY x "a & b > c">]><rss>&x; &amp;</rss>`, wantRepairs: 1},
		{name: "quoted greater-than in a tag", in: `<a t="1>2">&</a>`, want: `<a t="1>2">&amp;</a>`, wantRepairs: 1},
		{name: "cut end tag", in: "<rss>\n</rss", want: "<rss>\n</rss>", wantRepairs: 1},
		{name: "cut prefixed end tag", in: "<rdf:RDF>\n</rdf:RDF  \n", want: "<rdf:RDF>\n</rdf:RDF  \n>", wantRepairs: 1},
		{name: "cut start tag left alone", in: "<rss><item", want: "<rss><item"},
		{name: "lone less-than at the end left alone", in: "<rss><", want: "<rss><"},
		{name: "controls removed", in: "\x00<t>a\x01b\x1f\uFFFEc\uFFFF</t>", want: "<t>abc</t>", wantRepairs: 5},
		{name: "controls then markup", in: "<\x00t>a & b</t>", want: "<t>a &amp; b</t>", wantRepairs: 2},
		{name: "json left alone", in: "{\"title\": \"a & b < c\"\x01}", want: "{\"title\": \"a & b < c\"}", wantRepairs: 1},
		{name: "text before markup is not xml", in: "hello & <b>", want: "hello & <b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := repair([]byte(tt.in))
			if string(got) != tt.want || n != tt.wantRepairs {
				t.Errorf("repair(%q): got %q with %d repairs, want %q with %d", tt.in, got, n, tt.want, tt.wantRepairs)
			}
		})
	}
}

func TestRepairReturnsInputWhenClean(t *testing.T) {
	in := []byte(rssFeed(`<?xml version="1.0"?>`, arabicTitle, "a &amp; b"))
	got, n := repair(in)
	if n != 0 || &got[0] != &in[0] {
		t.Errorf("got %d repairs and a copy, want the input itself", n)
	}
}

func TestFetchRepairedBodies(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		wantTitles   []string
		wantRepaired int
	}{
		{name: "bare ampersand", body: `<rss version="2.0"><channel><title>x</title><item><title>سلام & حرب</title></item></channel></rss>`,
			wantTitles: []string{"سلام & حرب"}, wantRepaired: 1},
		{name: "control character reference", body: `<rss version="2.0"><channel><title>x</title><item><title>غارات&#x1; على</title></item></channel></rss>`,
			wantTitles: []string{"غارات على"}, wantRepaired: 1},
		{name: "cut end tag", body: "<rss version=\"2.0\"><channel><title>x</title><item><title>خبر</title></item></channel>\n</rss",
			wantTitles: []string{"خبر"}, wantRepaired: 1},
		{name: "bare less-than", body: `<rss version="2.0"><channel><title>x</title><item><title>5 < 6</title></item></channel></rss>`,
			wantTitles: []string{"5 < 6"}, wantRepaired: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, feedHandler("application/rss+xml", tt.body))
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(res); strings.Join(got, "|") != strings.Join(tt.wantTitles, "|") {
				t.Errorf("got titles %q, want %q", got, tt.wantTitles)
			}
			if res.Repaired != tt.wantRepaired {
				t.Errorf("got Repaired %d, want %d", res.Repaired, tt.wantRepaired)
			}
		})
	}
}

// entityExceptions are the entity tests whose expectation differs from HTML5, which Go's entity
// table follows.
var entityExceptions = map[string]string{
	"lang.xml": "HTML5 maps &lang; to U+27E8, HTML 4 (and feedparser) to U+2329",
	"rang.xml": "HTML5 maps &rang; to U+27E9, HTML 4 (and feedparser) to U+232A",
}

// xhtmlTitle are the entity tests whose title is an Atom 0.3 xhtml construct.
var xhtmlTitle = map[string]bool{"hex_entity_x_lowercase.xml": true, "hex_entity_x_uppercase.xml": true}

// feedparserExpect matches the simple expectations of feedparser's entity tests:
// feed['title'] == '…', entries[0].link == "…".
var feedparserExpect = regexp.MustCompile(`Expect:\s*(feed|entries\[0\])(?:\['(\w+)'\]|\.(\w+)) == (['"])(.*)['"]\s*$`)

// pythonString decodes a Python string literal's body: \xNN and \uNNNN escapes.
func pythonString(t *testing.T, s string) string {
	t.Helper()
	s = regexp.MustCompile(`\\x([0-9a-fA-F]{2})`).ReplaceAllString(s, `\u00$1`)
	out, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return out
}

// TestFetchFeedparserEntities fetches feedparser's 256 entity tests: HTML entities, character
// references (&#X41; included), bare ampersands in links, and end tags cut off at the end of
// the file, each checked against its expected title or link.
func TestFetchFeedparserEntities(t *testing.T) {
	dir := filepath.Join(testfeeds.Corpus(t), "peer-tests", "feedparser", "entities")
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) == 0 {
		t.Skipf("no entity tests: %v", err)
	}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	})
	f := New(Options{})
	checked := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var m []string
		for line := range strings.SplitSeq(string(raw), "\n") {
			if m = feedparserExpect.FindStringSubmatch(line); m != nil {
				break
			}
		}
		if m == nil {
			continue
		}
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			if reason, ok := entityExceptions[name]; ok {
				t.Skip(reason)
			}
			res, err := f.Fetch(t.Context(), Request{URL: srv.URL + "/" + name})
			if err != nil {
				t.Fatal(err)
			}
			field := m[2] + m[3]
			want := pythonString(t, m[5])
			var got string
			switch {
			case m[1] == "feed" && field == "title":
				got = res.Feed.Title
			case m[1] == "feed" && field == "link":
				got = res.Feed.Link
			case len(res.Feed.Items) == 0:
				t.Fatalf("got no entries, want one")
			case field == "title":
				got = res.Feed.Items[0].Title
			case field == "link":
				got = res.Feed.Items[0].Link
			default:
				t.Skipf("field %q not checked", field)
			}
			if xhtmlTitle[name] {
				// gofeed keeps an xhtml title as markup: the reference is still there, repaired.
				got = html.UnescapeString(got)
			}
			if got != want {
				t.Errorf("got %s %q, want %q", field, got, want)
			}
		})
		checked++
	}
	if checked < 250 {
		t.Errorf("checked %d entity tests, want at least 250", checked)
	}
}

// TestFetchFeedparserIllformed fetches feedparser's ill-formed feeds: what browsers tolerate is
// repaired, what cannot be read fails alone with its class.
func TestFetchFeedparserIllformed(t *testing.T) {
	dir := filepath.Join(testfeeds.Corpus(t), "peer-tests", "feedparser", "illformed")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		http.ServeFile(w, r, filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
	})
	tests := []struct {
		file      string
		wantClass Class  // "" for success
		check     string // on success: "title=…", "item=…" or "link=…"
	}{
		{file: "aaa_illformed.xml"}, // </rss cut: repaired
		{file: "always_strip_doctype.xml", check: "title=found"},
		{file: "http_high_bit_date.xml"},
		{file: "rdf_channel_empty_textinput.xml", check: "item=crashes here"},
		{file: "rss_empty_document.xml", wantClass: ClassNotFeed},
		{file: "rss_incomplete_cdata.xml", wantClass: ClassParse},
		{file: "rss_item_link_corrupted_ampersands.xml", check: "link=http://link/get?a=1&b=2"},
		{file: "undeclared_namespace.xml"},
		{file: "chardet/windows1255.xml"},
		{file: "chardet/koi8r.xml"},
		{file: "geo/gml_point.xml"},
	}
	f := New(Options{})
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
				t.Skip(err)
			}
			res, err := f.Fetch(t.Context(), Request{URL: srv.URL + "/" + tt.file})
			if tt.wantClass != "" {
				wantClass(t, err, tt.wantClass)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kind, want, _ := strings.Cut(tt.check, "=")
			var got string
			switch kind {
			case "":
				return
			case "title":
				got = res.Feed.Title
			case "item", "link":
				if len(res.Feed.Items) == 0 {
					t.Fatal("got no items")
				}
				got = res.Feed.Items[0].Title
				if kind == "link" {
					got = res.Feed.Items[0].Link
				}
			}
			if got != want {
				t.Errorf("got %s %q, want %q", kind, got, want)
			}
		})
	}
}

func FuzzRepair(f *testing.F) {
	for _, s := range []string{
		`<rss><title>a & b &amp; &#1; &#X41; < c</title></rss`,
		`<t a="x&y<z">&nbsp;<![CDATA[&]]><!-- & --><?pi &?></t>`,
		"<!DOCTYPE x [<!ENTITY a \"&\">]>&a;",
		"\x00<\x00r\x00>&",
		"{\"a\":\"&\"}",
		"<a t='",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		in, _ = charset.ValidUTF8(in)
		orig := bytes.Clone(in)
		out, n := repair(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("repair modified its input")
		}
		if n < 0 || (n == 0 && !bytes.Equal(out, in)) {
			t.Fatalf("got %d repairs for %q → %q", n, in, out)
		}
		if !utf8.Valid(out) {
			t.Fatalf("got invalid UTF-8 %q", out)
		}
		if hasForbidden(out) {
			t.Fatalf("got forbidden characters in %q", out)
		}
		// The word-at-a-time scans agree with a byte at a time.
		if got, want := hasForbidden(in), hasForbiddenIn(in, 0, len(in)); got != want {
			t.Fatalf("hasForbidden(%q): got %v, a byte at a time %v", in, got, want)
		}
		if got, want := indexMarkup(in), bytes.IndexAny(in, "&<"); got != want {
			t.Fatalf("indexMarkup(%q): got %d, want %d", in, got, want)
		}
		// Skipping ahead changes nothing: a byte at a time gives the same.
		if ref, m := repairWith(in, true); m != n || !bytes.Equal(ref, out) {
			t.Fatalf("repair of %q: got %q (%d), a byte at a time %q (%d)", in, out, n, ref, m)
		}
		// Repairing twice changes nothing more.
		again, m := repair(out)
		if m != 0 || !bytes.Equal(again, out) {
			t.Fatalf("repair is not idempotent: %q → %q (%d) → %q (%d)", in, out, n, again, m)
		}
	})
}

// TestRepairSkipsMatchBytewiseOnCorpus runs every feed of the corpus (the Arabic feeds, the
// charset samples and the feedparser and gofeed test files) through repair with and without
// skipping ahead: the results must be the same.
func TestRepairSkipsMatchBytewiseOnCorpus(t *testing.T) {
	dir := testfeeds.Corpus(t)
	files := 0
	for _, sub := range []string{"feeds", "encodings", "peer-tests"} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			in, _ := charset.ValidUTF8(body)
			out, n := repair(in)
			ref, m := repairWith(in, true)
			if n != m || !bytes.Equal(out, ref) {
				t.Errorf("%s: %d repairs skipping ahead, %d a byte at a time, and the outputs differ", path, n, m)
			}
			files++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 100 {
		t.Fatalf("compared %d corpus files, want the corpus's thousands", files)
	}
}

// TestWordScans puts each byte that matters at every place of texts of every length up to 24,
// amid Arabic text, so that it falls in every lane of a word and in the tail after the words.
func TestWordScans(t *testing.T) {
	filler := []byte(strings.Repeat("نص", 12)) // 48 bytes, none below 0x20, no 0xEF, no & or <
	for _, tt := range []struct {
		name   string
		insert string
		forbid bool
		markup bool
	}{
		{"nul", "\x00", true, false},
		{"unit separator", "\x1f", true, false},
		{"tab", "\t", false, false},
		{"newline", "\n", false, false},
		{"space", " ", false, false},
		{"U+FFFE", "\uFFFE", true, false},
		{"U+FFFF", "\uFFFF", true, false},
		{"U+FEFF", "\uFEFF", false, false},
		{"ampersand", "&", false, true},
		{"less-than", "<", false, true},
		{"greater-than", ">", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n <= 24; n++ {
				for at := 0; at <= n; at++ {
					text := append(append(append([]byte{}, filler[:at]...), tt.insert...), filler[at:n]...)
					if got := hasForbidden(text); got != tt.forbid {
						t.Errorf("hasForbidden(%q): got %v, want %v", text, got, tt.forbid)
					}
					want := -1
					if tt.markup {
						want = at
					}
					if got := indexMarkup(text); got != want {
						t.Errorf("indexMarkup(%q): got %d, want %d", text, got, want)
					}
				}
			}
		})
	}
}
