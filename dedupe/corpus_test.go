package dedupe

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
)

// devDays are the SaudiNewsNet days the development set is drawn from. The days 2015-08-08, -09
// and -10 are held out for evaluation by others: never add them here.
var devDays = []string{"2015-08-01", "2015-08-02", "2015-08-03"}

// snnArticle is one article of the SaudiNewsNet corpus, with its extraction time read as UTC.
type snnArticle struct {
	testfeeds.Article
	at time.Time
}

// id is the article id the evaluation uses: hex SHA-256 of the URL, like a published id.
func (a *snnArticle) id() string {
	h := sha256.Sum256([]byte(a.URL))
	return hex.EncodeToString(h[:])
}

func (a *snnArticle) doc() Doc {
	return Doc{FeedID: a.Source, CanonicalURL: a.URL, Title: a.Title, Text: a.Content, PublishedAt: a.at}
}

var devCorpus = sync.OnceValues(func() ([]snnArticle, error) {
	var all []snnArticle
	for _, day := range devDays {
		arts, err := readDay(day)
		if err != nil {
			return nil, err
		}
		all = append(all, arts...)
	}
	slices.SortStableFunc(all, func(a, b snnArticle) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.Source, b.Source), cmp.Compare(a.URL, b.URL))
	})
	return all, nil
})

// loadDevCorpus returns the articles of the development days in time order, or skips the test
// when the corpus is absent.
func loadDevCorpus(tb testing.TB) []snnArticle {
	tb.Helper()
	arts, err := devCorpus()
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("corpus not available: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return arts
}

// readDay reads one day of the corpus and the extraction time of each article.
func readDay(day string) ([]snnArticle, error) {
	raw, err := testfeeds.SaudiNewsNet(corpusRoot, day)
	if err != nil {
		return nil, err
	}
	out := make([]snnArticle, len(raw))
	for i, a := range raw {
		t, err := time.Parse(time.DateTime, a.DateExtracted)
		if err != nil {
			return nil, fmt.Errorf("%s: article %s: date_extracted: %w", day, a.URL, err)
		}
		out[i] = snnArticle{Article: a, at: t}
	}
	return out, nil
}

// memKeys is an in-memory Keys for evaluations that run thousands of decisions: the same
// lookups as the store's, on maps.
type memKeys struct {
	urls    map[string]bool
	guids   map[[2]string]bool
	content map[string][]memContent
}

type memContent struct {
	m  Match
	at time.Time
}

func newMemKeys() *memKeys {
	return &memKeys{urls: map[string]bool{}, guids: map[[2]string]bool{}, content: map[string][]memContent{}}
}

func (k *memKeys) HasURL(_ context.Context, u string) (bool, error) { return k.urls[u], nil }
func (k *memKeys) HasGUID(_ context.Context, feedID, guid string) (bool, error) {
	return k.guids[[2]string{feedID, guid}], nil
}
func (k *memKeys) FindContent(_ context.Context, key string, since time.Time) (Match, bool, error) {
	for _, c := range k.content[key] {
		if !c.at.Before(since) {
			return c.m, true, nil
		}
	}
	return Match{}, false, nil
}

// record stores what the pipeline's store would: the keys of an article that was not a repeat.
func (k *memKeys) record(d Doc, id string, dec Decision, at time.Time) {
	if d.CanonicalURL != "" {
		k.urls[d.CanonicalURL] = true
	}
	if d.GUID != "" {
		k.guids[[2]string{d.FeedID, d.GUID}] = true
	}
	if dec.ContentKey != "" {
		cluster := dec.ClusterID
		if cluster == "" {
			cluster = id
		}
		k.content[dec.ContentKey] = append(k.content[dec.ContentKey], memContent{Match{ID: id, ClusterID: cluster}, at})
	}
}

// streamResult is what running a corpus through a Decider gave each article.
type streamResult struct {
	dec     map[string]Decision // by URL
	cluster map[string]string   // by URL: the cluster id
	ids     map[string]string   // id to URL
}

// runStream decides and records every article in order, as the pipeline does, with the article's
// time as the decision time.
func runStream(tb testing.TB, dd *Decider, keys *memKeys, arts []snnArticle) streamResult {
	tb.Helper()
	ctx := context.Background()
	r := streamResult{dec: map[string]Decision{}, cluster: map[string]string{}, ids: map[string]string{}}
	for i := range arts {
		a := &arts[i]
		d := a.doc()
		dec, err := dd.Decide(ctx, d, a.at)
		if err != nil {
			tb.Fatal(err)
		}
		if dec.Verdict == Repeat {
			continue
		}
		id := a.id()
		cluster := id
		if dec.Verdict == Duplicate {
			cluster = dec.ClusterID
		}
		keys.record(d, id, dec, a.at)
		dd.Record(id, cluster, dec)
		r.dec[a.URL] = dec
		r.cluster[a.URL] = cluster
		r.ids[id] = a.URL
	}
	return r
}
