package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/store"
	"github.com/mmcdole/gofeed"
)

// published returns the articles of the outbox's messages, as a standby reads them from the
// stream, with their message ids.
func published(t *testing.T, s *store.Store) ([]article.Article, []string) {
	t.Helper()
	msgs, err := s.Pending(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	arts := make([]article.Article, len(msgs))
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal(m.Data, &arts[i]); err != nil {
			t.Fatal(err)
		}
		ids[i] = m.MsgID
	}
	return arts, ids
}

// TestApplyKeepsAStandbyInStep: a standby that applied the leader's story knows its link as a
// repeat and its text as the story's (the fingerprint recomputed from the message), and the
// leader applying its own message records nothing twice and marks it sent.
func TestApplyKeepsAStandbyInStep(t *testing.T) {
	leaderStore, standbyStore := openStore(t), openStore(t)
	leader, standby := New(Options{}, nil, leaderStore, nil), New(Options{}, nil, standbyStore, nil)
	a := newAssembler()
	if _, err := leader.ingest(t.Context(), storyEntries(t, a, "spa", "")); err != nil {
		t.Fatal(err)
	}
	arts, ids := published(t, leaderStore)
	if len(arts) != 1 {
		t.Fatalf("leader queued %d messages, want 1", len(arts))
	}
	if ok, err := standby.Apply(t.Context(), "ARTICLES", 1, &arts[0], ids[0]); err != nil || !ok {
		t.Fatalf("standby Apply: got %v, %v, want recorded", ok, err)
	}
	if ok, err := leader.Apply(t.Context(), "ARTICLES", 1, &arts[0], ids[0]); err != nil || ok {
		t.Fatalf("leader Apply of its own message: got %v, %v, want not recorded again", ok, err)
	}
	if n := leaderStore.Unsent(); n != 0 {
		t.Errorf("leader keeps %d unsent messages after the stream gave its own back, want 0", n)
	}
	// The standby, leading now, meets the story again and another outlet's copy of it.
	c, err := standby.ingest(t.Context(), append(storyEntries(t, a, "spa", ""), storyEntries(t, a, "okaz", "الرياض - واس: ")...))
	if err != nil {
		t.Fatal(err)
	}
	if c.Repeats != 1 || c.Duplicates != 1 || c.New != 0 {
		t.Errorf("standby's verdicts: got %+v, want the story a repeat and the copy a duplicate", c)
	}
	for _, s := range []*store.Store{leaderStore, standbyStore} {
		if seq, err := s.Applied(t.Context(), "ARTICLES"); err != nil || seq != 1 {
			t.Errorf("applied sequence: got %d, %v, want 1", seq, err)
		}
	}
}

// TestDropUnsentForgets: what a leader recorded but did not publish leaves its store and its
// duplicate index, so another outlet's copy is new, not a duplicate of a story nobody got.
func TestDropUnsentForgets(t *testing.T) {
	s := openStore(t)
	p := New(Options{}, nil, s, nil)
	a := newAssembler()
	if _, err := p.ingest(t.Context(), storyEntries(t, a, "spa", "")); err != nil {
		t.Fatal(err)
	}
	if n, err := p.DropUnsent(t.Context()); err != nil || n != 1 {
		t.Fatalf("DropUnsent: got %d, %v, want 1", n, err)
	}
	c, err := p.ingest(t.Context(), storyEntries(t, a, "okaz", "الرياض - واس: "))
	if err != nil {
		t.Fatal(err)
	}
	if c.New != 1 || c.Duplicates != 0 {
		t.Errorf("the copy after the drop: got %+v, want new", c)
	}
}

// FuzzApply: whatever a message of the stream holds, Apply records it or skips it, without
// failing (which would stop the follower at that message for good) or crashing.
//
//	go test ./pipeline -run '^$' -fuzz FuzzApply -fuzztime 30s
func FuzzApply(f *testing.F) {
	a := newAssembler()
	es := a.assemble(Feed{ID: "spa", URL: "https://spa.example/rss", Name: "spa", Lang: "ar"},
		&gofeed.Feed{Items: []*gofeed.Item{{Title: "عنوان", Link: "https://spa.example/1", Content: "<p>" + storyText + "</p>"}}},
		"https://spa.example/rss", time.Date(2015, 8, 1, 9, 0, 0, 0, time.UTC))
	good, err := article.Marshal(&es[0].art)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","feed_id":"f","fetched_at":"2015-08-01T00:00:00Z","updated_of":"y"}`))
	f.Add([]byte(`{"id":"x","feed_id":"f","fetched_at":"0001-01-01T00:00:00Z","title":"\u0000"}`))
	s := openStore(f)
	p := New(Options{}, nil, s, nil)
	seq := uint64(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		var art article.Article
		if json.Unmarshal(data, &art) != nil {
			return // the daemon skips what is not JSON before Apply
		}
		seq++
		if _, err := p.Apply(context.Background(), "ARTICLES", seq, &art, art.ID); err != nil {
			t.Fatalf("Apply(%q): %v", data, err)
		}
	})
}

// BenchmarkApply measures what following the stream costs a replica per message: a standby
// recording another's article (decode nothing: the article is given; decide, recompute the
// fingerprint, one write transaction), and the leader taking back its own (a repeat: mark it
// sent and move the sequence, one write transaction).
//
//	go test ./pipeline -run '^$' -bench Apply -benchtime 2000x -count 3
func BenchmarkApply(b *testing.B) {
	base := time.Date(2015, 8, 1, 9, 0, 0, 0, time.UTC)
	// Stories of their own: 120 words each from a vocabulary of 20,000 made-up Arabic words.
	letters := []rune("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")
	vocab := make([]string, 20000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range vocab {
		w := make([]rune, 3+rng.IntN(5))
		for k := range w {
			w[k] = letters[rng.IntN(len(letters))]
		}
		vocab[i] = string(w)
	}
	textOf := func(i int) string {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		words := make([]string, 120)
		for k := range words {
			words[k] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(words, " ")
	}
	articleOf := func(i int) article.Article {
		id := fmt.Sprintf("%064x", i+1)
		return article.Article{ID: id, FeedID: "spa", Source: "spa", CanonicalURL: fmt.Sprintf("https://spa.example/news/%d", i),
			Title: fmt.Sprintf("خبر رقم %d", i), ContentText: textOf(i),
			PublishedAt: base.Add(time.Duration(i) * time.Second), FetchedAt: base.Add(time.Duration(i) * time.Second), ClusterID: id}
	}
	b.Run("standby", func(b *testing.B) {
		p := New(Options{}, nil, openStore(b), nil)
		i := 0
		for b.Loop() {
			a := articleOf(i)
			if ok, err := p.Apply(b.Context(), "ARTICLES", uint64(i+1), &a, a.ID); err != nil || !ok {
				b.Fatalf("Apply %d: %v, %v", i, ok, err)
			}
			i++
		}
	})
	b.Run("leader_own", func(b *testing.B) {
		s := openStore(b)
		p := New(Options{}, nil, s, nil)
		arts := make([]article.Article, 0, 4096)
		i := 0
		for b.Loop() {
			if i%4096 == 0 { // record the next articles as the leader did, outside the timing
				b.StopTimer()
				arts = arts[:0]
				for k := range 4096 {
					a := articleOf(i + k)
					if _, err := s.Insert(b.Context(), store.Article{ID: a.ID, FeedID: a.FeedID, CanonicalURL: a.CanonicalURL, FetchedAt: a.FetchedAt},
						store.Message{MsgID: a.ID, Subject: "articles.new.ar.spa", Data: []byte("{}")}); err != nil {
						b.Fatal(err)
					}
					arts = append(arts, a)
				}
				b.StartTimer()
			}
			a := arts[i%4096]
			if ok, err := p.Apply(b.Context(), "ARTICLES", uint64(i+1), &a, a.ID); err != nil || ok {
				b.Fatalf("Apply %d: %v, %v", i, ok, err)
			}
			i++
		}
	})
}
