package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPriorAndRevise records an article, finds it by its URL and by its GUID, and revises it
// twice: once with a message (an update, queued in the outbox) and once without (a change that
// is not material, only the item hash kept).
func TestPriorAndRevise(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	a := Article{ID: "a1", FeedID: "spa", CanonicalURL: "https://spa.example/1", GUID: "g1", ContentKey: "k1",
		ClusterID: "c1", FetchedAt: at, ItemHash: "h1"}
	if _, err := s.Insert(ctx, a, Message{MsgID: "a1", Subject: "articles.new.ar.spa", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range [][3]string{{"spa", "https://spa.example/1", ""}, {"spa", "", "g1"}, {"other", "https://spa.example/1", "g9"}} {
		p, ok, err := s.Prior(ctx, q[0], q[1], q[2])
		if err != nil || !ok || p.ID != "a1" || p.ClusterID != "c1" || p.ContentKey != "k1" || p.ItemHash != "h1" || !p.FetchedAt.Equal(at) {
			t.Errorf("Prior%q: got %+v %v %v", q, p, ok, err)
		}
	}
	if _, ok, err := s.Prior(ctx, "other", "", "g1"); ok || err != nil {
		t.Errorf("Prior of another feed's GUID: got %v %v, want not found", ok, err)
	}

	b, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Revise(ctx, "a1", "h2", "k2", &Message{MsgID: "a1.k2", Subject: "articles.updated.ar.spa", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := b.Prior(ctx, "spa", "https://spa.example/1", ""); p.ItemHash != "h2" || p.ContentKey != "k2" {
		t.Errorf("Prior inside the batch: %+v, want the revision", p)
	}
	if err := b.Revise(ctx, "missing", "h", "k", nil); err == nil {
		t.Error("Revise of an unknown article: got nil, want an error")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := s.Unsent(); n != 2 {
		t.Errorf("unsent: %d, want 2 (the article and its update)", n)
	}
	b, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Revise(ctx, "a1", "h3", "k2", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Pending(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].MsgID != "a1.k2" || msgs[1].Subject != "articles.updated.ar.spa" {
		t.Errorf("outbox: %+v, want the article's message then its update's", msgs)
	}
	if p, _, _ := s.Prior(ctx, "spa", "https://spa.example/1", ""); p.ItemHash != "h3" || p.ContentKey != "k2" {
		t.Errorf("Prior after a revision without a message: %+v, want hash h3, key k2", p)
	}
}

// TestPriors: Priors finds for each key what Prior finds, by canonical URL in any feed, else by
// GUID in the feed, for more keys than one query asks for, with duplicate and empty keys.
func TestPriors(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	const n = 2*maxPriorsIn + 7
	for i := range n {
		feed := "spa"
		if i%3 == 0 {
			feed = "okaz"
		}
		url := fmt.Sprintf("https://%s.example/%d", feed, i)
		if i%5 == 0 {
			url = "" // found by its GUID only
		}
		a := Article{ID: fmt.Sprintf("a%d", i), FeedID: feed, CanonicalURL: url, GUID: fmt.Sprintf("g%d", i),
			ContentKey: fmt.Sprintf("k%d", i), ClusterID: fmt.Sprintf("c%d", i), FetchedAt: at.Add(time.Duration(i) * time.Second),
			ItemHash: fmt.Sprintf("h%d", i)}
		if _, err := s.Insert(ctx, a, Message{MsgID: a.ID, Subject: "articles.new.ar." + feed, Data: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []PriorKey
	for i := range n + 20 { // 20 unknown
		feed := "spa"
		if i%3 == 0 {
			feed = "okaz"
		}
		keys = append(keys,
			PriorKey{CanonicalURL: fmt.Sprintf("https://%s.example/%d", feed, i)},
			PriorKey{GUID: fmt.Sprintf("g%d", i)},
			PriorKey{CanonicalURL: fmt.Sprintf("https://%s.example/%d", feed, i), GUID: "elsewhere"},
			PriorKey{CanonicalURL: "https://unknown.example/" + fmt.Sprint(i), GUID: fmt.Sprintf("g%d", i)})
	}
	keys = append(keys, PriorKey{}, keys[0], keys[1])
	for _, feed := range []string{"spa", "okaz", "none"} {
		got, err := s.Priors(ctx, feed, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(keys) {
			t.Fatalf("got %d priors for %d keys", len(got), len(keys))
		}
		found := 0
		for i, k := range keys {
			want, ok, err := s.Prior(ctx, feed, k.CanonicalURL, k.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				want = Prior{}
			}
			if got[i] != want {
				t.Errorf("feed %s, key %+v: Priors gives %+v, Prior %+v", feed, k, got[i], want)
			}
			if ok {
				found++
			}
		}
		if found < n {
			t.Errorf("feed %s: %d keys found, want at least %d: the test asks too little", feed, found, n)
		}
	}
	if got, err := s.Priors(ctx, "spa", nil); err != nil || len(got) != 0 {
		t.Errorf("Priors of no keys: %v, %v", got, err)
	}
}

// TestPriorsUseTheKeyIndexes: the lookups are searches of the unique key indexes, not scans of
// the articles, which would cost a feed's poll the whole table.
func TestPriorsUseTheKeyIndexes(t *testing.T) {
	s := openTest(t)
	for query, index := range map[string]string{
		queryPriorsURL + "(?,?,?)": "articles_canonical_url",
		queryPriorsGUID + "(?,?)":  "articles_feed_guid",
	} {
		if p := queryPlan(t, s, query, "a", "b", "c"); !strings.Contains(p, "SEARCH") || !strings.Contains(p, index) {
			t.Errorf("plan of %q: %s, want a search of index %s", query, p, index)
		}
	}
}
