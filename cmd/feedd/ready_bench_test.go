package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
)

// fillStore records n distinct synthetic articles, made of sentences of the development days,
// with their fingerprints, dated over the last day: all inside the duplicate window.
func fillStore(b *testing.B, path string, n int) {
	b.Helper()
	dir, ok := testfeeds.CorpusDir()
	if !ok {
		b.Skip("corpus not available")
	}
	as, err := testfeeds.SaudiNewsNet(dir, "2015-08-01")
	if err != nil {
		b.Fatal(err)
	}
	var sentences []string
	for _, a := range as {
		for _, s := range strings.Split(a.Content, ".") {
			if s = strings.TrimSpace(s); len(s) > 40 {
				sentences = append(sentences, s)
			}
		}
	}
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dd := dedupe.NewDecider(pipeline.DedupeKeys(s), 0)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	for i := range n {
		var text strings.Builder
		for range 12 {
			text.WriteString(sentences[rng.IntN(len(sentences))])
			text.WriteString(". ")
		}
		url := fmt.Sprintf("https://bench.example/%d", i)
		at := now.Add(-time.Duration(rng.Int64N(int64(24 * time.Hour))))
		doc := dedupe.Doc{FeedID: "bench", CanonicalURL: url, Title: sentences[rng.IntN(len(sentences))],
			Text: text.String(), PublishedAt: at}
		dec, err := dd.Decide(ctx, doc, at)
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("%064x", i)
		_, err = s.Insert(ctx, store.Article{ID: id, FeedID: "bench", CanonicalURL: url, ContentKey: dec.ContentKey,
			ClusterID: id, Fingerprint: dec.Fingerprint, PublishedAt: at, FetchedAt: at},
			store.Message{MsgID: id, Subject: "articles.new.ar.bench", Data: []byte("{}"), CreatedAt: at})
		if err != nil {
			b.Fatal(err)
		}
		rows, _ := s.Pending(ctx, 0, 1)
		if len(rows) > 0 {
			s.MarkSent(ctx, []int64{rows[0].Seq}, at)
		}
		dd.Record(id, id, dec)
	}
}

// BenchmarkStartToReady measures the time from starting `feedd run` to /readyz answering 200,
// with 100,000 articles inside the duplicate window to index (FEEDD_BENCH_ARTICLES overrides).
// Filling the database takes a minute or so and is not timed. Run it with:
//
//	go test ./cmd/feedd -run '^$' -bench StartToReady -benchtime 5x
func BenchmarkStartToReady(b *testing.B) {
	n := 100_000
	if v := os.Getenv("FEEDD_BENCH_ARTICLES"); v != "" {
		fmt.Sscan(v, &n)
	}
	bin := buildFeedd(b)
	dataDir := b.TempDir()
	fillStore(b, filepath.Join(dataDir, dbFile), n)
	httpAddr := freeAddr(b)
	cfg := filepath.Join(b.TempDir(), "feedd.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %q\nlog:\n  level: warn\nnats:\n  listen: \"\"\nhttp:\n  listen: %q\n"+
		"poll:\n  interval: 24h\nfeeds:\n  - id: bench\n    url: file:///nonexistent.xml\n", dataDir, httpAddr)), 0o600)
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		p := exec.Command(bin, "run", "--config", cfg)
		p.Env = withoutFeeddEnv(os.Environ())
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			if code, _ := httpGet("http://" + httpAddr + "/readyz"); code == http.StatusOK {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatal("not ready within a minute")
			}
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
		p.Process.Signal(os.Interrupt)
		p.Wait()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(n), "articles")
}
