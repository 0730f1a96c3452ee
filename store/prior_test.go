package store

import (
	"testing"
	"time"
)

// TestPriorAndRevise records an article, finds it by its URL and by its GUID, and revises it
// twice: once with a message (an update, queued in the outbox) and once without (a change that
// is not material, only the item hash kept).
func TestPriorAndRevise(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	a := Article{ID: "a1", FeedID: "spa", CanonicalURL: "https://spa.example/1", GUID: "g1", ContentKey: "k1",
		ClusterID: "c1", FetchedAt: at, ItemHash: "h1"}
	if _, err := s.Insert(ctx, a, Message{MsgID: "a1", Subject: "articles.new.ar.spa", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range [][3]string{{"spa", "https://spa.example/1", ""}, {"spa", "", "g1"}, {"other", "https://spa.example/1", "g9"}} {
		p, ok, err := s.Prior(ctx, q[0], q[1], q[2])
		if err != nil || !ok || p.ID != "a1" || p.ClusterID != "c1" || p.ContentKey != "k1" || p.ItemHash != "h1" || !p.FetchedAt.Equal(at) {
			t.Errorf("Prior%q: got %+v %v %v", q, p, ok, err)
		}
	}
	if _, ok, err := s.Prior(ctx, "other", "", "g1"); ok || err != nil {
		t.Errorf("Prior of another feed's GUID: got %v %v, want not found", ok, err)
	}

	b, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Revise(ctx, "a1", "h2", "k2", &Message{MsgID: "a1.k2", Subject: "articles.updated.ar.spa", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := b.Prior(ctx, "spa", "https://spa.example/1", ""); p.ItemHash != "h2" || p.ContentKey != "k2" {
		t.Errorf("Prior inside the batch: %+v, want the revision", p)
	}
	if err := b.Revise(ctx, "missing", "h", "k", nil); err == nil {
		t.Error("Revise of an unknown article: got nil, want an error")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := s.Unsent(); n != 2 {
		t.Errorf("unsent: %d, want 2 (the article and its update)", n)
	}
	b, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Revise(ctx, "a1", "h3", "k2", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Pending(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].MsgID != "a1.k2" || msgs[1].Subject != "articles.updated.ar.spa" {
		t.Errorf("outbox: %+v, want the article's message then its update's", msgs)
	}
	if p, _, _ := s.Prior(ctx, "spa", "https://spa.example/1", ""); p.ItemHash != "h3" || p.ContentKey != "k2" {
		t.Errorf("Prior after a revision without a message: %+v, want hash h3, key k2", p)
	}
}
