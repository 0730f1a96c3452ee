package pipeline

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// hostLimiter bounds the requests in flight to one host and spaces their starts by a gap.
type hostLimiter struct {
	per   int
	gap   time.Duration
	clock Clock
	mu    sync.Mutex
	hosts map[string]*hostSlot
}

type hostSlot struct {
	sem  chan struct{}
	next time.Time // earliest start of the next request; guarded by hostLimiter.mu
}

func newHostLimiter(per int, gap time.Duration, clock Clock) *hostLimiter {
	return &hostLimiter{per: per, gap: gap, clock: clock, hosts: map[string]*hostSlot{}}
}

// acquire waits for a slot for host and for the gap since the previous request to it, and
// returns the function that frees the slot.
func (h *hostLimiter) acquire(ctx context.Context, host string) (func(), error) {
	h.mu.Lock()
	slot, ok := h.hosts[host]
	if !ok {
		slot = &hostSlot{sem: make(chan struct{}, h.per)}
		h.hosts[host] = slot
	}
	h.mu.Unlock()
	select {
	case slot.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-slot.sem }
	// Reserve the next start time, then wait for it.
	h.mu.Lock()
	now := h.clock.Now()
	start := now
	if slot.next.After(now) {
		start = slot.next
	}
	slot.next = start.Add(h.gap)
	h.mu.Unlock()
	if wait := start.Sub(now); wait > 0 {
		select {
		case <-h.clock.After(wait):
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

// tryAcquire takes a slot for host without waiting. When it cannot, retryIn says how long until
// the gap since the last request has passed, or 0 when the host's slots are all busy (one frees
// when a request to it ends).
func (h *hostLimiter) tryAcquire(host string) (release func(), retryIn time.Duration, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	slot, found := h.hosts[host]
	if !found {
		slot = &hostSlot{sem: make(chan struct{}, h.per)}
		h.hosts[host] = slot
	}
	now := h.clock.Now()
	if slot.next.After(now) {
		return nil, slot.next.Sub(now), false
	}
	select {
	case slot.sem <- struct{}{}:
	default:
		return nil, 0, false
	}
	slot.next = now.Add(h.gap)
	return func() { <-slot.sem }, 0, true
}

// Run polls every feed on its own schedule until ctx ends (see Policy for when). Feeds never
// polled, or whose stored next poll is due, start within the first seconds, spread apart; a
// restart honours the next poll times stored before it. A progress line is logged after every
// round in which each feed was polled at least once. The outbox relay runs separately.
//
// The feeds wait in a queue ordered by their next poll: each start and each finished poll costs
// O(log n), whatever the number of feeds, and when workers or hosts are scarce the most overdue
// feed goes first.
func (p *Pipeline) Run(ctx context.Context) error {
	return p.RunWithReload(ctx, nil)
}

// RunWithReload is Run, and it also takes a new feed list from reload each time one comes (see
// [Pipeline.Run] and reload.go): added feeds are polled within seconds, removed ones are no
// longer polled, and every other feed keeps its schedule and its state.
func (p *Pipeline) RunWithReload(ctx context.Context, reload <-chan []Feed) error {
	return p.schedule(ctx, reload, nil)
}

// schedule is RunWithReload, calling idle (when set) whenever no poll is in flight and the
// scheduler is about to wait until wake (zero: until something happens). Benchmarks move a fake
// clock from it.
func (p *Pipeline) schedule(ctx context.Context, reload <-chan []Feed, idle func(wake time.Time)) error {
	s := newScheduler(p)
	s.idle = idle
	s.add(ctx, p.feeds())
	defer s.wg.Wait()
	paused := false
	for {
		now := s.clock.Now()
		var wake time.Time
		if p.outboxFull(ctx, &paused) {
			wake = now.Add(time.Second) // look again in a second
		} else {
			wake = s.startDue(ctx, now)
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			timer = s.clock.After(wake.Sub(now))
		}
		if s.idle != nil && s.running == 0 {
			s.idle(wake)
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.results:
			s.done(ctx, r)
		case feeds := <-reload:
			s.reload(ctx, feeds)
		case <-timer:
		}
	}
}

// scheduler is the state of one Run: the feeds, each in the queue of its host, and the hosts
// whose next feed may start, ordered by when it may.
type scheduler struct {
	p       *Pipeline
	clock   Clock
	feeds   map[string]*schedFeed
	hosts   map[string]*hostQueue
	ready   hostHeap // hosts with a queued feed and a free slot, by when their next feed may start
	running int      // polls in flight
	ord     int      // order of the next feed added: ties go to the feed listed first
	spread  time.Duration
	results chan schedResult
	wg      sync.WaitGroup

	roundMu sync.Mutex // guards round and polled, which the polls update
	round   Counts
	polled  map[string]bool
	started time.Time

	idle func(wake time.Time) // see Pipeline.schedule
}

// schedFeed is one feed of the scheduler.
type schedFeed struct {
	feed     Feed
	at       time.Time // next poll
	ord      int
	host     *hostQueue
	idx      int   // index in host.queue, -1 when not queued: in flight or removed
	inFlight bool  //
	removed  bool  // taken out of the list while in flight: not polled again
	update   *Feed // a new definition that came while in flight, applied when the poll ends
}

// hostQueue holds the feeds of one host waiting for their next poll.
type hostQueue struct {
	name      string
	queue     feedHeap
	notBefore time.Time // the host's gap since its last request ends then
	key       time.Time // when the first feed may start: the later of its next poll and notBefore
	idx       int       // index in scheduler.ready, -1 when not in it
	running   int       // polls of this host's feeds in flight
}

type schedResult struct {
	f    *schedFeed
	next time.Time
}

func newScheduler(p *Pipeline) *scheduler {
	now := p.opts.Clock.Now()
	return &scheduler{
		p:       p,
		clock:   p.opts.Clock,
		feeds:   map[string]*schedFeed{},
		hosts:   map[string]*hostQueue{},
		spread:  min(10*time.Second, p.opts.Interval),
		results: make(chan schedResult, max(p.opts.Concurrency, 1)),
		polled:  map[string]bool{},
		started: now,
	}
}

// firstPoll returns when a feed added now is first polled: within the start spread, or at the
// next poll stored for it if that is later and the stored state is for the same URL.
func (s *scheduler) firstPoll(ctx context.Context, f Feed, now time.Time) time.Time {
	at := now.Add(rand.N(s.spread + 1))
	if st, ok, err := s.p.store.Feed(ctx, f.ID); err == nil && ok && st.URL == f.URL && st.NextPollAt.After(at) {
		at = st.NextPollAt
	}
	return at
}

// add queues feeds not yet known.
func (s *scheduler) add(ctx context.Context, feeds []Feed) {
	now := s.clock.Now()
	for _, f := range feeds {
		s.addFeed(ctx, f, now)
	}
}

// addFeed queues f, not yet known, after the feeds known so far.
func (s *scheduler) addFeed(ctx context.Context, f Feed, now time.Time) {
	sf := &schedFeed{feed: f, at: s.firstPoll(ctx, f, now), ord: s.ord, idx: -1}
	s.ord++
	s.feeds[f.ID] = sf
	s.enqueue(sf)
}

// enqueue puts a feed that is neither queued nor in flight into its host's queue.
func (s *scheduler) enqueue(sf *schedFeed) {
	name := host(sf.feed.URL)
	hq := s.hosts[name]
	if hq == nil {
		hq = &hostQueue{name: name, idx: -1}
		s.hosts[name] = hq
	}
	sf.host = hq
	heap.Push(&hq.queue, sf)
	s.rekey(hq)
}

// dequeue takes a queued feed out of its host's queue.
func (s *scheduler) dequeue(sf *schedFeed) {
	hq := sf.host
	heap.Remove(&hq.queue, sf.idx)
	s.rekey(hq)
}

// rekey puts hq in the ready heap at the time its first feed may start, or takes it out when it
// has no feed queued; a host without queued feeds or polls in flight is forgotten.
func (s *scheduler) rekey(hq *hostQueue) {
	if len(hq.queue) == 0 {
		if hq.idx >= 0 {
			heap.Remove(&s.ready, hq.idx)
		}
		if hq.running == 0 {
			delete(s.hosts, hq.name)
		}
		return
	}
	hq.key = hq.queue[0].at
	if hq.notBefore.After(hq.key) {
		hq.key = hq.notBefore
	}
	if hq.idx >= 0 {
		heap.Fix(&s.ready, hq.idx)
	} else {
		heap.Push(&s.ready, hq)
	}
}

// startDue starts the due feeds, most overdue first, while workers are free, and returns when
// to look again: the time the next feed may start, or zero when only a finished poll can change
// anything (every worker busy, or nothing queued).
func (s *scheduler) startDue(ctx context.Context, now time.Time) time.Time {
	for s.running < s.p.opts.Concurrency && len(s.ready) > 0 {
		hq := s.ready[0]
		if hq.key.After(now) {
			return hq.key
		}
		// A worker waits for no host: a host that is busy or was asked too recently waits its
		// turn out of the ready heap or further in it, and the worker goes to another host.
		release, retryIn, ok := s.p.hosts.tryAcquire(hq.name)
		if !ok {
			if retryIn <= 0 && hq.running == 0 {
				// Its slots are held outside this scheduler: no poll of ours ends to free
				// one, so look again in a moment.
				retryIn = time.Second
			}
			if retryIn > 0 {
				hq.notBefore = now.Add(retryIn)
				s.rekey(hq)
			} else {
				heap.Remove(&s.ready, hq.idx) // back when one of its polls ends
			}
			continue
		}
		sf := heap.Pop(&hq.queue).(*schedFeed)
		hq.running++
		s.running++
		sf.inFlight = true
		if len(hq.queue) > 0 && s.p.opts.PerHost <= hq.running {
			heap.Remove(&s.ready, hq.idx) // every slot taken: back when one of its polls ends
		} else {
			s.rekey(hq)
		}
		s.start(ctx, sf, release)
	}
	return time.Time{}
}

// start polls a feed on a goroutine of its own and reports the next poll time on s.results.
func (s *scheduler) start(ctx context.Context, sf *schedFeed, hostRelease func()) {
	f := sf.feed
	s.wg.Go(func() {
		r := s.p.poll(ctx, f, hostRelease)
		s.roundMu.Lock()
		s.round.add(r.counts)
		s.polled[f.ID] = true
		s.roundMu.Unlock()
		at := r.nextAt
		if at.IsZero() { // shutting down, or the state could not be read
			at = s.clock.Now().Add(max(r.next, time.Minute))
		}
		select {
		case s.results <- schedResult{sf, at}:
		case <-ctx.Done():
		}
	})
}

// done takes a finished poll back: its feed waits for its next poll, unless the feed was
// removed meanwhile, and its host may start another.
func (s *scheduler) done(ctx context.Context, r schedResult) {
	sf, hq := r.f, r.f.host
	s.running--
	hq.running--
	sf.inFlight = false
	sf.at = r.next
	switch {
	case sf.removed:
		s.forgetMetrics(sf.feed.ID)
	case sf.update != nil:
		f := *sf.update
		sf.update = nil
		if f.URL != sf.feed.URL {
			sf.at = s.firstPoll(ctx, f, s.clock.Now())
		}
		sf.feed = f
		s.enqueue(sf)
	default:
		s.enqueue(sf)
	}
	s.rekey(hq) // back in the ready heap if it was out for want of a slot
	s.logRound(ctx)
}

// logRound logs one line per round in which every feed was polled; and, so that a feed backing
// off for hours does not silence the log, one per poll.interval in between.
func (s *scheduler) logRound(ctx context.Context) {
	s.roundMu.Lock()
	defer s.roundMu.Unlock()
	now := s.clock.Now()
	complete := len(s.polled) >= len(s.feeds)
	if !complete && now.Sub(s.started) < s.p.opts.Interval {
		return
	}
	msg := "poll round done"
	if !complete {
		msg = "progress"
	}
	depth := s.p.store.Unsent() // kept by the store: no query
	r := s.round
	s.p.log.Info(msg, "feeds", r.Feeds, "fetched", r.Fetched,
		"not_modified", r.NotModified, "failed", r.Failed, "items", r.Items,
		"new", r.New, "duplicates", r.Duplicates, "repeats", r.Repeats,
		"published_total", s.p.relay.Published(), "outbox", depth,
		"took", now.Sub(s.started).Round(time.Second))
	s.round, s.polled, s.started = Counts{}, map[string]bool{}, now
}

// forgetMetrics drops the per-feed series of a feed no longer polled.
func (s *scheduler) forgetMetrics(id string) {
	s.p.m.FeedFailures.DeleteLabelValues(id)
	s.p.m.LastSuccess.DeleteLabelValues(id)
	s.p.m.NextPoll.DeleteLabelValues(id)
}

// feedHeap orders a host's feeds by next poll, then by their order in the list.
type feedHeap []*schedFeed

func (h feedHeap) Len() int { return len(h) }
func (h feedHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].ord < h[j].ord
}
func (h feedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *feedHeap) Push(x any) {
	f := x.(*schedFeed)
	f.idx = len(*h)
	*h = append(*h, f)
}
func (h *feedHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	f.idx = -1
	return f
}

// hostHeap orders hosts by when their first feed may start, then by that feed's order.
type hostHeap []*hostQueue

func (h hostHeap) Len() int { return len(h) }
func (h hostHeap) Less(i, j int) bool {
	if c := h[i].key.Compare(h[j].key); c != 0 {
		return c < 0
	}
	return h[i].queue[0].ord < h[j].queue[0].ord
}
func (h hostHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *hostHeap) Push(x any) {
	q := x.(*hostQueue)
	q.idx = len(*h)
	*h = append(*h, q)
}
func (h *hostHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	q.idx = -1
	return q
}

// outboxFull reports whether the outbox holds MaxPending unsent rows or more, in which case
// polling pauses rather than piling up more (nothing is dropped: feeds are polled again once
// the relay catches up). It logs and reports the transitions. It costs no query: the store
// keeps the count.
func (p *Pipeline) outboxFull(ctx context.Context, paused *bool) bool {
	if p.opts.MaxPending <= 0 {
		return false
	}
	depth := p.store.Unsent() // kept by the store as rows are queued and marked: no query
	full := depth >= p.opts.MaxPending
	switch {
	case full && !*paused:
		p.log.Warn("outbox full: polling paused until JetStream catches up", "outbox", depth,
			"max_pending", p.opts.MaxPending)
		p.m.PollingPaused.Set(1)
	case !full && *paused:
		p.log.Info("outbox below its bound: polling resumed", "outbox", depth)
		p.m.PollingPaused.Set(0)
	}
	*paused = full
	return full
}
