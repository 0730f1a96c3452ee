package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/store"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmcdole/gofeed"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock and fires the waiters that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// waitingFor reports whether someone waits for the clock to reach t.
func (c *fakeClock) waitingFor(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Truncate(time.Millisecond).Equal(t.Truncate(time.Millisecond)) {
			return true
		}
	}
	return false
}

// pending counts the waiters.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func TestPolicyAfterSuccess(t *testing.T) {
	p := Policy{MinInterval: 2 * time.Minute, MaxInterval: 6 * time.Hour}
	tests := []struct {
		name            string
		base, gap, hint time.Duration
		lo, hi          time.Duration
	}{
		{"base with jitter", 10 * time.Minute, 0, 0, 9 * time.Minute, 11 * time.Minute},
		{"cache hint longer than base wins", 5 * time.Minute, 0, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute},
		{"cache hint shorter than base is ignored", 10 * time.Minute, 0, time.Minute, 9 * time.Minute, 11 * time.Minute},
		{"busy feed polled more often, at most 4x", 20 * time.Minute, time.Minute, 0, 4*time.Minute + 30*time.Second, 5*time.Minute + 30*time.Second},
		{"slow feed polled less often, at most 4x less", 10 * time.Minute, 12 * time.Hour, 0, 36 * time.Minute, 44 * time.Minute},
		{"never below min_interval", time.Minute, 0, 0, 2 * time.Minute, 2 * time.Minute},
		{"never above max_interval", 5 * time.Hour, 20 * time.Hour, 48 * time.Hour, 6 * time.Hour, 6 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 200 {
				if got := p.afterSuccess(tt.base, tt.gap, tt.hint); got < tt.lo || got > tt.hi {
					t.Fatalf("got %v, want within [%v, %v]", got, tt.lo, tt.hi)
				}
			}
		})
	}
}

func TestPolicyAfterFailure(t *testing.T) {
	p := Policy{MinInterval: time.Minute, MaxInterval: 6 * time.Hour}
	// The upper bound of the wait doubles per failure from 5 minutes and stops at 6 hours.
	tests := []struct {
		n          int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{1, 0, 150 * time.Second, 5 * time.Minute},
		{2, 0, 5 * time.Minute, 10 * time.Minute},
		{4, 0, 20 * time.Minute, 40 * time.Minute},
		{7, 0, 160 * time.Minute, 320 * time.Minute},
		{8, 0, 3 * time.Hour, 6 * time.Hour},
		{50, 0, 3 * time.Hour, 6 * time.Hour},
		{1, time.Hour, time.Hour, time.Hour},
		{1, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		{1, 100 * time.Hour, MaxRetryAfter, MaxRetryAfter},
	}
	for _, tt := range tests {
		for range 200 {
			if got := p.afterFailure(10*time.Minute, tt.n, tt.retryAfter); got < tt.lo || got > tt.hi {
				t.Fatalf("failure %d, retry-after %v: got %v, want within [%v, %v]", tt.n, tt.retryAfter, got, tt.lo, tt.hi)
			}
		}
	}
}

func TestPublishingGap(t *testing.T) {
	fetched := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	at := func(mins ...int) []*gofeed.Item {
		var items []*gofeed.Item
		for _, m := range mins {
			t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
			items = append(items, &gofeed.Item{PublishedParsed: &t})
		}
		return items
	}
	if got := itemsGap(at(0, 10), fetched); got != 0 {
		t.Errorf("two dates: got %v, want 0", got)
	}
	if got := itemsGap(at(0, 10, 20, 30, 100), fetched); got != 10*time.Minute {
		t.Errorf("got %v, want 10m (the median gap)", got)
	}
	if got := itemsGap(at(0, 0, 0, 5), fetched); got != 0 {
		t.Errorf("duplicate dates: got %v, want 0", got)
	}
}

// scheduleHarness runs the pipeline on a fake clock against one feed handler.
type scheduleHarness struct {
	clock    *fakeClock
	requests atomic.Int64
	pipe     *Pipeline
	feed     Feed
}

func newScheduleHarness(t *testing.T, handler http.HandlerFunc, opts ...func(*Options)) *scheduleHarness {
	t.Helper()
	h := &scheduleHarness{clock: newFakeClock()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	h.feed = Feed{ID: "f", URL: srv.URL + "/feed.xml", Lang: "ar", Interval: 10 * time.Minute}
	s := openStore(t)
	o := Options{
		Feeds: []Feed{h.feed}, Concurrency: 1, PerHost: 1,
		Policy: Policy{MinInterval: time.Minute, MaxInterval: 6 * time.Hour},
		Logger: testLogger(t), Clock: h.clock,
	}
	for _, f := range opts {
		f(&o)
	}
	h.pipe = New(o, fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), s, NewRelay(s, nil, testLogger(t), NewMetrics(nil)))
	return h
}

// nextPoll returns the next poll time the pipeline stored for the feed.
func (h *scheduleHarness) nextPoll(t *testing.T) time.Time {
	t.Helper()
	st, ok, err := h.pipe.store.Feed(context.Background(), h.feed.ID)
	if err != nil || !ok {
		t.Fatalf("feed state: %v %v", ok, err)
	}
	return st.NextPollAt
}

// run starts Run and waits for the first poll to be scheduled and done.
func (h *scheduleHarness) run(t *testing.T) {
	t.Helper()
	h.start(t)
	h.awaitPolls(t, 1)
}

// start starts Run and moves the clock past the start spread.
func (h *scheduleHarness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.pipe.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for h.clock.pending() == 0 { // the scheduler sleeps until the first poll
		time.Sleep(time.Millisecond)
	}
	h.clock.Advance(11 * time.Second) // past the start spread
}

// awaitPolls waits until n requests were answered and the scheduler sleeps until the stored next
// poll: the scheduler is idle, so nothing happens until the clock moves.
func (h *scheduleHarness) awaitPolls(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if h.requests.Load() >= n {
			st, ok, _ := h.pipe.store.Feed(context.Background(), h.feed.ID)
			if ok && !st.NextPollAt.IsZero() && h.clock.waitingFor(st.NextPollAt) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests, want %d and the scheduler waiting for the next poll", h.requests.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := h.requests.Load(); got != n {
		t.Fatalf("%d requests, want %d", got, n)
	}
}

// advanceTo moves the clock to t in steps, checking that no request is made on the way.
func (h *scheduleHarness) advanceTo(t *testing.T, until time.Time, wantRequests int64) {
	t.Helper()
	for h.clock.Now().Before(until) {
		h.clock.Advance(min(time.Minute, until.Sub(h.clock.Now())))
		if got := h.requests.Load(); got != wantRequests {
			t.Fatalf("at %v: %d requests, want %d", h.clock.Now(), got, wantRequests)
		}
	}
}

func TestRunHonoursRetryAfter(t *testing.T) {
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	h.run(t)
	start := h.clock.Now()
	next := h.nextPoll(t)
	if next.Before(start.Add(time.Hour)) {
		t.Fatalf("next poll %v after a Retry-After of an hour, want at least %v", next, start.Add(time.Hour))
	}
	h.advanceTo(t, next.Add(-time.Second), 1)
	h.clock.Advance(2 * time.Second)
	h.awaitPolls(t, 2)
}

func TestRunBacksOffOnRepeatedFailure(t *testing.T) {
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	h.run(t)
	var waits []time.Duration
	for n := int64(1); n <= 10; n++ {
		next := h.nextPoll(t)
		waits = append(waits, next.Sub(h.clock.Now()))
		h.advanceTo(t, next.Add(-time.Millisecond), n)
		h.clock.Advance(time.Second)
		h.awaitPolls(t, n+1)
	}
	t.Logf("waits: %v", waits)
	// Equal jitter keeps each wait within [d/2, d] of a doubling d: over three failures the wait
	// must have grown, and it must never pass max_interval.
	for i, w := range waits {
		if w > 6*time.Hour {
			t.Errorf("wait %d is %v, over max_interval", i, w)
		}
		if i >= 3 && w <= waits[i-3] && w < 3*time.Hour {
			t.Errorf("wait %d (%v) did not grow over wait %d (%v)", i, w, i-3, waits[i-3])
		}
	}
	if last := waits[len(waits)-1]; last < 3*time.Hour {
		t.Errorf("after 10 failures the wait is %v, want at least half of max_interval", last)
	}
}

func TestRunPollsAtInterval(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpusFeeds, "elaph.xml"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	h.run(t)
	for n := int64(1); n <= 3; n++ {
		next := h.nextPoll(t)
		if d := next.Sub(h.clock.Now()); d < time.Minute || d > 6*time.Hour {
			t.Fatalf("next poll in %v", d)
		}
		h.advanceTo(t, next.Add(-time.Millisecond), n)
		h.clock.Advance(time.Second)
		h.awaitPolls(t, n+1)
	}
}

// TestRunPausesWhileOutboxFull: at outbox.max_pending unsent articles polling waits, and it
// resumes once the relay has caught up.
func TestRunPausesWhileOutboxFull(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpusFeeds, "elaph.xml"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) { w.Write(body) },
		func(o *Options) { o.MaxPending = 10 })
	h.start(t) // the first poll records 15 articles: over the bound, and nothing publishes them
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(h.pipe.m.PollingPaused) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("polling did not pause")
		}
		h.clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	h.advanceTo(t, h.nextPoll(t).Add(time.Hour), 1)

	ctx := context.Background()
	rows, err := h.pipe.store.Pending(ctx, 0, 100)
	if err != nil || len(rows) != 15 {
		t.Fatalf("pending rows: %d, %v", len(rows), err)
	}
	seqs := make([]int64, len(rows))
	for i, r := range rows {
		seqs[i] = r.Seq
	}
	if err := h.pipe.store.MarkSent(ctx, seqs, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The scheduler looks again every second of its clock.
	deadline = time.Now().Add(10 * time.Second)
	for h.requests.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("polling did not resume after the outbox drained")
		}
		h.clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunHonoursMaxAge: a feed whose responses say max-age=900 is not polled more often than
// every 15 minutes, although its interval is 5.
func TestRunHonoursMaxAge(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpusFeeds, "elaph.xml"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=900")
		w.Write(body)
	}, func(o *Options) { o.Feeds[0].Interval = 5 * time.Minute })
	h.run(t)
	for n := int64(1); n <= 3; n++ {
		start := h.clock.Now()
		next := h.nextPoll(t)
		if d := next.Sub(start); d < 15*time.Minute {
			t.Fatalf("poll %d: next poll in %v, want at least the 15 minutes of max-age", n, d)
		}
		h.advanceTo(t, next.Add(-time.Millisecond), n)
		h.clock.Advance(time.Second)
		h.awaitPolls(t, n+1)
	}
}

// TestRunManyFeedsOneHost: more feeds than workers, all on one host: every feed is polled, one
// request at a time to the host, their starts at least host_gap apart on the clock.
func TestRunManyFeedsOneHost(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpusFeeds, "elaph.xml"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	var (
		mu      sync.Mutex
		starts  []time.Time
		perFeed = map[string]int{}
		clock   *fakeClock
	)
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		starts = append(starts, clock.Now())
		perFeed[r.URL.Path]++
		mu.Unlock()
		w.Write(body)
	}, func(o *Options) {
		base := o.Feeds[0]
		o.Feeds = nil
		for i := range 6 {
			f := base
			f.ID = fmt.Sprintf("f%d", i)
			f.URL = strings.Replace(base.URL, "/feed.xml", fmt.Sprintf("/feed%d.xml", i), 1)
			o.Feeds = append(o.Feeds, f)
		}
		o.Concurrency, o.PerHost, o.HostGap = 2, 1, 3*time.Second
	})
	clock = h.clock
	h.start(t)
	deadline := time.Now().Add(20 * time.Second)
	const step = 500 * time.Millisecond
	for h.requests.Load() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 feeds polled", h.requests.Load())
		}
		h.clock.Advance(step)
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(perFeed) != 6 {
		t.Errorf("polled %d distinct feeds, want 6: %v", len(perFeed), perFeed)
	}
	// The handler reads the clock when a request arrives, which on a busy machine can be a step
	// after the limiter let it go: the gap seen may be one step short of host_gap.
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 3*time.Second-step {
			t.Errorf("requests %d and %d to one host %v apart, want at least host_gap 3s (less one clock step)", i-1, i, gap)
		}
	}
}

// TestRunServesMostOverdueFirst: when the only worker has been busy while several feeds came
// due, the most overdue goes first, whatever the order of the list.
func TestRunServesMostOverdueFirst(t *testing.T) {
	var (
		mu      sync.Mutex
		order   []string
		unblock = make(chan struct{})
	)
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, strings.TrimPrefix(r.URL.Path, "/"))
		mu.Unlock()
		if r.URL.Path == "/blocker" {
			<-unblock
		}
		http.Error(w, "broken", http.StatusInternalServerError)
	}, func(o *Options) {
		base := strings.TrimSuffix(o.Feeds[0].URL, "/feed.xml")
		o.Feeds = nil
		for _, id := range []string{"f4", "f3", "f2", "f1", "blocker"} { // least overdue listed first
			o.Feeds = append(o.Feeds, Feed{ID: id, URL: base + "/" + id, Lang: "ar", Interval: 10 * time.Minute})
		}
		o.Concurrency, o.PerHost = 1, 1
	})
	ctx := context.Background()
	now := h.clock.Now()
	due := map[string]time.Duration{"blocker": 30 * time.Second, "f1": time.Minute, "f2": 2 * time.Minute,
		"f3": 3 * time.Minute, "f4": 4 * time.Minute}
	for _, f := range h.pipe.opts.Feeds {
		if err := h.pipe.store.PutFeed(ctx, store.Feed{ID: f.ID, URL: f.URL, NextPollAt: now.Add(due[f.ID])}); err != nil {
			t.Fatal(err)
		}
	}
	h.start(t) // the clock at 11 s: nothing due
	h.advanceTo(t, now.Add(29*time.Second), 0)
	h.clock.Advance(2 * time.Second)
	waitRequests(t, &h.requests, 1) // the blocker holds the only worker
	for range 5 * 60 {              // meanwhile every other feed comes due
		h.clock.Advance(time.Second)
	}
	close(unblock)
	waitRequests(t, &h.requests, 5)
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(order, " "), "blocker f1 f2 f3 f4"; got != want {
		t.Errorf("polled in the order %q, want %q (most overdue first)", got, want)
	}
}

func waitRequests(t *testing.T, n *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests, want %d", n.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunReloadInFlight: a feed removed while its poll is in flight is not polled again once
// the poll ends; a feed whose URL changes is polled at the new URL within the start spread; a
// feed whose interval changes keeps its next poll.
func TestRunReloadInFlight(t *testing.T) {
	var (
		mu      sync.Mutex
		paths   []string
		unblock = make(chan struct{})
	)
	h := newScheduleHarness(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/slow" {
			<-unblock
		}
		http.Error(w, "broken", http.StatusInternalServerError)
	}, func(o *Options) {
		o.Concurrency, o.PerHost = 4, 4
	})
	base := strings.TrimSuffix(h.feed.URL, "/feed.xml")
	slow := Feed{ID: "slow", URL: base + "/slow", Lang: "ar", Interval: 10 * time.Minute}
	moving := Feed{ID: "moving", URL: base + "/old", Lang: "ar", Interval: 10 * time.Minute}
	kept := Feed{ID: "kept", URL: base + "/kept", Lang: "ar", Interval: 10 * time.Minute}
	h.pipe.opts.Feeds = []Feed{slow, moving, kept}

	reload := make(chan []Feed)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.pipe.RunWithReload(ctx, reload); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for h.clock.pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	h.clock.Advance(11 * time.Second)
	waitRequests(t, &h.requests, 3) // slow is in flight, the others done
	keptNext := func() time.Time {
		st, _, err := h.pipe.store.Feed(context.Background(), "kept")
		if err != nil {
			t.Fatal(err)
		}
		return st.NextPollAt
	}
	deadline := time.Now().Add(10 * time.Second)
	for keptNext().IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("kept's state not saved")
		}
		time.Sleep(5 * time.Millisecond)
	}
	next := keptNext()

	moved, changed := moving, kept
	moved.URL = base + "/new"
	changed.Interval = time.Hour
	reload <- []Feed{moved, changed} // slow removed while in flight
	reload <- []Feed{moved, changed} // taken once the first is applied: no change
	close(unblock)
	waitRequests(t, &h.requests, 3)
	// moving, at its new URL, within the start spread of the moment its poll ended
	for end := h.clock.Now().Add(30 * time.Second); h.requests.Load() < 4 && h.clock.Now().Before(end); {
		h.clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	waitRequests(t, &h.requests, 4)
	// Past the next poll of every feed: slow must not come back, kept comes at its time.
	for h.clock.Now().Before(next.Add(6 * time.Minute)) {
		h.clock.Advance(5 * time.Second)
		time.Sleep(time.Millisecond)
	}
	waitRequests(t, &h.requests, 5)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	counts := map[string]int{}
	for _, p := range paths {
		counts[p]++
	}
	if counts["/slow"] != 1 || counts["/new"] < 1 || counts["/kept"] < 2 || counts["/old"] != 1 {
		t.Errorf("requests %v: want /slow and /old once, /new and /kept again", counts)
	}
	if got := keptNext(); !got.After(next) {
		t.Errorf("kept's next poll %v, want after its previous one %v", got, next)
	}
}
