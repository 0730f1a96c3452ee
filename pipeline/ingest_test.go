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

// failCommits makes the pipeline's transactions fail at Commit while fail is set, after their
// decisions and inserts: the last moment a poll can fail.
func failCommits(p *Pipeline, s *store.Store, fail *bool) {
	p.begin = func(ctx context.Context) (Tx, error) {
		tx, err := s.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return failingTx{tx, fail}, nil
	}
}

type failingTx struct {
	*store.Batch
	fail *bool
}

func (f failingTx) Commit() error {
	if *f.fail {
		_ = f.Batch.Rollback()
		return errors.New("disk on fire")
	}
	return f.Batch.Commit()
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

// TestIngestPollSeesItsOwnArticles puts a story, its copy from another outlet and a second item
// with the story's link in one poll: the copy is a duplicate of the story, the second item a
// repeat, and the outbox holds the original before its copy.
func TestIngestPollSeesItsOwnArticles(t *testing.T) {
	s := openStore(t)
	p := New(Options{}, nil, s, nil)
	a := newAssembler()
	spa, okaz := storyEntries(t, a, "spa", ""), storyEntries(t, a, "okaz", "الرياض - واس: ")
	again := storyEntries(t, a, "spa", "")
	again[0].art.ID += "-again" // another item, the same link
	again[0].doc.GUID = "another"
	es := []entry{spa[0], okaz[0], again[0]}
	c, err := p.ingest(t.Context(), es)
	if err != nil {
		t.Fatal(err)
	}
	if c.New != 1 || c.Duplicates != 1 || c.Repeats != 1 || es[1].art.DuplicateOf != es[0].art.ID {
		t.Errorf("got %+v, the copy a duplicate of %q; want 1 new, 1 duplicate of %s, 1 repeat",
			c, es[1].art.DuplicateOf, es[0].art.ID)
	}
	msgs, err := s.Pending(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].MsgID != es[0].art.ID || msgs[1].MsgID != es[1].art.ID {
		t.Errorf("outbox order: got %d messages %v, want the original %s then its copy", len(msgs), msgIDs(msgs), es[0].art.ID)
	}
}

// TestIngestConcurrentPolls records two outlets' copies of a story from many concurrent polls:
// whatever the order, one is new and the other its duplicate, and each is recorded once.
func TestIngestConcurrentPolls(t *testing.T) {
	s := openStore(t)
	p := New(Options{}, nil, s, nil)
	a := newAssembler()
	results := make(chan Counts, 8)
	for i := range 8 {
		es := storyEntries(t, a, "spa", "")
		if i%2 == 1 {
			es = storyEntries(t, a, "okaz", "الرياض - واس: ")
		}
		go func() {
			c, err := p.ingest(t.Context(), es)
			if err != nil {
				t.Error(err)
			}
			results <- c
		}()
	}
	var total Counts
	for range 8 {
		total.add(<-results)
	}
	if total.New != 1 || total.Duplicates != 1 || total.Repeats != 6 {
		t.Errorf("got %+v, want 1 new, 1 duplicate, 6 repeats", total)
	}
	if n, _ := counts(t, s); n != 2 {
		t.Errorf("store holds %d articles, want 2", n)
	}
}

// TestIngestFailedPollFailsAlone fails the commit of a poll: nothing of it is recorded, the
// duplicate index forgets its article, the next poll of another outlet's copy is recorded as new
// (a failed poll takes no other down with it), and the failed poll's story, brought again, is
// that copy's duplicate, not a duplicate of itself.
func TestIngestFailedPollFailsAlone(t *testing.T) {
	s := openStore(t)
	p := New(Options{}, nil, s, nil)
	fail := true
	failCommits(p, s, &fail)
	a := newAssembler()
	spa := storyEntries(t, a, "spa", "")
	if _, err := p.ingest(t.Context(), spa); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("ingest with a failing commit: got %v, want the commit's error", err)
	}
	if n := p.decider.Len(); n != 0 {
		t.Errorf("index holds %d articles after the failed commit, want 0", n)
	}
	if n, _ := counts(t, s); n != 0 {
		t.Fatalf("store holds %d articles after the failed commit, want 0", n)
	}
	fail = false
	okaz := storyEntries(t, a, "okaz", "الرياض - واس: ")
	c1, err := p.ingest(t.Context(), okaz)
	if err != nil {
		t.Fatal(err)
	}
	spa = storyEntries(t, a, "spa", "")
	c2, err := p.ingest(t.Context(), spa)
	if err != nil {
		t.Fatal(err)
	}
	if c1.New != 1 || c2.Duplicates != 1 || spa[0].art.DuplicateOf != okaz[0].art.ID {
		t.Errorf("next polls: got %+v and %+v, spa a duplicate of %q; want okaz new and spa its duplicate",
			c1, c2, spa[0].art.DuplicateOf)
	}
}

func msgIDs(msgs []store.Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.MsgID
	}
	return ids
}

func counts(t *testing.T, s *store.Store) (articles, pending int64) {
	t.Helper()
	articles, pending, err := s.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return articles, pending
}
