package pipeline

import (
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
func (p *Pipeline) Run(ctx context.Context) error {
	clock := p.opts.Clock
	now := clock.Now()
	next := make(map[string]time.Time, len(p.opts.Feeds))
	startSpread := min(10*time.Second, p.opts.Interval)
	for _, f := range p.opts.Feeds {
		at := now.Add(rand.N(startSpread + 1))
		if st, ok, err := p.store.Feed(ctx, f.ID); err == nil && ok && st.URL == f.URL && st.NextPollAt.After(at) {
			at = st.NextPollAt
		}
		next[f.ID] = at
	}

	type done struct {
		id   string
		next time.Time
	}
	var (
		wg       sync.WaitGroup
		results  = make(chan done, len(p.opts.Feeds))
		inFlight = map[string]bool{}
		sem      = make(chan struct{}, p.opts.Concurrency)
		round    Counts
		polled   = map[string]bool{}
		started  = now
		roundMu  sync.Mutex
	)
	defer wg.Wait()

	paused := false
	for {
		// Start every due feed a worker is free for; find the earliest future poll.
		now = clock.Now()
		var wake time.Time
		if p.outboxFull(ctx, &paused) {
			wake = now.Add(time.Second) // look again in a second
		}
		for _, f := range p.opts.Feeds {
			if paused {
				break
			}
			at := next[f.ID]
			if inFlight[f.ID] {
				continue
			}
			if at.After(now) {
				if wake.IsZero() || at.Before(wake) {
					wake = at
				}
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				continue // all workers busy: looked at again when one finishes
			}
			// A worker waits for no host: a feed whose host is busy or too recently asked
			// waits its turn here, and the worker goes to another host's feed.
			hostRelease, retryIn, ok := p.hosts.tryAcquire(host(f.URL))
			if !ok {
				<-sem
				if retryIn > 0 && (wake.IsZero() || now.Add(retryIn).Before(wake)) {
					wake = now.Add(retryIn)
				}
				continue // otherwise looked at again when the request to its host ends
			}
			inFlight[f.ID] = true
			wg.Go(func() {
				r := p.poll(ctx, f, hostRelease)
				// Free the worker before reporting: the scheduler looks for work to start when
				// it gets a result, and must find this worker free by then.
				<-sem
				roundMu.Lock()
				round.add(r.counts)
				polled[f.ID] = true
				roundMu.Unlock()
				at := r.nextAt
				if at.IsZero() { // shutting down, or the state could not be read
					at = clock.Now().Add(max(r.next, time.Minute))
				}
				results <- done{f.ID, at}
			})
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			timer = clock.After(wake.Sub(now))
		}

		select {
		case <-ctx.Done():
			return nil
		case r := <-results:
			delete(inFlight, r.id)
			next[r.id] = r.next
			roundMu.Lock()
			// One line per round in which every feed was polled; and, so that a feed backing
			// off for hours does not silence the log, one per poll.interval in between.
			complete := len(polled) == len(p.opts.Feeds)
			if complete || clock.Now().Sub(started) >= p.opts.Interval {
				msg := "poll round done"
				if !complete {
					msg = "progress"
				}
				depth, _ := p.store.OutboxDepth(ctx)
				p.log.Info(msg, "feeds", round.Feeds, "fetched", round.Fetched,
					"not_modified", round.NotModified, "failed", round.Failed, "items", round.Items,
					"new", round.New, "duplicates", round.Duplicates, "repeats", round.Repeats,
					"published_total", p.relay.Published(), "outbox", depth,
					"took", clock.Now().Sub(started).Round(time.Second))
				round, polled, started = Counts{}, map[string]bool{}, clock.Now()
			}
			roundMu.Unlock()
		case <-timer:
		}
	}
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
