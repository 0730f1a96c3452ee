package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/feedd/feedd/store"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/fetcher"
	"github.com/mmcdole/gofeed"
)

var corpusFeeds = filepath.Join("..", "..", "shared", "corpus", "feeds")

var fetchedAt = time.Date(2026, 3, 24, 12, 0, 0, 0, time.UTC)

func parseCorpusFeed(t *testing.T, name string) *gofeed.Feed {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusFeeds, name))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	defer f.Close()
	parsed, err := fetcher.NewParser().Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func assembleCorpus(t *testing.T, name string, feed Feed) []entry {
	t.Helper()
	return newAssembler().assemble(feed, parseCorpusFeed(t, name), feed.URL, fetchedAt)
}

func TestAssembleCorpusFeeds(t *testing.T) {
	t.Run("alhurra: outlet suffix removed, image URL unescaped", func(t *testing.T) {
		es := assembleCorpus(t, "alhurra.xml", Feed{ID: "alhurra", Name: "الحرة", URL: "https://alhurra.com/feed", Lang: "ar"})
		if len(es) != 15 {
			t.Fatalf("got %d entries, want 15", len(es))
		}
		for _, e := range es {
			if strings.Contains(e.art.Title, "الحرة") && strings.HasSuffix(e.art.Title, "الحرة") {
				t.Errorf("title keeps the outlet suffix: %q", e.art.Title)
			}
			if strings.Contains(e.art.ImageURL, "#038;") || strings.Contains(e.art.ImageURL, "&amp;") {
				t.Errorf("image url keeps escaped entities: %q", e.art.ImageURL)
			}
		}
		if got, want := es[0].art.Title, "حرب إيران كشفت المستور: أين العرب؟"; got != want {
			t.Errorf("got title %q, want %q", got, want)
		}
		if got, want := es[0].art.ImageURL, "https://i0.wp.com/alhurra.com/wp-content/uploads/2026/03/magg.jpg?fit=1200%2C675&ssl=1"; got != want {
			t.Errorf("got image %q, want %q", got, want)
		}
	})
	t.Run("hespress: blog boilerplate removed from summaries", func(t *testing.T) {
		for _, e := range assembleCorpus(t, "hespress.xml", Feed{ID: "hespress", Name: "هسبريس", URL: "https://www.hespress.com/feed", Lang: "ar"}) {
			if strings.Contains(e.art.Summary, "appeared first on") || e.art.Summary == "" {
				t.Errorf("summary %q", e.art.Summary)
			}
		}
	})
	t.Run("al jazeera: tracking parameter out of canonical url, link kept as given", func(t *testing.T) {
		es := assembleCorpus(t, "al-jazeera.xml", Feed{ID: "aljazeera", Name: "الجزيرة", URL: "https://www.aljazeera.net/rss", Lang: "ar"})
		for _, e := range es {
			if strings.Contains(e.art.CanonicalURL, "traffic_source") {
				t.Errorf("canonical url %q keeps traffic_source", e.art.CanonicalURL)
			}
			if !strings.Contains(e.art.URL, "traffic_source=rss") {
				t.Errorf("url %q is not the link as given", e.art.URL)
			}
			if e.art.ID != article.ID(e.art.CanonicalURL, "", "", "") {
				t.Errorf("id %s is not the hash of the canonical url", e.art.ID)
			}
		}
	})
	t.Run("al-araby: a fragment that tells items apart is kept", func(t *testing.T) {
		es := assembleCorpus(t, "al-araby-al-jadeed.xml", Feed{ID: "alaraby", Name: "العربي الجديد", URL: "https://www.alaraby.co.uk/rss", Lang: "ar"})
		found := false
		for _, e := range es {
			if strings.HasSuffix(e.art.CanonicalURL, "/news/breaking#12990783") {
				found = true
			}
		}
		if !found {
			t.Error("no canonical url ends in /news/breaking#12990783")
		}
	})
	t.Run("arabi21: published title keeps its harakat", func(t *testing.T) {
		es := assembleCorpus(t, "arabi21.xml", Feed{ID: "arabi21", Name: "عربي21", URL: "https://arabi21.com/rss", Lang: "ar"})
		hasHaraka := false
		for _, e := range es {
			if strings.ContainsAny(e.art.Title, "\u064B\u064C\u064D\u064E\u064F\u0650\u0651\u0652") {
				hasHaraka = true
			}
		}
		if !hasHaraka {
			t.Error("no title keeps its diacritics: normalisation leaked into published text")
		}
	})
}

func parseString(t *testing.T, s string) *gofeed.Feed {
	t.Helper()
	f, err := fetcher.NewParser().ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAssembleItem(t *testing.T) {
	feed := Feed{ID: "test", Name: "اليوم السابع", URL: "https://example.com/feed.xml", Lang: "ar"}
	rss := func(items string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title><link>https://example.com/</link>` + items + `</channel></rss>`
	}
	tests := []struct {
		name  string
		item  string
		check func(t *testing.T, a article.Article)
	}{
		{"named outlet suffix", `<item><title>عنوان الخبر هنا - اليوم السابع</title><link>https://example.com/a</link></item>`,
			func(t *testing.T, a article.Article) {
				if a.Title != "عنوان الخبر هنا" {
					t.Errorf("got title %q", a.Title)
				}
			}},
		{"html in title and summary becomes plain text", `<item><title>&lt;b&gt;عاجل&lt;/b&gt; &amp; خبر</title><link>https://example.com/b</link><description>&lt;p&gt;فقرة &lt;a href="x"&gt;رابط&lt;/a&gt;&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;ثانية&lt;/p&gt;</description></item>`,
			func(t *testing.T, a article.Article) {
				if a.Title != "عاجل & خبر" {
					t.Errorf("got title %q", a.Title)
				}
				if a.Summary != "فقرة رابط\n\nثانية" {
					t.Errorf("got summary %q", a.Summary)
				}
			}},
		{"content is sanitised and rendered", `<item><title>t</title><link>https://example.com/c</link><content:encoded><![CDATA[<p onclick="x()">نص <img src="https://example.com/i.jpg"></p><script>evil()</script><iframe src="https://evil"></iframe>]]></content:encoded></item>`,
			func(t *testing.T, a article.Article) {
				for _, bad := range []string{"script", "onclick", "iframe", "evil"} {
					if strings.Contains(a.ContentHTML, bad) {
						t.Errorf("content_html keeps %q: %s", bad, a.ContentHTML)
					}
				}
				if !strings.Contains(a.ContentHTML, "<img") || a.ContentText != "نص" {
					t.Errorf("content_html %q, content_text %q", a.ContentHTML, a.ContentText)
				}
				if a.Summary != "نص" {
					t.Errorf("summary from content: %q", a.Summary)
				}
			}},
		{"relative link resolved against the feed", `<item><title>t</title><link>/news/1?utm_source=x</link></item>`,
			func(t *testing.T, a article.Article) {
				if a.URL != "https://example.com/news/1?utm_source=x" || a.CanonicalURL != "https://example.com/news/1" {
					t.Errorf("url %q canonical %q", a.URL, a.CanonicalURL)
				}
			}},
		{"query parameters that look like legacy entities survive", `<item><title>t</title><link>https://example.com/a?id=1&amp;section=news&amp;region=2&amp;para=3</link></item>`,
			func(t *testing.T, a article.Article) {
				if a.URL != "https://example.com/a?id=1&section=news&region=2&para=3" {
					t.Errorf("url %q", a.URL)
				}
			}},
		{"double-escaped ampersand undone", `<item><title>t</title><link>https://example.com/b?x=1&amp;#038;y=2</link></item>`,
			func(t *testing.T, a article.Article) {
				if a.URL != "https://example.com/b?x=1&y=2" {
					t.Errorf("url %q", a.URL)
				}
			}},
		{"CRLF line breaks are not paragraph breaks", "<item><title>t</title><link>https://example.com/crlf</link><description>سطر أول\r\nسطر ثان</description></item>",
			func(t *testing.T, a article.Article) {
				if a.Summary != "سطر أول\nسطر ثان" {
					t.Errorf("summary %q", a.Summary)
				}
			}},
		{"date converted to UTC", `<item><title>t</title><link>https://example.com/d</link><pubDate>Tue, 24 Mar 2026 10:30:00 +0300</pubDate></item>`,
			func(t *testing.T, a article.Article) {
				if !a.PublishedAt.Equal(time.Date(2026, 3, 24, 7, 30, 0, 0, time.UTC)) || a.PublishedAt.Location() != time.UTC || a.PublishedAtGuessed {
					t.Errorf("published_at %v guessed %v", a.PublishedAt, a.PublishedAtGuessed)
				}
			}},
		{"missing date is the fetch time, flagged", `<item><title>t</title><link>https://example.com/e</link></item>`,
			func(t *testing.T, a article.Article) {
				if !a.PublishedAt.Equal(fetchedAt) || !a.PublishedAtGuessed {
					t.Errorf("published_at %v guessed %v", a.PublishedAt, a.PublishedAtGuessed)
				}
			}},
		{"unreadable date kept as written", `<item><title>t</title><link>https://example.com/raw</link><pubDate>منذ ساعتين</pubDate></item>`,
			func(t *testing.T, a article.Article) {
				if !a.PublishedAt.Equal(fetchedAt) || !a.PublishedAtGuessed || a.PublishedAtRaw != "منذ ساعتين" {
					t.Errorf("published_at %v guessed %v raw %q", a.PublishedAt, a.PublishedAtGuessed, a.PublishedAtRaw)
				}
			}},
		{"far-future date is distrusted", `<item><title>t</title><link>https://example.com/f</link><pubDate>Fri, 24 Mar 2028 10:30:00 +0000</pubDate></item>`,
			func(t *testing.T, a article.Article) {
				if !a.PublishedAt.Equal(fetchedAt) || !a.PublishedAtGuessed {
					t.Errorf("published_at %v guessed %v", a.PublishedAt, a.PublishedAtGuessed)
				}
			}},
		{"no link: id over feed and guid", `<item><title>t</title><guid isPermaLink="false">abc-1</guid></item>`,
			func(t *testing.T, a article.Article) {
				if a.CanonicalURL != "" || a.ID != article.ID("", "test", "abc-1", "") {
					t.Errorf("canonical %q id %s", a.CanonicalURL, a.ID)
				}
			}},
		{"authors and categories", `<item><title>t</title><link>https://example.com/g</link><author>x@example.com (محمد)</author><category>سياسة</category><category>سياسة</category><category>اقتصاد</category></item>`,
			func(t *testing.T, a article.Article) {
				if len(a.Authors) != 1 || strings.Join(a.Categories, ",") != "سياسة,اقتصاد" {
					t.Errorf("authors %q categories %q", a.Authors, a.Categories)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := newAssembler().assemble(feed, parseString(t, rss(tt.item)), feed.URL, fetchedAt)
			if len(es) != 1 {
				t.Fatalf("got %d entries, want 1", len(es))
			}
			a := es[0].art
			if a.Authors == nil || a.Categories == nil {
				t.Error("authors and categories must encode as [] not null")
			}
			tt.check(t, a)
		})
	}
}

func TestSiteSuffix(t *testing.T) {
	tests := []struct {
		name   string
		titles []string
		want   string
	}{
		{"recurring", []string{"أ ب | الحرة", "ج د | الحرة", "هـ و | الحرة", "ز ح"}, "الحرة"},
		{"too rare", []string{"أ ب | الحرة", "ج د", "هـ و", "ز ح"}, ""},
		{"prefix is not a suffix", []string{"عاجل | خبر أول طويل", "عاجل | خبر ثان طويل", "عاجل | ثالث طويل"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := siteSuffix(tt.titles); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAssembleUnseenSkipsRepeats assembles a feed of which all but one item were seen: only that
// item comes out, the others are counted as repeats, and the outlet's title suffix, which only
// the whole feed shows, is still taken off its title.
func TestAssembleUnseenSkipsRepeats(t *testing.T) {
	f := Feed{ID: "alhurra", URL: "https://www.alhurra.com/rss", Name: "الحرة", Lang: "ar"}
	parsed := &gofeed.Feed{Title: "الحرة", FeedType: "rss"}
	titles := []string{"زلزال في تركيا | الحرة", "انتخابات في العراق | الحرة", "قمة عربية في الرياض | الحرة"}
	for i, title := range titles {
		parsed.Items = append(parsed.Items, &gofeed.Item{
			Title:       title,
			Link:        fmt.Sprintf("https://www.alhurra.com/news/%d?utm_source=rss", i),
			GUID:        fmt.Sprintf("guid-%d", i),
			Description: "<p>نص الخبر " + title + "</p>",
		})
	}
	var asked []string
	seen := eachSeen(func(canonical, guid, itemHash string) (*store.Prior, bool) {
		asked = append(asked, canonical+" "+guid)
		return nil, canonical != "https://www.alhurra.com/news/1"
	})
	es, repeats := newAssembler().assembleUnseen(f, parsed, f.URL, time.Now(), seen)
	if repeats != 2 || len(es) != 1 {
		t.Fatalf("got %d entries and %d repeats, want 1 and 2", len(es), repeats)
	}
	if got := es[0].art.Title; got != "انتخابات في العراق" {
		t.Errorf("title: got %q, want the suffix taken off", got)
	}
	if want := "https://www.alhurra.com/news/0 guid-0"; len(asked) != 3 || asked[0] != want {
		t.Errorf("seen asked %q, want three lookups by canonical URL and GUID, the first %q", asked, want)
	}
}

// TestItemHashStable: the item hash is what the store keeps to tell a correction from a repeat;
// however it is computed, it must stay the first 8 bytes of SHA-256 over title, description and
// content, each followed by a NUL, or every stored item would look changed after an upgrade.
func TestItemHashStable(t *testing.T) {
	long := strings.Repeat("نص المقال الكامل ", 300) // longer than the hash's copy buffer
	tests := []struct {
		name string
		it   gofeed.Item
	}{
		{"empty", gofeed.Item{}},
		{"short", gofeed.Item{Title: "عنوان", Description: "<p>ملخص</p>", Content: "<p>نص</p>"}},
		{"long content", gofeed.Item{Title: "عنوان", Description: long[:1500], Content: long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := sha256.Sum256([]byte(tt.it.Title + "\x00" + tt.it.Description + "\x00" + tt.it.Content + "\x00"))
			if got, want := itemHash(&tt.it), hex.EncodeToString(sum[:8]); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// TestBoilerplateCompiles compiles every boilerplate pattern, which are compiled only when
// first needed, and checks that each removes what it is for.
func TestBoilerplateCompiles(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ملخص الخبر. The post عنوان appeared first on المدونة.", "ملخص الخبر."},
		{"ملخص الخبر. ظهرت المقالة عنوان أولاً على المدونة.", "ملخص الخبر."},
		{"ملخص الخبر. اقرأ المزيد…", "ملخص الخبر."},
	}
	for i, b := range boilerplate {
		if b.re() == nil {
			t.Fatalf("pattern %d: nil", i)
		}
	}
	for _, tt := range tests {
		if got := stripBoilerplate(tt.in); got != tt.want {
			t.Errorf("stripBoilerplate(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// eachSeen is a seenFunc that looks up one item at a time with one.
func eachSeen(one func(canonicalURL, guid, itemHash string) (*store.Prior, bool)) seenFunc {
	return func(items []seenItem) ([]*store.Prior, []bool) {
		prior, repeat := make([]*store.Prior, len(items)), make([]bool, len(items))
		for i, it := range items {
			prior[i], repeat[i] = one(it.canonical, it.guid, it.hash)
		}
		return prior, repeat
	}
}
