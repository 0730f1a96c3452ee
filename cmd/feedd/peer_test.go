package main

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPeerCorpora serves every file of the feedparser and gofeed test corpora (thousands of
// well- and ill-formed feeds) as a feed, and runs `feedd run --once` over all of them: no panic,
// no hang, every feed counted as fetched or failed, and what was published adds up.
func TestPeerCorpora(t *testing.T) {
	bin := buildFeedd(t)
	root := filepath.Join(corpusDir, "peer-tests")
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	if len(paths) < 2600 {
		t.Fatalf("only %d files under %s", len(paths), root)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d.xml", &i); err != nil || i < 0 || i >= len(paths) {
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(paths[i])
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		// feedparser's files simulate HTTP headers in their leading comment.
		for _, line := range strings.Split(string(body[:min(len(body), 2048)]), "\n") {
			if h, ok := strings.CutPrefix(strings.TrimSpace(line), "Header:"); ok {
				if k, v, ok := strings.Cut(strings.TrimSpace(h), ":"); ok {
					w.Header().Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
		}
		w.Write(body)
	}))
	defer srv.Close()

	ns := natsServer(t, t.TempDir())
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "data_dir: %q\nlog:\n  level: error\nnats:\n  url: %q\nhttp:\n  listen: \"\"\npoll:\n  timeout: 5s\n  concurrency: 16\n  per_host: 16\n  host_gap: 0s\nfeeds:\n", t.TempDir(), ns.ClientURL())
	for i := range paths {
		fmt.Fprintf(&cfg, "  - id: p%04d\n    url: %s/%d.xml\n", i, srv.URL, i)
	}
	cfgPath := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := runOnceChild(t, bin, cfgPath)
	t.Logf("%d files: %+v", len(paths), s)
	if s.Feeds != len(paths) || s.Fetched+s.Failed != len(paths) {
		t.Errorf("feeds %d, fetched %d + failed %d; want %d in all", s.Feeds, s.Fetched, s.Failed, len(paths))
	}
	if s.Fetched < len(paths)*9/10 {
		t.Errorf("only %d of %d files fetched as feeds", s.Fetched, len(paths))
	}
	if int64(s.New+s.Duplicates) != s.Published || s.Pending != 0 {
		t.Errorf("new %d + duplicates %d, published %d, pending %d", s.New, s.Duplicates, s.Published, s.Pending)
	}
	if n := streamCount(ns.ClientURL()); n != s.New+s.Duplicates {
		t.Errorf("stream holds %d articles, summary says %d", n, s.New+s.Duplicates)
	}
}
