package fetcher

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// sampleText extracts the Arabic paragraph of a corpus encodings/ HTML sample, decoded with its
// real charset and with white space collapsed.
func sampleText(t *testing.T, file string, cm *charmap.Charmap) string {
	t.Helper()
	raw := readCorpus(t, "encodings", file)
	start := bytes.Index(raw, []byte("<body"))
	end := bytes.Index(raw, []byte("</body>"))
	if start < 0 || end < start {
		t.Fatalf("%s: no <body> element", file)
	}
	start += bytes.IndexByte(raw[start:], '>') + 1
	text, err := cm.NewDecoder().Bytes(raw[start:end])
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Join(strings.Fields(string(text)), " ")
	if n := strings.Count(s, "") - 1; n < 100 || !strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Arabic, r) }) {
		t.Fatalf("%s: got %d characters without Arabic, want an Arabic paragraph", file, n)
	}
	return s
}

// encodeFeed builds a one-item RSS feed and encodes it with enc.
func encodeFeed(t *testing.T, enc encoding.Encoding, decl, title, description string) []byte {
	t.Helper()
	doc := decl + "\n" + `<rss version="2.0"><channel><title>t</title><link>http://example.com/</link><description>d</description>` +
		"<item><title>" + escape(title) + "</title><description>" + escape(description) + "</description><guid>1</guid></item></channel></rss>\n"
	b, err := enc.NewEncoder().Bytes([]byte(doc))
	if err != nil {
		t.Fatalf("encode feed: %v", err)
	}
	return b
}

func TestFetchLegacyArabicCharsets(t *testing.T) {
	samples := []struct {
		name    string
		file    string
		cm      *charmap.Charmap
		charset string // canonical name
		alias   string // another label for it
	}{
		{name: "windows-1256", file: "chardet_windows-1256_chromium_sample.html", cm: charmap.Windows1256, charset: "windows-1256", alias: "CP1256"},
		{name: "iso-8859-6", file: "chardet_iso-8859-6_chromium_sample.html", cm: charmap.ISO8859_6, charset: "iso-8859-6", alias: "ISO_8859-6"},
	}
	tests := []struct {
		name        string
		contentType string // %s is the charset label
		decl        string // %s is the charset label
		label       func(canonical, alias string) string
		wantSource  string
		wantWarn    bool
	}{
		{name: "http header only", contentType: "application/rss+xml; charset=%s", decl: `<?xml version="1.0"?>`, wantSource: sourceHTTP},
		{name: "xml declaration only", contentType: "application/rss+xml", decl: `<?xml version="1.0" encoding="%s"?>`, wantSource: sourceXML},
		{name: "both", contentType: "text/xml; charset=%s", decl: `<?xml version='1.0' encoding='%s'?>`, wantSource: sourceHTTP},
		{name: "neither", contentType: "application/rss+xml", decl: `<?xml version="1.0"?>`, wantSource: sourceDetected},
		{name: "no declaration at all", contentType: "", decl: "", wantSource: sourceDetected},
		{name: "alias in declaration", contentType: "application/rss+xml", decl: `<?xml version="1.0" encoding="%s"?>`,
			label: func(_, alias string) string { return alias }, wantSource: sourceXML},
		{name: "header wrongly says utf-8", contentType: "application/rss+xml; charset=UTF-8", decl: `<?xml version="1.0" encoding="%s"?>`,
			wantSource: sourceXML, wantWarn: true},
		{name: "server default latin-1 overridden by declaration", contentType: "text/xml; charset=ISO-8859-1", decl: `<?xml version="1.0" encoding="%s"?>`,
			wantSource: sourceXML, wantWarn: true},
		{name: "declaration wrongly says utf-8", contentType: "application/rss+xml", decl: `<?xml version="1.0" encoding="utf-8"?>`,
			wantSource: sourceDetected, wantWarn: true},
		{name: "unknown label", contentType: "application/rss+xml; charset=x-no-such-charset", decl: `<?xml version="1.0"?>`,
			wantSource: sourceDetected, wantWarn: true},
	}
	for _, s := range samples {
		text := sampleText(t, s.file, s.cm)
		words := strings.Fields(text)
		title := strings.Join(words[:8], " ")
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				label := s.charset
				if tt.label != nil {
					label = tt.label(s.charset, s.alias)
				}
				contentType := strings.ReplaceAll(tt.contentType, "%s", label)
				decl := strings.ReplaceAll(tt.decl, "%s", label)
				body := encodeFeed(t, s.cm, decl, title, text)
				if utf8.Valid(body) {
					t.Fatal("encoded feed is valid UTF-8: the test would prove nothing")
				}
				srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
					feedHandler(contentType, string(body))(w, r)
				})
				res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
				if err != nil {
					t.Fatal(err)
				}
				item := res.Feed.Items[0]
				if item.Title != title {
					t.Errorf("got title %q, want %q", item.Title, title)
				}
				if item.Description != text {
					t.Errorf("got description %q, want %q", item.Description, text)
				}
				if res.Charset != s.charset {
					t.Errorf("got charset %q, want %q", res.Charset, s.charset)
				}
				if res.Replaced != 0 {
					t.Errorf("got %d replacements, want 0", res.Replaced)
				}
				if got := len(res.Warnings) > 0; got != tt.wantWarn {
					t.Errorf("got warnings %q, want some: %v", res.Warnings, tt.wantWarn)
				}
				if got := decodeBody(body, contentType, "").source; got != tt.wantSource {
					t.Errorf("got charset source %q, want %q", got, tt.wantSource)
				}
			})
		}
	}
}

func TestFetchUTF16(t *testing.T) {
	title := "غارات على مناطق في الجنوب"
	tests := []struct {
		name        string
		enc         encoding.Encoding
		decl        string
		contentType string
		want        string
	}{
		{name: "le with bom", enc: xunicode.UTF16(xunicode.LittleEndian, xunicode.UseBOM), decl: `<?xml version="1.0" encoding="utf-16"?>`, want: "utf-16le"},
		{name: "be with bom", enc: xunicode.UTF16(xunicode.BigEndian, xunicode.UseBOM), decl: `<?xml version="1.0" encoding="UTF-16"?>`, want: "utf-16be"},
		{name: "le without bom", enc: xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM), decl: `<?xml version="1.0" encoding="utf-16"?>`, want: "utf-16le"},
		{name: "be without bom", enc: xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM), decl: `<?xml version="1.0" encoding="utf-16"?>`, want: "utf-16be"},
		{name: "bom beats header", enc: xunicode.UTF16(xunicode.BigEndian, xunicode.UseBOM), decl: `<?xml version="1.0"?>`, contentType: "text/xml; charset=windows-1256", want: "utf-16be"},
		{name: "utf-8 bom beats declaration", enc: xunicode.UTF8BOM, decl: `<?xml version="1.0" encoding="windows-1256"?>`, want: "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := encodeFeed(t, tt.enc, tt.decl, title, "وصف")
			srv := serve(t, feedHandler(tt.contentType, string(body)))
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(res); !slices.Equal(got, []string{title}) {
				t.Errorf("got titles %q, want %q", got, title)
			}
			if res.Charset != tt.want {
				t.Errorf("got charset %q, want %q", res.Charset, tt.want)
			}
		})
	}
}

func TestFetchReplacementCounted(t *testing.T) {
	// A UTF-8 feed with two stray bytes (a description cut inside a character, a Latin-1 byte).
	body := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>x</title>" +
		"<item><title>خبر\xd8 عاجل</title></item><item><title>caf\xe9 عربي</title></item></channel></rss>"
	srv := serve(t, feedHandler("application/rss+xml; charset=utf-8", body))
	res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := titles(res), []string{"خبر\uFFFD عاجل", "caf\uFFFD عربي"}; !slices.Equal(got, want) {
		t.Errorf("got titles %q, want %q", got, want)
	}
	if res.Replaced != 2 || res.Charset != "utf-8" {
		t.Errorf("got %d replacements from %q, want 2 from utf-8", res.Replaced, res.Charset)
	}
}

func TestDecodeBody(t *testing.T) {
	w1256 := func(s string) []byte {
		b, err := charmap.Windows1256.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name         string
		body         []byte
		contentType  string
		wantText     string
		wantCharset  string
		wantSource   string
		wantReplaced int
		wantWarnings int
	}{
		{name: "ascii", body: []byte(`<rss/>`), wantText: `<rss/>`, wantCharset: "utf-8", wantSource: sourceDetected},
		{name: "declaration rewritten", body: w1256(`<?xml version="1.0" encoding="windows-1256"?><rss>قطر</rss>`),
			wantText: `<?xml version="1.0" encoding="utf-8"?><rss>قطر</rss>`, wantCharset: "windows-1256", wantSource: sourceXML},
		{name: "single-quoted declaration rewritten", body: w1256(`<?xml version='1.0' encoding='cp1256' standalone='yes'?><rss>قطر</rss>`),
			wantText: `<?xml version='1.0' encoding='utf-8' standalone='yes'?><rss>قطر</rss>`, wantCharset: "windows-1256", wantSource: sourceXML},
		{name: "header charset quoted", body: w1256(`<rss>قطر</rss>`), contentType: `text/xml; charset="windows-1256"`,
			wantText: `<rss>قطر</rss>`, wantCharset: "windows-1256", wantSource: sourceHTTP},
		{name: "malformed content type", body: w1256(`<rss>قطر</rss>`), contentType: `text/xml; charset=windows-1256; x`,
			wantText: `<rss>قطر</rss>`, wantCharset: "windows-1256", wantSource: sourceHTTP},
		{name: "legacy label on utf-8 body", body: []byte(`<?xml version="1.0" encoding="windows-1256"?><rss>قطر</rss>`),
			wantText: `<?xml version="1.0" encoding="utf-8"?><rss>قطر</rss>`, wantCharset: "utf-8", wantSource: sourceDetected, wantWarnings: 1},
		{name: "utf-16 label on ascii body", body: []byte(`<?xml version="1.0" encoding="utf-16"?><rss/>`),
			wantText: `<?xml version="1.0" encoding="utf-8"?><rss/>`, wantCharset: "utf-8", wantSource: sourceDetected, wantWarnings: 1},
		{name: "undefined iso-8859-6 byte", body: []byte("<rss>\xc7\xff</rss>"), contentType: "text/xml; charset=iso-8859-6",
			wantText: "<rss>ا\uFFFD</rss>", wantCharset: "iso-8859-6", wantSource: sourceHTTP, wantReplaced: 1},
		{name: "forbidden characters removed", body: []byte("\x00 <rss>\x01a\x08\x0b\x0c\x1f\x7f\uFFFE\uFFFFb\t\r\n</rss>"),
			wantText: "<rss>a\x7fb\t\r\n</rss>", wantCharset: "utf-8", wantSource: sourceDetected},
		{name: "control character before declaration", body: []byte("\x01<?xml version=\"1.0\" encoding=\"x-bogus\"?><rss/>"),
			wantText: `<?xml version="1.0" encoding="utf-8"?><rss/>`, wantCharset: "utf-8", wantSource: sourceDetected, wantWarnings: 0},
		{name: "replacement encoding refused", body: []byte(`<rss/>`), contentType: "text/xml; charset=iso-2022-kr",
			wantText: `<rss/>`, wantCharset: "utf-8", wantSource: sourceDetected, wantWarnings: 1},
		{name: "latin-1 header without declaration kept", body: []byte("<rss>caf\xe9</rss>"), contentType: "text/xml; charset=iso-8859-1",
			wantText: "<rss>café</rss>", wantCharset: "windows-1252", wantSource: sourceHTTP},
		{name: "mostly utf-8", body: []byte("<rss>" + strings.Repeat("عربي ", 10) + "\xd8</rss>"),
			wantText: "<rss>" + strings.Repeat("عربي ", 10) + "\uFFFD</rss>", wantCharset: "utf-8", wantSource: sourceDetected, wantReplaced: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decodeBody(tt.body, tt.contentType, "")
			if string(d.text) != tt.wantText {
				t.Errorf("got text %q, want %q", d.text, tt.wantText)
			}
			if d.charset != tt.wantCharset || d.source != tt.wantSource {
				t.Errorf("got charset %q from %q, want %q from %q", d.charset, d.source, tt.wantCharset, tt.wantSource)
			}
			if d.replaced != tt.wantReplaced {
				t.Errorf("got %d replacements, want %d", d.replaced, tt.wantReplaced)
			}
			if len(d.warnings) != tt.wantWarnings {
				t.Errorf("got warnings %q, want %d", d.warnings, tt.wantWarnings)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	seeds := [][]byte{
		[]byte(`<?xml version="1.0" encoding="windows-1256"?><rss><channel><item><title>` + "\xde\xd8\xd1" + `</title></item></channel></rss>`),
		[]byte(`<?xml version='1.0' encoding='utf-16'?><feed/>`),
		[]byte("\xef\xbb\xbf<?xml version=\"1.0\"?><rss/>"),
		[]byte("\xff\xfe<\x00?\x00x\x00m\x00l\x00"),
		[]byte("\xfe\xff\x00<\x00?"),
		[]byte("<\x00?\x00x\x00"),
		[]byte("\x00\x01\x02<rss>\xc7\xe1\xd9\xd1\xc8\xed\xc9</rss>"),
		[]byte("<?xml encoding=\"\"?>"),
		[]byte("\uFEFF\uFEFF\x01<?xml version=\"1.0\" encoding=\"ISO-8859-6\"?>\xff"),
		[]byte("caf\xe9 \xd8\xb9\xd8"),
	}
	for _, s := range seeds {
		f.Add(s, "")
		f.Add(s, "text/xml; charset=windows-1256")
	}
	f.Add([]byte("<rss/>"), "application/rss+xml; charset=utf-16")
	f.Add([]byte("<rss/>"), "text/xml; charset=\"")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		orig := bytes.Clone(body)
		d := decodeBody(body, contentType, "")
		if !bytes.Equal(body, orig) {
			t.Fatal("decodeBody modified its input")
		}
		if !utf8.Valid(d.text) {
			t.Fatalf("got invalid UTF-8 %q", d.text)
		}
		if d.charset == "" || d.replaced < 0 {
			t.Fatalf("got charset %q, %d replacements", d.charset, d.replaced)
		}
		for _, r := range string(d.text) {
			if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
				t.Fatalf("got forbidden character %U in %q", r, d.text)
			}
		}
		if label := xmlDeclLabel(d.text); label != "" && !strings.EqualFold(label, "utf-8") {
			t.Fatalf("declaration still says %q in %q", label, d.text)
		}
		// The parser must not panic either.
		_, _ = parse(body, contentType, parseOptions{maxItems: 10})
	})
}

func TestFetchCharsetOverride(t *testing.T) {
	text := sampleText(t, "chardet_iso-8859-6_chromium_sample.html", charmap.ISO8859_6)
	title := strings.Join(strings.Fields(text)[:8], " ")
	iso := encodeFeed(t, charmap.ISO8859_6, `<?xml version="1.0" encoding="windows-1256"?>`, title, text)
	utf8BOM := append([]byte("\xef\xbb\xbf"), encodeFeed(t, xunicode.UTF8, `<?xml version="1.0"?>`, title, text)...)
	tests := []struct {
		name        string
		body        []byte
		contentType string
		override    string
		wantCharset string
		wantTitle   bool // the title decodes right
		wantWarn    string
	}{
		{name: "wrong declarations without override", body: iso, contentType: "text/xml; charset=windows-1256",
			wantCharset: "windows-1256", wantTitle: false},
		{name: "override wins over header and declaration", body: iso, contentType: "text/xml; charset=windows-1256",
			override: "ISO-8859-6", wantCharset: "iso-8859-6", wantTitle: true},
		{name: "override alias", body: iso, override: "arabic", wantCharset: "iso-8859-6", wantTitle: true},
		{name: "unknown override ignored", body: iso, contentType: "text/xml; charset=windows-1256",
			override: "x-klingon", wantCharset: "windows-1256", wantTitle: false, wantWarn: "x-klingon"},
		{name: "matching bom removed", body: utf8BOM, override: "utf-8", wantCharset: "utf-8", wantTitle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, feedHandler(tt.contentType, string(tt.body)))
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL, Charset: tt.override})
			if err != nil {
				t.Fatal(err)
			}
			if res.Charset != tt.wantCharset {
				t.Errorf("got charset %q, want %q", res.Charset, tt.wantCharset)
			}
			if got := res.Feed.Items[0].Title == title; got != tt.wantTitle {
				t.Errorf("got title %q, want it right: %v", res.Feed.Items[0].Title, tt.wantTitle)
			}
			if tt.wantWarn != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tt.wantWarn) {
				t.Errorf("got warnings %q, want one with %q", res.Warnings, tt.wantWarn)
			}
		})
	}
}

func TestDecodeOverrideWithOtherBOM(t *testing.T) {
	// The override is obeyed; the UTF-8 BOM it contradicts is reported, and decoded as text.
	d := decodeBody([]byte("\xef\xbb\xbf<rss/>"), "", "windows-1256")
	if d.charset != "windows-1256" || d.source != sourceOverride {
		t.Errorf("got charset %q from %q, want windows-1256 from %q", d.charset, d.source, sourceOverride)
	}
	if want := "byte-order mark of utf-8 ignored"; len(d.warnings) != 1 || !strings.Contains(d.warnings[0], want) {
		t.Errorf("got warnings %q, want one saying %q", d.warnings, want)
	}
}

func TestDecodeUTF32(t *testing.T) {
	doc := `<?xml version="1.0" encoding="utf-32"?><rss><channel><title>` + arabicTitle + `</title></channel></rss>`
	tests := []struct {
		name        string
		enc         encoding.Encoding
		bom         []byte
		wantCharset string
	}{
		{name: "big endian with bom", enc: utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), bom: []byte{0, 0, 0xFE, 0xFF}, wantCharset: "utf-32be"},
		{name: "little endian with bom", enc: utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), bom: []byte{0xFF, 0xFE, 0, 0}, wantCharset: "utf-32le"},
		{name: "big endian without bom", enc: utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), wantCharset: "utf-32be"},
		{name: "little endian without bom", enc: utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), wantCharset: "utf-32le"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.enc.NewEncoder().Bytes([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			d := decodeBody(append(bytes.Clone(tt.bom), b...), "", "")
			want := strings.Replace(doc, "utf-32", "utf-8", 1)
			if string(d.text) != want || d.charset != tt.wantCharset {
				t.Errorf("got %q as %q, want %q as %q", d.text, d.charset, want, tt.wantCharset)
			}
		})
	}
}
