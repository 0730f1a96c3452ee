package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// its write while another poll brings a copy of the story: the copy is its duplicate, and both
// are recorded once the first batch is let go.
func TestIngestDecisionsSeeBatchesNotYetWritten(t *testing.T) {
	s := openStore(t)
	held, release := make(chan struct{}), make(chan struct{})
	first := true
	p := New(Options{}, nil, gatedStore{s, func() error {
		if first {
			first = false
			close(held)
			<-release
		}
		return nil
	}}, nil)
	a := newAssembler()
	spa, okaz := storyEntries(t, a, "spa", ""), storyEntries(t, a, "okaz", "الرياض - واس: ")

	done := make(chan Counts)
	go func() {
		c, err := p.ingest(t.Context(), spa)
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	<-held // spa's article is decided, not written
	c, err := p.ingest(t.Context(), okaz)
	if err != nil {
		t.Fatal(err)
	}
	if c.Duplicates != 1 || okaz[0].art.DuplicateOf != spa[0].art.ID {
		t.Errorf("copy decided while the original was being written: got %+v, duplicate of %q; want a duplicate of %s",
			c, okaz[0].art.DuplicateOf, spa[0].art.ID)
	}
	close(release)
	if c := <-done; c.New != 1 {
		t.Errorf("original: got %+v, want 1 new", c)
	}
	if n, _ := counts(t, s); n != 2 {
		t.Errorf("store holds %d articles, want 2", n)
	}
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
