package pipeline

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// hostLimiter bounds the requests in flight to one host.
type hostLimiter struct {
	per   int
	mu    sync.Mutex
	hosts map[string]chan struct{}
}

func newHostLimiter(per int) *hostLimiter {
	return &hostLimiter{per: per, hosts: map[string]chan struct{}{}}
}

// acquire waits for a slot for host and returns the function that frees it.
func (h *hostLimiter) acquire(ctx context.Context, host string) (func(), error) {
	h.mu.Lock()
	sem, ok := h.hosts[host]
	if !ok {
		sem = make(chan struct{}, h.per)
		h.hosts[host] = sem
	}
	h.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// maxBackoff caps the wait after repeated failures: a feed is never given up on, but a dead one
// is asked at most every six hours.
const maxBackoff = 6 * time.Hour

// backoff is the wait before polling a feed again after its n-th consecutive failure: the
// interval doubled per failure beyond the first, from at least one minute, capped, with jitter.
func backoff(interval time.Duration, n int) time.Duration {
	d := min(interval, 5*time.Minute)
	d = max(d, time.Minute)
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, maxBackoff))
}

// jitter spreads d by ±10% so that feeds polled together drift apart.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := d / 5
	return d - spread/2 + rand.N(spread+1)
}

// Run polls every feed on its own schedule and relays the outbox until ctx ends. Feeds whose next
// poll is due (or never polled) start within the first few seconds, spread apart; afterwards each
// feed is polled at its interval with jitter, and after failures on a growing, capped schedule.
// A progress line is logged after every round in which each feed was polled at least once.
func (p *Pipeline) Run(ctx context.Context) error {
	type due struct {
		feed Feed
		at   time.Time
	}
	now := p.opts.Now()
	queue := make([]due, 0, len(p.opts.Feeds))
	startSpread := min(10*time.Second, p.opts.Interval)
	for _, f := range p.opts.Feeds {
		at := now.Add(rand.N(startSpread + 1))
		if st, ok, err := p.store.Feed(ctx, f.ID); err == nil && ok && st.URL == f.URL && st.NextPollAt.After(at) {
			at = st.NextPollAt
		}
		queue = append(queue, due{f, at})
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		round   Counts
		polled  = map[string]bool{}
		started = now
		results = make(chan due, len(p.opts.Feeds))
	)
	sem := make(chan struct{}, p.opts.Concurrency)
	timer := time.NewTimer(0)
	defer timer.Stop()
	inFlight := map[string]bool{}

	for {
		// Dispatch everything due; find the next wake-up.
		now = p.opts.Now()
		next := time.Time{}
		for i := range queue {
			d := &queue[i]
			if inFlight[d.feed.ID] {
				continue
			}
			if !d.at.After(now) {
				select {
				case sem <- struct{}{}:
				default:
					continue // all workers busy: retried when one finishes
				}
				inFlight[d.feed.ID] = true
				f := d.feed
				wg.Go(func() {
					defer func() { <-sem }()
					r := p.poll(ctx, f)
					mu.Lock()
					round.add(r.counts)
					polled[f.ID] = true
					mu.Unlock()
					results <- due{f, p.opts.Now().Add(max(r.next, time.Second))}
				})
				continue
			}
			if next.IsZero() || d.at.Before(next) {
				next = d.at
			}
		}
		if !next.IsZero() {
			timer.Reset(max(next.Sub(now), 0))
		}

		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case r := <-results:
			delete(inFlight, r.feed.ID)
			for i := range queue {
				if queue[i].feed.ID == r.feed.ID {
					queue[i].at = r.at
				}
			}
			mu.Lock()
			if len(polled) == len(p.opts.Feeds) {
				depth, _ := p.store.OutboxDepth(ctx)
				p.log.Info("poll round done", "feeds", round.Feeds, "fetched", round.Fetched,
					"not_modified", round.NotModified, "failed", round.Failed, "items", round.Items,
					"new", round.New, "duplicates", round.Duplicates, "repeats", round.Repeats,
					"published_total", p.relay.Published(), "outbox", depth,
					"took", time.Since(started).Round(time.Second))
				round, polled, started = Counts{}, map[string]bool{}, time.Now()
			}
			mu.Unlock()
		case <-timer.C:
		}
	}
}
