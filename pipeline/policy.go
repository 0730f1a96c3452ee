package pipeline

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mmcdole/gofeed"
)

// Policy decides when a feed is polled next. The rules, in order:
//
//  1. The base is the feed's interval (its own, else poll.interval).
//  2. Adaptation: when the feed's items carry at least three distinct publication times, the
//     median gap between the newest ones (up to 20) replaces the base, bounded to a quarter and
//     four times the base: a feed that publishes every few minutes is polled up to four times
//     as often as configured, a feed that publishes twice a day up to four times less often.
//  3. Jitter of ±10% so that feeds drift apart.
//  4. Cache hints: never sooner than the response allows (Cache-Control max-age, Expires, RSS
//     <ttl>: the largest wins).
//  5. Bounds: never sooner than MinInterval nor later than MaxInterval.
//
// After a failure the wait starts at the base (at most 5 minutes), doubles with each
// consecutive failure up to MaxInterval, with jitter; a feed is never given up on. A
// Retry-After on 429 or 503 is honoured when longer, up to MaxRetryAfter, even beyond
// MaxInterval.
type Policy struct {
	MinInterval time.Duration
	MaxInterval time.Duration
}

// MaxRetryAfter caps the Retry-After a server can impose: a day.
const MaxRetryAfter = 24 * time.Hour

// firstRetry is the longest first wait after a failure.
const firstRetry = 5 * time.Minute

func (p Policy) bounds() (lo, hi time.Duration) {
	lo, hi = p.MinInterval, p.MaxInterval
	if lo <= 0 {
		lo = time.Minute
	}
	if hi < lo {
		hi = max(lo, 6*time.Hour)
	}
	return lo, hi
}

// afterSuccess returns the wait after a successful poll.
func (p Policy) afterSuccess(base, publishingGap, cacheFor time.Duration) time.Duration {
	lo, hi := p.bounds()
	d := base
	if publishingGap > 0 {
		d = min(max(publishingGap, base/4), base*4)
	}
	d = jitter(d)
	d = max(d, cacheFor)
	return min(max(d, lo), hi)
}

// afterFailure returns the wait after the n-th consecutive failure (n >= 1).
func (p Policy) afterFailure(base time.Duration, n int, retryAfter time.Duration) time.Duration {
	lo, hi := p.bounds()
	d := min(max(min(base, firstRetry), lo), hi)
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	// Equal jitter: between half and all of d, so that feeds failing together spread out.
	d = d/2 + rand.N(d/2+1)
	d = max(d, lo)
	return max(d, min(retryAfter, MaxRetryAfter))
}

// jitter spreads d by ±10%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := d / 5
	return d - spread/2 + rand.N(spread+1)
}

// itemsGap estimates how often a feed publishes: the median gap between the distinct
// publication times of its newest items (up to 20), or 0 when fewer than three items carry a
// real date.
func itemsGap(items []*gofeed.Item, fetchedAt time.Time) time.Duration {
	fetchedAt = fetchedAt.UTC().Truncate(time.Second)
	times := make([]time.Time, 0, len(items))
	for _, it := range items {
		if it == nil {
			continue
		}
		if t, guessed := pubDate(it, fetchedAt); !guessed {
			times = append(times, t)
		}
	}
	return medianGap(times)
}

// medianGap is the median gap between the newest 20 distinct times (sorted here); 0 for fewer
// than three.
func medianGap(times []time.Time) time.Duration {
	slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
	times = slices.CompactFunc(times, time.Time.Equal)
	if len(times) < 3 {
		return 0
	}
	times = times[:min(len(times), 20)]
	gaps := make([]time.Duration, len(times)-1)
	for i := range gaps {
		gaps[i] = times[i].Sub(times[i+1])
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}
