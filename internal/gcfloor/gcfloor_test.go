package gcfloor

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const floor = 32 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, Max},               // nothing collected yet
		{1 << 20, Max},         // 32 MiB would need 3100%: capped
		{floor / 16, Max},      // 1500%: capped
		{4 << 20, Max},         // 700% would be needed: capped, the goal is 20 MiB
		{floor/5 - 1<<10, Max}, // just under a fifth: capped
		{floor / 5, 400},       // a fifth, 6.4 MiB: the goal is 32 MiB
		{floor/5 + 1<<10, 399}, // just over a fifth; from here each puts the goal at 32 MiB
		{8 << 20, 300},
		{12 << 20, 166}, // rounded down
		{15 << 20, 113},
		{floor/2 - 1<<10, 100}, // just under half: about the default
		{floor / 2, 100},       // the default's goal reaches the floor
		{floor, 100},           // above: the default, never less
		{1 << 30, 100},         // a large heap: the default
	} {
		if got := Percent(c.live, floor); got != c.want {
			t.Errorf("Percent(%d MiB, 32 MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// gogc is the collector's percentage now, as the runtime reports it.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("the runtime does not report /gc/gogc:percent")
	}
	return int(s[0].Value.Uint64())
}

// waitGOGC collects until the runtime's percentage is want, or fails after 10 s.
func waitGOGC(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gogc(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d (tuner: %d), want %d", gogc(t), Current(), want)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

var keep [][]byte

func TestStartFollowsTheLiveHeap(t *testing.T) {
	before := gogc(t)
	const floor = 64 << 20
	stop, ok := Start(floor, func(string) string { return "" })
	if !ok {
		t.Fatal("Start did not start with neither GOGC nor GOMEMLIMIT set")
	}
	if _, again := Start(floor, func(string) string { return "" }); again {
		t.Fatal("a second Start started a second tuner")
	}
	if got := gogc(t); got != Max {
		t.Fatalf("GOGC after Start = %d, want %d before any collection", got, Max)
	}

	// A small live heap: well under a ninth of the floor, the goal is held at the floor by Max.
	waitGOGC(t, Max)

	// A live heap above half the floor: the default, twice the live heap.
	for range 48 {
		keep = append(keep, make([]byte, 1<<20))
	}
	waitGOGC(t, 100)

	// A quarter of the floor: the goal is the floor again, 300%.
	clear(keep[16:]) // the array would keep them reachable
	keep = keep[:16]
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for p := gogc(t); p <= 100 || p == Max; p = gogc(t) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d with a live heap of about 16 MiB and a floor of 64 MiB, want about 300", p)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	keep = nil

	stop()
	if got := gogc(t); got != before {
		t.Fatalf("GOGC after stop = %d, want %d as before Start", got, before)
	}
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if got := gogc(t); got != before {
		t.Fatalf("GOGC set again after stop: %d, want %d", got, before)
	}
}

func TestOperatorWins(t *testing.T) {
	before := gogc(t)
	for _, env := range []map[string]string{{"GOGC": "50"}, {"GOMEMLIMIT": "1GiB"}, {"GOGC": "off"}} {
		stop, ok := Start(DefaultFloor, func(k string) string { return env[k] })
		if ok {
			stop()
			t.Fatalf("Start started with %v in the environment", env)
		}
		stop()
		runtime.GC()
		if got := gogc(t); got != before {
			t.Fatalf("GOGC = %d with %v in the environment, want it left at %d", got, env, before)
		}
	}
}
