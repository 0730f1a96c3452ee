package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedd/feedd/store"
	"github.com/mmcdole/gofeed"
)

// gatedStore is the real store with a gate on Begin: a test can hold a poll's batch between its
// decisions and its write, or fail the write, to see what other polls decide meanwhile.
type gatedStore struct {
	*store.Store
	begin func() error
}

func (g gatedStore) Begin(ctx context.Context) (*store.Batch, error) {
	if err := g.begin(); err != nil {
		return nil, err
	}
	return g.Store.Begin(ctx)
}

// holdFirstBegin returns s with its first Begin held: held is closed when that Begin is
// reached, which then waits for release to be closed and fails with err (nil: goes ahead).
func holdFirstBegin(s *store.Store, err error) (g gatedStore, held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	return gatedStore{s, func() error {
		if first.Swap(false) {
			close(held)
			<-release
			return err
		}
		return nil
	}}, held, release
}

const storyText = `أعلنت وزارة الصحة السعودية اليوم تسجيل 12 حالة إصابة جديدة بفيروس كورونا في مدينة الرياض ` +
	`خلال الأسبوع الماضي، مشيرة إلى أن الفرق الطبية باشرت عزل المخالطين في المستشفيات الحكومية. ` +
	`وقال المتحدث الرسمي باسم الوزارة إن الحالات المسجلة شملت ثلاثة من العاملين في القطاع الصحي، ` +
	`وإن الوزارة رفعت درجة الاستعداد في المنشآت الصحية بالمنطقة الوسطى تحسبا لارتفاع عدد الإصابات.`

// storyEntries assembles one item of a feed telling the story, at a URL of the feed's own.
func storyEntries(t *testing.T, a *assembler, feedID, lead string) []entry {
	t.Helper()
	f := Feed{ID: feedID, URL: "https://" + feedID + ".example/rss", Name: feedID, Lang: "ar"}
	parsed := &gofeed.Feed{Title: feedID, Items: []*gofeed.Item{{
		Title:   "الصحة تسجل 12 إصابة بكورونا",
		Link:    fmt.Sprintf("https://%s.example/news/1", feedID),
		Content: "<p>" + lead + storyText + "</p>",
	}}}
	es := a.assemble(f, parsed, f.URL, time.Date(2015, 8, 1, 9, 0, 0, 0, time.UTC))
	if len(es) != 1 {
		t.Fatalf("assembled %d entries, want 1", len(es))
	}
	return es
}

// TestIngestDecisionsSeeBatchesNotYetWritten holds one poll's batch between its decision and
// its write while another poll brings a copy of the story: the copy is its duplicate, it is
// written after the original, and both are recorded once the first batch is let go.
func TestIngestDecisionsSeeBatchesNotYetWritten(t *testing.T) {
	s := openStore(t)
	g, held, release := holdFirstBegin(s, nil)
	p := New(Options{}, nil, g, nil)
	a := newAssembler()
	spa, okaz := storyEntries(t, a, "spa", ""), storyEntries(t, a, "okaz", "الرياض - واس: ")

	results := make(chan Counts, 2)
	ingest := func(es []entry) {
		c, err := p.ingest(t.Context(), es)
		if err != nil {
			t.Error(err)
		}
		results <- c
	}
	go ingest(spa)
	<-held // spa's article is decided, not written
	go ingest(okaz)
	waitBatches(t, p, 2) // okaz's is decided too, and waits for spa's
	close(release)
	var total Counts
	for range 2 {
		total.add(<-results)
	}
	if total.New != 1 || total.Duplicates != 1 || okaz[0].art.DuplicateOf != spa[0].art.ID {
		t.Errorf("got %+v, the copy a duplicate of %q; want 1 new and its copy a duplicate of %s",
			total, okaz[0].art.DuplicateOf, spa[0].art.ID)
	}
	// The original is written, and so published, before its duplicate.
	msgs, err := s.Pending(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].MsgID != spa[0].art.ID || msgs[1].MsgID != okaz[0].art.ID {
		t.Errorf("outbox order: got %d messages %v, want the original %s then its copy", len(msgs), msgIDs(msgs), spa[0].art.ID)
	}
}

// TestIngestBatchDecidedOnAFailedOneFails fails the write of a poll whose article a second poll
// decided its copy against: the second poll fails too, so that nothing recorded points at an
// article that was not, and the next polls record the story and its copy as they should.
func TestIngestBatchDecidedOnAFailedOneFails(t *testing.T) {
	s := openStore(t)
	g, held, release := holdFirstBegin(s, errors.New("disk on fire"))
	p := New(Options{}, nil, g, nil)
	a := newAssembler()
	spa, okaz := storyEntries(t, a, "spa", ""), storyEntries(t, a, "okaz", "الرياض - واس: ")
	errs := make(chan error, 2)
	go func() { _, err := p.ingest(t.Context(), spa); errs <- err }()
	<-held
	go func() { _, err := p.ingest(t.Context(), okaz); errs <- err }()
	waitBatches(t, p, 2)
	close(release)
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("ingest: got nil, want both polls to fail")
		}
	}
	if n, _ := counts(t, s); n != 0 {
		t.Fatalf("store holds %d articles after both writes failed, want 0", n)
	}
	if n := p.decider.Len(); n != 0 {
		t.Errorf("index holds %d articles after both writes failed, want 0", n)
	}
	// The next polls, okaz's first this time.
	okaz, spa = storyEntries(t, a, "okaz", "الرياض - واس: "), storyEntries(t, a, "spa", "")
	c1, err1 := p.ingest(t.Context(), okaz)
	c2, err2 := p.ingest(t.Context(), spa)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if c1.New != 1 || c2.Duplicates != 1 || spa[0].art.DuplicateOf != okaz[0].art.ID {
		t.Errorf("next polls: got %+v and %+v, spa a duplicate of %q; want okaz new and spa its duplicate",
			c1, c2, spa[0].art.DuplicateOf)
	}
}

// waitBatches waits until n batches are decided and not yet written.
func waitBatches(t *testing.T, p *Pipeline, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.ingestMu.Lock()
		got := len(p.batches)
		p.ingestMu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d batches in flight, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func msgIDs(msgs []store.Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.MsgID
	}
	return ids
}

// TestIngestFailedWriteIsForgotten fails a poll's write: nothing is recorded, the duplicate index
// forgets the poll's articles, and the next poll of the same items records them as new, not as
// duplicates of themselves.
func TestIngestFailedWriteIsForgotten(t *testing.T) {
	s := openStore(t)
	fail := true
	p := New(Options{}, nil, gatedStore{s, func() error {
		if fail {
			fail = false
			return errors.New("disk on fire")
		}
		return nil
	}}, nil)
	a := newAssembler()
	es := storyEntries(t, a, "spa", "")
	if _, err := p.ingest(t.Context(), es); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("ingest with a failing write: got %v, want the write's error", err)
	}
	if n := p.decider.Len(); n != 0 {
		t.Errorf("index holds %d articles after the failed write, want 0", n)
	}
	if len(p.inflight.ids)+len(p.inflight.urls)+len(p.inflight.content) != 0 {
		t.Errorf("keys left in flight after the failed write: %+v", p.inflight)
	}
	es = storyEntries(t, a, "spa", "")
	c, err := p.ingest(t.Context(), es)
	if err != nil {
		t.Fatal(err)
	}
	if c.New != 1 || es[0].art.DuplicateOf != "" {
		t.Errorf("next poll: got %+v, duplicate of %q; want 1 new", c, es[0].art.DuplicateOf)
	}
}

func counts(t *testing.T, s *store.Store) (articles, pending int64) {
	t.Helper()
	articles, pending, err := s.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return articles, pending
}
