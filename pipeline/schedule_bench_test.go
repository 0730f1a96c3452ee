package pipeline

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/feedd/feedd/fetcher"
	"github.com/mmcdole/gofeed"
)

// BenchmarkScheduleHour measures the scheduler's cost per feed-poll over simulated hours of
// polling, at 1,000, 10,000 and 100,000 feeds, on a clock that jumps to the next poll whenever
// nothing is in flight. Feeds are polled every 30 minutes (±10%), 100 to a host with the default
// host gap of 1 s. Nine in ten answer 304 after their first poll; the tenth serves the same
// three items every time, which are repeats after the first. The fetcher answers from memory,
// so that what is measured is the scheduler and what every poll costs around the fetch: the
// feed state read and written in SQLite, and for the unchanged feeds the items assembled and
// found to be repeats. One op is one simulated hour, after a first hour that records the items.
// It fails if a feed went unpolled for the hour.
//
//	go test ./pipeline -run '^$' -bench ScheduleHour -benchtime 2x -timeout 30m
func BenchmarkScheduleHour(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("feeds=%d", n), func(b *testing.B) { benchScheduleHour(b, n) })
	}
}

func benchScheduleHour(b *testing.B, n int) {
	clock := newSimClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	fetch := &memFetcher{clock: clock, byURL: make(map[string]int, n), polls: make([]atomic.Int32, n)}
	feeds := make([]Feed, n)
	for i := range feeds {
		feeds[i] = Feed{ID: "f" + strconv.Itoa(i), URL: fmt.Sprintf("http://h%d.example/feed%d.xml", i/100, i),
			Lang: "ar", Name: "outlet", Interval: 30 * time.Minute}
		fetch.byURL[feeds[i].URL] = i
	}
	s := openStore(b)
	p := New(Options{
		Feeds: feeds, Interval: 30 * time.Minute, Concurrency: 16, PerHost: 2, HostGap: time.Second,
		Policy: Policy{MinInterval: 2 * time.Minute, MaxInterval: 6 * time.Hour}, Clock: clock,
	}, fetch, s, NewRelay(s, nil, slog.New(slog.DiscardHandler), NewMetrics(nil)))

	// runHours runs the scheduler for hours of the clock and returns the polls it made.
	runHours := func(hours int) int64 {
		end := clock.Now().Add(time.Duration(hours) * time.Hour)
		before := fetch.total.Load()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := p.schedule(ctx, nil, func(wake time.Time) {
			if wake.IsZero() || !wake.Before(end) {
				clock.advanceTo(end)
				cancel()
				return
			}
			clock.advanceTo(wake)
		})
		if err != nil {
			b.Fatal(err)
		}
		return fetch.total.Load() - before
	}

	runHours(1) // every feed's first poll, and the items recorded
	for i := range fetch.polls {
		fetch.polls[i].Store(0)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	polls := runHours(b.N)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	for i := range fetch.polls {
		if fetch.polls[i].Load() == 0 {
			st, _, _ := s.Feed(context.Background(), feeds[i].ID)
			b.Fatalf("feed %d not polled in %d simulated hours (%d polls; clock %v; state %+v)", i, b.N, polls, clock.Now(), st)
		}
	}
	b.ReportMetric(float64(polls)/float64(b.N), "polls/hour")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(polls), "ns/poll")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(polls), "cpu-ns/poll")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memFetcher answers polls from memory: a 304 once the feed has its validator, except for every
// tenth feed, which serves the same three items every time.
type memFetcher struct {
	clock *simClock
	byURL map[string]int
	polls []atomic.Int32
	total atomic.Int64
}

func (m *memFetcher) Fetch(ctx context.Context, req fetcher.Request) (*fetcher.Result, error) {
	i, ok := m.byURL[req.URL]
	if !ok {
		return nil, fmt.Errorf("no feed at %s", req.URL)
	}
	m.polls[i].Add(1)
	m.total.Add(1)
	now := m.clock.Now()
	r := &fetcher.Result{StatusCode: 200, ETag: `"v1"`, URL: req.URL, FetchedAt: now}
	if req.ETag != "" && i%10 != 0 {
		r.NotModified, r.StatusCode = true, 304
		return r, nil
	}
	r.Feed = &gofeed.Feed{Title: "outlet"}
	base := strings.TrimSuffix(req.URL, ".xml")
	for k := range 3 {
		at := time.Date(2026, 3, 1, 8, 30*k, 0, 0, time.UTC) // a publishing gap of the interval
		r.Feed.Items = append(r.Feed.Items, &gofeed.Item{
			Title:           fmt.Sprintf("خبر رقم %d من المصدر %d", k, i),
			Link:            fmt.Sprintf("%s/%d", base, k),
			Description:     fmt.Sprintf("نص قصير للخبر رقم %d من المصدر %d عن أحداث اليوم في المنطقة", k, i),
			PublishedParsed: &at,
		})
	}
	return r, nil
}

// simClock is a Clock that moves only when told to, with its waiters in a heap: a scheduler
// asks for a timer after every event and leaves most of them unused.
type simClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters waiterHeap
}

func newSimClock(t time.Time) *simClock { return &simClock{now: t} }

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	heap.Push(&c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

// advanceTo moves the clock to t, if later, and fires the waiters due by then.
func (c *simClock) advanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	for len(c.waiters) > 0 && !c.waiters[0].at.After(c.now) {
		w := heap.Pop(&c.waiters).(fakeWaiter)
		w.ch <- c.now
	}
}

type waiterHeap []fakeWaiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h waiterHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *waiterHeap) Push(x any)        { *h = append(*h, x.(fakeWaiter)) }
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}
