package cluster

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testnats"
	"github.com/feedd/feedd/store"
	"github.com/nats-io/nats.go"
)

// fullFeed returns a feed state with every field set, so that a field the bucket does not carry
// shows.
func fullFeed(id string, n int) store.Feed {
	at := time.Date(2026, 12, 7, 10, n, 5, 123_000_000, time.UTC)
	return store.Feed{
		ID: id, URL: "https://example.org/" + id + ".xml", FetchURL: "https://example.org/moved/" + id + ".xml",
		ETag: `W/"` + id + `"`, LastModified: "Mon, 07 Dec 2026 10:00:00 GMT",
		LastPollAt: at, LastSuccessAt: at.Add(-time.Hour), NextPollAt: at.Add(10 * time.Minute),
		LastStatus: 200 + n, LastError: "dial tcp: timeout", ErrorClass: "timeout",
		ConsecutiveFailures: n + 1, Items: int64(100 + n), PublishingGap: 17 * time.Minute,
		PagesRead: int64(20 + n), PagesFailed: map[string]int64{"robots": 2, "timeout": int64(n)},
	}
}

func TestFeedsEveryField(t *testing.T) {
	f := fullFeed("a", 1)
	v := reflect.ValueOf(f)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("fullFeed leaves store.Feed.%s zero: set it", v.Type().Field(i).Name)
		}
	}
	if got := entryOf(7, f).feed(); !reflect.DeepEqual(got, f) {
		t.Errorf("round trip through the bucket's entry:\ngot  %+v\nwant %+v", got, f)
	}
}

// stale is a term that believes it still leads: what a deposed leader would be if its clock or
// the NATS servers' clocks were badly wrong. The bucket must refuse it all the same.
type stale struct{ epoch uint64 }

func (s stale) Epoch() uint64 { return s.epoch }
func (s stale) Check() error  { return nil }

// TestFeedsSurviveFailover writes feed state as a leader, partitions it, and has the next
// leader read the same state, claim it, and refuse the old term's writes.
func TestFeedsSurviveFailover(t *testing.T) {
	const ttl = time.Second
	c, js, _ := setup(t, ttl)
	ctx := context.Background()
	if _, err := EnsureFeedsBucket(ctx, js, "feedd", 3); err != nil {
		t.Fatal(err)
	}
	proxy := testnats.NewProxy(t, c.Server(0).Addr().String())
	var ncA *nats.Conn
	open := func(url string, opts ...nats.Option) (*Elector, *Feeds) {
		nc, js := connect(t, url, opts...)
		if ncA == nil {
			ncA = nc
		}
		lkv, err := js.KeyValue(ctx, LeaseBucket("feedd"))
		if err != nil {
			t.Fatal(err)
		}
		fkv, err := js.KeyValue(ctx, FeedsBucket("feedd"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewElector(ctx, lkv, url)
		if err != nil {
			t.Fatal(err)
		}
		return e, NewFeeds(fkv)
	}
	ea, fa := open(proxy.URL(), nats.IgnoreDiscoveredServers())
	eb, fb := open(c.URL(1))

	la, err := ea.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Feed{fullFeed("aljazeera", 1), fullFeed("bbc", 2), fullFeed("rt", 3)}
	for _, f := range want {
		if err := fa.Put(ctx, la, f); err != nil {
			t.Fatal(err)
		}
	}
	// The standby reads what the leader wrote.
	if got, ok, err := fb.Get(ctx, "bbc"); err != nil || !ok || !reflect.DeepEqual(got, want[1]) {
		t.Fatalf("standby Get(bbc): got %+v, %v, %v, want %+v", got, ok, err, want[1])
	}

	proxy.Cut()
	campaign, cancel := context.WithTimeout(ctx, 3*ttl)
	defer cancel()
	lb, err := eb.Campaign(campaign)
	if err != nil {
		t.Fatal(err)
	}
	if la.Check() == nil {
		t.Fatal("the partitioned leader still thinks it leads after the standby took over")
	}
	if err := fb.Claim(ctx, lb); err != nil {
		t.Fatal(err)
	}
	got, err := fb.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the new leader's feed state:\ngot  %+v\nwant %+v", got, want)
	}
	next := want[0]
	next.ETag, next.ConsecutiveFailures = `"new"`, 0
	if err := fb.Put(ctx, lb, next); err != nil {
		t.Fatalf("the new leader's write: %v", err)
	}

	proxy.Heal()
	// Wait until the old leader's connection works again, so its writes reach the bucket.
	t0 := time.Now()
	for ncA.FlushTimeout(200*time.Millisecond) != nil {
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("the old leader did not reconnect: %v", ncA.Status())
		}
	}
	if err := fa.Put(ctx, la, fullFeed("bbc", 9)); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the deposed leader's write: got %v, want it refused with ErrLeaseLost", err)
	}
	// Even a deposed leader whose own check passes cannot write over a later term.
	for _, id := range []string{"aljazeera", "rt"} {
		err := fa.Put(ctx, stale{la.Epoch()}, fullFeed(id, 9))
		if !errors.Is(err, ErrDeposed) {
			t.Errorf("a stale term's write of %s: got %v, want ErrDeposed", id, err)
		}
	}
	if got, _, _ := fb.Get(ctx, "aljazeera"); !reflect.DeepEqual(got, next) {
		t.Errorf("aljazeera after the stale writes: got %+v, want %+v", got, next)
	}
	if got, _, _ := fb.Get(ctx, "rt"); !reflect.DeepEqual(got, want[2]) {
		t.Errorf("rt after the stale writes: got %+v, want %+v", got, want[2])
	}
}

func TestFeedsEmptyBucket(t *testing.T) {
	ns := testnats.Run(t, -1, t.TempDir())
	_, js := connect(t, ns.ClientURL())
	ctx := context.Background()
	kv, err := EnsureFeedsBucket(ctx, js, "feedd", 1)
	if err != nil {
		t.Fatal(err)
	}
	fs := NewFeeds(kv)
	if _, ok, err := fs.Get(ctx, "none"); ok || err != nil {
		t.Errorf("Get of a missing feed: got %v, %v, want false, nil", ok, err)
	}
	if all, err := fs.All(ctx); len(all) != 0 || err != nil {
		t.Errorf("All of an empty bucket: got %v, %v", all, err)
	}
	if err := fs.Claim(ctx, stale{1}); err != nil {
		t.Errorf("Claim of an empty bucket: %v", err)
	}
	if _, err := kv.PutString(ctx, "broken", "{"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fs.Get(ctx, "broken"); err == nil {
		t.Error("Get of a corrupt entry: got no error")
	}
}
