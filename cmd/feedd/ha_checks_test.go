package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// errRecorder is a testing.TB that keeps the errors a check reports instead of failing.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Helper()             {}
func (r *errRecorder) Logf(string, ...any) {}
func (r *errRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestHAChecksFail shows that the checks TestFailover and TestPartitionedLeaderStopsFirst rely
// on fail on what they are meant to catch: terms that overlap, a long stretch without a leader,
// a message without an epoch or of an older epoch after a newer one, and stories grouped
// unlike the single replica's within one term; and that they pass what is allowed.
func TestHAChecksFail(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	// The terms come from the replicas' JSON logs: r1 took the lead and was killed, r2 took
	// over and lost the lead, r3 leads.
	dir := t.TempDir()
	logLine := func(ms int, msg string, epoch uint64, extra string) string {
		return fmt.Sprintf(`{"time":%q,"level":"INFO","msg":%q,"epoch":%d%s}`, at(ms).Format(time.RFC3339Nano), msg, epoch, extra)
	}
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\nnot json\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r1 := &replicaProc{id: "r1", runs: []*haRun{{log: write("r1-1", logLine(0, tookLead, 5, `,"holder":"r1"`)), ended: at(3000), killed: true}}}
	r2 := &replicaProc{id: "r2", runs: []*haRun{{log: write("r2-1", logLine(4500, tookLead, 9, `,"holder":"r2"`),
		logLine(8000, lostLead, 9, `,"reason":"not renewed"`))}}}
	r3 := &replicaProc{id: "r3", runs: []*haRun{{log: write("r3-1", logLine(9000, tookLead, 12, `,"holder":"r3"`))}}}
	ts := haTerms([]*replicaProc{r1, r2, r3})
	if got := termsString(ts); len(ts) != 3 || ts[0].how != "killed" || ts[1].how != "not renewed" || !ts[2].end.IsZero() {
		t.Fatalf("terms from the logs:%s", got)
	}
	if tm, ok := haLeader([]*replicaProc{r1, r2, r3}); !ok || tm.replica != "r3" || tm.epoch != 12 {
		t.Errorf("leader: got %+v %v, want r3 of epoch 12", tm, ok)
	}
	rec := &errRecorder{TB: t}
	gap, from := checkTerms(rec, ts, ts[0].start, at(10000))
	if len(rec.errs) != 0 || gap != 1500*time.Millisecond || !from.Equal(at(3000)) {
		t.Errorf("checkTerms: gap %v from %s, errors %q; want 1.5s from the kill, no error", gap, from, rec.errs)
	}
	// r2 begins before r1's end: two leaders at once.
	overlap := []haTerm{ts[0], ts[1]}
	overlap[1].start = at(2000)
	rec = &errRecorder{TB: t}
	if checkTerms(rec, overlap, overlap[0].start, at(10000)); len(rec.errs) == 0 {
		t.Error("checkTerms: overlapping terms pass")
	}

	msg := func(seq uint64, epoch string) haMsg {
		var e uint64
		fmt.Sscan(epoch, &e)
		return haMsg{seq: seq, id: fmt.Sprint("a", seq), epoch: e, epochRaw: epoch}
	}
	for _, tt := range []struct {
		name   string
		epochs []string
		bad    bool
	}{
		{"terms in order", []string{"5", "5", "9", "12"}, false},
		{"an older epoch after a newer one", []string{"5", "9", "5", "12"}, true},
		{"no header", []string{"5", "", "9"}, true},
		{"an epoch no replica logged", []string{"5", "7"}, true},
		{"not decimal", []string{"5", "0x9"}, true},
	} {
		var msgs []haMsg
		for i, e := range tt.epochs {
			msgs = append(msgs, msg(uint64(i+1), e))
		}
		rec := &errRecorder{TB: t}
		checkEpochs(rec, msgs, ts)
		if bad := len(rec.errs) > 0; bad != tt.bad {
			t.Errorf("checkEpochs, %s: errors %q, want failure %v", tt.name, rec.errs, tt.bad)
		}
	}

	// Pairs judged one story (same_story): a, b, c in the single run. In the run with
	// failovers, c (epoch 9) is not judged one story with a and b (epoch 5, the first term):
	// allowed, listed. f and g are one story in both, with the other one first (poll order).
	// d and e are one story only in the run with failovers: allowed when a later term (9)
	// decided them, an error when the first term (5) alone did.
	story := func(id, dupOf string, epoch uint64, same ...string) haMsg {
		return haMsg{id: id, duplicateOf: dupOf, epoch: epoch, sameStory: same}
	}
	base := []haMsg{story("a", "", 0), story("b", "a", 0, "a"), story("c", "a", 0, "a", "b"), story("d", "", 0), story("e", "", 0),
		story("f", "", 0), story("g", "f", 0, "f")}
	ha := []haMsg{story("b", "", 5), story("a", "b", 5, "b"), story("c", "", 9), story("d", "", 9), story("e", "", 9),
		story("g", "", 12), story("f", "g", 12, "g")}
	rec = &errRecorder{TB: t}
	across, candidates, orderOnly := verdictDiff(rec, base, ha)
	if len(rec.errs) != 0 || len(across) != 2 || candidates != 3 || orderOnly != 5 {
		t.Errorf("verdictDiff: across %v, candidates %d, order only %d, errors %q; want 2 across of 3, 5 new in one run and a duplicate in the other, no error",
			across, candidates, orderOnly, rec.errs)
	}
	ha[4] = story("e", "d", 9, "d")
	rec = &errRecorder{TB: t}
	if across, _, _ := verdictDiff(rec, base, ha); len(rec.errs) != 0 || len(across) != 3 {
		t.Errorf("verdictDiff: a later term judged d and e one story: across %v, errors %q; want 3 across, no error", across, rec.errs)
	}
	ha[3], ha[4] = story("d", "", 5), story("e", "d", 5, "d")
	rec = &errRecorder{TB: t}
	if verdictDiff(rec, base, ha); len(rec.errs) == 0 {
		t.Error("verdictDiff: a pair the first term judged unlike the single replica passes")
	}
}
