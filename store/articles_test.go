package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestInsertThenLookups(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	a, m := testArticle(0)
	seq := mustInsert(t, s, a, m)
	if seq <= 0 {
		t.Errorf("got seq %d, want > 0", seq)
	}

	tests := []struct {
		name string
		look func() (bool, error)
		want bool
	}{
		{"url recorded", func() (bool, error) { return s.HasURL(ctx, a.CanonicalURL) }, true},
		{"url other", func() (bool, error) { return s.HasURL(ctx, a.CanonicalURL+"?page=2") }, false},
		{"url empty", func() (bool, error) { return s.HasURL(ctx, "") }, false},
		{"guid same feed", func() (bool, error) { return s.HasGUID(ctx, a.FeedID, a.GUID) }, true},
		{"guid other feed", func() (bool, error) { return s.HasGUID(ctx, "bbc", a.GUID) }, false},
		{"guid empty", func() (bool, error) { return s.HasGUID(ctx, a.FeedID, "") }, false},
		{"content", func() (bool, error) {
			ref, ok, err := s.FindContent(ctx, a.ContentKey, time.Time{})
			if ok && (ref.ID != a.ID || ref.ClusterID != a.ClusterID || !ref.PublishedAt.Equal(a.PublishedAt)) {
				return false, fmt.Errorf("got ref %+v, want article %s", ref, a.ID)
			}
			return ok, err
		}, true},
		{"content other", func() (bool, error) {
			_, ok, err := s.FindContent(ctx, "nope", time.Time{})
			return ok, err
		}, false},
		{"content empty", func() (bool, error) {
			_, ok, err := s.FindContent(ctx, "", time.Time{})
			return ok, err
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.look()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInsertRepeatReturnsErrExists(t *testing.T) {
	orig, origMsg := testArticle(0)
	other, otherMsg := testArticle(1) // distinct keys; each case copies one key of orig into it
	tests := []struct {
		name   string
		mutate func(a *Article)
		detail string
	}{
		{"same id", func(a *Article) { a.ID = orig.ID }, "same id"},
		{"same url", func(a *Article) { a.CanonicalURL = orig.CanonicalURL }, orig.CanonicalURL},
		{"same guid same feed", func(a *Article) { a.GUID = orig.GUID }, orig.GUID},
		{"same everything", func(a *Article) { *a = orig }, ""}, // SQLite picks which key to report
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			mustInsert(t, s, orig, origMsg)
			a := other
			tt.mutate(&a)

			_, err := s.Insert(t.Context(), a, otherMsg)
			if !errors.Is(err, ErrExists) {
				t.Fatalf("got error %v, want ErrExists", err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not name %q", err, tt.detail)
			}
			if got := Classify(err); got != "exists" {
				t.Errorf("got class %q, want exists", got)
			}
			if arts, pend := counts(t, s); arts != 1 || pend != 1 {
				t.Errorf("got %d articles, %d pending; want 1, 1 (nothing of the repeat kept)", arts, pend)
			}
			msgs, err := s.Pending(t.Context(), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].MsgID != origMsg.MsgID {
				t.Errorf("got pending %v, want only %s", msgs, origMsg.MsgID)
			}
		})
	}
}

func TestInsertKeysThatAreNotUnique(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(i int, a *Article)
	}{
		{"same guid in other feeds", func(i int, a *Article) {
			a.GUID = "https://example.com/?p=1"
			a.FeedID = fmt.Sprintf("feed%d", i)
		}},
		{"no url", func(_ int, a *Article) { a.CanonicalURL = "" }},
		{"no guid", func(_ int, a *Article) { a.GUID = "" }},
		{"same content key", func(_ int, a *Article) { a.ContentKey = "same" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			for i := range 3 {
				a, m := testArticle(i)
				tt.mutate(i, &a)
				mustInsert(t, s, a, m)
			}
			if arts, pend := counts(t, s); arts != 3 || pend != 3 {
				t.Errorf("got %d articles, %d pending; want 3, 3", arts, pend)
			}
		})
	}
}

func TestInsertInvalid(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name   string
		mutate func(a *Article, m *Message)
		want   string
	}{
		{"no id", func(a *Article, _ *Message) { a.ID = "" }, "id is empty"},
		{"no feed", func(a *Article, _ *Message) { a.FeedID = "" }, "feed id is empty"},
		{"no fetch time", func(a *Article, _ *Message) { a.FetchedAt = time.Time{} }, "fetched at is zero"},
		{"no msg id", func(_ *Article, m *Message) { m.MsgID = "" }, "message id is empty"},
		{"no subject", func(_ *Article, m *Message) { m.Subject = "" }, "message subject is empty"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, m := testArticle(i)
			tt.mutate(&a, &m)
			_, err := s.Insert(t.Context(), a, m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one saying %q", err, tt.want)
			}
		})
	}
	if arts, pend := counts(t, s); arts != 0 || pend != 0 {
		t.Errorf("got %d articles, %d pending; want 0, 0", arts, pend)
	}
}

func TestFindContentOldestSince(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	// Four articles with one content key, inserted out of fetch order; two share a fetch time.
	fetched := []time.Duration{3 * time.Hour, 0, 2 * time.Hour, 2 * time.Hour}
	ids := make([]string, len(fetched))
	for i, d := range fetched {
		a, m := testArticle(i)
		a.ContentKey = "key"
		a.FetchedAt = base.Add(d)
		a.PublishedAt = time.Time{}
		ids[i] = a.ID
		mustInsert(t, s, a, m)
	}
	tests := []struct {
		name   string
		since  time.Time
		wantID string // "" when none
	}{
		{"no bound", time.Time{}, ids[1]},
		{"bound at oldest", base, ids[1]},
		{"bound after oldest, tie goes to first inserted", base.Add(time.Hour), ids[2]},
		{"bound exactly at a fetch time", base.Add(3 * time.Hour), ids[0]},
		{"bound after all", base.Add(3*time.Hour + time.Millisecond), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, ok, err := s.FindContent(ctx, "key", tt.since)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.wantID != "") || ref.ID != tt.wantID {
				t.Errorf("got %q (found %v), want %q", ref.ID, ok, tt.wantID)
			}
			if ok && !ref.PublishedAt.IsZero() {
				t.Errorf("got published %v, want zero (unknown)", ref.PublishedAt)
			}
		})
	}
}

func TestConcurrentInserts(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+100)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				a, m := testArticle(w*each + i)
				if _, err := s.Insert(ctx, a, m); err != nil {
					errs <- err
				}
			}
		})
	}
	// Readers run alongside the writers, as the pipeline's workers do.
	for r := range 2 {
		wg.Go(func() {
			for i := range 50 {
				a, _ := testArticle(r*50 + i)
				if _, err := s.HasURL(ctx, a.CanonicalURL); err != nil {
					errs <- err
				}
				if _, err := s.Pending(ctx, 0, 10); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("got error %v (class %q), want none", err, Classify(err))
	}
	if arts, pend := counts(t, s); arts != writers*each || pend != writers*each {
		t.Errorf("got %d articles, %d pending; want %d each", arts, pend, writers*each)
	}
	assertSeqsIncreasing(t, s, writers*each)
}

func TestConcurrentInsertsTwoHandles(t *testing.T) {
	// Two Stores on one file stand for two processes: only SQLite's locking and the busy
	// timeout keep them apart.
	path := t.TempDir() + "/feedd.db"
	stores := []*Store{openAt(t, path), openAt(t, path)}
	const perStore, each = 3, 15
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*perStore*each)
	for si, s := range stores {
		for w := range perStore {
			wg.Go(func() {
				for i := range each {
					a, m := testArticle((si*perStore+w)*each + i)
					if _, err := s.Insert(t.Context(), a, m); err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("got error %v (class %q), want none", err, Classify(err))
	}
	want := int64(len(stores) * perStore * each)
	if arts, pend := counts(t, stores[0]); arts != want || pend != want {
		t.Errorf("got %d articles, %d pending; want %d each", arts, pend, want)
	}
}

// assertSeqsIncreasing checks that Pending returns n messages in strictly increasing seq order.
func assertSeqsIncreasing(t *testing.T, s *Store, n int) {
	t.Helper()
	msgs, err := s.Pending(t.Context(), 0, n+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("got %d pending, want %d", len(msgs), n)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq <= msgs[i-1].Seq {
			t.Fatalf("seq %d follows %d: not increasing", msgs[i].Seq, msgs[i-1].Seq)
		}
	}
}

func TestInsertFailingMidwayLeavesNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Store) // runs on a store holding testArticle(0)
		ctx   func(t *testing.T) context.Context
		msg   func(m Message) Message
		check func(t *testing.T, err error)
	}{
		{
			name: "outbox insert fails after the article row",
			setup: func(t *testing.T, s *Store) {
				// A trigger makes the second statement of the transaction fail.
				_, err := s.db.ExecContext(t.Context(), `
CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN NEW.subject = 'articles.boom'
BEGIN SELECT RAISE(FAIL, 'boom'); END`)
				if err != nil {
					t.Fatal(err)
				}
			},
			msg: func(m Message) Message { m.Subject = "articles.boom"; return m },
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "boom") {
					t.Errorf("got error %v, want the trigger's", err)
				}
			},
		},
		{
			name: "outbox message id already queued",
			msg:  func(m Message) Message { m.MsgID = fmt.Sprintf("%064x", 1); return m },
			check: func(t *testing.T, err error) {
				if err == nil || errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "message id") {
					t.Errorf("got error %v, want a duplicate message id that is not ErrExists", err)
				}
			},
		},
		{
			name: "context canceled",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("got error %v, want context.Canceled", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			first, firstMsg := testArticle(0)
			mustInsert(t, s, first, firstMsg)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			a, m := testArticle(1)
			bad := m
			if tt.msg != nil {
				bad = tt.msg(m)
			}

			_, err := s.Insert(ctx, a, bad)
			tt.check(t, err)

			if arts, pend := counts(t, s); arts != 1 || pend != 1 {
				t.Errorf("got %d articles, %d pending; want 1, 1", arts, pend)
			}
			if ok, err := s.HasURL(t.Context(), a.CanonicalURL); err != nil || ok {
				t.Errorf("HasURL of the failed article = %v, %v; want false", ok, err)
			}
			// No key of the failed article survives: it can be recorded now.
			mustInsert(t, s, a, m)
		})
	}
}

func TestInsertMessageRoundTrip(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name   string
		header map[string]string
		data   []byte
	}{
		{"headers and body", map[string]string{"Nats-Msg-Id": "x", "ce-source": "feedd/الجزيرة"}, []byte(`{"title":"خبر"}`)},
		{"no header no body", nil, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, m := testArticle(i)
			m.Header, m.Data = tt.header, tt.data
			m.CreatedAt = time.Time{} // filled in by Insert
			before := time.Now().Truncate(time.Millisecond)
			seq := mustInsert(t, s, a, m)
			msgs, err := s.Pending(t.Context(), seq-1, 1)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("Pending = %v, %v; want one message", msgs, err)
			}
			got := msgs[0]
			if got.Seq != seq || got.MsgID != m.MsgID || got.Subject != m.Subject ||
				string(got.Data) != string(tt.data) || got.Attempts != 0 || got.LastError != "" {
				t.Errorf("got %+v, want %+v with seq %d", got, m, seq)
			}
			if len(got.Header) != len(tt.header) {
				t.Errorf("got header %v, want %v", got.Header, tt.header)
			}
			for k, v := range tt.header {
				if got.Header[k] != v {
					t.Errorf("got header %s = %q, want %q", k, got.Header[k], v)
				}
			}
			if got.CreatedAt.Before(before) || got.CreatedAt.Location() != time.UTC {
				t.Errorf("got created %v, want UTC at or after %v", got.CreatedAt, before)
			}
		})
	}
}
