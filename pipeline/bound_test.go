package pipeline

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// depthCountingStore counts the queries that count the outbox.
type depthCountingStore struct {
	Store
	queries atomic.Int64
}

func (s *depthCountingStore) OutboxDepth(ctx context.Context) (int64, error) {
	s.queries.Add(1)
	return s.Store.OutboxDepth(ctx)
}

// TestOutboxBoundCostsNoQuery: with outbox.max_pending set, the scheduler's look at the bound,
// made on every turn of its loop, reads the count the store keeps and never counts the rows;
// it pauses at the bound and resumes below it.
func TestOutboxBoundCostsNoQuery(t *testing.T) {
	s := openStore(t)
	cs := &depthCountingStore{Store: s}
	p := New(Options{MaxPending: 3, Logger: testLogger(t)}, nil, cs, NewRelay(cs, nil, testLogger(t), NewMetrics(nil)))
	ctx := context.Background()
	paused := false
	insertN(t, s, 0, 2)
	for range 100 {
		if p.outboxFull(ctx, &paused) {
			t.Fatal("outboxFull with 2 of 3 rows: got true, want false")
		}
	}
	insertN(t, s, 2, 1)
	if !p.outboxFull(ctx, &paused) || testutil.ToFloat64(p.m.PollingPaused) != 1 {
		t.Fatal("outboxFull with 3 of 3 rows: not paused")
	}
	rows, err := s.Pending(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, []int64{rows[0].Seq}, rows[0].CreatedAt); err != nil {
		t.Fatal(err)
	}
	if p.outboxFull(ctx, &paused) || testutil.ToFloat64(p.m.PollingPaused) != 0 {
		t.Fatal("outboxFull after one row was sent: still paused")
	}
	if n := cs.queries.Load(); n != 0 {
		t.Errorf("the outbox was counted %d times, want 0", n)
	}
}
