package pipeline

import (
	"context"
	"encoding/json"
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
