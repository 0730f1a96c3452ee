package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats-server/v2/server"
)

// TestPartitionedLeaderStopsFirst cuts the leader off NATS while it publishes: its connection
// goes through a testnats.Proxy that stops passing bytes, its process stays alive, and the
// servers advertise no other address it could go around the cut by. It must stop leading
// before another replica takes over: its "lost the lead" and its last message in the stream
// come before the new leader's "took the lead" and first message, and no message of its epoch
// follows one of the new epoch, even once the cut heals and it is back as a standby.
func TestPartitionedLeaderStopsFirst(t *testing.T) {
	needSlowTag(t)
	const ttl = 2 * time.Second
	bin := buildFeedd(t)
	srv, feeds, want := saudiFeeds(t, 300*time.Millisecond, "2015-08-01")
	c := testnats.RunClusterWith(t, 3, func(_ int, o *server.Options) { o.Cluster.NoAdvertise = true })
	opts := haOptions{ttl: ttl, replicas: 3}
	replicas := make([]*replicaProc, 3)
	proxies := make([]*testnats.Proxy, 3)
	for i := range replicas {
		proxies[i] = testnats.NewProxy(t, c.Server(i).Addr().String())
		addr := freeAddr(t)
		cfg := haConfig(t, t.TempDir(), proxies[i].URL(), addr, srv, feeds, opts)
		if i == 0 {
			needClusterMode(t, bin, cfg)
		}
		replicas[i] = newReplicaProc(t, fmt.Sprintf("r%d", i+1), bin, cfg, addr)
	}
	for _, r := range replicas {
		r.start()
	}
	old := haWaitLeader(t, replicas, 0, 30*time.Second)
	// The standbys must be hot before the cut: on a loaded machine a replica's first stream
	// request can wait for the cluster, and one still starting cannot take over.
	haWaitCaughtUp(t, replicas, time.Minute)
	haWaitStream(t, c.URLs(), len(want)/4, 2*time.Minute, replicas, "a quarter of the articles")
	before := streamCount(c.URLs())
	if before >= len(want) {
		t.Fatalf("publishing ended before the cut: slow the feeds")
	}
	idx := int(old.replica[1] - '1')
	cut := time.Now()
	proxies[idx].Cut()
	t.Logf("cut %s (epoch %d) off NATS with %d of %d articles in the stream", old.replica, old.epoch, before, len(want))

	next := haWaitLeader(t, replicas, old.epoch, 5*ttl)
	var oldTerm haTerm
	waitFor(t, "the partitioned leader to log that it lost the lead", 2*ttl, func() bool {
		for _, tm := range haTerms(replicas) {
			if tm.epoch == old.epoch {
				oldTerm = tm
			}
		}
		return !oldTerm.end.IsZero()
	})
	proxies[idx].Heal()
	haWaitStream(t, c.URLs(), len(want), 3*time.Minute, replicas, "every article after the cut")
	time.Sleep(2 * ttl) // a stale publication of the old term would land now

	t.Logf("%s lost the lead %v after the cut (%s); %s took the lead (epoch %d) %v after the cut",
		old.replica, oldTerm.end.Sub(cut).Round(time.Millisecond), oldTerm.how, next.replica, next.epoch,
		next.start.Sub(cut).Round(time.Millisecond))
	if !oldTerm.end.Before(next.start) {
		t.Errorf("the partitioned leader lost the lead at %s, not before %s took it at %s", oldTerm.end.Format("15:04:05.000"),
			next.replica, next.start.Format("15:04:05.000"))
	}
	if d := oldTerm.end.Sub(cut); d > ttl {
		t.Errorf("the partitioned leader stopped %v after the cut, want within lease_ttl (%v)", d.Round(time.Millisecond), ttl)
	}
	if d := next.start.Sub(cut); d > 2*ttl {
		t.Errorf("%s took the lead %v after the cut, want within 2 × lease_ttl (%v)", next.replica, d.Round(time.Millisecond), 2*ttl)
	}

	checkExactlyOnce(t, c.URLs(), want)
	msgs := haMessages(t, c.URLs())
	ts := haTerms(replicas)
	epochs, counts := checkEpochs(t, msgs, ts)
	t.Logf("terms:%s", termsString(ts))
	t.Logf("epochs in stream order %v, messages of each %v", epochs, counts)
	var lastOld, firstNew *haMsg
	for i := range msgs {
		m := &msgs[i]
		if m.epoch == old.epoch {
			lastOld = m
		}
		if m.epoch == next.epoch && firstNew == nil {
			firstNew = m
		}
	}
	switch {
	case lastOld == nil:
		t.Errorf("no message of the partitioned leader's epoch %d: it did not publish before the cut", old.epoch)
	case firstNew == nil:
		t.Errorf("no message of the new leader's epoch %d", next.epoch)
	default:
		t.Logf("the old term's last message (seq %d) was stored %v before the new leader took the lead; its first (seq %d) %v after",
			lastOld.seq, next.start.Sub(lastOld.stamp).Round(time.Millisecond), firstNew.seq, firstNew.stamp.Sub(next.start).Round(time.Millisecond))
		if !lastOld.stamp.Before(next.start) || lastOld.seq > firstNew.seq {
			t.Errorf("the old term's last message (seq %d, stored %s) does not precede the new leader's takeover (%s) and first message (seq %d)",
				lastOld.seq, lastOld.stamp.Format("15:04:05.000"), next.start.Format("15:04:05.000"), firstNew.seq)
		}
	}
	checkTerms(t, ts, ts[0].start, time.Now())
	haCheckReady(t, replicas)
}
