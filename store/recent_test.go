package store

import (
	"fmt"
	"testing"
)

func TestRecentLatestFirstWithOriginals(t *testing.T) {
	s := openTest(t)
	if got, err := s.Recent(t.Context(), 50); err != nil || len(got) != 0 {
		t.Fatalf("empty store: got %v, %v; want none", got, err)
	}
	orig, m := testArticle(0)
	mustInsert(t, s, orig, m)
	for i := 1; i < 60; i++ {
		a, m := testArticle(i)
		a.FeedID = fmt.Sprintf("feed%d", i%3)
		if i%10 == 0 {
			a.DuplicateOf, a.ClusterID = orig.ID, orig.ID
		}
		if i == 59 {
			a.DuplicateOf = "gone" // an original no longer recorded
		}
		mustInsert(t, s, a, m)
	}
	got, err := s.Recent(t.Context(), 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("got %d articles, want 50", len(got))
	}
	for k, r := range got {
		i := 59 - k
		want, _ := testArticle(i)
		if r.ID != want.ID || r.Title != want.Title || r.URL != want.CanonicalURL || !r.PublishedAt.Equal(want.PublishedAt) ||
			!r.FetchedAt.Equal(want.FetchedAt) || r.FeedID != fmt.Sprintf("feed%d", i%3) {
			t.Fatalf("article %d: got %+v, want %s %q", k, r, want.ID, want.Title)
		}
		switch {
		case i == 59:
			if r.DuplicateOf != "gone" || r.OriginalTitle != "" || r.OriginalFeedID != "" {
				t.Errorf("article %d: got %+v, want a duplicate of an unknown original", i, r)
			}
		case i%10 == 0:
			if r.DuplicateOf != orig.ID || r.OriginalTitle != orig.Title || r.OriginalFeedID != orig.FeedID {
				t.Errorf("article %d: got %+v, want a duplicate of %s %q", i, r, orig.ID, orig.Title)
			}
		default:
			if r.DuplicateOf != "" || r.OriginalTitle != "" {
				t.Errorf("article %d: got %+v, want new", i, r)
			}
		}
	}
}
