// Package gcfloor keeps the garbage collector's heap goal from falling below a floor while the
// live heap is small, and leaves the collector at its default (GOGC=100) once the live heap is
// large.
//
// With GOGC=100 the collector runs each time the heap has grown by the live heap since the last
// collection. A daemon whose live heap is a few MiB, and which allocates a few hundred MiB an hour
// in parsing, collects every few MiB allocated: each cycle's fixed work (scanning stacks and
// globals, write barriers on while marking, assists) then costs more than the collection frees.
// A floor gives such a process the heap goal of a larger one: with a live heap of 5 MiB and a
// floor of 32 MiB it collects about a sixth as often. Once the live heap passes half the floor,
// the goal is the default's, twice the live heap, and the floor adds nothing: the policy never
// raises the goal of a large heap, so it is safe at any size.
//
// The collector's percentage is set again after each collection, from the live heap that
// collection marked. The new value takes effect when the runtime runs the callback, which it does
// shortly after the collection (runtime.AddCleanup): until then the previous percentage applies to
// the new live heap, and the runtime may run it only after a later collection, when it sweeps
// the span that held the sentinel. A live heap that jumps between collections (an index loading
// at start) can therefore meet a goal of up to (1+Max/100), five, times its new size for a
// cycle or two before a collection sets the percentage back (measured: 3.2 times for two cycles
// while 600 MiB loaded). As the percentage is 100 from a live heap of half the floor, that
// overshoot happens only on the way up from a small heap.
//
// An operator's GOGC or GOMEMLIMIT always wins: when either is set in the environment, Start
// changes nothing.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// DefaultFloor is the heap goal Start keeps while the live heap is small: 32 MiB.
const DefaultFloor = 32 << 20

// Max is the highest percentage Start sets: it bounds a goal at five times the live heap. With
// it, the runtime's own minimum heap goal (4 MiB at GOGC=100, scaled by GOGC) is 20 MiB before
// the first collection, and a live heap under a fifth of the default floor gets a goal short of
// 32 MiB.
const Max = 400

// Percent returns the GOGC that puts the heap goal of a live heap of live bytes at floor: at
// least 100 (the default, and the value once the live heap passes half the floor) and at most
// Max (for a live heap under a fifth of the floor, and an unknown one, 0).
func Percent(live, floor uint64) int {
	if live == 0 {
		return Max
	}
	if live >= floor/2 {
		return 100
	}
	p := (floor - live) * 100 / live
	return int(min(p, Max))
}

// Operator reports whether the environment sets the collector's policy (GOGC or GOMEMLIMIT),
// which Start then leaves alone. getenv is os.Getenv in the daemon.
func Operator(getenv func(string) string) bool {
	return getenv("GOGC") != "" || getenv("GOMEMLIMIT") != ""
}

var (
	mu      sync.Mutex
	running *tuner
)

type tuner struct {
	floor   uint64
	stopped atomic.Bool
	percent atomic.Int64
}

// sentinel is allocated for each collection to come; its cleanup runs after the collection
// that finds it unreachable.
type sentinel struct{ _ [16]byte }

// Start keeps the heap goal at floor or above while the live heap is below half of it, for the
// life of the process or until stop is called, which puts the percentage back to what it was. It
// does nothing, and returns false, when the environment sets GOGC or GOMEMLIMIT (see Operator) or
// a tuner already runs.
func Start(floor uint64, getenv func(string) string) (stop func(), started bool) {
	if Operator(getenv) {
		return func() {}, false
	}
	mu.Lock()
	defer mu.Unlock()
	if running != nil {
		return func() {}, false
	}
	t := &tuner{floor: floor}
	running = t
	// No collection has run yet: the live heap is unknown and small, so start at Max.
	before := debug.SetGCPercent(Max)
	t.percent.Store(Max)
	t.arm()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			t.stopped.Store(true)
			debug.SetGCPercent(before)
			running = nil
		})
	}, true
}

// Current returns the percentage the running tuner set last, or 0 when none runs.
func Current() int {
	mu.Lock()
	defer mu.Unlock()
	if running == nil {
		return 0
	}
	return int(running.percent.Load())
}

// arm allocates a sentinel whose cleanup, after the next collection, sets the percentage from the
// live heap that collection marked and arms the next one.
func (t *tuner) arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(t *tuner) { t.collected() }, t)
}

func (t *tuner) collected() {
	if t.stopped.Load() {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		p := Percent(sample[0].Value.Uint64(), t.floor)
		mu.Lock()
		if !t.stopped.Load() && int64(p) != t.percent.Load() {
			debug.SetGCPercent(p)
			t.percent.Store(int64(p))
		}
		mu.Unlock()
	}
	t.arm()
}
