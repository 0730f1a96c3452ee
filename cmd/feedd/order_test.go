//go:build slow

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

var orderRuns = flag.Int("order-runs", 10, "TestShuffledRunsSameStories: runs of the development days")

// TestShuffledRunsSameStories runs the three development days, as full-text feeds, through
// `feedd run --once` several times, each with the feeds in another order and poll.concurrency 16,
// so that polls reach the duplicate decision in another order each time: every run must group
// the articles into the same stories (which article of a story is its original may change).
//
//	go test -tags slow -run TestShuffledRunsSameStories ./cmd/feedd -args -order-runs 10
func TestShuffledRunsSameStories(t *testing.T) {
	bin := buildFeedd(t)
	srv, feeds, want := saudiFeeds(t, 0, "2015-08-01", "2015-08-02", "2015-08-03")
	var first map[[2]string]bool
	for run := range *orderRuns {
		order := slices.Clone(feeds)
		rng := rand.New(rand.NewPCG(uint64(run), 7))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		ns := natsServer(t, t.TempDir())
		cfg := feedsConfig(t, t.TempDir(), ns.ClientURL(), "", srv, order, "extract:\n  full_text: never\n")
		data, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.Replace(string(data), "concurrency: 8\n  per_host: 8", "concurrency: 16\n  per_host: 16", 1))
		if err := os.WriteFile(cfg, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := runOnceChild(t, bin, cfg)
		if s.New+s.Duplicates != len(want) {
			t.Fatalf("run %d: %+v, want %d articles", run, s, len(want))
		}
		pairs := storyPairs(t, ns.ClientURL())
		ns.Shutdown()
		t.Logf("run %d: %d new, %d duplicates, %d same-story pairs", run, s.New, s.Duplicates, len(pairs))
		if first == nil {
			first = pairs
			continue
		}
		if diff := pairDiff(first, pairs); diff != "" {
			t.Errorf("run %d groups the stories differently from run 0:\n%s", run, diff)
		}
	}
}

// storyPairs returns the unordered pairs of article URLs published in one cluster.
func storyPairs(t *testing.T, natsURL string) map[[2]string]bool {
	t.Helper()
	clusters := map[string][]string{}
	for _, m := range streamMessages(t, natsURL, "ARTICLES") {
		var a struct {
			URL       string `json:"url"`
			ClusterID string `json:"cluster_id"`
		}
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			t.Fatal(err)
		}
		clusters[a.ClusterID] = append(clusters[a.ClusterID], a.URL)
	}
	pairs := map[[2]string]bool{}
	for _, urls := range clusters {
		slices.Sort(urls)
		for i := range urls {
			for j := i + 1; j < len(urls); j++ {
				pairs[[2]string{urls[i], urls[j]}] = true
			}
		}
	}
	return pairs
}

// pairDiff lists the pairs in one set and not the other, at most ten of each.
func pairDiff(a, b map[[2]string]bool) string {
	var out strings.Builder
	for _, d := range []struct {
		name     string
		from, to map[[2]string]bool
	}{{"only in the first", a, b}, {"only in this one", b, a}} {
		n := 0
		for p := range d.from {
			if !d.to[p] {
				if n < 10 {
					fmt.Fprintf(&out, "  %s: %s ≈ %s\n", d.name, p[0], p[1])
				}
				n++
			}
		}
		if n > 10 {
			fmt.Fprintf(&out, "  … %d more %s\n", n-10, d.name)
		}
	}
	return out.String()
}
