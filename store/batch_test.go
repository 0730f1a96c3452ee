package store

import (
	"context"
	"errors"
	"testing"
)

func TestBatchCommitsItsInsertsAtOnce(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	b, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Rollback()
	a, m := testArticle(0)
	if _, err := b.Insert(ctx, a, m); err != nil {
		t.Fatal(err)
	}

	// Outside the batch, nothing until the commit.
	if ok, err := s.HasURL(ctx, a.CanonicalURL); err != nil || ok {
		t.Errorf("store HasURL before commit: got %v, %v; want false", ok, err)
	}

	// A repeat inside the batch is refused alone; the batch goes on.
	rep, repMsg := testArticle(1)
	rep.CanonicalURL = a.CanonicalURL
	if _, err := b.Insert(ctx, rep, repMsg); !errors.Is(err, ErrExists) {
		t.Fatalf("insert of a repeated url: got %v, want ErrExists", err)
	}
	c, cm := testArticle(2)
	if _, err := b.Insert(ctx, c, cm); err != nil {
		t.Fatalf("insert after a refused repeat: %v", err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if articles, pending := counts(t, s); articles != 2 || pending != 2 {
		t.Errorf("after commit: got %d articles and %d pending, want 2 and 2", articles, pending)
	}
	if ok, err := s.HasURL(ctx, c.CanonicalURL); err != nil || !ok {
		t.Errorf("store HasURL after commit: got %v, %v; want true", ok, err)
	}
	if err := b.Rollback(); err != nil {
		t.Errorf("Rollback after Commit: got %v, want nil", err)
	}
	if err := b.Commit(); err == nil {
		t.Error("second Commit: got nil, want an error")
	}
	if _, err := b.Insert(ctx, a, m); err == nil || errors.Is(err, ErrExists) {
		t.Errorf("Insert after Commit: got %v, want an error that is not ErrExists", err)
	}
}

func TestBatchRollbackLeavesNothingAndFreesTheWriter(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	b, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		a, m := testArticle(i)
		a.Fingerprint = []byte{1, 2, 3}
		if _, err := b.Insert(ctx, a, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Rollback(); err != nil {
		t.Fatal(err)
	}
	if articles, pending := counts(t, s); articles != 0 || pending != 0 {
		t.Errorf("after rollback: got %d articles and %d pending, want 0 and 0", articles, pending)
	}
	if rows := loadFingerprints(t, s, base.AddDate(-1, 0, 0)); len(rows) != 0 {
		t.Errorf("after rollback: got %d fingerprints, want 0", len(rows))
	}
	// The write slot is free again: a plain insert does not wait forever.
	a, m := testArticle(0)
	mustInsert(t, s, a, m)
}

func TestBeginHonoursContextWhileAnotherBatchWrites(t *testing.T) {
	s := openTest(t)
	b, err := s.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Rollback()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Begin(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin while another batch holds the writer, ctx cancelled: got %v, want context.Canceled", err)
	}
}

func BenchmarkBatchInsert20(b *testing.B) {
	s := openTest(b)
	i := 0
	for b.Loop() {
		batch, err := s.Begin(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		for range 20 {
			a, m := testArticle(i)
			if _, err := batch.Insert(b.Context(), a, m); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := batch.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
