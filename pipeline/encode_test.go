package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/internal/testnats"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// bigArticle returns an article of some 300 KB of Arabic text and HTML.
func bigArticle(id string) article.Article {
	return article.Article{SchemaVersion: 1, ID: id, URL: "https://example.com/" + id, FeedID: "f",
		FeedURL: "https://example.com/feed", Lang: "ar", Title: "عنوان", Summary: strings.Repeat("ملخص ", 100),
		ContentText: strings.Repeat("نص طويل جدا ", 10000), ContentHTML: strings.Repeat("<p>نص</p>", 10000),
		FetchedAt: time.Date(2026, 2, 15, 7, 10, 0, 0, time.UTC), PublishedAt: time.Date(2026, 2, 15, 5, 0, 0, 0, time.UTC)}
}

func messageOf(t *testing.T, a *article.Article, data []byte) store.Message {
	t.Helper()
	return store.Message{MsgID: a.ID, Subject: a.Subject(), Header: a.Headers(), Data: data}
}

func insertMessage(t *testing.T, s *store.Store, i int, m store.Message) {
	t.Helper()
	_, err := s.Insert(context.Background(), store.Article{ID: m.MsgID, FeedID: "f",
		CanonicalURL: "https://example.com/" + m.MsgID, FetchedAt: time.Now().UTC()}, m)
	if err != nil {
		t.Fatal(err)
	}
}

// TestMessagesFitA64KBServer runs against a server with max_payload: 64KB. An article the
// pipeline encodes is cut so that its body and headers fit; one recorded under a larger limit
// is cut by the relay; a message that cannot fit is held in the outbox, counted and logged,
// never marked sent, and does not stop the rows after it.
func TestMessagesFitA64KBServer(t *testing.T) {
	const limit = 64 << 10
	ns := testnats.RunWith(t, -1, t.TempDir(), func(o *server.Options) { o.MaxPayload = limit })
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	s := openStore(t)
	m := NewMetrics(nil)
	relay := NewRelay(s, b, testLogger(t), m)
	p := New(Options{Logger: testLogger(t)}, nil, s, relay)

	encoded := bigArticle(strings.Repeat("1", 64))
	data, err := p.encode(&encoded)
	if err != nil {
		t.Fatal(err)
	}
	msg := messageOf(t, &encoded, data)
	if size := (&bus.Message{ID: msg.MsgID, Header: msg.Header, Data: msg.Data}).Size(); size > limit {
		t.Fatalf("encoded message is %d bytes with its headers, want at most %d", size, limit)
	}
	insertMessage(t, s, 1, msg)

	recorded := bigArticle(strings.Repeat("2", 64)) // recorded when the server took 1 MiB
	data, err = article.Marshal(&recorded)
	if err != nil {
		t.Fatal(err)
	}
	insertMessage(t, s, 2, messageOf(t, &recorded, data))

	unfit := store.Message{MsgID: strings.Repeat("3", 64), Subject: "articles.new.ar.f",
		Data: []byte(strings.Repeat("x", limit+1))} // not an article: nothing to cut
	insertMessage(t, s, 3, unfit)
	small := bigArticle(strings.Repeat("4", 64))
	small.ContentText, small.ContentHTML = "نص قصير", ""
	data, _ = article.Marshal(&small)
	insertMessage(t, s, 4, messageOf(t, &small, data))

	if _, err := relay.flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	ids := streamIDs(t, ns)
	if want := []string{encoded.ID, recorded.ID, small.ID}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("stream holds %v, want %v", ids, want)
	}
	st := openStream(t, ns)
	for seq := uint64(1); seq <= 2; seq++ {
		raw, err := st.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var a article.Article
		if err := json.Unmarshal(raw.Data, &a); err != nil {
			t.Fatal(err)
		}
		if a.ContentHTML != "" || !strings.HasSuffix(a.ContentText, "…") || !utf8.ValidString(a.ContentText) || a.Title != "عنوان" {
			t.Errorf("message %d: html %d bytes, text of %d bytes ending %q, title %q; want the text cut, the title kept",
				seq, len(a.ContentHTML), len(a.ContentText), a.ContentText[max(0, len(a.ContentText)-8):], a.Title)
		}
	}

	pending, err := s.Pending(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].MsgID != unfit.MsgID || pending[0].Attempts != 1 || !strings.Contains(pending[0].LastError, "max_payload") {
		t.Fatalf("pending rows %+v, want the unfit message alone, with its attempt and error recorded", pending)
	}
	if got := testutil.ToFloat64(m.Rejected); got != 1 {
		t.Errorf("feedd_publish_rejected_total = %v, want 1", got)
	}
	// The held row is skipped, not tried again, while the limit stays.
	if n, err := relay.flush(context.Background()); n != 0 || err != nil {
		t.Errorf("second flush: %d rows, %v; want 0, nil", n, err)
	}
	if pending, _ := s.Pending(context.Background(), 0, 10); len(pending) != 1 || pending[0].Attempts != 1 {
		t.Errorf("after a second flush: %d pending, want the held row with still 1 attempt", len(pending))
	}
	if got := len(streamIDs(t, ns)); got != 3 {
		t.Errorf("stream holds %d messages after a second flush, want 3", got)
	}
}

// TestEncodeCannotFit: an article whose headers alone pass the server's limit is encoded as
// small as it gets, without an error: the poll is recorded and the relay holds the message.
func TestEncodeCannotFit(t *testing.T) {
	ns := testnats.RunWith(t, -1, t.TempDir(), func(o *server.Options) { o.MaxPayload = 4 << 10 })
	b := connect(t, ns.ClientURL())
	s := openStore(t)
	p := New(Options{Logger: testLogger(t)}, nil, s, NewRelay(s, b, testLogger(t), NewMetrics(nil)))
	a := bigArticle(strings.Repeat("5", 64))
	a.FeedURL = "https://example.com/" + strings.Repeat("f", 5000) // sent as ce-source
	data, err := p.encode(&a)
	if err != nil {
		t.Fatalf("encode: %v, want no error", err)
	}
	if a.ContentText != "" || a.Summary != "" || a.Title != "" {
		t.Errorf("encode left text %d, summary %d, title %d bytes; want everything cut", len(a.ContentText), len(a.Summary), len(a.Title))
	}
	var back article.Article
	if err := json.Unmarshal(data, &back); err != nil || back.ID != a.ID {
		t.Errorf("body %q does not decode to the article: %v", data, err)
	}
}
