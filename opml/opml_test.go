package opml_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/opml"
)

func parseFile(t *testing.T, name string) *opml.Document {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := opml.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return doc
}

// brief is what a test compares of a feed.
type brief struct {
	Title, XMLURL, HTMLURL string
	Categories             []string
}

func briefs(fs []opml.Feed) []brief {
	out := make([]brief, len(fs))
	for i, f := range fs {
		out[i] = brief{f.Title, f.XMLURL, f.HTMLURL, f.Categories}
	}
	return out
}

func TestParseExports(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		version string
		title   string
		want    []brief
		invalid []string // Invalid errors
	}{
		{
			name: "miniflux: categories as folders, explicit end tags", file: "miniflux.opml",
			version: "2.0", title: "Miniflux",
			want: []brief{
				{"الجزيرة نت", "https://www.aljazeera.net/aljazeerarss/a7c186be-1baa-4bd4-9d80-a84db769f779/73d0e1b4-532f-45ef-b135-bfdff8b8cab9", "https://www.aljazeera.net/", []string{"أخبار"}},
				{"BBC News عربي", "https://feeds.bbci.co.uk/arabic/rss.xml", "https://www.bbc.com/arabic", []string{"أخبار"}},
				{"سكاي نيوز عربية - آخر الأخبار", "https://www.skynewsarabia.com/web/rss", "https://www.skynewsarabia.com/", []string{"أخبار"}},
				{"العربية - اقتصاد", "https://www.alarabiya.net/feed/rss2/ar/aswaq.xml", "https://www.alarabiya.net/aswaq", []string{"اقتصاد"}},
				{"Hespress هسبريس", "https://www.hespress.com/feed", "https://www.hespress.com", []string{"All"}},
			},
		},
		{
			name: "freshrss: byte-order mark, text only, entities, white space, a bad site link", file: "freshrss.opml",
			version: "2.0", title: "FreshRSS",
			want: []brief{
				{"فرانس 24 / France 24 - أخبار", "https://www.france24.com/ar/rss", "https://www.france24.com/ar/", []string{"Uncategorized"}},
				{"RT Arabic", "https://arabic.rt.com/rss/", "https://arabic.rt.com/", []string{"Uncategorized"}},
				{"يوم7 & مصر", "https://www.youm7.com/rss/SectionRss?SectionID=65&utm_source=freshrss", "https://www.youm7.com/", []string{"Uncategorized"}},
				{"مدونة عربي 21", "https://arabi21.com/feed", "https://arabi21.com", []string{"المدونات"}},
				{"إيلاف", "https://elaph.com/rss.xml", "", []string{"المدونات"}},
			},
		},
		{
			name: "feedly: OPML 1.0, one feed in two folders, title differs from text", file: "feedly.opml",
			version: "1.0", title: "Feedly subscriptions in feedly Cloud",
			want: []brief{
				{"الشرق الأوسط", "https://aawsat.com/feed", "https://aawsat.com", []string{"العالم العربي", "Must Read"}},
				{"DW عربية", "https://rss.dw.com/rdf/rss-ar-all", "https://www.dw.com/ar", []string{"العالم العربي"}},
				{"CNN بالعربية", "http://arabic.cnn.com/rss", "https://arabic.cnn.com/", []string{"Must Read"}},
				{"اندبندنت عربية", "https://www.independentarabia.com/rss", "https://www.independentarabia.com", nil},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseFile(t, tt.file)
			if doc.Version != tt.version || doc.Title != tt.title {
				t.Errorf("got version %q title %q, want %q %q", doc.Version, doc.Title, tt.version, tt.title)
			}
			if got := briefs(doc.Feeds); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got feeds\n%q\nwant\n%q", got, tt.want)
			}
			if len(doc.Invalid) != 0 {
				t.Errorf("got invalid %v, want none", doc.Invalid)
			}
			for _, f := range doc.Feeds {
				if f.Line == 0 {
					t.Errorf("feed %q has no line", f.Title)
				}
			}
		})
	}
}

func TestParseNestedAndCategoryAttribute(t *testing.T) {
	const doc = `<opml version="2.0"><head/><body>
<outline text="Region"><outline text="Gulf"><outline text="">
  <outline XMLURL="https://a.example/rss" TEXT="A" category="/Boston/Weather, /Harvard"/>
</outline></outline></outline>
<outline text="x/y"><outline xmlurl="https://b.example/rss" text="B"/></outline>
</body></opml>`
	d, err := opml.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{"A", "https://a.example/rss", "", []string{"Region/Gulf", "Boston/Weather", "Harvard"}},
		{"B", "https://b.example/rss", "", []string{"x∕y"}},
	}
	if got := briefs(d.Feeds); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseInvalidEntries(t *testing.T) {
	const doc = `<?xml version="1.0"?>
<opml version="2.0"><head><title>t</title></head><body>
<outline text="good" xmlUrl="https://good.example/rss"/>
<outline text="ftp" xmlUrl="ftp://files.example/feed.xml"/>
<outline text="relative" xmlUrl="/feed.xml"/>
<outline text="typed but empty" type="rss"/>
<outline title="spaces" xmlUrl="https://x.example/a b"/>
<outline text="no host" xmlUrl="https:///rss"/>
<outline text="folder without feeds"/>
</body></opml>`
	d, err := opml.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Feeds) != 1 || d.Feeds[0].XMLURL != "https://good.example/rss" {
		t.Errorf("got feeds %v, want only good", d.Feeds)
	}
	want := []string{
		`line 4: outline "ftp": xmlUrl "ftp://files.example/feed.xml": scheme "ftp" is not http or https`,
		`line 5: outline "relative": xmlUrl "/feed.xml": not an absolute URL`,
		`line 6: outline "typed but empty": xmlUrl "": empty`,
		`line 7: outline "spaces": xmlUrl "https://x.example/a b": contains white space`,
		`line 8: outline "no host": xmlUrl "https:///rss": no host`,
	}
	var got []string
	for _, e := range d.Invalid {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseRefusesWhatIsNotOPML(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string // in the error
		notOPML   bool
	}{
		{"empty", "", "no root element", true},
		{"not XML", "feeds: [a, b]\n", "no root element", true},
		{"an RSS feed", `<?xml version="1.0"?><rss version="2.0"><channel/></rss>`, "the root element is <rss>, not <opml>", true},
		{"no body", `<opml version="2.0"><head><title>x</title></head></opml>`, "no <body>", true},
		{"broken XML", "<opml version=\"2.0\"><body><outline text=\"a\"\x00/></body></opml>", "line 1: XML syntax error", false},
		{"too deep", `<opml><body>` + strings.Repeat(`<outline text="f">`, opml.MaxDepth+1) + `</body></opml>`, "nested deeper than 64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := opml.Parse(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("got %+v, want an error containing %q", d, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "opml: ") {
				t.Errorf("got error %q, want one containing %q", err, tt.want)
			}
			if errors.Is(err, opml.ErrNotOPML) != tt.notOPML {
				t.Errorf("errors.Is(%v, ErrNotOPML) = %v, want %v", err, !tt.notOPML, tt.notOPML)
			}
		})
	}
}

func TestParseRefusesHugeDocuments(t *testing.T) {
	big := `<opml><body>` + strings.Repeat(`<outline text="f"/>`, opml.MaxSize/19+1) + `</body></opml>`
	if _, err := opml.Parse(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("got %v, want a size error", err)
	}
}

func TestParseLegacyCharset(t *testing.T) {
	// "أخبار" in windows-1256.
	doc := "<?xml version=\"1.0\" encoding=\"windows-1256\"?><opml version=\"1.0\"><body>" +
		"<outline text=\"\xc3\xce\xc8\xc7\xd1\" xmlUrl=\"https://a.example/rss\"/></body></opml>"
	d, err := opml.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Feeds) != 1 || d.Feeds[0].Title != "أخبار" {
		t.Errorf("got %+v, want the title أخبار", d.Feeds)
	}
}

// Writing what was read and reading it again keeps every feed: its URL, title, site, language
// and first category (a feed is written once, in its first folder).
func TestWriteRoundTrip(t *testing.T) {
	for _, file := range []string{"miniflux.opml", "freshrss.opml", "feedly.opml"} {
		t.Run(file, func(t *testing.T) {
			first := parseFile(t, file)
			var buf bytes.Buffer
			created := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			if err := opml.Write(&buf, "feedd <&> \"test\"", created, first.Feeds); err != nil {
				t.Fatal(err)
			}
			second, err := opml.Parse(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if second.Version != "2.0" || second.Title != `feedd <&> "test"` {
				t.Errorf("got version %q title %q", second.Version, second.Title)
			}
			want := briefs(first.Feeds)
			for i := range want {
				want[i].Categories = want[i].Categories[:min(1, len(want[i].Categories))]
			}
			if got := briefs(second.Feeds); !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%q\nwant\n%q\n%s", got, want, buf.String())
			}
		})
	}
}

func TestWriteNestsCategoryPaths(t *testing.T) {
	feeds := []opml.Feed{
		{Title: "top", XMLURL: "https://t.example/rss"},
		{Title: "A", XMLURL: "https://a.example/rss", Categories: []string{"أخبار/الخليج"}, Language: "ar"},
		{Title: "B", XMLURL: "https://b.example/rss", Categories: []string{"أخبار"}},
		{XMLURL: "https://c.example/rss?a=1&b=2"},
	}
	var buf bytes.Buffer
	if err := opml.Write(&buf, "t", time.Time{}, feeds); err != nil {
		t.Fatal(err)
	}
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head>
    <title>t</title>
  </head>
  <body>
    <outline type="rss" text="top" title="top" xmlUrl="https://t.example/rss"/>
    <outline text="أخبار" title="أخبار">
      <outline text="الخليج" title="الخليج">
        <outline type="rss" text="A" title="A" xmlUrl="https://a.example/rss" language="ar"/>
      </outline>
      <outline type="rss" text="B" title="B" xmlUrl="https://b.example/rss"/>
    </outline>
    <outline type="rss" text="https://c.example/rss?a=1&amp;b=2" title="https://c.example/rss?a=1&amp;b=2" xmlUrl="https://c.example/rss?a=1&amp;b=2"/>
  </body>
</opml>
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// FuzzParse: no input crashes Parse or takes it beyond its limits, and whatever it reads survives
// a Write and a second Parse.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"miniflux.opml", "freshrss.opml", "feedly.opml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<opml><body><outline text="a&b" xmlUrl="http://x/&#0;"/></body></opml>`))
	f.Add([]byte(`<opml><body><outline text="a/b"><outline text="" xmlUrl="http://x/y" category=",/,a//b"/></outline>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := opml.Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := opml.Write(&buf, d.Title, time.Time{}, d.Feeds); err != nil {
			t.Fatal(err)
		}
		d2, err := opml.Parse(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("reading what Write wrote: %v\n%s", err, buf.String())
		}
		if len(d2.Feeds) != len(d.Feeds) {
			t.Fatalf("got %d feeds back, want %d\n%s", len(d2.Feeds), len(d.Feeds), buf.String())
		}
		for i := range d.Feeds {
			a, b := d.Feeds[i], d2.Feeds[i]
			wantTitle := a.Title
			if wantTitle == "" {
				wantTitle = a.XMLURL
			}
			if a.XMLURL != b.XMLURL || b.Title != wantTitle {
				t.Fatalf("feed %d: got %q %q, want %q %q", i, b.XMLURL, b.Title, a.XMLURL, wantTitle)
			}
		}
	})
}
