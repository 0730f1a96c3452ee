package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/fetcher"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// editableFeed serves an RSS feed whose items the test rewrites between polls.
type editableFeed struct {
	mu    sync.Mutex
	items []string // <item> elements
}

func (f *editableFeed) set(items ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = items
}

func (f *editableFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>واس</title>%s</channel></rss>`,
		strings.Join(f.items, ""))
}

func editedItem(link, title, text string) string {
	return fmt.Sprintf(`<item><title>%s</title><link>%s</link><description><![CDATA[%s]]></description>`+
		`<pubDate>Sat, 01 Aug 2015 09:00:00 +0300</pubDate></item>`, title, strings.ReplaceAll(link, "&", "&amp;"), text)
}

// TestCorrectedStoryPublishedAsUpdate polls a feed three times. Between the first and second
// polls, one story is corrected (new title, a changed paragraph) and another only gains
// whitespace and a tracking parameter on its link. The corrected story is published once more as
// updated, with updated_of, its cluster and a message id of its own; the other is a repeat; and a
// third poll of the same feed publishes nothing.
func TestCorrectedStoryPublishedAsUpdate(t *testing.T) {
	feed := &editableFeed{}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	ns := startNATS(t, -1, t.TempDir())
	defer ns.Shutdown()
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	s := openStore(t)
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	p := New(Options{Feeds: []Feed{{ID: "spa", URL: srv.URL + "/rss", Name: "واس", Lang: "ar"}}, Logger: testLogger(t)},
		fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, relay)

	a1, b1 := srv.URL+"/news/1", srv.URL+"/news/2"
	para := "<p>أعلن الدفاع المدني إخماد حريق في مستودع بجدة دون إصابات.</p>"
	feed.set(editedItem(a1, "حريق في مستودع بجدة", para+"<p>وباشرت الفرق التحقيق في أسبابه.</p>"),
		editedItem(b1, "افتتاح معرض الكتاب في الرياض", "<p>افتتح أمير المنطقة معرض الكتاب بمشاركة 500 دار نشر.</p>"))
	if c := p.PollAll(t.Context()); c.New != 2 {
		t.Fatalf("first poll: %+v, want 2 new", c)
	}
	feed.set(editedItem(a1, "حريق ضخم في مستودع بجدة وإصابة شخصين", para+"<p>وأسفر الحريق عن إصابة شخصين نقلا إلى المستشفى.</p>"),
		editedItem(b1+"?utm_source=rss&utm_medium=feed", "افتتاح معرض  الكتاب في الرياض ", "<p>افتتح أمير المنطقة  معرض الكتاب بمشاركة 500 دار نشر.</p>\n"))
	if c := p.PollAll(t.Context()); c.Updates != 1 || c.Repeats != 1 || c.New != 0 {
		t.Fatalf("second poll: %+v, want 1 update and 1 repeat", c)
	}
	if c := p.PollAll(t.Context()); c.Updates != 0 || c.Repeats != 2 {
		t.Fatalf("third poll: %+v, want 2 repeats", c)
	}
	if err := relay.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	msgs := streamMessages(t, ns, 3)
	var first, update *article.Article
	ids := map[string]bool{}
	for _, m := range msgs {
		var a article.Article
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			t.Fatal(err)
		}
		ids[m.Headers().Get(article.HeaderMsgID)] = true
		switch {
		case a.URL == a1 && m.Subject() == "articles.new.ar.spa":
			first = &a
		case m.Subject() == "articles.updated.ar.spa":
			update = &a
		}
	}
	if len(ids) != 3 {
		t.Errorf("message ids %v, want 3 distinct", ids)
	}
	if first == nil || update == nil {
		t.Fatalf("want the story's new event and its updated event; got first %v, update %v", first != nil, update != nil)
	}
	if update.ID != first.ID || update.UpdatedOf != first.ID || update.ClusterID != first.ClusterID ||
		update.Title != "حريق ضخم في مستودع بجدة وإصابة شخصين" || !strings.Contains(update.Summary, "إصابة شخصين") {
		t.Errorf("update %+v, want id, updated_of and cluster_id %s and the corrected title and text", update, first.ID)
	}
	if !ids[first.ID+"."+update.Revision] || len(update.Revision) != 16 {
		t.Errorf("message ids %v, want %s.<revision>", ids, first.ID)
	}
}

// streamMessages reads the first n messages of the ARTICLES stream.
func streamMessages(t *testing.T, ns *server.Server, n int) []jetstream.Msg {
	t.Helper()
	st := openStream(t, ns)
	c, err := st.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if len(out) != n || st.CachedInfo().State.Msgs != uint64(n) {
		t.Fatalf("stream: read %d messages of %d, want %d", len(out), st.CachedInfo().State.Msgs, n)
	}
	return out
}

// TestPollAllWaitsBelowTheBound runs PollAll with an outbox already at outbox.max_pending: the
// feed is fetched only once the relay has brought the outbox below the bound.
func TestPollAllWaitsBelowTheBound(t *testing.T) {
	s := openStore(t)
	insertN(t, s, 0, 5)
	var atFetch atomic.Int64
	atFetch.Store(-1)
	feed := &editableFeed{}
	feed.set(editedItem("https://spa.example/news/1", "خبر", "<p>نص الخبر</p>"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atFetch.CompareAndSwap(-1, s.Unsent())
		feed.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ns := startNATS(t, -1, t.TempDir())
	defer ns.Shutdown()
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	p := New(Options{Feeds: []Feed{{ID: "spa", URL: srv.URL, Lang: "ar"}}, MaxPending: 5, Logger: testLogger(t)},
		fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, relay)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if c := p.PollAll(t.Context()); c.New != 1 {
		t.Fatalf("PollAll: %+v, want 1 new", c)
	}
	if n := atFetch.Load(); n < 0 || n >= 5 {
		t.Errorf("the feed was fetched with %d unsent rows, want fewer than the bound of 5", n)
	}
}

// TestOutboxDepthWhileNATSIsAway polls with no relay running (NATS away): feedd_outbox_depth
// follows what the poll recorded, not the last value a relay set.
func TestOutboxDepthWhileNATSIsAway(t *testing.T) {
	feed := &editableFeed{}
	feed.set(editedItem("https://spa.example/news/1", "خبر أول", "<p>نص الخبر الأول عن الطقس</p>"),
		editedItem("https://spa.example/news/2", "خبر ثان", "<p>نص الخبر الثاني عن الرياضة والملاعب</p>"))
	srv := httptest.NewServer(feed)
	defer srv.Close()
	s := openStore(t)
	m := NewMetrics(nil)
	p := New(Options{Feeds: []Feed{{ID: "spa", URL: srv.URL, Lang: "ar"}}, Metrics: m, Logger: testLogger(t)},
		fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, NewRelay(s, nil, testLogger(t), m))
	if c := p.PollAll(t.Context()); c.New != 2 {
		t.Fatalf("PollAll: %+v, want 2 new", c)
	}
	if got := testutil.ToFloat64(m.OutboxDepth); got != 2 {
		t.Errorf("feedd_outbox_depth = %v, want 2", got)
	}
}
