package fetcher

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
)

// peerFile is one file of the peer corpora, served with the headers its comment asks for.
type peerFile struct {
	rel    string // path under peer-tests, with slashes
	path   string
	header http.Header
}

// headerLine is a feedparser test's simulated HTTP header: "Header: Content-type: text/xml".
var headerLine = regexp.MustCompile(`(?m)^Header:\s*([A-Za-z0-9-]+):[ \t]*(.*?)\s*$`)

// peerHeaders reads the Header: lines of the comment at the start of a feedparser test (after
// the XML declaration, if any).
func peerHeaders(raw []byte) http.Header {
	h := http.Header{}
	head := raw[:min(len(raw), 4096)]
	start := bytes.Index(head, []byte("<!--"))
	if start < 0 {
		return h
	}
	end := bytes.Index(head[start:], []byte("-->"))
	if end < 0 {
		return h
	}
	for _, m := range headerLine.FindAllSubmatch(head[start:start+end], -1) {
		if len(m[2]) > 0 {
			h.Add(string(m[1]), string(m[2]))
		}
	}
	return h
}

// peerFailures are the files of the peer corpora that are not feeds fetcher can read, by path
// prefix under peer-tests: everything else under feedparser/wellformed and every gofeed .xml
// file must parse.
var peerFailures = []string{
	"feedparser/wellformed/cdf/", // Microsoft CDF: gofeed has no parser for it
	"feedparser/wellformed/base/cdf_item_abstract_xml_base.xml",
	"gofeed/parser/universal/empty_feed.xml",
	"gofeed/parser/universal/unknown_feed.xml",
}

// mustParse reports whether a file of the peer corpora must be fetched successfully.
func mustParse(rel string) bool {
	for _, prefix := range peerFailures {
		if strings.HasPrefix(rel, prefix) {
			return false
		}
	}
	return strings.HasPrefix(rel, "feedparser/wellformed/") ||
		(strings.HasPrefix(rel, "gofeed/") && strings.HasSuffix(rel, ".xml"))
}

// TestFetchPeerCorpora serves every file of feedparser's and gofeed's test corpora over one
// HTTP server, with the Content-Type (and other headers) feedparser's tests simulate, and
// fetches them all, eight at a time: none may panic or hang, each must end as a feed or a
// classified *Error, and the well-formed feeds must parse.
func TestFetchPeerCorpora(t *testing.T) {
	root := filepath.Join(testfeeds.Corpus(t), "peer-tests")
	var files []peerFile
	for _, sub := range []string{"feedparser", "gofeed"} {
		dir := filepath.Join(root, sub)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, peerFile{rel: filepath.ToSlash(rel), path: path, header: peerHeaders(raw)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Skip("no peer corpora")
	}
	byPath := map[string]*peerFile{}
	for i := range files {
		byPath["/"+files[i].rel] = &files[i]
	}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		pf := byPath[r.URL.Path]
		if pf == nil {
			http.NotFound(w, r)
			return
		}
		raw, err := os.ReadFile(pf.path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header()["Content-Type"] = nil // no sniffed type: only what the test simulates
		maps.Copy(w.Header(), pf.header)
		_, _ = w.Write(raw)
	})

	f := New(Options{Timeout: 5 * time.Second})
	type outcome struct {
		rel   string
		class Class // "" for success
		err   error
	}
	start := time.Now()
	jobs := make(chan *peerFile)
	results := make(chan outcome)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for pf := range jobs {
				u := srv.URL + (&url.URL{Path: "/" + pf.rel}).EscapedPath()
				res, err := f.Fetch(context.Background(), Request{URL: u})
				o := outcome{rel: pf.rel, err: err}
				switch e, ok := err.(*Error); {
				case err == nil && (res == nil || res.Feed == nil):
					o.class, o.err = "no feed", nil
				case err == nil:
				case !ok || e.Class == "":
					o.class = "unclassified"
				default:
					o.class = e.Class
				}
				results <- o
			}
		})
	}
	go func() {
		for i := range files {
			jobs <- &files[i]
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	counts := map[Class]int{}
	deadline := time.After(2 * time.Minute) // far beyond the normal few seconds: a hang
	for done := 0; done < len(files); done++ {
		var o outcome
		select {
		case o = <-results:
		case <-deadline:
			t.Fatalf("%d of %d fetches still running after 2 minutes", len(files)-done, len(files))
		}
		name := Class("ok")
		if o.class != "" {
			name = o.class
		}
		counts[name]++
		switch {
		case o.class == "no feed" || o.class == "unclassified":
			t.Errorf("%s: got %s (%v), want a feed or a classified *Error", o.rel, o.class, o.err)
		case o.class != "" && mustParse(o.rel):
			t.Errorf("%s: got %v, want a feed", o.rel, o.err)
		}
	}
	for _, class := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%-10s %d", class, counts[class])
	}
	t.Logf("%d files fetched in %v", len(files), time.Since(start).Round(time.Millisecond))
	if len(files) < 2600 {
		t.Errorf("got %d files, want the 2,600+ of the two corpora", len(files))
	}
}
