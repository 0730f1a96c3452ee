package store

import (
	"slices"
	"testing"
	"time"
)

// TestFollowThenDropUnsent: a replica's articles recorded from the stream stay, with the stream
// sequence applied; those it recorded itself and did not publish go, with their fingerprints,
// and one the stream already holds is marked sent by Follow and so stays.
func TestFollowThenDropUnsent(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	now := time.Now()
	if got, err := s.Applied(ctx, "ARTICLES"); err != nil || got != 0 {
		t.Fatalf("Applied on a new database: got %d, %v, want 0, nil", got, err)
	}
	// Articles 0 and 1 come from the stream (another leader's).
	for i := range 2 {
		a, m := testArticle(i)
		a.Fingerprint = []byte{byte(i + 1)}
		ok, err := s.Follow(ctx, "ARTICLES", uint64(10+i), &a, m.MsgID, now)
		if err != nil || !ok {
			t.Fatalf("Follow(%d): got %v, %v, want true, nil", i, ok, err)
		}
	}
	// Articles 2, 3, 4 recorded by this replica as leader; 2 is published, 3 acknowledged but
	// not yet marked, 4 not sent.
	seqs := make([]int64, 3)
	for i := 2; i < 5; i++ {
		a, m := testArticle(i)
		a.Fingerprint = []byte{byte(i + 1)}
		seqs[i-2] = mustInsert(t, s, a, m)
	}
	if err := s.MarkSent(ctx, seqs[:1], now); err != nil {
		t.Fatal(err)
	}
	a3, m3 := testArticle(3)
	if ok, err := s.Follow(ctx, "ARTICLES", 12, &a3, m3.MsgID, now); err != nil || ok {
		t.Fatalf("Follow of its own article: got %v, %v, want false, nil", ok, err)
	}
	if got := s.Unsent(); got != 1 {
		t.Fatalf("Unsent after following its own message: got %d, want 1", got)
	}
	// Following the same message again changes nothing but the sequence.
	a0, m0 := testArticle(0)
	if ok, err := s.Follow(ctx, "ARTICLES", 13, &a0, m0.MsgID, now); err != nil || ok {
		t.Fatalf("Follow of a known article: got %v, %v, want false, nil", ok, err)
	}

	ids, err := s.DropUnsent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a4, _ := testArticle(4)
	if !slices.Equal(ids, []string{a4.ID}) {
		t.Fatalf("DropUnsent: got %v, want [%s]", ids, a4.ID)
	}
	if n, err := s.OutboxDepth(ctx); err != nil || n != 0 || s.Unsent() != 0 {
		t.Fatalf("outbox depth after DropUnsent: got %d (%d kept), %v, want 0", n, s.Unsent(), err)
	}
	if has, _ := s.HasURL(ctx, a4.CanonicalURL); has {
		t.Errorf("article 4 was dropped but its URL is still recorded")
	}
	for i := range 4 {
		a, _ := testArticle(i)
		if has, _ := s.HasURL(ctx, a.CanonicalURL); !has {
			t.Errorf("article %d: URL not recorded, want it kept", i)
		}
	}
	var fps []string
	if err := s.Fingerprints(ctx, time.Time{}, func(id, _, _ string, _ time.Time, _ []byte) error {
		fps = append(fps, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(fps) != 4 || slices.Contains(fps, a4.ID) {
		t.Errorf("fingerprints after DropUnsent: got %d %v, want those of articles 0 to 3", len(fps), fps)
	}
	if got, err := s.Applied(ctx, "ARTICLES"); err != nil || got != 13 {
		t.Errorf("Applied: got %d, %v, want 13", got, err)
	}
}

func TestOldestUnsentAndLastSeq(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	if o, err := s.OldestUnsent(ctx); err != nil || o != 0 {
		t.Fatalf("OldestUnsent of an empty outbox: got %d, %v, want 0", o, err)
	}
	seqs := fill(t, s, 3)
	if err := s.MarkSent(ctx, seqs[:1], time.Now()); err != nil {
		t.Fatal(err)
	}
	if o, err := s.OldestUnsent(ctx); err != nil || o != seqs[1] {
		t.Errorf("OldestUnsent: got %d, %v, want %d", o, err, seqs[1])
	}
	if l, err := s.LastSeq(ctx); err != nil || l != seqs[2] {
		t.Errorf("LastSeq: got %d, %v, want %d", l, err, seqs[2])
	}
}
