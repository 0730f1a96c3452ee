package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// corpusDir is the shared test corpus beside the repository.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus")

// corpusFeeds are the real Arabic feeds of the corpus, by the feed id the tests give them. The
// two Sky News Arabia files are two polls of one outlet, five items apart.
var corpusFeeds = map[string]string{
	"alaraby":   "al-araby-al-jadeed.xml",
	"aljazeera": "al-jazeera.xml",
	"alhurra":   "alhurra.xml",
	"arabi21":   "arabi21.xml",
	"aawsat":    "asharq-al-awsat.xml",
	"cnnarabic": "cnn-arabic.xml",
	"elaph":     "elaph.xml",
	"hespress":  "hespress.xml",
	"rtarabic":  "rt-arabic.xml",
	"skynews-a": "sky-news-arabia@dcbc5521.xml",
	"skynews-b": "sky-news-arabia@20b40dc6.xml",
}

// distinctStories is how many distinct links the corpus feeds hold: 130 items, 5 of which the
// second Sky News poll repeats.
const distinctStories = 125

func needCorpus(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(corpusDir, "feeds")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	return dir
}

// feedServer serves the corpus feeds at /<id>.xml and an aggregator feed at /aggregator.xml that
// re-serves the Al Jazeera and Sky News items under tracking-laden links.
func feedServer(t *testing.T) *httptest.Server {
	t.Helper()
	dir := needCorpus(t)
	bodies := map[string][]byte{}
	for id, file := range corpusFeeds {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		bodies["/"+id+".xml"] = b
	}
	bodies["/aggregator.xml"] = aggregatorFeed(t, bodies["/aljazeera.xml"], bodies["/skynews-b.xml"])
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(b)))
		if r.Header.Get("If-None-Match") == w.Header().Get("ETag") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var linkRE = regexp.MustCompile(`<link>([^<]+)</link>`)

// aggregatorFeed builds an RSS feed of the items of the given feeds with their links decorated the
// way aggregators and social shares decorate them: utm_* and fbclid parameters, a #comments
// fragment, an upper-case host. GUIDs are the aggregator's own.
func aggregatorFeed(t *testing.T, feeds ...[]byte) []byte {
	t.Helper()
	type item struct {
		Title       string `xml:"title"`
		Link        string `xml:"link"`
		Description string `xml:"description"`
		GUID        string `xml:"guid"`
		PubDate     string `xml:"pubDate"`
	}
	var items []item
	n := 0
	for _, f := range feeds {
		var doc struct {
			Items []item `xml:"channel>item"`
		}
		if err := xml.Unmarshal(f, &doc); err != nil {
			t.Fatal(err)
		}
		for _, it := range doc.Items {
			n++
			link := it.Link
			link = strings.Replace(link, "https://www.", "https://WWW.", 1)
			sep := "?"
			if strings.Contains(link, "?") {
				sep = "&"
			}
			link += sep + fmt.Sprintf("utm_source=agg&utm_medium=rss&utm_campaign=c%d&fbclid=IwAR%d", n, n) + "#comments"
			it.Link = link
			it.GUID = fmt.Sprintf("aggregator-%d", n)
			items = append(items, it)
		}
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Aggregator</title><link>https://aggregator.example/</link><description>re-served</description>`)
	for _, it := range items {
		b.WriteString("<item>")
		for _, kv := range [][2]string{{"title", it.Title}, {"link", it.Link}, {"description", it.Description}, {"guid", it.GUID}, {"pubDate", it.PubDate}} {
			b.WriteString("<" + kv[0] + ">")
			xml.EscapeText(&b, []byte(kv[1]))
			b.WriteString("</" + kv[0] + ">")
		}
		b.WriteString("</item>")
	}
	b.WriteString("</channel></rss>")
	return b.Bytes()
}

// natsServer runs a JetStream server in-process on a random loopback port.
func natsServer(t *testing.T, storeDir string) *server.Server {
	t.Helper()
	return testnats.Run(t, -1, storeDir)
}

// writeConfig writes a configuration file listing the corpus feeds served by srv.
func writeConfig(t *testing.T, dataDir, natsURL, natsListen, httpListen, feedBase string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nnats:\n  url: %q\n  listen: %q\nhttp:\n  listen: %q\n", dataDir, natsURL, natsListen, httpListen)
	fmt.Fprintf(&b, "poll:\n  timeout: 10s\n  concurrency: 4\n  per_host: 4\n  host_gap: 0s # all test feeds share one host\nfeeds:\n")
	ids := append(slices.Sorted(mapKeys(corpusFeeds)), "aggregator")
	for _, id := range ids {
		fmt.Fprintf(&b, "  - id: %s\n    url: %s/%s.xml\n    name: %s\n", id, feedBase, id, id)
	}
	path := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// streamMessages reads every message of the stream.
func streamMessages(t *testing.T, url, stream string) []jetstream.Msg {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := int(info.State.Msgs)
	if total == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for len(msgs) < total {
		batch, err := c.Fetch(total-len(msgs), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			msgs = append(msgs, m)
			n++
		}
		if n == 0 {
			t.Fatalf("read %d of %d messages", len(msgs), total)
		}
	}
	return msgs
}

// contractFields are the keys every published article carries: the schema's required ones
// (duplicate_of and similarity come only with duplicates).
func contractFields(t *testing.T) []string {
	t.Helper()
	var schema struct {
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(article.Schema, &schema); err != nil || len(schema.Required) < 15 {
		t.Fatalf("article schema: %v (%d required fields)", err, len(schema.Required))
	}
	return schema.Required
}

// checkStream asserts what consumers rely on: each distinct story once, ids stable and equal to
// Nats-Msg-Id, subjects matching the feed, every contract field present and sane.
func checkStream(t *testing.T, msgs []jetstream.Msg) {
	t.Helper()
	ids := map[string]bool{}
	canon := map[string]bool{}
	dups := 0
	fields := contractFields(t)
	for _, m := range msgs {
		var body map[string]any
		if err := json.Unmarshal(m.Data(), &body); err != nil {
			t.Fatalf("message on %s is not JSON: %v", m.Subject(), err)
		}
		for _, k := range fields {
			if _, ok := body[k]; !ok {
				t.Errorf("message %s lacks field %q", m.Subject(), k)
			}
		}
		id, _ := body["id"].(string)
		if got := m.Headers().Get("Nats-Msg-Id"); got != id || len(id) != 64 {
			t.Errorf("Nats-Msg-Id %q, body id %q", got, id)
		}
		for _, h := range []string{"ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time"} {
			if m.Headers().Get(h) == "" {
				t.Errorf("message %s lacks header %s", id, h)
			}
		}
		if ids[id] {
			t.Errorf("id %s published twice", id)
		}
		ids[id] = true
		c, _ := body["canonical_url"].(string)
		if canon[c] {
			t.Errorf("canonical url %s published twice", c)
		}
		canon[c] = true
		kind := "new"
		if d, _ := body["duplicate_of"].(string); d != "" {
			kind = "duplicate"
			dups++
		}
		if want := fmt.Sprintf("articles.%s.ar.%s", kind, body["feed_id"]); m.Subject() != want {
			t.Errorf("subject %s, want %s", m.Subject(), want)
		}
		if title, _ := body["title"].(string); title == "" || strings.ContainsAny(title, "<>") || strings.HasSuffix(title, "| الحرة") {
			t.Errorf("title %q is not clean plain text", title)
		}
		for _, k := range []string{"published_at", "fetched_at"} {
			s, _ := body[k].(string)
			ts, err := time.Parse(time.RFC3339, s)
			if err != nil || ts.Location() != time.UTC || ts.Year() < 2020 || ts.After(time.Now().Add(24*time.Hour)) {
				t.Errorf("%s %q is not a sane RFC 3339 UTC time", k, s)
			}
		}
		if strings.Contains(c, "utm_") || strings.Contains(c, "fbclid") || strings.Contains(c, "#comments") || strings.Contains(c, "WWW.") {
			t.Errorf("canonical url %s keeps tracking decoration", c)
		}
	}
	if len(msgs) != distinctStories {
		t.Errorf("stream has %d messages, want %d distinct stories", len(msgs), distinctStories)
	}
	t.Logf("%d messages, %d of them duplicates", len(msgs), dups)
}

func runOnce(t *testing.T, cfgPath string) summary {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, []string{"run", "--config", cfgPath, "--once", "--timeout", "1m"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run --once exited %d\nstderr:\n%s", code, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	return s
}

func TestRunOnceRemoteNATS(t *testing.T) {
	srv := feedServer(t)
	ns := natsServer(t, t.TempDir())
	cfg := writeConfig(t, t.TempDir(), ns.ClientURL(), "", "", srv.URL)

	s := runOnce(t, cfg)
	t.Logf("first run: %+v", s)
	msgs := streamMessages(t, ns.ClientURL(), "ARTICLES")
	checkStream(t, msgs)
	if s.Feeds != 12 || s.Fetched != 12 || s.Failed != 0 {
		t.Errorf("feeds %d fetched %d failed %d, want 12 12 0", s.Feeds, s.Fetched, s.Failed)
	}
	if got := s.New + s.Duplicates; got != len(msgs) || int64(got) != s.Published {
		t.Errorf("summary new %d + duplicates %d, published %d; stream has %d", s.New, s.Duplicates, s.Published, len(msgs))
	}
	if s.Items != s.New+s.Duplicates+s.Repeats {
		t.Errorf("items %d != new %d + duplicates %d + repeats %d", s.Items, s.New, s.Duplicates, s.Repeats)
	}

	// feedd feeds shows each feed's state, read-only, from the same data.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"feeds", "--config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("feedd feeds: exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 13 || !strings.HasPrefix(lines[0], "FEED") {
		t.Fatalf("feedd feeds printed %d lines:\n%s", len(lines), out.String())
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, " ago ") || !strings.Contains(l, "ok (200)") {
			t.Errorf("feed line %q does not show a successful poll", l)
		}
	}

	again := runOnce(t, cfg)
	if again.Published != 0 || again.New != 0 || again.Duplicates != 0 {
		t.Errorf("second run published %d (new %d, duplicates %d), want nothing", again.Published, again.New, again.Duplicates)
	}
	if n := len(streamMessages(t, ns.ClientURL(), "ARTICLES")); n != distinctStories {
		t.Errorf("after the second run the stream has %d messages, want %d", n, distinctStories)
	}
}

// TestRunOnceWithoutNATS: with NATS unreachable, run --once still polls into the outbox, gives
// up publishing at --timeout with exit 1 and says how much is left; the next run, with NATS
// back, publishes exactly that.
func TestRunOnceWithoutNATS(t *testing.T) {
	srv := feedServer(t)
	port := freePort(t)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	cfg := writeConfig(t, t.TempDir(), natsURL, "", "", srv.URL)

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--once", "--timeout", "3s", "--config", cfg}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	if s.Published != 0 || s.Pending != distinctStories || s.New+s.Duplicates != distinctStories {
		t.Errorf("summary %+v, want %d recorded and pending, none published", s, distinctStories)
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("%d articles left in the outbox", distinctStories)) {
		t.Errorf("stderr does not say what is left:\n%s", stderr.String())
	}

	ns := natsAt(t, port, t.TempDir())
	again := runOnce(t, cfg)
	if again.Published != int64(distinctStories) || again.Pending != 0 || again.New != 0 {
		t.Errorf("second run %+v, want the %d left published and nothing new", again, distinctStories)
	}
	checkStream(t, streamMessages(t, ns.ClientURL(), "ARTICLES"))
}
