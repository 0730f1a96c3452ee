package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
)

// The log messages and header of cluster mode that the high-availability tests read, as the
// contract of issue 14 names them.
const (
	tookLead = "took the lead"
	lostLead = "lost the lead"
	// resignedLead ends a term on SIGTERM (a graceful handover).
	resignedLead = "resigned the lead"
	epochHeader  = "Feedd-Epoch"
)

// haOptions are the settings of a cluster-mode configuration the tests vary.
type haOptions struct {
	ttl      time.Duration // cluster.lease_ttl
	replicas int           // nats.replicas
}

// haConfig writes the configuration of one cluster-mode replica: JSON logs at info level (the
// tests read the takeovers from them), the stream and buckets on three replicas, the feeds of
// srv as full-text feeds.
func haConfig(t *testing.T, dataDir, natsURL, httpAddr string, srv *httptest.Server, feeds []testfeeds.Feed, o haOptions) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nshutdown_timeout: 5s\nlog:\n  level: info\n  format: json\n", dataDir)
	fmt.Fprintf(&b, "nats:\n  url: %q\n  listen: \"\"\n  replicas: %d\nhttp:\n  listen: %q\n", natsURL, o.replicas, httpAddr)
	fmt.Fprintf(&b, "cluster:\n  enabled: true\n  name: feedd\n  lease_ttl: %s\n", o.ttl)
	b.WriteString("poll:\n  concurrency: 8\n  per_host: 8\n  host_gap: 0s\n  timeout: 30s\n")
	// The corpus days are of 2015: a window of the default week would drop their fingerprints
	// at every start, and a restarted replica would know no story to match.
	b.WriteString("dedupe:\n  window: 100000h\n")
	// The corpus items link to the outlets' real pages: these feeds carry their full text.
	b.WriteString("extract:\n  full_text: never\n")
	return writeFeedsConfig(t, &b, srv, feeds)
}

// needClusterMode skips the test when the binary has no cluster mode yet (a branch where the
// keys are unknown or refused as not wired); any other problem with cfg fails it.
func needClusterMode(t *testing.T, bin, cfg string) {
	t.Helper()
	cmd := exec.Command(bin, "check", "--config", cfg)
	cmd.Env = append(withoutFeeddEnv(os.Environ()), "FEEDD_REPLICA_ID=probe")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	if s := string(out); strings.Contains(s, "cluster") && strings.Contains(s, "unknown key") ||
		strings.Contains(s, "not wired into the daemon yet") {
		t.Skipf("this build has no cluster mode: %s", strings.TrimSpace(string(out)))
	}
	t.Fatalf("feedd check: %v\n%s", err, out)
}

// replicaProc is one feedd replica run as a child process (`feedd run`) in cluster mode, with
// FEEDD_REPLICA_ID set. It can be killed and started again on its data directory; each start
// logs to a file of its own.
type replicaProc struct {
	t        *testing.T
	id       string
	bin, cfg string
	httpAddr string

	mu   sync.Mutex
	runs []*haRun
}

// haRun is one start of a replica: its log file, and when it ended (killed or stopped).
type haRun struct {
	log      string
	cmd      *exec.Cmd
	done     chan struct{}
	ended    time.Time
	killed   bool
	stopping bool // SIGTERM sent
}

func newReplicaProc(t *testing.T, id, bin, cfg, httpAddr string) *replicaProc {
	r := &replicaProc{t: t, id: id, bin: bin, cfg: cfg, httpAddr: httpAddr}
	t.Cleanup(func() {
		r.mu.Lock()
		runs := slices.Clone(r.runs)
		r.mu.Unlock()
		for _, run := range runs {
			select {
			case <-run.done:
			default:
				run.cmd.Process.Kill()
				<-run.done
			}
		}
		if t.Failed() {
			for i, run := range runs {
				b, _ := os.ReadFile(run.log)
				t.Logf("replica %s, start %d: its log's lines on the lease, NATS, warnings and errors:\n%s", id, i+1, clusterLines(string(b)))
			}
		}
	})
	return r
}

// needSlowTag skips a test whose bounds are wall-clock times of several NATS servers and feedd
// processes (a failover within 2 × lease_ttl): when the whole suite runs at once on two cores
// they can fail for want of CPU, not of correctness.
func needSlowTag(t *testing.T) {
	if !slowTag {
		t.Skip("a timed multi-process HA test: run it with -tags slow")
	}
}

// haWaitCaughtUp waits until every replica's current run has logged that it caught up with the
// stream it found at start: a hot standby, ready to lead.
func haWaitCaughtUp(t *testing.T, replicas []*replicaProc, timeout time.Duration) {
	t.Helper()
	waitFor(t, "every replica to catch up with the stream", timeout, func() bool {
		for _, r := range replicas {
			b, _ := os.ReadFile(r.current().log)
			if !strings.Contains(string(b), `"msg":"cluster: caught up with the stream"`) {
				return false
			}
		}
		return true
	})
}

// start starts the replica again (or for the first time).
func (r *replicaProc) start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	logPath := filepath.Join(r.t.TempDir(), fmt.Sprintf("%s-%d.log", r.id, len(r.runs)+1))
	f, err := os.Create(logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(r.bin, "run", "--config", r.cfg)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(withoutFeeddEnv(os.Environ()), "FEEDD_REPLICA_ID="+r.id)
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	run := &haRun{log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		r.mu.Lock()
		if run.ended.IsZero() {
			run.ended = time.Now()
		}
		r.mu.Unlock()
		close(run.done)
	}()
	r.runs = append(r.runs, run)
}

func (r *replicaProc) current() *haRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[len(r.runs)-1]
}

// kill sends SIGKILL, waits for the process to end, and returns when it was sent.
func (r *replicaProc) kill() time.Time {
	run := r.current()
	r.mu.Lock()
	run.ended, run.killed = time.Now(), true
	r.mu.Unlock()
	run.cmd.Process.Signal(syscall.SIGKILL)
	<-run.done
	return run.ended
}

// stop sends SIGTERM and waits (10 s at most) for the process to end.
func (r *replicaProc) stop() {
	r.t.Helper()
	run := r.current()
	r.mu.Lock()
	run.stopping = true
	r.mu.Unlock()
	run.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-run.done:
	case <-time.After(10 * time.Second):
		r.t.Errorf("replica %s did not stop within 10 s of SIGTERM", r.id)
		run.cmd.Process.Kill()
		<-run.done
	}
}

// exited returns the log's last lines when the replica's process ended without the test
// killing or stopping it.
func (r *replicaProc) exited() (string, bool) {
	run := r.current()
	select {
	case <-run.done:
	default:
		return "", false
	}
	r.mu.Lock()
	expected := run.killed || run.stopping
	r.mu.Unlock()
	if expected {
		return "", false
	}
	b, _ := os.ReadFile(run.log)
	return lastLines(string(b), 20), true
}

// haWaitStream waits until the stream at natsURL holds n messages, failing at once when a
// replica exits on its own and with counts and terms when the time is up.
func haWaitStream(t *testing.T, natsURL string, n int, timeout time.Duration, replicas []*replicaProc, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := streamCount(natsURL)
		if got >= n {
			return
		}
		for _, r := range replicas {
			if log, ok := r.exited(); ok {
				t.Fatalf("waiting for %s: replica %s exited on its own; its log ends:\n%s", what, r.id, log)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: the stream holds %d of %d articles after %v; terms:%s", what, got, n, timeout, termsString(haTerms(replicas)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *replicaProc) alive() bool {
	select {
	case <-r.current().done:
		return false
	default:
		return true
	}
}

// haEvent is a takeover or a loss of the lead, as a replica logged it.
type haEvent struct {
	replica string
	run     int
	time    time.Time
	msg     string
	epoch   uint64
	holder  string
	reason  string
}

// events returns the replica's "took the lead" and "lost the lead" lines, of every start, in
// log order.
func (r *replicaProc) events() []haEvent {
	r.mu.Lock()
	runs := slices.Clone(r.runs)
	r.mu.Unlock()
	var out []haEvent
	for i, run := range runs {
		out = append(out, runEvents(r.id, i, run.log)...)
	}
	return out
}

func runEvents(replica string, run int, path string) []haEvent {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []haEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		msg, _ := line["msg"].(string)
		if msg != tookLead && msg != lostLead && msg != resignedLead {
			continue
		}
		e := haEvent{replica: replica, run: run, msg: msg, epoch: anyUint(line["epoch"])}
		e.time, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(line["time"]))
		e.holder, _ = line["holder"].(string)
		if line["reason"] != nil {
			e.reason = fmt.Sprint(line["reason"])
		}
		out = append(out, e)
	}
	return out
}

// anyUint reads an epoch logged as a JSON number or a decimal string.
func anyUint(v any) uint64 {
	switch v := v.(type) {
	case float64:
		return uint64(v)
	case string:
		n, _ := strconv.ParseUint(v, 10, 64)
		return n
	}
	return 0
}

// haTerm is one term as the replicas' logs show it: from "took the lead" to "lost the lead" of
// the same epoch, or to the end of the process that held it (SIGKILL, SIGTERM), or open.
type haTerm struct {
	replica    string
	epoch      uint64
	start, end time.Time // end is zero while the term lasts
	how        string    // how it ended: the logged reason, "killed", "exited without a word"
}

// haTerms returns the terms of every replica, by start.
func haTerms(replicas []*replicaProc) []haTerm {
	var out []haTerm
	for _, r := range replicas {
		r.mu.Lock()
		runs := make([]haRun, len(r.runs))
		for i, run := range r.runs {
			runs[i] = haRun{log: run.log, ended: run.ended, killed: run.killed}
		}
		r.mu.Unlock()
		for i, run := range runs {
			var open *haTerm
			for _, e := range runEvents(r.id, i, run.log) {
				switch {
				case e.msg == tookLead:
					if open != nil { // a second term without a word on the first
						open.end, open.how = e.time, "another term began"
						out = append(out, *open)
					}
					open = &haTerm{replica: r.id, epoch: e.epoch, start: e.time}
				case open != nil && e.epoch == open.epoch: // lost the lead, or resigned it
					if e.reason == "" {
						e.reason = e.msg
					}
					open.end, open.how = e.time, e.reason
					out = append(out, *open)
					open = nil
				}
			}
			if open != nil {
				if !run.ended.IsZero() {
					open.end, open.how = run.ended, "exited without a word"
					if run.killed {
						open.how = "killed"
					}
				}
				out = append(out, *open)
			}
		}
	}
	slices.SortFunc(out, func(a, b haTerm) int { return a.start.Compare(b.start) })
	return out
}

// haLeader returns the open term with the largest epoch, if any.
func haLeader(replicas []*replicaProc) (haTerm, bool) {
	var best haTerm
	ok := false
	for _, tm := range haTerms(replicas) {
		if tm.end.IsZero() && (!ok || tm.epoch > best.epoch) {
			best, ok = tm, true
		}
	}
	return best, ok
}

// haWaitLeader waits until a term of an epoch above after is open, and returns it.
func haWaitLeader(t *testing.T, replicas []*replicaProc, after uint64, timeout time.Duration) haTerm {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if tm, ok := haLeader(replicas); ok && tm.epoch > after {
			return tm
		}
		for _, r := range replicas {
			if log, ok := r.exited(); ok {
				t.Fatalf("waiting for a leader after epoch %d: replica %s exited on its own; its log ends:\n%s", after, r.id, log)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replica took the lead after epoch %d within %v; terms: %s", after, timeout, termsString(haTerms(replicas)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func replicaByID(replicas []*replicaProc, id string) *replicaProc {
	for _, r := range replicas {
		if r.id == id {
			return r
		}
	}
	return nil
}

func termsString(ts []haTerm) string {
	var b strings.Builder
	for _, tm := range ts {
		end := "open"
		if !tm.end.IsZero() {
			end = fmt.Sprintf("%s (%s)", tm.end.Format("15:04:05.000"), tm.how)
		}
		fmt.Fprintf(&b, "\n  epoch %d %s: %s to %s", tm.epoch, tm.replica, tm.start.Format("15:04:05.000"), end)
	}
	return b.String()
}

// checkTerms asserts that no two terms overlap in time (each began after the one before ended)
// and returns the longest stretch between from and to that no term covers.
func checkTerms(t testing.TB, ts []haTerm, from, to time.Time) (gap time.Duration, at time.Time) {
	t.Helper()
	covered := from
	for i, tm := range ts {
		if i > 0 {
			prev := ts[i-1]
			if prev.end.IsZero() || prev.end.After(tm.start) {
				t.Errorf("epoch %d (%s) began at %s while epoch %d (%s) still led%s", tm.epoch, tm.replica,
					tm.start.Format("15:04:05.000"), prev.epoch, prev.replica, termsString(ts))
			}
			if tm.epoch <= prev.epoch {
				t.Errorf("epoch %d (%s) began after epoch %d", tm.epoch, tm.replica, prev.epoch)
			}
		}
		if d := tm.start.Sub(covered); d > gap && tm.start.After(from) {
			gap, at = d, covered
		}
		end := tm.end
		if end.IsZero() {
			end = to
		}
		if end.After(covered) {
			covered = end
		}
	}
	if d := to.Sub(covered); d > gap {
		gap, at = d, covered
	}
	return gap, at
}

// clusterLines returns the lines of a log that tell about the lease, the NATS connection, and
// every warning and error, at most 60 of them, and the last line.
func clusterLines(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	var out []string
	for i, l := range lines {
		if strings.Contains(l, "lead") || strings.Contains(l, "poll round") || strings.Contains(l, "cluster") || strings.Contains(l, "nats") ||
			strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") || !strings.HasPrefix(l, "{") || i == len(lines)-1 {
			out = append(out, l)
		}
	}
	if len(out) > 60 {
		out = append(out[:30:30], append([]string{"…"}, out[len(out)-30:]...)...)
	}
	return strings.Join(out, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// haMsg is what the high-availability tests read of a message of the stream.
type haMsg struct {
	seq         uint64
	stamp       time.Time // when the stream stored it
	msgID       string
	id          string
	url         string // canonical_url
	duplicateOf string
	cluster     string
	sameStory   []string // same_story: the earlier articles it was judged one story with
	epoch       uint64
	epochRaw    string
}

// haMessages reads every message of the ARTICLES stream, in stream order.
func haMessages(t *testing.T, natsURL string) []haMsg {
	t.Helper()
	var out []haMsg
	for _, m := range streamMessages(t, natsURL, "ARTICLES") {
		var body struct {
			ID           string   `json:"id"`
			CanonicalURL string   `json:"canonical_url"`
			DuplicateOf  string   `json:"duplicate_of"`
			ClusterID    string   `json:"cluster_id"`
			SameStory    []string `json:"same_story"`
		}
		if err := json.Unmarshal(m.Data(), &body); err != nil {
			t.Fatalf("message on %s is not JSON: %v", m.Subject(), err)
		}
		meta, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		raw := m.Headers().Get(epochHeader)
		epoch, _ := strconv.ParseUint(raw, 10, 64)
		out = append(out, haMsg{seq: meta.Sequence.Stream, stamp: meta.Timestamp, msgID: m.Headers().Get("Nats-Msg-Id"),
			id: body.ID, url: body.CanonicalURL, duplicateOf: body.DuplicateOf, cluster: body.ClusterID, sameStory: body.SameStory,
			epoch: epoch, epochRaw: raw})
	}
	return out
}

// checkEpochs asserts that every message carries a decimal epoch of a logged term and that
// epochs never decrease in stream order, so that no two terms published at once. It returns
// the epochs in stream order with how many messages each published.
func checkEpochs(t testing.TB, msgs []haMsg, ts []haTerm) (epochs []uint64, counts map[uint64]int) {
	t.Helper()
	logged := map[uint64]bool{}
	for _, tm := range ts {
		logged[tm.epoch] = true
	}
	counts = map[uint64]int{}
	var last uint64
	bad := 0
	for _, m := range msgs {
		if m.epoch == 0 || strconv.FormatUint(m.epoch, 10) != m.epochRaw {
			if bad++; bad <= 5 {
				t.Errorf("message %d (%s) has %s %q, want a decimal epoch", m.seq, m.id, epochHeader, m.epochRaw)
			}
			continue
		}
		if !logged[m.epoch] {
			if bad++; bad <= 5 {
				t.Errorf("message %d has epoch %d, which no replica logged taking the lead with", m.seq, m.epoch)
			}
		}
		if m.epoch < last {
			if bad++; bad <= 5 {
				t.Errorf("message %d has epoch %d after a message of epoch %d: two terms published at once", m.seq, m.epoch, last)
			}
		}
		if m.epoch != last {
			epochs = append(epochs, m.epoch)
		}
		last = max(last, m.epoch)
		counts[m.epoch]++
	}
	return epochs, counts
}

// haReadyz returns the role and leader that a replica's /readyz says.
func haReadyz(addr string) (role, leader string, err error) {
	code, body := httpGet("http://" + addr + "/readyz")
	var r struct {
		Role   string `json:"role"`
		Leader string `json:"leader"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return "", "", fmt.Errorf("/readyz %d %q: %w", code, body, err)
	}
	return r.Role, r.Leader, nil
}

// haSamePairs returns the unordered pairs of article ids that msgs judged one story (each
// message's same_story with its own id): the set that does not depend on the poll order.
func haSamePairs(msgs []haMsg) map[[2]string]bool {
	pairs := map[[2]string]bool{}
	for _, m := range msgs {
		for _, o := range m.sameStory {
			p := [2]string{m.id, o}
			if p[1] < p[0] {
				p[0], p[1] = p[1], p[0]
			}
			pairs[p] = true
		}
	}
	return pairs
}

// verdictDiff compares the verdicts of a run with failovers (ha) with those of a single replica
// over the same feeds (base), as the pairs of articles each run judged one story (same_story),
// which do not depend on the order in which the polls reached the decision (issue 13).
//
// A pair whose two articles the first term decided must be judged as the single replica
// judged it: that term started as the single replica did. A pair with an article that a later
// term decided is decided across a failover: the later leader judged it against an index it
// built by following the stream, with fingerprints recomputed from the published text (see
// package cluster), whose rare words may differ from the leader's, so such a pair may differ;
// those are returned and logged. candidates counts the pairs (of either run) with an article a
// later term decided: the most that could differ.
//
// An article new in one run and a duplicate in the other is the poll order's doing (which
// article of a story came first), not the failover's: those are counted in orderOnly.
func verdictDiff(t testing.TB, base, ha []haMsg) (across [][2]string, candidates, orderOnly int) {
	t.Helper()
	epoch := map[string]uint64{}
	first := uint64(0)
	for _, m := range ha {
		epoch[m.id] = m.epoch
		if first == 0 || m.epoch < first {
			first = m.epoch
		}
	}
	later := func(p [2]string) bool { return epoch[p[0]] != first || epoch[p[1]] != first }
	bp, hp := haSamePairs(base), haSamePairs(ha)
	for p := range bp {
		if later(p) {
			candidates++
		}
	}
	for p := range hp {
		if !bp[p] && later(p) {
			candidates++
		}
	}
	sameTerm := 0
	for _, d := range []struct {
		name     string
		from, to map[[2]string]bool
	}{{"only the single replica", bp, hp}, {"only the run with failovers", hp, bp}} {
		for p := range d.from {
			if d.to[p] {
				continue
			}
			if later(p) {
				across = append(across, p)
				t.Logf("decided across a failover, one story for %s: %.12s (epoch %d) and %.12s (epoch %d)",
					d.name, p[0], epoch[p[0]], p[1], epoch[p[1]])
				continue
			}
			if sameTerm++; sameTerm <= 10 {
				t.Errorf("one story for %s: %.12s and %.12s, both decided by the first term (epoch %d), which started as the single replica did",
					d.name, p[0], p[1], first)
			}
		}
	}
	if sameTerm > 0 {
		t.Errorf("%d pairs both decided by the first term are judged unlike the single replica's", sameTerm)
	}
	verdict := func(m haMsg) string {
		if m.duplicateOf == "" {
			return "new"
		}
		return "duplicate"
	}
	bv := map[string]string{}
	for _, m := range base {
		bv[m.id] = verdict(m)
	}
	for _, m := range ha {
		if v, ok := bv[m.id]; ok && v != verdict(m) {
			orderOnly++
		}
	}
	return across, candidates, orderOnly
}
