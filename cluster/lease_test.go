package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// setup starts a three-node cluster and returns it, a connection to all of it, the lease bucket
// (R3) of ttl, and an R3 stream TERMS (subjects terms.>) for the replicas' publications.
func setup(t *testing.T, ttl time.Duration) (*testnats.Cluster, jetstream.JetStream, jetstream.KeyValue) {
	t.Helper()
	c := testnats.RunCluster(t, 3)
	_, js := connect(t, c.URLs())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := EnsureLeaseBucket(ctx, js, "feedd", ttl, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TERMS", Subjects: []string{"terms.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	return c, js, kv
}

// startReplicas runs one replica per connection until the test ends, each publishing to TERMS
// while it leads, and returns their terms and a function that stops them all.
func startReplicas(t *testing.T, jss []jetstream.JetStream, optsOf func(i int) []Option) (*terms, []*Elector, func()) {
	t.Helper()
	ts := &terms{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	es := make([]*Elector, len(jss))
	for i, js := range jss {
		kv, err := js.KeyValue(ctx, LeaseBucket("feedd"))
		if err != nil {
			t.Fatal(err)
		}
		var opts []Option
		if optsOf != nil {
			opts = optsOf(i)
		}
		e, err := NewElector(ctx, kv, fmt.Sprintf("r%d", i+1), opts...)
		if err != nil {
			t.Fatal(err)
		}
		es[i] = e
		wg.Go(func() { replica(ctx, t, e, ts, js, fmt.Sprintf("terms.r%d", i+1)) })
	}
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return ts, es, stop
}

// waitLeader waits until a term has begun that is not in before (by epoch), and returns it.
func waitLeader(t *testing.T, ts *terms, within time.Duration, notEpoch uint64) term {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if tm, ok := ts.current(); ok && tm.epoch != notEpoch {
			return tm
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no new leader within %s", within)
	return term{}
}

func TestLeaseOneLeaderAtATime(t *testing.T) {
	// Long enough that a renewal delayed by a loaded machine (the race detector, a parallel
	// package) does not end the term: this test is about a leader that nothing troubles.
	const ttl = 3 * time.Second
	c, js, _ := setup(t, ttl)
	jss := make([]jetstream.JetStream, 3)
	for i := range jss {
		_, jss[i] = connect(t, c.URL(i))
	}
	metrics := []*Metrics{NewMetrics(), NewMetrics(), NewMetrics()}
	ts, es, stop := startReplicas(t, jss, func(i int) []Option { return []Option{WithHooks(metrics[i].Hooks())} })

	first := waitLeader(t, ts, 5*ttl, 0)
	time.Sleep(3 * ttl) // several renewals
	if tm, _ := ts.current(); tm.epoch != first.epoch {
		t.Fatalf("leadership moved from %s (epoch %d) to %s (epoch %d) with nothing wrong", first.holder, first.epoch, tm.holder, tm.epoch)
	}
	h, err := es[0].Leader(context.Background())
	if err != nil || h.ID != first.holder || h.Epoch != first.epoch {
		t.Errorf("Leader: got %+v, %v, want %s epoch %d", h, err, first.holder, first.epoch)
	}
	var leaders float64
	for _, m := range metrics {
		leaders += gaugeValue(t, m.Leader)
	}
	if leaders != 1 {
		t.Errorf("feedd_leader summed over the replicas: got %v, want 1", leaders)
	}

	stop()
	all := ts.snapshot()
	checkNoOverlap(t, all)
	if len(all) != 1 {
		t.Errorf("got %d terms, want 1: %+v", len(all), all)
	}
	if n, epochs := checkEpochOrder(t, js, "TERMS"); n == 0 || len(epochs) != 1 {
		t.Errorf("got %d messages of epochs %v, want some, of one epoch", n, epochs)
	}
	idx := int(first.holder[1] - '1')
	if renewals := counterValue(t, metrics[idx].Renewals); renewals < 6 {
		t.Errorf("feedd_lease_renewals_total: got %v in 3 TTLs, want at least 6 (every third of the TTL)", renewals)
	}
}

func TestLeaseResignHandsOverAtOnce(t *testing.T) {
	const ttl = 2 * time.Second
	c, js, _ := setup(t, ttl)
	jss := make([]jetstream.JetStream, 3)
	for i := range jss {
		_, jss[i] = connect(t, c.URL(i))
	}
	// One replica takes the lease first and resigns; the others are running by then.
	kv, err := js.KeyValue(context.Background(), LeaseBucket("feedd"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewElector(context.Background(), kv, "first")
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.Campaign(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts, _, stop := startReplicas(t, jss, nil)
	time.Sleep(ttl)
	if tm, ok := ts.current(); ok {
		t.Fatalf("%s leads (epoch %d) while first holds the lease", tm.holder, tm.epoch)
	}
	resigned := time.Now()
	if err := l.Resign(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cause := context.Cause(l.Context()); !errors.Is(cause, ErrResigned) {
		t.Errorf("resigned lease's cause: got %v, want ErrResigned", cause)
	}
	next := waitLeader(t, ts, 2*ttl, 0)
	t.Logf("%s took over %s after the leader resigned", next.holder, next.start.Sub(resigned).Round(time.Millisecond))
	if took := next.start.Sub(resigned); took > ttl/2 {
		t.Errorf("a standby took over %s after the leader resigned, want well within the TTL (%s): the delete marker should wake it", took, ttl)
	}
	if next.epoch <= l.Epoch() {
		t.Errorf("the next epoch %d is not above the resigned one %d", next.epoch, l.Epoch())
	}
	stop()
	checkNoOverlap(t, ts.snapshot())
}

// TestLeasePartitionedLeader cuts the leader off the network (its connection blackholed, its
// process alive): it must stop before a standby takes over, and a standby must take over within
// two TTLs.
func TestLeasePartitionedLeader(t *testing.T) {
	const ttl = time.Second
	c, js, _ := setup(t, ttl)
	proxies := make([]*testnats.Proxy, 3)
	jss := make([]jetstream.JetStream, 3)
	for i := range jss {
		proxies[i] = testnats.NewProxy(t, c.Server(i).Addr().String())
		_, jss[i] = connect(t, proxies[i].URL(), nats.IgnoreDiscoveredServers())
	}
	causes := make(chan error, 10)
	ts, _, stop := startReplicas(t, jss, func(int) []Option {
		return []Option{WithHooks(Hooks{Lost: func(_ uint64, cause error) { causes <- cause }})}
	})

	for round := range 2 {
		old := waitLeader(t, ts, 5*ttl, 0)
		time.Sleep(ttl) // let it renew a few times
		idx := int(old.holder[1] - '1')
		cut := time.Now()
		proxies[idx].Cut()
		next := waitLeader(t, ts, 4*ttl, old.epoch)
		var oldEnd time.Time
		for _, tm := range ts.snapshot() {
			if tm.epoch == old.epoch {
				oldEnd = tm.end
			}
		}
		if !oldEnd.Before(next.start) {
			t.Errorf("round %d: the partitioned leader %s stopped %s after %s began", round, old.holder, oldEnd.Sub(next.start), next.holder)
		}
		if took := next.start.Sub(cut); took > 2*ttl {
			t.Errorf("round %d: failover took %s, want at most 2 × lease_ttl (%s)", round, took, 2*ttl)
		}
		if stopped := oldEnd.Sub(cut); stopped > ttl {
			t.Errorf("round %d: the partitioned leader stopped %s after the cut, want within the TTL", round, stopped)
		}
		t.Logf("round %d: cut %s; it stopped after %s; %s took over after %s", round, old.holder,
			oldEnd.Sub(cut).Round(time.Millisecond), next.holder, next.start.Sub(cut).Round(time.Millisecond))
		select {
		case cause := <-causes:
			if !errors.Is(cause, ErrNotRenewed) {
				t.Errorf("round %d: cause of the partitioned leader's end: got %v, want ErrNotRenewed", round, cause)
			}
		case <-time.After(time.Second):
			t.Errorf("round %d: Lost hook not called", round)
		}
		proxies[idx].Heal()
	}
	time.Sleep(2 * ttl) // the healed replicas come back as standbys
	stop()
	checkNoOverlap(t, ts.snapshot())
	if n, epochs := checkEpochOrder(t, js, "TERMS"); len(epochs) != 3 {
		t.Errorf("got %d messages of epochs %v, want three terms", n, epochs)
	}
}

// TestLeaseNATSRestart stops and restarts NATS servers under the replicas, the lease stream's
// leader among them: leaders may change, but never two at once.
func TestLeaseNATSRestart(t *testing.T) {
	const ttl = 2 * time.Second
	c, js, _ := setup(t, ttl)
	jss := make([]jetstream.JetStream, 3)
	ncs := make([]*nats.Conn, 3)
	for i := range jss {
		ncs[i], jss[i] = connect(t, c.URLs())
	}
	ts, _, stop := startReplicas(t, jss, nil)
	leader := waitLeader(t, ts, 5*ttl, 0)

	// The server the leader is connected to: it reconnects to another and renews there.
	name := ncs[int(leader.holder[1]-'1')].ConnectedServerName()
	t.Logf("stopping %s, the leader's server", name)
	c.Stop(int(name[1] - '1'))
	time.Sleep(ttl)
	c.Restart(int(name[1] - '1'))
	time.Sleep(ttl)

	for round := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := js.Stream(ctx, "KV_"+LeaseBucket("feedd"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		idx := int(info.Cluster.Leader[1] - '1')
		t.Logf("round %d: stopping %s, the lease stream's leader", round, info.Cluster.Leader)
		c.Stop(idx)
		time.Sleep(ttl)
		c.Restart(idx)
		time.Sleep(ttl)
	}
	waitLeader(t, ts, 10*ttl, 0)
	stop()
	all := ts.snapshot()
	gap := checkNoOverlap(t, all)
	n, epochs := checkEpochOrder(t, js, "TERMS")
	t.Logf("%d terms, longest gap without a leader %s; %d messages of epochs %v", len(all), gap.Round(time.Millisecond), n, epochs)
}

// TestLeaseLeaderDies kills the leader's connection outright, as a crashed process's: it stops
// on its own deadline, and a standby leads within two TTLs of the death.
func TestLeaseLeaderDies(t *testing.T) {
	const ttl = time.Second
	c, _, _ := setup(t, ttl)
	nc, js := connect(t, c.URL(0))
	kv, err := js.KeyValue(context.Background(), LeaseBucket("feedd"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewElector(context.Background(), kv, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.Campaign(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	jss := make([]jetstream.JetStream, 2)
	for i := range jss {
		_, jss[i] = connect(t, c.URL(i+1))
	}
	ts, _, stop := startReplicas(t, jss, nil)
	time.Sleep(ttl)
	if tm, ok := ts.current(); ok {
		t.Fatalf("%s leads while doomed holds the lease", tm.holder)
	}
	died := time.Now()
	nc.Close()
	<-l.Context().Done()
	stopped := time.Now()
	if cause := context.Cause(l.Context()); !errors.Is(cause, ErrNotRenewed) {
		t.Errorf("the dead leader's cause: got %v, want ErrNotRenewed", cause)
	}
	next := waitLeader(t, ts, 3*ttl, 0)
	t.Logf("the leader stopped %s after its connection died; %s took over after %s",
		stopped.Sub(died).Round(time.Millisecond), next.holder, next.start.Sub(died).Round(time.Millisecond))
	if !stopped.Before(next.start) {
		t.Errorf("the dead leader stopped %s after %s began", stopped.Sub(next.start), next.holder)
	}
	if took := next.start.Sub(died); took > 2*ttl {
		t.Errorf("failover took %s, want at most 2 × lease_ttl (%s)", took, 2*ttl)
	}
	stop()
	checkNoOverlap(t, ts.snapshot())
}
