package cluster

import (
	"reflect"
	"testing"
	"time"

	"github.com/feedd/feedd/store"
)

// FuzzParseHolder feeds arbitrary bytes to the lease entry's parser: an error or a holder with
// an id and an epoch no later than the revision, never a panic.
func FuzzParseHolder(f *testing.F) {
	f.Add([]byte(`{"holder":"feedd-a"}`), uint64(7))
	f.Add([]byte(`{"holder":"feedd-a","epoch":7}`), uint64(9))
	f.Add([]byte(`{"holder":"","epoch":1}`), uint64(1))
	f.Add([]byte(`{"holder":"x","epoch":99}`), uint64(3))
	f.Add([]byte(`null`), uint64(0))
	f.Fuzz(func(t *testing.T, value []byte, rev uint64) {
		h, err := parseHolder(value, rev)
		if err != nil {
			return
		}
		if h.ID == "" || h.Epoch > rev || (h.Epoch == 0 && rev != 0) {
			t.Errorf("parseHolder(%q, %d) = %+v without error", value, rev, h)
		}
	})
}

// FuzzParseEntry feeds arbitrary bytes to the feed entry's parser; what it accepts must come
// back the same through the bucket's encoding.
func FuzzParseEntry(f *testing.F) {
	seed, _ := encodeEntry(3, fullFeed("bbc", 2))
	f.Add("bbc", seed)
	f.Add("bbc", []byte(`{"epoch":1,"id":"bbc","publishing_gap_ms":-5}`))
	f.Add("a", []byte(`{"epoch":1,"id":"a","publishing_gap_ms":9223372036854775807}`))
	f.Add("a", []byte(`{"epoch":1,"id":"a","items":-1,"consecutive_failures":-3}`))
	f.Add("a", []byte(`{"epoch":0,"id":"a"}`))
	f.Add("a", []byte(`{"epoch":1,"id":"b"}`))
	f.Add("a", []byte(`{"epoch":1,"id":"a","next_poll_at":"not a time"}`))
	f.Fuzz(func(t *testing.T, id string, value []byte) {
		e, err := parseEntry(id, value)
		if err != nil {
			return
		}
		again, err := encodeEntry(e.Epoch, e.feed())
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it again: %v", value, err)
		}
		e2, err := parseEntry(id, again)
		if err != nil {
			t.Fatalf("accepted %q but not its re-encoding %q: %v", value, again, err)
		}
		if f1, f2 := e.feed(), e2.feed(); !sameFeed(f1, f2) {
			t.Errorf("round trip changed %+v into %+v", f1, f2)
		}
	})
}

func sameFeed(a, b store.Feed) bool {
	ta := []time.Time{a.LastPollAt, a.LastSuccessAt, a.NextPollAt}
	tb := []time.Time{b.LastPollAt, b.LastSuccessAt, b.NextPollAt}
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.LastPollAt, a.LastSuccessAt, a.NextPollAt = time.Time{}, time.Time{}, time.Time{}
	b.LastPollAt, b.LastSuccessAt, b.NextPollAt = time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}
