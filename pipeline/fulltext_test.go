package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/fetcher"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// pageBook is a PageReader over a map of pages, counting reads: the pipeline's side of full
// text, apart from fetching and extraction (the extract package's, tested there and end to end
// in cmd/feedd).
type pageBook struct {
	mu     sync.Mutex
	pages  map[string]Page
	errs   map[string][]error // returned in turn before the page
	reads  map[string]int
	blocks chan struct{} // when set, a read waits for it
}

func (b *pageBook) ReadPage(ctx context.Context, rawURL string, rule *PageRule) (Page, error) {
	if b.blocks != nil {
		<-b.blocks
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reads[rawURL]++
	if errs := b.errs[rawURL]; len(errs) > 0 {
		b.errs[rawURL] = errs[1:]
		return Page{}, errs[0]
	}
	p, ok := b.pages[rawURL]
	if !ok {
		return Page{}, &PageError{Reason: "status_4xx", Err: fmt.Errorf("GET %s: 404", rawURL)}
	}
	return p, nil
}

// summaryFeed serves an RSS feed of items with a one-sentence description each, linking to
// /a/<n> on the same server.
func summaryFeed(t *testing.T, n int) (*httptest.Server, []string) {
	t.Helper()
	var links []string
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>واس</title><link>` + srv.URL + `</link>`)
	for i := range n {
		link := fmt.Sprintf("%s/a/%d?utm_source=rss", srv.URL, i)
		links = append(links, link)
		fmt.Fprintf(&b, `<item><title>خبر رقم %d</title><link>%s</link><guid>g%d</guid>`+
			`<description>%s</description><pubDate>Sat, 01 Aug 2015 09:%02d:00 +0300</pubDate></item>`,
			i, strings.ReplaceAll(link, "&", "&amp;"), i, stories[i%len(stories)], i)
	}
	b.WriteString(`</channel></rss>`)
	mux.HandleFunc("/rss", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write([]byte(b.String()))
	})
	return srv, links
}

// stories are the leads of a few stories, each about a different event.
var stories = []string{
	"أعلنت الهيئة العامة للإحصاء أن الناتج المحلي الإجمالي نما بنسبة ثلاثة في المئة خلال الربع الثاني مدفوعا بقطاع الخدمات والصناعات التحويلية وارتفاع الاستهلاك الخاص.",
	"افتتح أمير منطقة مكة المكرمة مشروع توسعة الطريق الدائري الثالث في جدة الذي يمتد أربعين كيلومترا ويخدم الأحياء الشرقية والجنوبية من المحافظة.",
	"أعلن الدفاع المدني في المنطقة الشرقية السيطرة على حريق اندلع في مستودع للأخشاب بالدمام دون تسجيل إصابات وباشرت الفرق التحقيق في أسبابه.",
	"فاز المنتخب الوطني للشباب على نظيره الياباني بهدفين مقابل هدف في نصف نهائي البطولة الآسيوية ليتأهل إلى المباراة النهائية للمرة الأولى منذ عشر سنوات.",
	"وقعت وزارة الصحة عقدا لإنشاء مستشفى تخصصي للأطفال في المدينة المنورة بسعة ثلاثمئة سرير يكتمل تنفيذه خلال ثلاث سنوات.",
}

// longText returns the text of story i: its lead, then more of the same story, long enough
// that the feed's one sentence is a summary of it.
func longText(i int) string {
	var b strings.Builder
	for j := range 12 {
		fmt.Fprintf(&b, "%s (%d) ", stories[i%len(stories)], j)
	}
	return b.String()
}

// TestFullTextFromPages polls a summary-only feed whose items link to pages: each item is
// recorded with its page's text (content_source page), a transient failure is retried once, a
// page that cannot be had, is shorter than the feed's text or does not hold it (another story's
// page) leaves the feed's text (counted by reason), and at the next poll, where every item is a repeat, no page is read again.
func TestFullTextFromPages(t *testing.T) {
	srv, links := summaryFeed(t, 5)
	book := &pageBook{pages: map[string]Page{}, errs: map[string][]error{}, reads: map[string]int{}}
	book.pages[links[0]] = Page{Text: longText(0), HTML: "<p>" + longText(0) + "</p><script>x()</script>", Byline: "محمد علي"}
	book.pages[links[1]] = Page{Text: longText(1), HTML: "<p>" + longText(1) + "</p>"}
	book.errs[links[1]] = []error{&PageError{Reason: "status_5xx", Transient: true, Err: errors.New("503")}}
	book.pages[links[2]] = Page{Text: "قصير", HTML: "<p>قصير</p>"} // shorter than the summary
	// links[3]: 404
	book.pages[links[4]] = Page{Text: longText(1), HTML: "<p>" + longText(1) + "</p>"} // another story's page

	s := openStore(t)
	m := NewMetrics(nil)
	p := New(Options{Feeds: []Feed{{ID: "spa", URL: srv.URL + "/rss", Name: "واس", Lang: "ar"}},
		Pages: book, Metrics: m, Logger: testLogger(t)},
		fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, NewRelay(s, nil, testLogger(t), m))
	c := p.PollAll(t.Context())
	if c.New != 5 || c.Failed != 0 {
		t.Fatalf("counts %+v, want 5 new", c)
	}
	msgs, err := s.Pending(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, msg := range msgs {
		var a article.Article
		if err := json.Unmarshal(msg.Data, &a); err != nil {
			t.Fatal(err)
		}
		got[a.URL] = a.ContentSource
		switch a.URL {
		case links[0]:
			if a.ContentText != longText(0) || strings.Contains(a.ContentHTML, "<script") || len(a.Authors) != 1 || a.Authors[0] != "محمد علي" {
				t.Errorf("item 0: text %.40q…, html %.60q…, authors %q: want the page's text, sanitised HTML and byline", a.ContentText, a.ContentHTML, a.Authors)
			}
		case links[3]:
			if a.Summary == "" || a.ContentText != a.Summary {
				t.Errorf("item 3: text %q, summary %q: want the feed's text, its summary, in both", a.ContentText, a.Summary)
			}
		}
	}
	want := map[string]string{links[0]: "page", links[1]: "page", links[2]: "feed", links[3]: "feed", links[4]: "feed"}
	for u, src := range want {
		if got[u] != src {
			t.Errorf("%s: content_source %q, want %q", u, got[u], src)
		}
	}
	if book.reads[links[1]] != 2 || book.reads[links[3]] != 1 {
		t.Errorf("reads %v: want the transient failure retried once and the 404 read once", book.reads)
	}
	for reason, n := range map[string]float64{"ok": 2, "status_4xx": 1, pageShort: 1, pageMismatch: 1} {
		if v := testutil.ToFloat64(m.Pages.WithLabelValues(reason)); v != n {
			t.Errorf("feedd_pages_total{result=%q} = %v, want %v", reason, v, n)
		}
	}

	before := fmt.Sprint(book.reads)
	if c := p.PollAll(t.Context()); c.Repeats != 5 {
		t.Fatalf("second poll: %+v, want 5 repeats", c)
	}
	if after := fmt.Sprint(book.reads); after != before {
		t.Errorf("pages read at the second poll: %s, then %s; want none", before, after)
	}
}

// TestFullTextModes checks when a page is read: never with never, always with always even for
// a feed with a long text, and with auto only for a feed text under min_words.
func TestFullTextModes(t *testing.T) {
	for _, tt := range []struct {
		mode     FullText
		minWords int
		reads    int
	}{
		{FullTextNever, 0, 0},
		{FullTextAuto, 3, 0}, // the summaries have 6 words or more
		{FullTextAuto, 0, 2},
		{FullTextAlways, 3, 2},
	} {
		t.Run(fmt.Sprintf("%s-%d", tt.mode, tt.minWords), func(t *testing.T) {
			srv, links := summaryFeed(t, 2)
			book := &pageBook{pages: map[string]Page{}, reads: map[string]int{}}
			for i, l := range links {
				book.pages[l] = Page{Text: longText(i), HTML: longText(i)}
			}
			s := openStore(t)
			p := New(Options{Feeds: []Feed{{ID: "spa", URL: srv.URL + "/rss", Lang: "ar", FullText: tt.mode}},
				Pages: book, MinWords: tt.minWords, Logger: testLogger(t)},
				fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, NewRelay(s, nil, testLogger(t), nil))
			if c := p.PollAll(t.Context()); c.New != 2 {
				t.Fatalf("counts %+v, want 2 new", c)
			}
			n := 0
			for _, r := range book.reads {
				n += r
			}
			if n != tt.reads {
				t.Errorf("pages read: %d, want %d", n, tt.reads)
			}
		})
	}
}
