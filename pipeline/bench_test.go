package pipeline

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/store"
	"github.com/mmcdole/gofeed"
)

// devFeeds parses the feeds of the SaudiNewsNet development days, 20 full-text articles each,
// as the reference load of cmd/feedd-bench serves them.
func devFeeds(b *testing.B) ([]Feed, []*gofeed.Feed) {
	b.Helper()
	dir, ok := testfeeds.CorpusDir()
	if !ok {
		b.Skip("corpus not found beside the module")
	}
	var (
		feeds  []Feed
		parsed []*gofeed.Feed
	)
	p := fetcher.NewParser()
	for _, day := range []string{"2015-08-01", "2015-08-02", "2015-08-03"} {
		arts, err := testfeeds.SaudiNewsNet(dir, day)
		if err != nil {
			b.Fatal(err)
		}
		for _, tf := range testfeeds.Split(day, arts, 20) {
			pf, err := p.Parse(bytes.NewReader(tf.Body))
			if err != nil {
				b.Fatalf("parse %s: %v", tf.ID, err)
			}
			feeds = append(feeds, Feed{ID: tf.ID, URL: "http://127.0.0.1/" + tf.Path, Name: tf.Name, Lang: "ar"})
			parsed = append(parsed, pf)
		}
	}
	return feeds, parsed
}

// BenchmarkAssemble turns one parsed feed into articles per op: text cleaning, HTML sanitising,
// canonical URLs, dates, ids.
func BenchmarkAssemble(b *testing.B) {
	feeds, parsed := devFeeds(b)
	a := newAssembler()
	fetched := time.Date(2015, 8, 4, 0, 0, 0, 0, time.UTC)
	i, items := 0, 0
	for b.Loop() {
		items += len(a.assemble(feeds[i%len(feeds)], parsed[i%len(feeds)], feeds[i%len(feeds)].URL, fetched))
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(items), "ns/article")
}

// BenchmarkAssembleRepeats is a poll of the steady state per op: every item of the feed was
// recorded before and is unchanged, so each costs its item hash, its canonical URL and a lookup
// (here one that answers from memory).
func BenchmarkAssembleRepeats(b *testing.B) {
	feeds, parsed := devFeeds(b)
	a := newAssembler()
	fetched := time.Date(2015, 8, 4, 0, 0, 0, 0, time.UTC)
	seen := eachSeen(func(canonicalURL, guid, itemHash string) (*store.Prior, bool) { return nil, true })
	i, items := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		f := feeds[i%len(feeds)]
		out, repeats := a.assembleUnseen(f, parsed[i%len(feeds)], f.URL, fetched, seen)
		if len(out) != 0 {
			b.Fatalf("%d entries, want none", len(out))
		}
		items += repeats
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(items), "ns/item")
}

// BenchmarkIngest records one feed's articles per op into a real SQLite store: the duplicate
// decision, the JSON message and one transaction for the feed. The dev days are ingested in
// order, as a first run of feedd does; when they run out, a fresh store starts again.
func BenchmarkIngest(b *testing.B) {
	feeds, parsed := devFeeds(b)
	a := newAssembler()
	fetched := time.Date(2015, 8, 4, 0, 0, 0, 0, time.UTC)
	entries := make([][]entry, len(feeds))
	for i := range feeds {
		entries[i] = a.assemble(feeds[i], parsed[i], feeds[i].URL, fetched)
	}
	ctx := context.Background()
	var p *Pipeline
	fresh := func() {
		s, err := store.Open(ctx, filepath.Join(b.TempDir(), "feedd.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		p = New(Options{Feeds: feeds}, nil, s, nil)
	}
	i, items := 0, 0
	for b.Loop() {
		if i%len(feeds) == 0 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		batch := slices.Clone(entries[i%len(feeds)]) // ingest fills in the duplicate fields
		c, err := p.ingest(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if c.New+c.Duplicates != len(batch) {
			b.Fatalf("feed %s: %d new and %d duplicates of %d articles", feeds[i%len(feeds)].ID, c.New, c.Duplicates, len(batch))
		}
		items += len(batch)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(items), "ns/article")
}
