package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
)

func needCorpus(t *testing.T) string {
	t.Helper()
	dir, ok := testfeeds.CorpusDir()
	if !ok {
		t.Skip("corpus not available")
	}
	return dir
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{name: "none", xs: nil, want: 0},
		{name: "one", xs: []float64{2}, want: 2},
		{name: "odd count, unsorted", xs: []float64{3, 1, 2}, want: 2},
		{name: "even count is the mean of the middle two", xs: []float64{4, 1, 3, 2}, want: 2.5},
		{name: "an outlier does not move it", xs: []float64{1, 1.1, 90}, want: 1.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.xs); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*options)
		wantErr string
	}{
		{name: "defaults", change: func(*options) {}},
		{name: "no feeds", change: func(o *options) { o.feeds = 0 }, wantErr: "-feeds 0"},
		{name: "no articles per feed", change: func(o *options) { o.perFeed = -1 }, wantErr: "-per-feed -1"},
		{name: "no runs", change: func(o *options) { o.runs = 0 }, wantErr: "-runs 0"},
		{name: "no concurrency", change: func(o *options) { o.concurrency = 0 }, wantErr: "-concurrency 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultOptions()
			tt.change(&o)
			err := o.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadFeeds(t *testing.T) {
	dir := needCorpus(t)
	feeds, articles, err := loadFeeds(dir, 7, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(feeds) != 7 {
		t.Errorf("got %d feeds, want 7", len(feeds))
	}
	if articles < 7 || articles > 7*20 {
		t.Errorf("got %d articles in 7 feeds of at most 20, want between 7 and 140", articles)
	}
	for _, f := range feeds {
		if !strings.Contains(f.ID, "-0801-") && !strings.Contains(f.ID, "-0802-") && !strings.Contains(f.ID, "-0803-") {
			t.Errorf("feed %s is not from a development day", f.ID)
		}
	}

	if _, _, err := loadFeeds(dir, 100000, 20); err == nil || !strings.Contains(err.Error(), "-feeds 100000") {
		t.Errorf("100000 feeds: got %v, want an error naming -feeds 100000", err)
	}
}

func TestLoadFeedsWithoutCorpus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "corpus")
	_, _, err := loadFeeds(dir, 1, 20)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("got %v, want an error naming %s", err, dir)
	}
}

// TestRefusesWithoutCorpus runs the command from a clone that has no ../shared/corpus.
func TestRefusesWithoutCorpus(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "feedd")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(repo)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-feeds", "1", "-runs", "1"}, &stdout, &stderr)
	if code != 2 {
		t.Errorf("got exit code %d, want 2", code)
	}
	want := filepath.Join(root, "shared", "corpus")
	if !strings.Contains(stderr.String(), "corpus not found at "+want) {
		t.Errorf("got stderr %q, want it to name the missing %s", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("got stdout %q, want none", stdout.String())
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "unknown flag", args: []string{"-nope"}},
		{name: "argument", args: []string{"extra"}},
		{name: "bad value", args: []string{"-runs", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("run(%q) = %d, want 2 (stderr %q)", tt.args, code, stderr.String())
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	tests := []struct {
		name  string
		ratio float64
		want  string
	}{
		{name: "within", ratio: 1.2, want: "ratio feedd/floor: 1.20 (within the bound of 1.5)"},
		{name: "beyond", ratio: 9.31, want: "ratio feedd/floor: 9.31 (NOT within the bound of 1.5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report{Ratio: tt.ratio, RatioLimit: ratioLimit,
				Floor: side{Name: "floor: x", MedianSeconds: 1, ArticlesPerSecond: 100, PeakBytes: 3 << 20},
				Feedd: side{Name: "feedd run --once", MedianSeconds: tt.ratio, PeakBytes: 64 << 20}}
			var b bytes.Buffer
			r.writeText(&b)
			for _, want := range []string{tt.want, "3.0 MiB", "64.0 MiB"} {
				if !strings.Contains(b.String(), want) {
					t.Errorf("got\n%s\nwant it to contain %q", b.String(), want)
				}
			}
		})
	}
}

// TestSmoke runs the whole benchmark on 5 feeds, once, and checks its JSON report.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs feedd")
	}
	needCorpus(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-feeds", "5", "-runs", "1", "-json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("reading the JSON report %q: %v", stdout.String(), err)
	}
	if r.Load.Feeds != 5 || r.Load.Articles < 5 {
		t.Errorf("got %d feeds and %d articles, want 5 feeds of at least one article", r.Load.Feeds, r.Load.Articles)
	}
	if r.Summary.Items != r.Load.Articles || r.Summary.Published != int64(r.Summary.New+r.Summary.Duplicates) {
		t.Errorf("got summary %+v, want all %d articles read and the recorded ones published", r.Summary, r.Load.Articles)
	}
	for _, s := range []side{r.Floor, r.Feedd} {
		if len(s.Runs) != 1 {
			t.Errorf("%s: got %d runs, want 1", s.Name, len(s.Runs))
		}
		if s.MedianSeconds <= 0 || s.ArticlesPerSecond <= 0 || s.PeakBytes <= 0 {
			t.Errorf("%s: got median %vs, %v articles/s, peak %d bytes, want all positive", s.Name,
				s.MedianSeconds, s.ArticlesPerSecond, s.PeakBytes)
		}
	}
	if want := r.Feedd.MedianSeconds / r.Floor.MedianSeconds; r.Ratio != want {
		t.Errorf("got ratio %v, want %v", r.Ratio, want)
	}
	if r.Machine.CPUs < 1 || r.Machine.GoVersion == "" {
		t.Errorf("got machine %+v, want CPUs and a Go version", r.Machine)
	}
}

// TestRoundServer: between the two rounds of a repeat run every feed changes (so that a client
// that kept its ETag still gets the whole body) but keeps the same items; within a round the
// ETag is honoured with a 304. The items are dated within the last three days and a few hours:
// inside feedd's default duplicate window of 7 days, as in a live steady state.
func TestRoundServer(t *testing.T) {
	dir := needCorpus(t)
	feeds, articles, err := loadFeeds(dir, 3, 20)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := newRoundServer(feeds, now)
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(path, etag string) (int, string, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("ETag"), body
	}
	items := 0
	for _, f := range feeds {
		code0, etag0, body0 := get(f.Path, "")
		if code, _, _ := get(f.Path, etag0); code != http.StatusNotModified {
			t.Errorf("%s: got %d with the round's ETag, want 304", f.Path, code)
		}
		s.round.Store(1)
		code1, etag1, body1 := get(f.Path, etag0)
		s.round.Store(0)
		if code0 != http.StatusOK || code1 != http.StatusOK {
			t.Fatalf("%s: got %d and %d, want 200 in both rounds", f.Path, code0, code1)
		}
		if etag0 == etag1 || bytes.Equal(body0, body1) {
			t.Errorf("%s: the second round serves the same body or ETag as the first", f.Path)
		}
		if !bytes.Contains(body1, []byte("<lastBuildDate>")) || itemCount(body0) != itemCount(body1) {
			t.Errorf("%s: got %d then %d items, want the same items and a lastBuildDate", f.Path, itemCount(body0), itemCount(body1))
		}
		items += itemCount(body1)
		dates := 0
		pubDates(body1, func(d string) string {
			dates++
			at, err := time.Parse(time.RFC1123Z, d)
			if err != nil || at.After(now.Add(-2*time.Hour)) || at.Before(now.Add(-4*24*time.Hour)) {
				t.Errorf("%s: item dated %q (%v), want between 4 days and 2 hours before now", f.Path, d, err)
			}
			return d
		})
		if dates != itemCount(body1) {
			t.Errorf("%s: %d items dated of %d", f.Path, dates, itemCount(body1))
		}
	}
	if items != articles {
		t.Errorf("served %d items, want %d", items, articles)
	}
}

// TestSmokeRepeat runs the repeat benchmark on 3 feeds, once, with a baseline binary, and checks
// that the timed round found every item a repeat, for feedd and for the baseline.
func TestSmokeRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs feedd")
	}
	needCorpus(t)
	mod, err := moduleDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "feedd")
	if err := buildFeedd(t.Context(), mod, bin); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-repeat", "-feeds", "3", "-runs", "1", "-feedd", bin, "-baseline", bin, "-json"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("reading the JSON report %q: %v", stdout.String(), err)
	}
	if s := r.Summary; s.Repeats != r.Load.Articles || s.New+s.Duplicates != 0 || s.Published != 0 {
		t.Errorf("got summary %+v, want all %d items repeats and nothing published", s, r.Load.Articles)
	}
	if r.Baseline == nil || len(r.Baseline.Runs) != 1 || len(r.Feedd.Runs) != 1 || r.BaselineRatio <= 0 {
		t.Fatalf("got feedd runs %v, baseline %+v (ratio %v), want one run of each", r.Feedd.Runs, r.Baseline, r.BaselineRatio)
	}
	if r.RatioLimit != repeatRatioLimit {
		t.Errorf("got ratio limit %v, want %v", r.RatioLimit, repeatRatioLimit)
	}
}
