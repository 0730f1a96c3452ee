package store

import (
	"cmp"
	"testing"
)

func BenchmarkInsert(b *testing.B) {
	s := openTest(b)
	i := 0
	for b.Loop() {
		a, m := testArticle(i)
		if _, err := s.Insert(b.Context(), a, m); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// fillArticles records the first n test articles, in feed feedID ("": each its own), in one
// transaction: the benchmarks are about the lookups.
func fillArticles(b *testing.B, s *Store, n int, feedID string) {
	b.Helper()
	tx, err := s.db.BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		a, _ := testArticle(i)
		if _, err := tx.ExecContext(b.Context(),
			`INSERT INTO articles (id, feed_id, canonical_url, guid, fetched_at) VALUES (?, ?, ?, ?, ?)`,
			a.ID, cmp.Or(feedID, a.FeedID), a.CanonicalURL, a.GUID, a.FetchedAt.UnixMilli()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkHasURL(b *testing.B) {
	s := openTest(b)
	const n = 10_000
	fillArticles(b, s, n, "")
	urls := make([]string, 0, 2*n)
	for i := range 2 * n { // half recorded, half not
		a, _ := testArticle(i)
		urls = append(urls, a.CanonicalURL)
	}
	i, hits := 0, 0
	for b.Loop() {
		ok, err := s.HasURL(b.Context(), urls[i%len(urls)])
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			hits++
		}
		i++
	}
	if i >= len(urls) && hits == 0 {
		b.Fatal("no lookup found a recorded url")
	}
}

// BenchmarkFeedPriors looks up a feed of 20 recorded items per op, as a poll of repeats does:
// one Prior per item, or one Priors for the feed.
func BenchmarkFeedPriors(b *testing.B) {
	s := openTest(b)
	const n = 10_000
	fillArticles(b, s, n, "feed")
	keys := make([]PriorKey, n)
	for i := range keys {
		a, _ := testArticle(i)
		keys[i] = PriorKey{CanonicalURL: a.CanonicalURL, GUID: a.GUID}
	}
	b.Run("Prior", func(b *testing.B) {
		i := 0
		for b.Loop() {
			for _, k := range keys[i%(n-20) : i%(n-20)+20] {
				if _, ok, err := s.Prior(b.Context(), "feed", k.CanonicalURL, k.GUID); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			i += 20
		}
	})
	b.Run("Priors", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Priors(b.Context(), "feed", keys[i%(n-20):i%(n-20)+20]); err != nil {
				b.Fatal(err)
			}
			i += 20
		}
	})
}
