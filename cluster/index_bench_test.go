package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/internal/testfeeds"
)

// BenchmarkStandbyIndex measures what a standby pays to keep its duplicate index: the
// fingerprint of each published article, recomputed from the message's text or read from a
// header the leader would add. It runs the ways side by side on each message of two
// development days (each as the message feedd publishes) and reports the median of each:
//
//	go test ./cluster -run '^$' -bench StandbyIndex -benchtime 2000x -count 3
//
//   - recompute: decode the JSON body, Decide (normalise, sign, look up candidates), Record;
//   - header: decode the JSON body (the repeat keys are in it), decode the header, Restore;
//   - json_only: decode the JSON body alone, which both of the above pay;
//   - header_only: decode the header and Restore, the id taken from Nats-Msg-Id: the cost when
//     the repeat keys ride in headers too.
//
// Each pass over the articles starts a fresh index, so recompute meets the candidates the
// leader met.

// fingerprintHeader would carry an article's encoded dedupe fingerprint (base64, at most 476
// bytes) if the leader sent it to the standbys.
const fingerprintHeader = "Feedd-Fingerprint"

type benchMsg struct {
	id     string
	body   []byte
	header string // base64 fingerprint
}

type noKeys struct{}

func (noKeys) HasURL(context.Context, string) (bool, error)          { return false, nil }
func (noKeys) HasGUID(context.Context, string, string) (bool, error) { return false, nil }
func (noKeys) FindContent(context.Context, string, time.Time) (dedupe.Match, bool, error) {
	return dedupe.Match{}, false, nil
}

func benchMessages(b *testing.B) []benchMsg {
	b.Helper()
	dir := testfeeds.Corpus(b)
	var msgs []benchMsg
	dd := dedupe.NewDecider(noKeys{}, 0)
	ctx := context.Background()
	for _, day := range []string{"2015-08-01", "2015-08-02"} {
		arts, err := testfeeds.SaudiNewsNet(dir, day)
		if err != nil {
			b.Fatal(err)
		}
		for _, ta := range arts {
			canon, err := dedupe.CanonicalURL(ta.URL)
			if err != nil {
				continue
			}
			a := article.Article{
				SchemaVersion: article.SchemaVersion, ID: article.ID(canon, ta.Source, "", ""),
				URL: ta.URL, CanonicalURL: canon, FeedID: ta.Source, FeedURL: "https://example.org/" + ta.Source,
				Source: ta.Source, Lang: "ar", Title: ta.Title, ContentText: ta.Content,
				ContentHTML: "<p>" + strings.ReplaceAll(ta.Content, "\n", "</p><p>") + "</p>",
				Authors:     []string{}, Categories: []string{}, PublishedAt: ta.Published().UTC(), FetchedAt: ta.Published().UTC(),
			}
			a.ClusterID = a.ID
			dec, err := dd.Decide(ctx, dedupe.Doc{FeedID: a.FeedID, CanonicalURL: canon, Title: a.Title, Text: a.ContentText, PublishedAt: a.PublishedAt}, a.FetchedAt)
			if err != nil {
				b.Fatal(err)
			}
			if dec.Verdict == dedupe.Duplicate {
				a.DuplicateOf, a.ClusterID, a.Similarity = dec.DuplicateOf, dec.ClusterID, dec.Similarity
			}
			dd.Record(a.ID, a.ClusterID, dec)
			body, err := article.Marshal(&a)
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, benchMsg{id: a.ID, body: body, header: base64.StdEncoding.EncodeToString(dec.Fingerprint)})
		}
	}
	return msgs
}

func BenchmarkStandbyIndex(b *testing.B) {
	msgs := benchMessages(b)
	var bodyBytes, headerBytes int
	for _, m := range msgs {
		bodyBytes += len(m.body)
		headerBytes += len(fingerprintHeader) + 2 + len(m.header)
	}
	ctx := context.Background()
	// The ways, run side by side on each message so that the machine's load falls on all alike.
	ways := []struct {
		name  string
		apply func(dd *dedupe.Decider, m benchMsg) error
	}{
		{"recompute", func(dd *dedupe.Decider, m benchMsg) error {
			var a article.Article
			if err := json.Unmarshal(m.body, &a); err != nil {
				return err
			}
			dec, err := dd.Decide(ctx, dedupe.Doc{FeedID: a.FeedID, Source: a.Source, CanonicalURL: a.CanonicalURL, GUID: a.GUID,
				Title: a.Title, Text: a.ContentText, PublishedAt: a.PublishedAt}, a.FetchedAt)
			if err != nil {
				return err
			}
			dd.Record(a.ID, a.ClusterID, dec)
			return nil
		}},
		{"header", func(dd *dedupe.Decider, m benchMsg) error {
			var a article.Article
			if err := json.Unmarshal(m.body, &a); err != nil {
				return err
			}
			fp, err := base64.StdEncoding.DecodeString(m.header)
			if err != nil {
				return err
			}
			return dd.Restore(a.ID, a.ClusterID, a.FeedID, a.PublishedAt, fp)
		}},
		{"json_only", func(_ *dedupe.Decider, m benchMsg) error {
			var a article.Article
			return json.Unmarshal(m.body, &a)
		}},
		{"header_only", func(dd *dedupe.Decider, m benchMsg) error {
			fp, err := base64.StdEncoding.DecodeString(m.header)
			if err != nil {
				return err
			}
			return dd.Restore(m.id, m.id, "feed", time.Time{}, fp)
		}},
	}
	dds := make([]*dedupe.Decider, len(ways))
	times := make([][]time.Duration, len(ways))
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i%len(msgs) == 0 {
			for w := range dds {
				dds[w] = dedupe.NewDecider(noKeys{}, 0)
			}
		}
		m := msgs[i%len(msgs)]
		for w, way := range ways {
			t0 := time.Now()
			if err := way.apply(dds[w], m); err != nil {
				b.Fatal(err)
			}
			times[w] = append(times[w], time.Since(t0))
		}
		i++
	}
	medians := make([]float64, len(ways))
	for w, way := range ways {
		slices.Sort(times[w])
		medians[w] = float64(times[w][len(times[w])/2].Nanoseconds())
		b.ReportMetric(medians[w], way.name+"-p50-ns")
	}
	b.ReportMetric(medians[0]/medians[1], "recompute/header")
	b.ReportMetric((medians[0]-medians[2])/medians[3], "fingerprint:recompute/header")
	b.ReportMetric(float64(bodyBytes)/float64(len(msgs)), "body-bytes/msg")
	b.ReportMetric(float64(headerBytes)/float64(len(msgs)), "header-bytes/msg")
}
