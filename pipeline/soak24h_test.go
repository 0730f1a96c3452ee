//go:build soak

package pipeline

import (
	"slices"
	"testing"
	"time"
)

// TestSoak24h runs the daemon for 24 simulated hours (well under a minute of real time) with a
// 3-hour dedupe window and checks that memory stays flat once the window has filled, printing one
// line of measures per simulated hour. Run it with
//
//	go test -tags soak -run TestSoak24h -v ./pipeline
func TestSoak24h(t *testing.T) {
	const window = 3 * time.Hour
	res := runSoak(t, soakOptions{duration: 24 * time.Hour, window: window, sampleEvery: time.Hour, perFeed: 10})
	checkSoakPaths(t, res)
	checkFlat(t, res.samples, window)
}

// checkFlat asserts that the process stops growing once warmed up: after twice the dedupe window
// the index holds a full window and drops an hour of it every hour, the connections and caches
// are all in use, and what remains should be flat. The samples must be hourly or closer.
//
//   - The heap in use over the last 6 hours stays within max(10%, 4 MiB) of its level at the end
//     of the first window; the resident set (SQLite's C memory included) within max(20%, 16 MiB)
//     of its highest level during warm-up.
//   - The live heap (after GC) does not trend upward: its slope after warm-up (Theil-Sen: the
//     median of the slopes between every two samples, which one odd sample does not sway),
//     projected over 24 hours, stays under 1 MiB. Clean runs measure 0 to 0.5 MiB; a leak of 300
//     bytes per article recorded (1.6 MiB a day here) fails it. Leaked goroutines are caught
//     below whatever their size.
//   - Goroutines and open files stay within a small band after warm-up.
//   - The outbox holds no more rows than were recorded since the last prune but one, and the
//     database grows by at most 2 KiB per article recorded (articles, with their repeat keys, are
//     kept for good; fingerprints and sent messages are not).
func checkFlat(t *testing.T, samples []soakSample, window time.Duration) {
	t.Helper()
	// at returns the index of the first sample taken at d or later.
	at := func(d time.Duration) int {
		for i, s := range samples {
			if s.sim >= d {
				return i
			}
		}
		return len(samples)
	}
	end := samples[len(samples)-1].sim
	warm, last6 := at(2*window), at(end-6*time.Hour)
	if end < 2*window+12*time.Hour || len(samples)-warm < 8 {
		t.Fatalf("samples up to %s, %d after warm-up: the run is too short to judge", fmtSim(end), len(samples)-warm)
	}
	base := samples[at(window)]
	steady := samples[warm:]

	limit := base.heapInuse + max(base.heapInuse/10, 4<<20)
	for _, s := range samples[last6:] {
		if s.heapInuse > limit {
			t.Errorf("heap in use at %s: got %.2f MiB, want at most %.2f MiB (%.2f MiB at %s, and max(10%%, 4 MiB))",
				fmtSim(s.sim), mib(s.heapInuse), mib(limit), mib(base.heapInuse), fmtSim(base.sim))
		}
	}

	var rssBase uint64
	for _, s := range samples[at(window) : warm+1] {
		rssBase = max(rssBase, s.rss)
	}
	if rssBase > 0 {
		rssLimit := rssBase + max(rssBase/5, 16<<20)
		for _, s := range samples[last6:] {
			if s.rss > rssLimit {
				t.Errorf("resident set at %s: got %.1f MiB, want at most %.1f MiB (at most %.1f MiB during warm-up, and max(20%%, 16 MiB))",
					fmtSim(s.sim), mib(s.rss), mib(rssLimit), mib(rssBase))
			}
		}
	}

	xs := make([]float64, len(steady))
	ys := make([]float64, len(steady))
	for i, s := range steady {
		xs[i], ys[i] = s.sim.Hours(), float64(s.heapAlloc)
	}
	perDay := slope(xs, ys) * 24
	t.Logf("live heap trend after %s: %+.0f KiB a day", fmtSim(steady[0].sim), perDay/1024)
	if perDay > 1<<20 {
		t.Errorf("live heap grows by %.0f KiB a day after warm-up, want at most 1024 KiB: a leak", perDay/1024)
	}

	band := func(name string, get func(soakSample) int, width int) {
		lo, hi := get(steady[0]), get(steady[0])
		for _, s := range steady {
			lo, hi = min(lo, get(s)), max(hi, get(s))
		}
		if hi-lo > width {
			t.Errorf("%s after warm-up: got between %d and %d, want within %d of each other", name, lo, hi, width)
		}
	}
	band("goroutines", func(s soakSample) int { return s.goroutines }, 4)
	if steady[0].fds >= 0 {
		band("open files", func(s soakSample) int { return s.fds }, 3)
	}
	if n := samples[len(samples)-1].natsLeaked; n > 0 {
		t.Errorf("%d goroutines blocked for ever in nats.go jetStream.resetPendingAcksOnReconnect, one for every %d "+
			"batches sent, want 0 (see natsLeaked)", n, samples[len(samples)-1].batches/int64(n))
	}

	for i := 2; i < len(samples); i++ {
		s := samples[i]
		if recent := s.articles - samples[i-2].articles; s.outboxRows > recent {
			t.Errorf("outbox rows at %s: got %d, want at most %d, the articles recorded since the last prune but one",
				fmtSim(s.sim), s.outboxRows, recent)
		}
	}
	first, last := steady[0], samples[len(samples)-1]
	if n := last.articles - first.articles; n > 0 {
		grew := (last.dbBytes + last.walBytes) - (first.dbBytes + first.walBytes)
		t.Logf("database growth after warm-up: %d bytes for %d articles, %d bytes each", grew, n, grew/n)
		if grew > 2<<10*n {
			t.Errorf("database grew by %d bytes for %d articles, want at most 2 KiB an article", grew, n)
		}
	}
}

// slope returns the Theil-Sen slope of ys over xs: the median of the slopes between every two
// points with different xs, 0 when there are none.
func slope(xs, ys []float64) float64 {
	var slopes []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] != xs[i] {
				slopes = append(slopes, (ys[j]-ys[i])/(xs[j]-xs[i]))
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	slices.Sort(slopes)
	n := len(slopes)
	if n%2 == 1 {
		return slopes[n/2]
	}
	return (slopes[n/2-1] + slopes[n/2]) / 2
}
