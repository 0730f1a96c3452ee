package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/internal/testnats"
	"github.com/feedd/feedd/store"
)

// benchBodySize is the median article body feedd publishes: the SaudiNewsNet development days
// (2015-08-01 to -03) make messages of 2,912 (p10), 6,004 (p50) and 14,824 (p90) bytes.
const benchBodySize = 6004

// fillBatch is how many articles fillOutbox records per transaction: a poll's worth, as the
// pipeline writes them.
const fillBatch = 20

// fillOutbox records n articles whose outbox messages are shaped like feedd's: a benchBodySize
// body, a 64-hex id, the Content-Type and CloudEvents headers. It writes them fillBatch to a
// transaction, as the pipeline does.
func fillOutbox(tb testing.TB, s *store.Store, n int) {
	tb.Helper()
	body := bytes.Repeat([]byte("a"), benchBodySize)
	prefix := fmt.Sprintf("%x-", time.Now().UnixNano())
	now := time.Now().UTC()
	var batch *store.Batch
	for i := range n {
		if i%fillBatch == 0 {
			if batch != nil {
				if err := batch.Commit(); err != nil {
					tb.Fatal(err)
				}
			}
			var err error
			if batch, err = s.Begin(context.Background()); err != nil {
				tb.Fatal(err)
			}
			defer batch.Rollback()
		}
		id := fmt.Sprintf("%s%0*x", prefix, 64-len(prefix), i)
		_, err := batch.Insert(context.Background(),
			store.Article{ID: id, FeedID: "bench", CanonicalURL: "https://sabq.example/" + id, FetchedAt: now},
			store.Message{MsgID: id, Subject: "articles.new.ar.bench", Data: body, CreatedAt: now,
				Header: map[string]string{
					"Nats-Msg-Id":    id,
					"Content-Type":   "application/json",
					"ce-specversion": "1.0",
					"ce-id":          id,
					"ce-type":        "feedd.article.new",
					"ce-source":      "https://sabq.example/sabq-0801-3.xml",
					"ce-time":        now.Format(time.RFC3339),
				}})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if batch != nil {
		if err := batch.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRelay relays b.N feedd-sized messages from an outbox in a real SQLite file to a
// file-backed JetStream stream over loopback TCP, from the first read to the last row marked
// sent: what `feedd run --once` does after polling. Filling the outbox is not timed. MB/s
// counts the bodies only, as `nats bench` does. The server runs in this process unless
// FEEDD_BENCH_NATS_URL names one.
//
//	go test -run '^$' -bench Relay -benchtime 20000x ./pipeline
func BenchmarkRelay(b *testing.B) {
	url := os.Getenv("FEEDD_BENCH_NATS_URL")
	if url == "" {
		url = testnats.Run(b, -1, b.TempDir()).ClientURL()
	}
	bs, err := bus.Connect(context.Background(), bus.Options{URL: url, Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bs.Close)
	err = bs.EnsureStream(context.Background(), bus.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"},
		Replicas: 1, DuplicateWindow: time.Hour, MaxAge: 720 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	s, err := store.Open(context.Background(), b.TempDir()+"/feedd.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fillOutbox(b, s, b.N)
	relay := NewRelay(s, bs, slog.New(slog.DiscardHandler), NewMetrics(nil))

	b.SetBytes(benchBodySize)
	b.ResetTimer()
	if err := relay.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := relay.Published(); got != int64(b.N) {
		b.Fatalf("got %d published, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
