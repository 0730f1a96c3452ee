package main

import (
	"encoding/json"
	"testing"
)

// TestDevDaysOnce runs the three SaudiNewsNet development days, as full-text feeds, through one
// `feedd run --once`: every distinct URL is published exactly once, as new or as duplicate, and
// the cross-outlet copies the days hold come out as duplicates of a story published as new.
func TestDevDaysOnce(t *testing.T) {
	bin := buildFeedd(t)
	srv, feeds, want := saudiFeeds(t, 0, "2015-08-01", "2015-08-02", "2015-08-03")
	ns := natsServer(t, t.TempDir())
	cfg := feedsConfig(t, t.TempDir(), ns.ClientURL(), "", srv, feeds, "")
	s := runOnceChild(t, bin, cfg)
	t.Logf("%d feeds: %+v", len(feeds), s)
	checkExactlyOnce(t, ns.ClientURL(), want)
	if s.Duplicates == 0 || s.New+s.Duplicates != len(want) {
		t.Errorf("new %d + duplicates %d, want %d distinct articles with some duplicates", s.New, s.Duplicates, len(want))
	}

	// Every duplicate points at an article published as new, in its cluster.
	ids := map[string]string{} // id -> kind
	type ref struct{ id, of, cluster string }
	var dups []ref
	for _, m := range streamMessages(t, ns.ClientURL(), "ARTICLES") {
		var a struct {
			ID          string  `json:"id"`
			DuplicateOf string  `json:"duplicate_of"`
			ClusterID   string  `json:"cluster_id"`
			Similarity  float64 `json:"similarity"`
		}
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			t.Fatal(err)
		}
		if a.DuplicateOf == "" {
			ids[a.ID] = "new"
			if a.ClusterID != a.ID {
				t.Errorf("new article %s has cluster %s, want its own id", a.ID, a.ClusterID)
			}
			continue
		}
		ids[a.ID] = "duplicate"
		if a.Similarity <= 0 || a.Similarity > 1 {
			t.Errorf("duplicate %s has similarity %v", a.ID, a.Similarity)
		}
		dups = append(dups, ref{a.ID, a.DuplicateOf, a.ClusterID})
	}
	for _, d := range dups {
		if _, ok := ids[d.of]; !ok {
			t.Errorf("duplicate %s points at %s, which was not published", d.id, d.of)
		}
		if ids[d.cluster] != "new" {
			t.Errorf("duplicate %s is in cluster %s, which is not an article published as new", d.id, d.cluster)
		}
	}
}
