package dedupe

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/feedd/feedd/internal/testfeeds"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"only separators", "  ،؛ ؟ «» … ", ""},
		{"plain arabic kept", "باكستان تعرض محادثات", "باكستان تعرض محادثات"},
		{"harakat", "قُتِلَ فِي سَبِيلِ الاحْتِلالِ", "قتل في سبيل الاحتلال"},
		{"tanwin and shadda", "مُحَمَّدٌ كِتَابًا", "محمد كتابا"},
		{"superscript alef", "هٰذا", "هذا"},
		{"quranic marks", "ذَٰلِكَ ٱلْكِتَٰبُ لَا رَيْبَ ۛ فِيهِ", "ذلك الكتب لا ريب فيه"},
		{"quranic mark U+0610 inside a word", "محمد\u0610 رسول", "محمد رسول"},
		{"tatweel", "مـــصـــر", "مصر"},
		{"alef with hamza above", "أحمد", "احمد"},
		{"alef with hamza below", "إيران", "ايران"},
		{"alef with madda", "آخر", "اخر"},
		{"alef wasla", "ٱلله", "الله"},
		{"alef with wavy hamza above U+0672", "\u0672حمد", "احمد"},
		{"alef with wavy hamza below U+0673", "\u0673يران", "ايران"},
		{"decomposed hamza on alef composes then folds", "ا\u0654حمد", "احمد"},
		{"yeh with hamza kept", "رئيس", "رئيس"},
		{"waw with hamza kept", "مسؤول", "مسؤول"},
		{"decomposed hamza on yeh composes and is kept", "ري\u0654يس", "رئيس"},
		{"alef maksura", "مستشفى", "مستشفي"},
		{"farsi yeh", "قالیباف", "قاليباف"},
		{"teh marbuta", "مدرسة", "مدرسه"},
		{"farsi kaf", "کتاب", "كتاب"},
		{"arabic-indic digits", "٢٠٢٦ و٣٣", "2026 و33"},
		{"persian digits", "۱۴۰۵ و۷", "1405 و7"},
		{"presentation form U+FEDF", "ﻟ«حماس»", "ل حماس"},
		{"presentation forms word", "ﺍﻟﻌﺮﺑﻴﺔ", "العربيه"},
		{"lam-alef ligature", "ﻻ", "لا"},
		{"allah ligature", "ﷲ", "الله"},
		{"LRM inside a word", "مص\u200eر", "مصر"},
		{"RLM", "\u200fغزة\u200f", "غزه"},
		{"ALM", "\u061cغزة", "غزه"},
		{"ZWNJ and ZWJ", "می\u200cخواهم\u200d", "ميخواهم"},
		{"bidi embeddings and isolates", "\u202bغزة\u202c \u2067القدس\u2069", "غزه القدس"},
		{"BOM and soft hyphen", "\ufeffnews\u00adpaper", "newspaper"},
		{"hashtag", "#مصراتة", "مصراته"},
		{"guillemets", "«حماس» و«فتح»", "حماس و فتح"},
		{"arabic punctuation", "هل؟ نعم، لا؛ 50٪ ۔ انتهى", "هل نعم لا 50 انتهي"},
		{"quotes and dashes", "“متشدد لكنه عملي”.. غزة – القدس — رام الله", "متشدد لكنه عملي غزه القدس رام الله"},
		{"title suffix bar", "إعدامات وغزوات | الحرة", "اعدامات وغزوات الحره"},
		{"nbsp", "الدهانات\u00a0الواقية", "الدهانات الواقيه"},
		{"other spaces", "a\u2003b\u3000c\u2028d\te\nf", "a b c d e f"},
		{"whitespace collapsed and trimmed", "  غزة \t\n  اليوم  ", "غزه اليوم"},
		{"mixed latin", "Apple تطلق iPhone 17 Pro", "apple تطلق iphone 17 pro"},
		{"latin punctuation", "U.S.-Iran: talks, (again)!", "u s iran talks again"},
		{"latin accents kept", "Café Ünal", "café ünal"},
		{"decomposed latin accent composes", "cafe\u0301", "café"},
		{"compatibility characters", "ﬁle ２０２６ ①", "file 2026 1"},
		{"ellipsis", "تونس…", "تونس"},
		{"invalid utf-8 separates", "a\xffb", "a b"},
		{"greek lower-cased", "ΑΘΗΝΑ", "αθηνα"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeEquivalentSpellings(t *testing.T) {
	tests := []struct {
		name     string
		variants []string
	}{
		{"headline", []string{
			"إيران تعلن استعدادها للمفاوضات مع الولايات المتحدة",
			"إِيرَانُ تُعْلِنُ اسْتِعْدَادَهَا لِلْمُفَاوَضَاتِ مَعَ الْوِلَايَاتِ الْمُتَّحِدَةِ",
			"إيـــران تعلـن استعدادها للمفاوضــات مع الولايات المتحدة",
			"ايران تعلن استعدادها للمفاوضات مع الولايات المتحده",
			"\u200fإيران تعلن «استعدادها» للمفاوضات، مع الولايات المتحدة!",
			"  إيران\u00a0تعلن استعدادها للمفاوضات - مع الولايات المتحدة  ",
		}},
		{"presentation forms", []string{
			"الجيش الإسرائيلي يعلن استهداف قائد الجناح العسكري ل«حماس» في جباليا",
			"الجيش الإسرائيلي يعلن استهداف قائد الجناح العسكري ﻟ«حماس» في جباليا",
			"ﺍﻟﺠﻴﺶ الإسرائيلي يعلن استهداف قائد الجناح العسكري لـ «حماس» في جباليا",
		}},
		{"digits and yeh", []string{
			"ارتفاع الأسعار 33 بالمئة في 2026 علی الأقل",
			"ارتفاع الأسعار ٣٣ بالمئة في ٢٠٢٦ على الأقل",
			"ارتفاع الأسعار ۳۳ بالمئة في ۲۰۲۶ علي الأقل",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := Normalize(tt.variants[0])
			for _, v := range tt.variants[1:] {
				if got := Normalize(v); got != want {
					t.Errorf("Normalize(%+q) = %+q, want %+q", v, got, want)
				}
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only punctuation", "«» ؟!", nil},
		{"words", " «حماس»: غزة، اليوم ", []string{"حماس", "غزه", "اليوم"}},
		{"one word", "#مصراتة", []string{"مصراته"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tokens(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeCorpusStrings checks the corpus strings the brief points at.
func TestNormalizeCorpusStrings(t *testing.T) {
	dir := testfeeds.Corpus(t)
	tests := []struct {
		name     string
		feed     string
		contains string // picks the title
		want     string // in the normalised title
	}{
		{"harakat in an arabi21 title", "arabi21.xml", "قُتِل", "قتل في سبيل الاحتلال"},
		{"farsi yeh in an alhurra title", "alhurra.xml", "ی", "قاليباف"},
		{"guillemets in asharq al-awsat", "asharq-al-awsat.xml", "«", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var title string
			for _, it := range readFeed(t, filepath.Join(dir, "feeds", tt.feed)) {
				if strings.Contains(it.title, tt.contains) {
					title = it.title
					break
				}
			}
			if title == "" {
				t.Fatalf("no title in %s contains %q", tt.feed, tt.contains)
			}
			got := Normalize(title)
			if !strings.Contains(got, tt.want) {
				t.Errorf("Normalize(%q) = %q, want it to contain %q", title, got, tt.want)
			}
			if strings.ContainsAny(got, "«»ی\u064f\u0650|") {
				t.Errorf("Normalize(%q) = %q, still holds a folded character", title, got)
			}
		})
	}

	t.Run("presentation form in midiakit headline", func(t *testing.T) {
		var found bool
		for _, h := range corpusHeadlines(t, dir) {
			if !strings.ContainsRune(h, '\uFEDF') {
				continue
			}
			found = true
			plain := strings.ReplaceAll(h, "\uFEDF", "ل")
			if got, want := Normalize(h), Normalize(plain); got != want {
				t.Errorf("Normalize(%q) = %q, want %q", h, got, want)
			}
		}
		if !found {
			t.Fatal("no headline with U+FEDF in the midiakit file")
		}
	})
}

// TestNormalizeCorpus checks idempotence over every title and headline of the corpus, and that the
// fast path (the fold table, NFKC skipped) agrees with the definition (NFKC always, then fold).
func TestNormalizeCorpus(t *testing.T) {
	dir := testfeeds.Corpus(t)
	var texts []string
	feeds, err := filepath.Glob(filepath.Join(dir, "feeds", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range feeds {
		for _, it := range readFeed(t, f) {
			texts = append(texts, it.title, it.description)
		}
	}
	texts = append(texts, corpusHeadlines(t, dir)...)
	if seed, err := os.ReadFile(filepath.Join(dir, "seed", "alarabiya-mustafa-al-imam.txt")); err == nil {
		texts = append(texts, string(seed))
	}
	if len(texts) < 900 {
		t.Fatalf("got %d corpus texts, want at least 900", len(texts))
	}
	for _, s := range texts {
		n := Normalize(s)
		if again := Normalize(n); again != n {
			t.Errorf("Normalize(Normalize(%q)) = %q, want %q", s, again, n)
		}
		if want := referenceNormalize(s); n != want {
			t.Errorf("Normalize(%q) = %q, want %q (NFKC then fold)", s, n, want)
		}
	}
}

// TestFoldTable checks the cached table against foldRune, and the assumption behind its fast path:
// the harakat and Quranic marks it removes without NFKC compose with no letter.
func TestFoldTable(t *testing.T) {
	for r := rune(0); r < 0x2100; r++ {
		e, ok := foldTable.entry(r)
		if !ok {
			continue
		}
		if got, want := rune(e&entryRune), foldRune(r); got != want {
			t.Errorf("table entry for %U folds to %U, want %U", r, got, want)
		}
	}
	for m := rune(0x0610); m < 0x06EE; m++ {
		e, _ := foldTable.entry(m)
		if e&entryNeedsNFKC != 0 || norm.NFC.PropertiesString(string(m)).BoundaryBefore() {
			continue // not an exempt mark
		}
		for base := rune(0x20); base < 0x0800; base++ {
			got := norm.NFKC.String(string(base) + string(m))
			want := strings.Count(norm.NFKC.String(string(base)), string(m)) + 1
			if strings.Count(got, string(m)) != want {
				t.Errorf("NFKC(%U %U) = %+q: the mark composes but the table removes it without NFKC", base, m, got)
			}
		}
	}
}

// TestFastTable checks the fast loop's tables against the fold table: every ASCII byte is a
// letter of one byte or a separator (the loop assumes it), every valid sequence of two bytes has
// its rune's fold or takes the general path, and every invalid one takes the general path.
func TestFastTable(t *testing.T) {
	fast := &foldTable.fast
	for c := range rune(utf8.RuneSelf) {
		e := fast.ascii[c]
		switch o := foldRune(c); {
		case o == ' ':
			if e != fastSep {
				t.Errorf("fast entry for %U is %#x, want a separator", c, e)
			}
		case e != uint32(o)|1<<fastLenShift|fastLetter:
			t.Errorf("fast entry for %U is %#x, want the letter %U", c, e, o)
		}
	}
	for i, e := range fast.two {
		c, c2 := byte(0x80|i>>8), byte(i)
		r, n := utf8.DecodeRune([]byte{c, c2})
		if n != 2 {
			if e != fastGeneral {
				t.Errorf("fast entry for % x (invalid) is %#x, want the general path", []byte{c, c2}, e)
			}
			continue
		}
		te := entry(r)
		if te&(entryNeedsNFKC|entryCheckOutput) != 0 || utf8.RuneLen(rune(te&entryRune)) > 2 {
			if e != fastGeneral {
				t.Errorf("fast entry for %U is %#x, want the general path", r, e)
			}
			continue
		}
		var want uint32
		switch o := rune(te & entryRune); o {
		case dropRune:
		case ' ':
			want = fastSep
		default:
			enc := utf8.AppendRune(nil, o)
			want = uint32(enc[0]) | uint32(len(enc))<<fastLenShift | fastLetter
			if len(enc) == 2 {
				want |= uint32(enc[1]) << 8
			}
		}
		if e != want {
			t.Errorf("fast entry for %U is %#x, want %#x", r, e, want)
		}
	}
}

// TestFoldRuneIdempotent checks that folding a folded rune changes nothing, for every rune.
func TestFoldRuneIdempotent(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		o := foldRune(r)
		if o == dropRune || o == ' ' {
			continue
		}
		if again := foldRune(o); again != o {
			t.Errorf("foldRune(foldRune(%U)) = %U, want %U", r, again, o)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "قُتِل في سبيل الاحتلال!", "ﻟ«حماس»", "#مصراتة", "e\u200d\u0301", "ا\u200d\u0654",
		"ي\u0654", "a\xffb\xc0", "ᄀ\u200dᅡ", "ﷺ ﷻ", "İSTANBUL ǅ", "\u0675\u0676", "½ ⅓ ™",
		"a\u00a0\u00a0b", "ـــ", "\u0301a", "١٢٣ ۴۵۶", "﴾ ﴿", "ॐ क़", "가각",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%+q) = %+q, not valid UTF-8", s, n)
		}
		if strings.Contains(n, "  ") || strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") {
			t.Fatalf("Normalize(%+q) = %+q, has stray spaces", s, n)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize(Normalize(%+q)) = %+q, want %+q", s, again, n)
		}
		if want := referenceNormalize(s); n != want {
			t.Fatalf("Normalize(%+q) = %+q, want %+q (NFKC then fold)", s, n, want)
		}
		// The fold and its word hashes agree with the implementation they replaced.
		checkFold(t, "t\x00", s)
	})
}

func BenchmarkNormalize(b *testing.B) {
	article, err := os.ReadFile(filepath.Join(corpusRoot, "seed", "alarabiya-mustafa-al-imam.txt"))
	if errors.Is(err, os.ErrNotExist) {
		b.Skipf("corpus not available: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	benchmarks := []struct {
		name string
		in   string
	}{
		{"article", string(article)},
		{"title", "“متشدد لكنه عملي”.. قالیباف يزداد نفوذا في إيران | الحرة"},
		{"title_presentation_form", "الجيش الإسرائيلي يعلن استهداف قائد الجناح العسكري ﻟ«حماس» في جباليا"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.in)))
			b.ReportAllocs()
			for b.Loop() {
				Normalize(bm.in)
			}
		})
	}
}

// referenceNormalize is Normalize by its definition: NFKC, then foldRune on every rune, separators
// collapsed and trimmed, repeated until stable.
func referenceNormalize(s string) string {
	for range 4 {
		var b strings.Builder
		for _, r := range norm.NFKC.String(s) {
			if o := foldRune(r); o != dropRune {
				b.WriteRune(o)
			}
		}
		n := strings.Join(strings.Fields(b.String()), " ")
		if n == s {
			break
		}
		s = n
	}
	return s
}

// corpusRoot is the shared test corpus, relative to the package directory.
var corpusRoot = filepath.Join("..", "..", "shared", "corpus")

// feedItem is what the tests read from a corpus feed item or entry.
type feedItem struct {
	title, description string
	links              []string // link, guid, id, href, enclosure and media URLs
}

// readFeed reads the items of an RSS 2.0 or Atom file with encoding/xml, without a feed parser.
func readFeed(t *testing.T, path string) []feedItem {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var (
		items []feedItem
		cur   *feedItem
		text  strings.Builder
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			text.Reset()
			if tok.Name.Local == "item" || tok.Name.Local == "entry" {
				items = append(items, feedItem{})
				cur = &items[len(items)-1]
				continue
			}
			if cur == nil {
				continue
			}
			for _, a := range tok.Attr {
				if a.Name.Local == "href" || a.Name.Local == "url" {
					cur.links = append(cur.links, a.Value)
				}
			}
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			if cur == nil {
				continue
			}
			v := strings.TrimSpace(text.String())
			switch tok.Name.Local {
			case "item", "entry":
				cur = nil
			case "title":
				cur.title = v
			case "description", "summary":
				cur.description = v
			case "link", "guid", "id":
				if v != "" {
					cur.links = append(cur.links, v)
				}
			}
			text.Reset()
		}
	}
	if len(items) == 0 {
		t.Fatalf("no items in %s", path)
	}
	return items
}

// corpusHeadlines returns the midiakit headlines, the NewsAPI titles and descriptions and the
// distinct Elmassae24 titles.
func corpusHeadlines(t *testing.T, dir string) []string {
	t.Helper()
	var mk struct {
		Headlines []struct {
			Headline string `json:"headline"`
		} `json:"headlines"`
	}
	readJSON(t, filepath.Join(dir, "headlines", "midiakit-rss-headlines-2026-09-01.json"), &mk)
	var out []string
	for _, h := range mk.Headlines {
		out = append(out, h.Headline)
	}
	for _, a := range newsAPIArticles(t, dir) {
		out = append(out, a.Title, a.Description)
	}
	var em []struct {
		Title string `json:"title"`
	}
	readJSON(t, filepath.Join(dir, "headlines", "oumaimaoys_elmassae24_titles_topics.json"), &em)
	seen := make(map[string]bool)
	for _, e := range em {
		if !seen[e.Title] {
			seen[e.Title] = true
			out = append(out, e.Title)
		}
	}
	return out
}

// newsAPIArticle is one article of the NewsAPI samples.
type newsAPIArticle struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// newsAPIArticles returns the articles of every NewsAPI sample in the corpus.
func newsAPIArticles(t *testing.T, dir string) []newsAPIArticle {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "headlines", "newsapi_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []newsAPIArticle
	for _, f := range files {
		var na struct {
			Articles []newsAPIArticle `json:"articles"`
		}
		readJSON(t, f, &na)
		out = append(out, na.Articles...)
	}
	if len(out) == 0 {
		t.Fatal("no NewsAPI articles in the corpus")
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func ExampleNormalize() {
	fmt.Println(Normalize("قُتِلَ في #مصراتة: «إعلان» الأمم المتحدة ٢٠٢٦"))
	// Output: قتل في مصراته اعلان الامم المتحده 2026
}

func ExampleTokens() {
	fmt.Printf("%q\n", Tokens("ﻟ«حماس»، اليوم"))
	// Output: ["ل" "حماس" "اليوم"]
}
