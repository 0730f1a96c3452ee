package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/cluster"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/internal/testnats"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// growingFeeds serves RSS feeds whose items can be added while the test runs; each item a
// story of its own.
type growingFeeds struct {
	mu    sync.Mutex
	items map[string]int // feed → items it lists, the newest first
}

func (g *growingFeeds) add(feed string, n int) {
	g.mu.Lock()
	g.items[feed] += n
	g.mu.Unlock()
}

func (g *growingFeeds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	feed := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
	g.mu.Lock()
	n, ok := g.items[feed]
	g.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%s-%d"`, feed, n)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>%s</title><link>http://%s/</link>`, feed, r.Host)
	for i := n - 1; i >= 0; i-- {
		// Words of their own per item, so that no item is a near duplicate of another.
		words := make([]string, 0, 40)
		for k := range 40 {
			words = append(words, fmt.Sprintf("%s%dw%d", feed, i, (k*7919+i*104729)%100003))
		}
		fmt.Fprintf(&b, `<item><title>%s story %d</title><link>http://%s/%s/%d</link><description>%s</description><pubDate>%s</pubDate></item>`,
			feed, i, r.Host, feed, i, strings.Join(words, " "), time.Now().Add(-time.Duration(n-i)*time.Minute).UTC().Format(time.RFC1123Z))
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprint(w, b.String())
}

// haReplica is one feedd replica in cluster mode running in this process.
type haReplica struct {
	id     string
	d      *daemon
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	reload chan []pipeline.Feed // a feed list sent here is taken as on SIGHUP
}

// startReplica starts a replica with holder id on the NATS cluster at urls.
func startReplica(t *testing.T, id, urls string, feedsURL string, feeds []string, ttl time.Duration) *haReplica {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.URL = urls
	cfg.NATS.Replicas = 3
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Log.Format = "json"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.Cluster = config.Cluster{Enabled: true, Name: "hatest", LeaseTTL: ttl}
	cfg.Poll.Interval = 300 * time.Millisecond
	cfg.Poll.MinInterval = 200 * time.Millisecond
	cfg.Poll.MaxInterval = 300 * time.Millisecond
	cfg.Poll.HostGap = 0
	cfg.Extract.FullText = config.FullTextNever
	cfg.Feeds = nil
	for _, f := range feeds {
		cfg.Feeds = append(cfg.Feeds, config.Feed{ID: f, URL: feedsURL + "/" + f + ".xml", Name: f, Language: "en"})
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pt, err := partsOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pt.cluster.id = id
	buf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	d, err := start(ctx, cfg, pt, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &haReplica{id: id, d: d, log: buf, cancel: cancel, done: make(chan error, 1), reload: make(chan []pipeline.Feed)}
	go func() { r.done <- d.run(ctx, r.reload) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the replica, as SIGTERM does, and waits until it has stopped.
func (r *haReplica) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Errorf("replica %s did not stop within 30s; its log:\n%s", r.id, r.log.String())
		}
	})
}

// waitApplied waits until the replica has applied the stream's first n messages. It is a hang
// check, not a bound (a loaded race build can take seconds): on failure it shows the log.
func (r *haReplica) waitApplied(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		applied, err := r.d.store.Applied(t.Context(), "ARTICLES")
		if err == nil && applied >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s applied %d of the stream's first %d messages in 45s (err %v); its log:\n%s",
				r.id, applied, n, err, lastLines(r.log.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logEntries returns the replica's log lines whose msg is msg.
func (r *haReplica) logEntries(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(r.log.String()) {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// readyz returns the replica's /readyz JSON.
func (r *haReplica) readyz(t *testing.T) map[string]any {
	t.Helper()
	_, body := httpGet("http://" + r.d.ops.Addr() + "/readyz")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s /readyz %q: %v", r.id, body, err)
	}
	return m
}

// streamMsg is what the test reads of each stored message.
type streamMsg struct {
	seq   uint64
	id    string
	epoch uint64
}

// readStream returns every message of stream ARTICLES.
func readStream(t *testing.T, js jetstream.JetStream) []streamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "ARTICLES")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []streamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		epoch, err := strconv.ParseUint(m.Header.Get(cluster.EpochHeader), 10, 64)
		if err != nil {
			t.Errorf("message %d (%s): header %s %q: %v", seq, m.Subject, cluster.EpochHeader, m.Header.Get(cluster.EpochHeader), err)
		}
		out = append(out, streamMsg{seq: seq, id: m.Header.Get(jetstream.MsgIDHeader), epoch: epoch})
	}
	return out
}

// streamOf connects to the cluster at urls and returns JetStream and a function that counts
// the messages of ARTICLES.
func streamOf(t *testing.T, urls string) (jetstream.JetStream, func() uint64) {
	t.Helper()
	conn, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	return js, func() uint64 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "ARTICLES")
		if err != nil {
			return 0
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
}

// whoLeads waits until exactly one of a and b has taken the lead, and returns it and the other.
func whoLeads(t *testing.T, a, b *haReplica) (leader, standby *haReplica) {
	t.Helper()
	waitFor(t, "one replica leading", 10*time.Second, func() bool {
		la, lb := len(a.logEntries("took the lead")), len(b.logEntries("took the lead"))
		switch {
		case la == 1 && lb == 0:
			leader, standby = a, b
		case lb == 1 && la == 0:
			leader, standby = b, a
		}
		return leader != nil
	})
	return leader, standby
}

// checkHAStream reads the stream and checks that it holds want messages, no article twice, with
// epochs that never go back; it returns the messages by epoch.
func checkHAStream(t *testing.T, js jetstream.JetStream, want int) map[uint64]int {
	t.Helper()
	msgs := readStream(t, js)
	seen := map[string]uint64{}
	var last uint64
	byEpoch := map[uint64]int{}
	for _, m := range msgs {
		if prev, dup := seen[m.id]; dup {
			t.Errorf("article %s stored twice: messages %d and %d", m.id, prev, m.seq)
		}
		seen[m.id] = m.seq
		if m.epoch < last {
			t.Errorf("message %d: epoch %d after %d: two replicas published at once", m.seq, m.epoch, last)
		}
		last = max(last, m.epoch)
		byEpoch[m.epoch]++
	}
	if len(msgs) != want {
		t.Errorf("stream holds %d messages, want %d", len(msgs), want)
	}
	return byEpoch
}

// TestClusterFailover runs two replicas on a three-node NATS cluster over two feeds: only the
// leader publishes, each message with its term's epoch; stopping the leader makes the standby
// lead within two lease TTLs, and it publishes only what the first had not; the stream holds
// each article once, with epochs that never go back.
func TestClusterFailover(t *testing.T) {
	const ttl = 2 * time.Second
	nc := testnats.RunCluster(t, 3)
	feeds := &growingFeeds{items: map[string]int{"one": 6, "two": 4}}
	srv := httptest.NewServer(feeds)
	defer srv.Close()
	names := []string{"one", "two"}
	a := startReplica(t, "replica-a", nc.URLs(), srv.URL, names, ttl)
	b := startReplica(t, "replica-b", nc.URLs(), srv.URL, names, ttl)
	js, count := streamOf(t, nc.URLs())
	waitFor(t, "the first 10 articles in the stream", 60*time.Second, func() bool { return count() >= 10 })
	leader, standby := whoLeads(t, a, b)
	took := leader.logEntries("took the lead")[0]
	epoch1, ok := took["epoch"].(float64)
	if !ok || epoch1 <= 0 || took["holder"] != leader.id {
		t.Fatalf("took the lead: got %v, want a numeric epoch and holder %s", took, leader.id)
	}
	standby.waitApplied(t, 10)
	if r := leader.readyz(t); r["role"] != roleLeader || r["leader"] != leader.id {
		t.Errorf("leader /readyz: got role %v leader %v, want %s and %s", r["role"], r["leader"], roleLeader, leader.id)
	}
	if r := standby.readyz(t); r["role"] != roleStandby || r["leader"] != leader.id {
		t.Errorf("standby /readyz: got role %v leader %v, want %s and %s", r["role"], r["leader"], roleStandby, leader.id)
	}
	if _, page := httpGet("http://" + standby.d.ops.Addr() + "/"); !strings.Contains(page, "role: <b>standby</b>") ||
		!strings.Contains(page, "leader: <b>"+leader.id+"</b>") {
		t.Errorf("the standby's status page does not say its role and who leads")
	}
	var cfg config.Config
	cfg.NATS.URL, cfg.Cluster.Name, cfg.Cluster.LeaseTTL = nc.URLs(), "hatest", ttl
	env := func(id string) func(string) string {
		return func(k string) string { return map[string]string{replicaIDEnv: id}[k] }
	}
	if line := leaderLine(t.Context(), cfg, env(standby.id)); !strings.Contains(line, "leader "+leader.id) ||
		!strings.HasSuffix(line, "this replica ("+standby.id+"): standby") {
		t.Errorf("feedd feeds on the standby: got %q, want the leader named and this replica a standby", line)
	}
	if line := leaderLine(t.Context(), cfg, env(leader.id)); !strings.HasSuffix(line, "this replica ("+leader.id+"): leader") {
		t.Errorf("feedd feeds on the leader: got %q, want this replica the leader", line)
	}
	_, metrics := httpGet("http://" + leader.d.ops.Addr() + "/metrics")
	if metric(metrics, "feedd_leader") != 1 || metric(metrics, "feedd_failovers_total") != 0 {
		t.Errorf("leader /metrics: feedd_leader %v, feedd_failovers_total %v, want 1 and 0",
			metric(metrics, "feedd_leader"), metric(metrics, "feedd_failovers_total"))
	}
	_, metrics = httpGet("http://" + standby.d.ops.Addr() + "/metrics")
	if metric(metrics, "feedd_leader") != 0 {
		t.Errorf("standby /metrics: feedd_leader %v, want 0", metric(metrics, "feedd_leader"))
	}

	// The leader stops; new stories arrive meanwhile.
	feeds.add("one", 3)
	feeds.add("two", 2)
	stopped := time.Now()
	leader.stop(t)
	waitFor(t, "the standby to lead", 2*ttl, func() bool { return len(standby.logEntries("took the lead")) == 1 })
	t.Logf("the standby leads %v after the leader was told to stop", time.Since(stopped).Round(time.Millisecond))
	took2 := standby.logEntries("took the lead")[0]
	if e, _ := took2["epoch"].(float64); e <= epoch1 || took2["previous"] != leader.id {
		t.Errorf("took the lead: got %v, want an epoch above %v and previous %s", took2, epoch1, leader.id)
	}
	waitFor(t, "all 15 articles in the stream", 30*time.Second, func() bool { return count() >= 15 })
	_, metrics = httpGet("http://" + standby.d.ops.Addr() + "/metrics")
	if metric(metrics, "feedd_leader") != 1 || metric(metrics, "feedd_failovers_total") != 1 {
		t.Errorf("new leader /metrics: feedd_leader %v, feedd_failovers_total %v, want 1 and 1",
			metric(metrics, "feedd_leader"), metric(metrics, "feedd_failovers_total"))
	}
	time.Sleep(time.Second) // more polls of each feed: nothing more may come

	// The new leader shares each feed's state, its validators those of the fetch it published.
	kv, err := js.KeyValue(t.Context(), cluster.FeedsBucket("hatest"))
	if err != nil {
		t.Fatal(err)
	}
	shared := cluster.NewFeeds(kv)
	for feed, etag := range map[string]string{"one": `"one-9"`, "two": `"two-6"`} {
		f, ok, err := shared.Get(t.Context(), feed)
		if err != nil || !ok || f.ETag != etag || f.LastSuccessAt.IsZero() {
			t.Errorf("feed %s in the bucket: got %+v, %v, %v, want ETag %s and a success", feed, f, ok, err, etag)
		}
	}

	byEpoch := checkHAStream(t, js, 15)
	if len(byEpoch) != 2 {
		t.Errorf("messages by epoch %v, want two terms", byEpoch)
	}
	// The stopping leader drained what it recorded; the new one published the rest.
	if n := byEpoch[uint64(epoch1)]; n < 10 {
		t.Errorf("the first term published %d messages, want at least its 10", n)
	}
	if n := len(standby.logEntries("lost the lead")) + len(leader.logEntries("lost the lead")); n != 0 {
		t.Errorf("%d 'lost the lead' lines, want none: the first leader resigned", n)
	}
	if n := len(leader.logEntries("resigned the lead")); n != 1 {
		t.Errorf("%d 'resigned the lead' lines from the stopped leader, want 1", n)
	}
}

// TestClusterLostLeadDropsUnpublished cuts the leader off NATS while its feeds bring new
// stories: it stops leading before its lease can expire, says so once, and drops what it
// recorded but could not publish; the standby leads within two TTLs and publishes those stories
// from the feeds, each once.
func TestClusterLostLeadDropsUnpublished(t *testing.T) {
	const ttl = 2 * time.Second
	nc := testnats.RunCluster(t, 3)
	feeds := &growingFeeds{items: map[string]int{"one": 5, "two": 5}}
	srv := httptest.NewServer(feeds)
	defer srv.Close()
	names := []string{"one", "two"}
	a := startReplica(t, "replica-a", nc.URLs(), srv.URL, names, ttl)
	b := startReplica(t, "replica-b", nc.URLs(), srv.URL, names, ttl)
	js, count := streamOf(t, nc.URLs())
	waitFor(t, "the first 10 articles in the stream", 60*time.Second, func() bool { return count() >= 10 })
	leader, standby := whoLeads(t, a, b)
	standby.waitApplied(t, 10)
	epoch1 := uint64(leader.logEntries("took the lead")[0]["epoch"].(float64))
	// A follower started again (as when it makes no progress) goes on from where it was.
	standby.d.replica.kick <- struct{}{}
	waitFor(t, "the standby's follower to start again", 5*time.Second, func() bool {
		return len(standby.logEntries("cluster: the follower made no progress: starting it again")) == 1
	})

	// The leader's connection goes for good; its feeds bring 5 new stories, which it records
	// and cannot publish.
	cut := time.Now()
	leader.d.bus.Close()
	feeds.add("one", 3)
	feeds.add("two", 2)
	waitFor(t, "the cut-off leader to stop leading", 2*ttl, func() bool { return len(leader.logEntries("lost the lead")) == 1 })
	lostAfter := time.Since(cut)
	lost := leader.logEntries("lost the lead")[0]
	if e, _ := lost["epoch"].(float64); uint64(e) != epoch1 || !strings.Contains(fmt.Sprint(lost["reason"]), "not renewed") {
		t.Errorf("lost the lead: got %v, want epoch %d and a reason saying the lease was not renewed", lost, epoch1)
	}
	waitFor(t, "the standby to lead", 2*ttl, func() bool { return len(standby.logEntries("took the lead")) == 1 })
	t.Logf("the cut-off leader stopped %v after the cut; the standby led %v after it",
		lostAfter.Round(time.Millisecond), time.Since(cut).Round(time.Millisecond))
	if lostAfter >= ttl {
		t.Errorf("the cut-off leader stopped %v after the cut, want before its lease could expire (%v)", lostAfter, ttl)
	}
	dropped := leader.logEntries("dropped the articles recorded but not published: the next leader reads them again from their feeds")
	if len(dropped) != 1 || dropped[0]["count"].(float64) < 1 {
		t.Errorf("the cut-off leader logged %v, want one line dropping what it recorded of the new stories", dropped)
	}
	if n := leader.d.store.Unsent(); n != 0 {
		t.Errorf("the cut-off leader keeps %d unsent messages, want 0", n)
	}

	waitFor(t, "all 15 articles in the stream", 30*time.Second, func() bool { return count() >= 15 })
	time.Sleep(time.Second) // more polls of each feed: nothing more may come
	byEpoch := checkHAStream(t, js, 15)
	if len(byEpoch) != 2 || byEpoch[epoch1] != 10 {
		t.Errorf("messages by epoch %v, want 10 of epoch %d and the 5 new stories of the next term", byEpoch, epoch1)
	}
}

// fixedTerm is a term that lasts.
type fixedTerm uint64

func (e fixedTerm) Epoch() uint64 { return uint64(e) }
func (fixedTerm) Check() error    { return nil }

// TestStateWriterWaitsForPublication: a feed's state, validators included, reaches the bucket
// only once the messages queued before it are published.
func TestStateWriterWaitsForPublication(t *testing.T) {
	ns := testnats.Run(t, -1, t.TempDir())
	js, _ := streamOf(t, ns.ClientURL())
	kv, err := cluster.EnsureFeedsBucket(t.Context(), js, "statetest", 1)
	if err != nil {
		t.Fatal(err)
	}
	shared := cluster.NewFeeds(kv)
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newStateWriter(st, slog.New(slog.DiscardHandler))
	w.begin()

	// A fetch recorded an article, its message not yet published, then the feed's state.
	now := time.Now().UTC().Truncate(time.Millisecond)
	seq, err := st.Insert(t.Context(), store.Article{ID: "a1", FeedID: "one", CanonicalURL: "https://example.org/1", FetchedAt: now},
		store.Message{MsgID: "a1", Subject: "articles.new.en.one", Data: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	cs := clusterStore{Store: st, state: w}
	if err := cs.PutFeed(t.Context(), store.Feed{ID: "one", URL: "https://example.org/feed", ETag: `"v2"`, LastPollAt: now}); err != nil {
		t.Fatal(err)
	}
	w.flush(t.Context(), shared, fixedTerm(1))
	if f, ok, err := shared.Get(t.Context(), "one"); err != nil || ok {
		t.Fatalf("before the message is published the bucket holds %+v, %v, %v, want nothing", f, ok, err)
	}
	if err := st.MarkSent(t.Context(), []int64{seq}, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.flush(t.Context(), shared, fixedTerm(1))
	if f, ok, err := shared.Get(t.Context(), "one"); err != nil || !ok || f.ETag != `"v2"` {
		t.Fatalf("after the message is published the bucket holds %+v, %v, %v, want ETag \"v2\"", f, ok, err)
	}
	// Not leading: nothing is queued.
	w.end()
	if err := cs.PutFeed(t.Context(), store.Feed{ID: "two", URL: "https://example.org/two", LastPollAt: now}); err != nil {
		t.Fatal(err)
	}
	w.begin()
	w.flush(t.Context(), shared, fixedTerm(1))
	if _, ok, _ := shared.Get(t.Context(), "two"); ok {
		t.Errorf("a state saved while standing by reached the bucket")
	}
}

// TestClusterStandbyTakesReloadedFeeds: a feed list reloaded on a standby is the one it polls
// when it leads.
func TestClusterStandbyTakesReloadedFeeds(t *testing.T) {
	needSlowTag(t)
	const ttl = 2 * time.Second
	nc := testnats.RunCluster(t, 3)
	feeds := &growingFeeds{items: map[string]int{"one": 3, "two": 2}}
	srv := httptest.NewServer(feeds)
	defer srv.Close()
	a := startReplica(t, "replica-a", nc.URLs(), srv.URL, []string{"one"}, ttl)
	b := startReplica(t, "replica-b", nc.URLs(), srv.URL, []string{"one"}, ttl)
	_, count := streamOf(t, nc.URLs())
	waitFor(t, "feed one's 3 articles in the stream", 60*time.Second, func() bool { return count() >= 3 })
	leader, standby := whoLeads(t, a, b)
	list, err := pipelineFeeds([]config.Feed{
		{ID: "one", URL: srv.URL + "/one.xml", Name: "one", Language: "en"},
		{ID: "two", URL: srv.URL + "/two.xml", Name: "two", Language: "en"},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case standby.reload <- list:
	case <-time.After(5 * time.Second):
		t.Fatal("the standby did not take a reloaded feed list")
	}
	leader.stop(t)
	deadline := time.Now().Add(2 * ttl)
	for len(standby.logEntries("took the lead")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the standby did not lead within %v; its log:\n%s", 2*ttl, standby.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "feed two's 2 articles in the stream", 10*time.Second, func() bool { return count() >= 5 })
}
