package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fill inserts n articles and returns their outbox sequence numbers.
func fill(t *testing.T, s *Store, n int) []int64 {
	t.Helper()
	seqs := make([]int64, n)
	for i := range n {
		a, m := testArticle(i)
		seqs[i] = mustInsert(t, s, a, m)
	}
	return seqs
}

func pendingSeqs(t *testing.T, s *Store, after int64, limit int) []int64 {
	t.Helper()
	msgs, err := s.Pending(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("Pending(%d, %d): %v", after, limit, err)
	}
	seqs := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

func TestPendingPaging(t *testing.T) {
	s := openTest(t)
	seqs := fill(t, s, 7)
	tests := []struct {
		name  string
		after int64
		limit int
		want  []int64
	}{
		{"first page", 0, 3, seqs[0:3]},
		{"second page", seqs[2], 3, seqs[3:6]},
		{"last page", seqs[5], 3, seqs[6:7]},
		{"past the end", seqs[6], 3, []int64{}},
		{"all", 0, 100, seqs},
		{"negative after", -5, 1, seqs[0:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pendingSeqs(t, s, tt.after, tt.limit); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.Pending(t.Context(), 0, limit); err == nil {
			t.Errorf("Pending(0, %d) = nil error, want one", limit)
		}
	}
}

func TestMarkSent(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	seqs := fill(t, s, 5)

	if err := s.MarkSent(ctx, []int64{seqs[1], seqs[3], 9999}, base); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if got, want := pendingSeqs(t, s, 0, 10), []int64{seqs[0], seqs[2], seqs[4]}; !reflect.DeepEqual(got, want) {
		t.Errorf("got pending %v, want %v", got, want)
	}
	depth, err := s.OutboxDepth(ctx)
	if err != nil || depth != 3 {
		t.Errorf("OutboxDepth = %d, %v; want 3", depth, err)
	}
	if err := s.MarkSent(ctx, nil, base); err != nil {
		t.Errorf("MarkSent(nil) = %v, want nil", err)
	}
	if err := s.MarkSent(ctx, seqs[:1], time.Time{}); err == nil {
		t.Error("MarkSent at the zero time = nil error, want one")
	}
	// Marking again keeps the first send time: a later prune must not see it as newer.
	if err := s.MarkSent(ctx, []int64{seqs[1]}, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneSent(ctx, base.Add(time.Millisecond)); err != nil || n != 2 {
		t.Errorf("PruneSent = %d, %v; want 2", n, err)
	}
}

func TestPruneSent(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	seqs := fill(t, s, 4)
	if err := s.MarkSent(ctx, seqs[0:1], base); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, seqs[1:2], base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		before time.Time
		want   int64
	}{
		{"zero time prunes nothing", time.Time{}, 0},
		{"bound is exclusive", base, 0},
		{"older one", base.Add(time.Minute), 1},
		{"again: nothing left that old", base.Add(time.Minute), 0},
		{"everything sent; unsent kept", base.Add(48 * time.Hour), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.PruneSent(ctx, tt.before)
			if err != nil || n != tt.want {
				t.Errorf("got %d, %v; want %d", n, err, tt.want)
			}
		})
	}
	if got, want := pendingSeqs(t, s, 0, 10), seqs[2:]; !reflect.DeepEqual(got, want) {
		t.Errorf("got pending %v, want %v", got, want)
	}
}

func TestSeqNeverReused(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	seqs := fill(t, s, 3)
	if err := s.MarkSent(ctx, seqs, base); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneSent(ctx, base.Add(time.Second)); err != nil || n != 3 {
		t.Fatalf("PruneSent = %d, %v; want 3", n, err)
	}
	a, m := testArticle(100)
	if seq := mustInsert(t, s, a, m); seq <= seqs[2] {
		t.Errorf("got seq %d after pruning up to %d, want a larger one", seq, seqs[2])
	}
}

func TestRecordFailure(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	seqs := fill(t, s, 3)
	if err := s.RecordFailure(ctx, seqs[:2], "nats: timeout"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFailure(ctx, seqs[1:2], "nats: no responders"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, seqs[2:], base); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFailure(ctx, seqs[2:], "too late"); err != nil { // sent: unchanged
		t.Fatal(err)
	}
	msgs, err := s.Pending(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		attempts int
		lastErr  string
	}
	var got []state
	for _, m := range msgs {
		got = append(got, state{m.Attempts, m.LastError})
	}
	want := []state{{1, "nats: timeout"}, {2, "nats: no responders"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := s.RecordFailure(ctx, nil, "x"); err != nil {
		t.Errorf("RecordFailure(nil) = %v, want nil", err)
	}
}

func TestOutboxDepthAndCounts(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	if d, err := s.OutboxDepth(ctx); err != nil || d != 0 {
		t.Errorf("empty OutboxDepth = %d, %v; want 0", d, err)
	}
	seqs := fill(t, s, 4)
	if err := s.MarkSent(ctx, seqs[:3], base); err != nil {
		t.Fatal(err)
	}
	if d, err := s.OutboxDepth(ctx); err != nil || d != 1 {
		t.Errorf("OutboxDepth = %d, %v; want 1", d, err)
	}
	if _, err := s.PruneSent(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Pruning the outbox keeps the articles: repeats are still recognised.
	if arts, pend := counts(t, s); arts != 4 || pend != 1 {
		t.Errorf("got %d articles, %d pending; want 4, 1", arts, pend)
	}
}

func TestClosedStoreErrors(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir()+"/feedd.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "feedd.db") {
		t.Errorf("Ping after Close = %v, want an error naming the file", err)
	}
	if _, err := s.OutboxDepth(t.Context()); err == nil {
		t.Error("OutboxDepth after Close = nil error, want one")
	}
}

func TestSeqRuns(t *testing.T) {
	tests := []struct {
		name string
		seqs []int64
		want [][2]int64
	}{
		{"one", []int64{5}, [][2]int64{{5, 5}}},
		{"consecutive", []int64{3, 4, 5, 6}, [][2]int64{{3, 6}}},
		{"gaps and disorder", []int64{9, 1, 2, 7, 3, 8, 12}, [][2]int64{{1, 3}, {7, 9}, {12, 12}}},
		{"repeats", []int64{4, 4, 5, 5, 7}, [][2]int64{{4, 5}, {7, 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seqRuns(tt.seqs); !slices.Equal(got, tt.want) {
				t.Errorf("seqRuns(%v) = %v, want %v", tt.seqs, got, tt.want)
			}
		})
	}
}

// TestPendingBodiesSurviveLaterRows reads many messages with distinct bodies of every size class
// (empty, in the row, on overflow pages) in one call and checks each body after all are read:
// Pending keeps the driver's slices rather than copying them, which is only right while the
// driver never reuses a slice for a later row.
func TestPendingBodiesSurviveLaterRows(t *testing.T) {
	s := openTest(t)
	const n = 300
	want := make([][]byte, n)
	for i := range n {
		a, m := testArticle(i)
		m.Data = bytes.Repeat([]byte{byte('a' + i%26), byte(i)}, (i*97)%7000)
		want[i] = m.Data
		mustInsert(t, s, a, m)
	}
	msgs, err := s.Pending(t.Context(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("got %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Data, want[i]) {
			t.Errorf("message %d: got a body of %d bytes starting %q, want %d bytes starting %q",
				i, len(m.Data), m.Data[:min(len(m.Data), 8)], len(want[i]), want[i][:min(len(want[i]), 8)])
		}
	}
}

// TestPendingStopsAtByteBound checks that a page of large messages stops once its bodies reach
// 8 MiB, always returning at least one, and that paging still reaches every message in order.
func TestPendingStopsAtByteBound(t *testing.T) {
	s := openTest(t)
	sizes := []int{3 << 20, 3 << 20, 3 << 20, 9 << 20, 1, 2}
	var want []int64
	for i, n := range sizes {
		a, m := testArticle(i)
		m.Data = bytes.Repeat([]byte{byte('a' + i)}, n)
		want = append(want, mustInsert(t, s, a, m))
	}
	var pages [][]int64
	var after int64
	for {
		msgs, err := s.Pending(t.Context(), after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		var page []int64
		for _, m := range msgs {
			if i := slices.Index(want, m.Seq); i < 0 || len(m.Data) != sizes[i] {
				t.Fatalf("message %d: %d bytes, not one of those inserted", m.Seq, len(m.Data))
			}
			page = append(page, m.Seq)
		}
		pages = append(pages, page)
		after = msgs[len(msgs)-1].Seq
	}
	// 3+3+3 MiB reach the bound at the third; the 9 MiB message makes a page of its own.
	wantPages := [][]int64{want[0:3], want[3:4], want[4:6]}
	if !reflect.DeepEqual(pages, wantPages) {
		t.Errorf("got pages %v, want %v", pages, wantPages)
	}
}

// TestUnsentFollowsTheOutbox: the count Unsent keeps without a query equals the unsent rows
// through single inserts, a batch with a refused repeat, a rolled back batch, marks (repeated
// and unknown sequence numbers included), a prune, and a reopening.
func TestUnsentFollowsTheOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feedd.db")
	s := openAt(t, path)
	ctx := t.Context()
	check := func(step string, want int64) {
		t.Helper()
		if _, pending := counts(t, s); pending != want {
			t.Fatalf("%s: %d rows unsent, want %d", step, pending, want)
		}
		if got := s.Unsent(); got != want {
			t.Errorf("%s: Unsent() = %d, want %d", step, got, want)
		}
	}
	check("empty", 0)
	seqs := fill(t, s, 5)
	check("five inserts", 5)

	b, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 8; i++ {
		a, m := testArticle(i)
		if _, err := b.Insert(ctx, a, m); err != nil {
			t.Fatal(err)
		}
	}
	rep, repMsg := testArticle(8)
	rep.CanonicalURL = "https://www.aljazeera.net/news/0"
	if _, err := b.Insert(ctx, rep, repMsg); !errors.Is(err, ErrExists) {
		t.Fatalf("repeat in a batch: got %v, want ErrExists", err)
	}
	check("a batch not yet committed", 5)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	check("a batch of three and a repeat", 8)

	b, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, m := testArticle(20)
	if _, err := b.Insert(ctx, a, m); err != nil {
		t.Fatal(err)
	}
	if err := b.Rollback(); err != nil {
		t.Fatal(err)
	}
	check("a rolled back batch", 8)

	if err := s.MarkSent(ctx, []int64{seqs[0], seqs[1], seqs[1], 999}, time.Now()); err != nil {
		t.Fatal(err)
	}
	check("two marked, one of them twice, and an unknown one", 6)
	if err := s.MarkSent(ctx, seqs[:3], time.Now()); err != nil {
		t.Fatal(err)
	}
	check("one more marked among two already sent", 5)
	if _, err := s.PruneSent(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("sent rows pruned", 5)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	check("reopened", 5)
}
