package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/cluster"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/internal/testnats"
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
	cfg.Poll.Interval = time.Second
	cfg.Poll.MinInterval = 500 * time.Millisecond
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
	r := &haReplica{id: id, d: d, log: buf, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.run(ctx, nil) }()
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

	conn, err := nats.Connect(nc.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	count := func() uint64 {
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
	waitFor(t, "the first 10 articles in the stream", 60*time.Second, func() bool { return count() >= 10 })

	var leader, standby *haReplica
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
	took := leader.logEntries("took the lead")[0]
	epoch1, ok := took["epoch"].(float64)
	if !ok || epoch1 <= 0 || took["holder"] != leader.id {
		t.Fatalf("took the lead: got %v, want a numeric epoch and holder %s", took, leader.id)
	}
	waitFor(t, "the standby to apply what the leader published", 10*time.Second, func() bool {
		n, _ := standby.d.store.Applied(t.Context(), "ARTICLES")
		return n >= 10
	})
	if r := leader.readyz(t); r["role"] != roleLeader || r["leader"] != leader.id {
		t.Errorf("leader /readyz: got role %v leader %v, want %s and %s", r["role"], r["leader"], roleLeader, leader.id)
	}
	if r := standby.readyz(t); r["role"] != roleStandby || r["leader"] != leader.id {
		t.Errorf("standby /readyz: got role %v leader %v, want %s and %s", r["role"], r["leader"], roleStandby, leader.id)
	}
	_, metrics := httpGet("http://" + leader.d.ops.Addr() + "/metrics")
	if metric(metrics, "feedd_leader") != 1 || metric(metrics, "feedd_lease_renewals_total") < 0 {
		t.Errorf("leader /metrics: feedd_leader %v, want 1", metric(metrics, "feedd_leader"))
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
	t.Logf("standby leads %v after the leader was told to stop", time.Since(stopped).Round(time.Millisecond))
	took2 := standby.logEntries("took the lead")[0]
	if e, _ := took2["epoch"].(float64); e <= epoch1 || took2["previous"] != leader.id {
		t.Errorf("took the lead: got %v, want an epoch above %v and previous %s", took2, epoch1, leader.id)
	}
	waitFor(t, "all 15 articles in the stream", 30*time.Second, func() bool { return count() >= 15 })
	time.Sleep(2 * time.Second) // two more polls of each feed: nothing more may come

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
	if len(msgs) != 15 {
		t.Errorf("stream holds %d messages, want 15 (10 stories, then 5 more)", len(msgs))
	}
	if len(byEpoch) != 2 {
		t.Errorf("messages by epoch %v, want two terms", byEpoch)
	}
	// The new leader published what the first had not (the 5 new stories), nothing of the 10.
	if n := byEpoch[uint64(epoch1)]; n < 10 {
		t.Errorf("the first term published %d messages, want at least its 10", n)
	}
	if n := len(standby.logEntries("lost the lead")) + len(leader.logEntries("lost the lead")); n != 0 {
		t.Errorf("%d 'lost the lead' lines, want none: the first leader resigned", n)
	}
}
