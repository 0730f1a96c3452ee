package pipeline

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/store"
)

// gatedStore is a store whose index restore (the fingerprint scan) waits for gate to be closed,
// then fails with fail when it is set.
type gatedStore struct {
	*store.Store
	gate chan struct{}
	fail error
}

func (g gatedStore) Fingerprints(ctx context.Context, since time.Time, fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error {
	<-g.gate
	if g.fail != nil {
		return g.fail
	}
	return g.Store.Fingerprints(ctx, since, fn)
}

// twoFeeds serves two corpus feeds, a and b, and returns them.
func twoFeeds(t *testing.T) (a, b Feed) {
	t.Helper()
	mux := http.NewServeMux()
	for _, name := range []string{"elaph.xml", "cnn-arabic.xml"} {
		body, err := os.ReadFile(filepath.Join(corpusFeeds, name))
		if err != nil {
			t.Skipf("corpus not available: %v", err)
		}
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return Feed{ID: "elaph", URL: srv.URL + "/elaph.xml", Name: "إيلاف", Lang: "ar"},
		Feed{ID: "cnn", URL: srv.URL + "/cnn-arabic.xml", Name: "CNN", Lang: "ar"}
}

// TestStartRestoreOverlapsPolling: while the duplicate index is restored, a poll whose items are
// all repeats completes, and a poll with new items waits for the restore before it records them.
func TestStartRestoreOverlapsPolling(t *testing.T) {
	a, b := twoFeeds(t)
	ctx := t.Context()
	s := openStore(t)
	newPipeline := func(st Store) *Pipeline {
		return New(Options{Feeds: []Feed{a}, Logger: testLogger(t)}, fetcher.New(fetcher.Options{Timeout: 5 * time.Second}),
			st, NewRelay(s, nil, testLogger(t), NewMetrics(nil)))
	}
	first := newPipeline(s)
	if err := first.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if c := first.PollAll(ctx); c.New == 0 || c.Failed != 0 {
		t.Fatalf("first poll: %+v, want new articles", c)
	}

	gated := gatedStore{Store: s, gate: make(chan struct{})}
	p := newPipeline(gated)
	wait := p.StartRestore(ctx)

	repeats := make(chan Counts, 1)
	go func() { repeats <- p.PollAll(ctx) }()
	select {
	case c := <-repeats:
		if c.Repeats == 0 || c.Repeats != c.Items || c.Failed != 0 {
			t.Errorf("poll of repeats during the restore: %+v, want every item a repeat", c)
		}
	case <-time.After(time.Minute):
		close(gated.gate)
		t.Fatal("a poll of repeats waited for the index restore")
	}

	fresh := make(chan pollResult, 1)
	go func() { fresh <- p.poll(ctx, b, nil) }()
	select {
	case r := <-fresh:
		t.Fatalf("a poll with new items ended before the index was restored: %+v", r.counts)
	case <-time.After(300 * time.Millisecond):
	}
	close(gated.gate)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if r := <-fresh; r.err != nil || r.counts.New == 0 {
		t.Errorf("poll with new items after the restore: %+v (%v), want them recorded", r.counts, r.err)
	}
}

// TestStartRestoreFailed: when the restore fails, a poll with new items records nothing and ends
// with the restore's error; the feed's state is left as it was (no validators, so its next poll
// reads it again; no failure or backoff booked against the feed, which did nothing wrong).
func TestStartRestoreFailed(t *testing.T) {
	_, b := twoFeeds(t)
	ctx := t.Context()
	s := openStore(t)
	broken := errors.New("the disk said no")
	gated := gatedStore{Store: s, gate: make(chan struct{}), fail: broken}
	close(gated.gate)
	p := New(Options{Feeds: []Feed{b}, Logger: testLogger(t)}, fetcher.New(fetcher.Options{Timeout: 5 * time.Second}),
		gated, NewRelay(s, nil, testLogger(t), NewMetrics(nil)))
	wait := p.StartRestore(ctx)
	if err := wait(); !errors.Is(err, broken) {
		t.Fatalf("restore: got %v, want %v", err, broken)
	}
	r := p.poll(ctx, b, nil)
	if !errors.Is(r.err, broken) || r.counts.New != 0 || r.counts.Failed != 0 {
		t.Errorf("poll after a failed restore: %+v (%v), want it ended with the restore's error, not a feed failure", r.counts, r.err)
	}
	if articles, _ := counts(t, s); articles != 0 {
		t.Errorf("%d articles recorded without a duplicate index, want none", articles)
	}
	if st, _, _ := s.Feed(ctx, b.ID); st.ETag != "" || st.LastModified != "" {
		t.Errorf("feed state %+v saved validators: the next poll would not read the items again", st)
	} else if st.ConsecutiveFailures != 0 || !st.NextPollAt.IsZero() {
		t.Errorf("feed state %+v: a failed restore was booked against the feed", st)
	}
}
