package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/internal/testnats"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startNATS(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	return testnats.Run(t, port, dir)
}

func connect(t *testing.T, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(context.Background(), bus.Options{URL: url, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func ensureStream(t *testing.T, b *bus.Bus) {
	t.Helper()
	err := b.EnsureStream(context.Background(), bus.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"},
		Replicas: 1, DuplicateWindow: time.Hour, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
}

func streamMsgs(t *testing.T, ns *server.Server) uint64 {
	t.Helper()
	return openStream(t, ns).CachedInfo().State.Msgs
}

// openStream opens the ARTICLES stream on its own connection, closed when the test ends.
func openStream(t *testing.T, ns *server.Server) jetstream.Stream {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "ARTICLES")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func insertN(t *testing.T, s *store.Store, from, n int) {
	t.Helper()
	now := time.Now().UTC()
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%064x", i)
		data, _ := json.Marshal(map[string]any{"id": id})
		_, err := s.Insert(context.Background(),
			store.Article{ID: id, FeedID: "f", CanonicalURL: fmt.Sprintf("https://example.com/%d", i), FetchedAt: now},
			store.Message{MsgID: id, Subject: "articles.new.ar.f", Data: data, Header: map[string]string{"Content-Type": "application/json"}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRelayThroughOutage: rows recorded while NATS is down stay in the outbox and are published
// exactly once when it returns; nothing is marked sent without an acknowledgement.
func TestRelayThroughOutage(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, -1, dir)
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	b := connect(t, url)
	ensureStream(t, b)
	s := openStore(t)
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()

	insertN(t, s, 0, 100)
	relay.Notify()
	waitUntil(t, "the first 100 to be acknowledged", func() bool {
		d, _ := s.OutboxDepth(context.Background())
		return d == 0
	})
	if got := streamMsgs(t, ns); got != 100 {
		t.Fatalf("stream has %d messages, want 100", got)
	}

	// NATS goes away; articles keep being recorded.
	ns.Shutdown()
	ns.WaitForShutdown()
	insertN(t, s, 100, 150)
	relay.Notify()
	time.Sleep(300 * time.Millisecond) // the relay tries and fails while NATS is down
	if d, _ := s.OutboxDepth(context.Background()); d != 150 {
		t.Fatalf("outbox depth %d while NATS is down, want 150", d)
	}

	ns = startNATS(t, port, dir)
	defer ns.Shutdown()
	waitUntil(t, "the outbox to drain after NATS returns", func() bool {
		d, _ := s.OutboxDepth(context.Background())
		return d == 0
	})
	if got := streamMsgs(t, ns); got != 250 {
		t.Errorf("stream has %d messages, want 250", got)
	}
	if got := relay.Published(); got != 250 {
		t.Errorf("relay counted %d published, want 250", got)
	}
	cancel()
	<-done
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// TestPollAllCountsFailuresAlone: a feed that fails is counted and logged; the others go on; the
// feed state records the failure and clears it on success.
func TestPollAllCountsFailuresAlone(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(corpusFeeds, "elaph.xml"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/good.xml", func(w http.ResponseWriter, r *http.Request) { w.Write(good) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><html><body>not a feed</body></html>"))
	})
	mux.HandleFunc("/broken.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</ti`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ns := startNATS(t, -1, t.TempDir())
	defer ns.Shutdown()
	b := connect(t, ns.ClientURL())
	ensureStream(t, b)
	s := openStore(t)
	feeds := []Feed{
		{ID: "good", URL: srv.URL + "/good.xml", Name: "إيلاف", Lang: "ar"},
		{ID: "missing", URL: srv.URL + "/missing.xml", Lang: "ar"},
		{ID: "html", URL: srv.URL + "/html", Lang: "ar"},
		{ID: "broken", URL: srv.URL + "/broken.xml", Lang: "ar"},
		{ID: "refused", URL: "http://127.0.0.1:1/feed.xml", Lang: "ar"},
	}
	relay := NewRelay(s, b, testLogger(t), NewMetrics(nil))
	p := New(Options{Feeds: feeds, Concurrency: 3, PerHost: 2, Logger: testLogger(t)},
		fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, relay)
	c := p.PollAll(context.Background())
	if c.Feeds != 5 || c.Fetched != 1 || c.Failed != 4 || c.New != 15 || c.Items != 15 {
		t.Errorf("counts %+v, want 5 feeds, 1 fetched, 4 failed, 15 new", c)
	}
	if err := relay.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, ns); got != 15 {
		t.Errorf("stream has %d messages, want 15", got)
	}
	wantClass := map[string]fetcher.Class{"missing": fetcher.ClassHTTPStatus, "html": fetcher.ClassNotFeed,
		"broken": fetcher.ClassParse, "refused": fetcher.ClassConnect}
	for id, class := range wantClass {
		st, ok, err := s.Feed(context.Background(), id)
		if err != nil || !ok {
			t.Fatalf("feed %s state: %v %v", id, ok, err)
		}
		if st.ErrorClass != string(class) || st.ConsecutiveFailures != 1 || st.LastError == "" || !st.NextPollAt.After(time.Now()) {
			t.Errorf("feed %s state %+v, want class %s and one failure", id, st, class)
		}
	}
	st, _, _ := s.Feed(context.Background(), "good")
	if st.ErrorClass != "" || st.LastSuccessAt.IsZero() || st.LastStatus != http.StatusOK {
		t.Errorf("good feed state %+v", st)
	}

	// Polled again: the good feed's items are repeats now.
	c = p.PollAll(context.Background())
	if c.New != 0 || c.Repeats+c.NotModified == 0 {
		t.Errorf("second poll %+v, want nothing new", c)
	}
	if st, _, _ := s.Feed(context.Background(), "missing"); st.ConsecutiveFailures != 2 {
		t.Errorf("missing feed has %d consecutive failures, want 2", st.ConsecutiveFailures)
	}
}

func TestEncodeShrinksHugeArticle(t *testing.T) {
	s := openStore(t)
	p := New(Options{MaxMessage: 20_000, Logger: testLogger(t)}, nil, s, NewRelay(s, nil, testLogger(t), NewMetrics(nil)))
	a := article.Article{ID: "x", Title: "عنوان", Summary: strings.Repeat("ملخص ", 100),
		ContentText: strings.Repeat("نص طويل جدا ", 5000), ContentHTML: strings.Repeat("<p>نص</p>", 5000)}
	data, err := p.encode(&a)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 20_000 {
		t.Errorf("message is %d bytes, want at most 20000", len(data))
	}
	var back article.Article
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.ContentHTML != "" || !strings.HasSuffix(back.ContentText, "…") || !utf8.ValidString(back.ContentText) || back.Title != "عنوان" {
		t.Errorf("shrunk article: html %d bytes, text ends %q, title %q", len(back.ContentHTML), back.ContentText[len(back.ContentText)-8:], back.Title)
	}
	small := article.Article{ID: "y", ContentHTML: "<p>x</p>"}
	if data, _ := p.encode(&small); !strings.Contains(string(data), "<p>x</p>") {
		t.Errorf("a small article was changed: %s", data)
	}
}

// TestPermanentRedirectMovesTheFeed: after a 301 the feed is polled at its new address (and it
// says so in its state); a 302 moves nothing.
func TestPermanentRedirectMovesTheFeed(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpusFeeds, "elaph.xml"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	var oldHits, tempHits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/old.xml", func(w http.ResponseWriter, r *http.Request) {
		oldHits.Add(1)
		http.Redirect(w, r, "/new.xml", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/temp.xml", func(w http.ResponseWriter, r *http.Request) {
		tempHits.Add(1)
		http.Redirect(w, r, "/new.xml", http.StatusFound)
	})
	mux.HandleFunc("/new.xml", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := openStore(t)
	feeds := []Feed{{ID: "moved", URL: srv.URL + "/old.xml", Lang: "ar"}, {ID: "temp", URL: srv.URL + "/temp.xml", Lang: "ar"}}
	p := New(Options{Feeds: feeds, Logger: testLogger(t)}, fetcher.New(fetcher.Options{}), s, NewRelay(s, nil, testLogger(t), NewMetrics(nil)))
	for range 3 {
		if c := p.PollAll(context.Background()); c.Failed != 0 {
			t.Fatalf("poll failed: %+v", c)
		}
	}
	if n := oldHits.Load(); n != 1 {
		t.Errorf("the old address was asked %d times, want once", n)
	}
	if n := tempHits.Load(); n != 3 {
		t.Errorf("the temporarily redirected address was asked %d times, want 3", n)
	}
	st, _, _ := s.Feed(context.Background(), "moved")
	if st.FetchURL != srv.URL+"/new.xml" || st.URL != srv.URL+"/old.xml" {
		t.Errorf("state url %q fetch url %q", st.URL, st.FetchURL)
	}
	if st.PublishingGap <= 0 {
		t.Errorf("publishing gap %v not measured", st.PublishingGap)
	}
}
