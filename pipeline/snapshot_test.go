package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/store"
)

// snapFixture is a database of articles with fingerprints, dated within the window, and the
// snapshot file beside it.
type snapFixture struct {
	t      *testing.T
	dir    string
	st     *store.Store
	feeds  []Feed
	dd     *dedupe.Decider // decides the articles recorded, as the pipeline would
	next   int
	vocab  []string
	r      *rand.Rand
	t0     time.Time
	window time.Duration
}

func newSnapFixture(t *testing.T) *snapFixture {
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
	runes := []rune(letters)
	vocab := make([]string, 2000)
	for i := range vocab {
		vocab[i] = string([]rune{runes[i%28], runes[i/28%28], runes[(i*7+3)%28], runes[i/784%28]})
	}
	return &snapFixture{t: t, dir: dir, st: st, dd: dedupe.NewDecider(unseen{}, 0), vocab: vocab,
		r: rand.New(rand.NewPCG(3, 4)), t0: time.Now().Add(-48 * time.Hour).Truncate(time.Second),
		window: dedupe.DefaultWindow,
		feeds:  []Feed{{ID: "spa", Name: "SPA"}, {ID: "okaz", Name: "Okaz"}, {ID: "alyaum"}}}
}

// unseen answers the decision's key lookups for articles that are all new.
type unseen struct{}

func (unseen) HasURL(context.Context, string) (bool, error)          { return false, nil }
func (unseen) HasGUID(context.Context, string, string) (bool, error) { return false, nil }
func (unseen) FindContent(context.Context, string, time.Time) (dedupe.Match, bool, error) {
	return dedupe.Match{}, false, nil
}

// record stores n more articles, a minute apart, one in four a near copy of an earlier one.
func (f *snapFixture) record(n int) {
	f.t.Helper()
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = f.vocab[f.r.IntN(len(f.vocab))]
		}
		return strings.Join(w, " ")
	}
	for range n {
		i := f.next
		f.next++
		feed := f.feeds[i%len(f.feeds)]
		d := dedupe.Doc{FeedID: feed.ID, Source: feed.Name, Title: words(6), Text: words(150),
			CanonicalURL: fmt.Sprintf("https://%s.example/%d", feed.ID, i), PublishedAt: f.t0.Add(time.Duration(i) * time.Minute)}
		if i%4 == 3 {
			d.Text = strings.Replace(d.Text, " ", " و", 3)
		}
		dec, err := f.dd.Decide(f.t.Context(), d, d.PublishedAt)
		if err != nil {
			f.t.Fatal(err)
		}
		id := fmt.Sprintf("%064x", i+1)
		cluster := id
		if dec.Verdict == dedupe.Duplicate {
			cluster = dec.ClusterID
		}
		_, err = f.st.Insert(f.t.Context(), store.Article{ID: id, FeedID: feed.ID, CanonicalURL: d.CanonicalURL,
			ContentKey: dec.ContentKey, ClusterID: cluster, Fingerprint: dec.Fingerprint, PublishedAt: d.PublishedAt,
			FetchedAt: d.PublishedAt}, store.Message{MsgID: id, Subject: "articles.new.ar." + feed.ID, Data: []byte("{}")})
		if err != nil {
			f.t.Fatal(err)
		}
		f.dd.Record(id, cluster, dec)
	}
}

// pipeline returns a pipeline on the fixture's database with the snapshot file, and its log.
func (f *snapFixture) pipeline() (*Pipeline, *bytes.Buffer) {
	log := &syncBuffer{}
	p := New(Options{Feeds: f.feeds, DedupeWindow: f.window, IndexSnapshot: filepath.Join(f.dir, "index.snap"),
		Logger: slog.New(slog.NewTextHandler(log, nil))}, nil, f.st, nil)
	return p, &log.b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// indexBytes is a pipeline's index as a snapshot writes it: two indexes that write the same
// bytes hold the same articles, in the same order, with the same ids, feeds, times and
// fingerprints.
func indexBytes(t *testing.T, p *Pipeline) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := p.decider.WriteSnapshot(&b, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// restoreBoth restores a pipeline with the snapshot file and one without (the full rebuild),
// and fails unless their indexes are the same. It returns the first one's log.
func (f *snapFixture) restoreBoth() string {
	f.t.Helper()
	p, log := f.pipeline()
	if err := p.Restore(f.t.Context()); err != nil {
		f.t.Fatalf("Restore: %v", err)
	}
	ref := New(Options{Feeds: f.feeds, DedupeWindow: f.window}, nil, f.st, nil)
	if err := ref.Restore(f.t.Context()); err != nil {
		f.t.Fatalf("Restore without snapshot: %v", err)
	}
	if p.decider.Len() == 0 || !bytes.Equal(indexBytes(f.t, p), indexBytes(f.t, ref)) {
		f.t.Fatalf("index restored with the snapshot (%d articles) differs from the one rebuilt from the database (%d)\nlog: %s",
			p.decider.Len(), ref.decider.Len(), log)
	}
	return log.String()
}

// writeSnapshot restores a pipeline and writes its snapshot.
func (f *snapFixture) writeSnapshot() {
	f.t.Helper()
	p, log := f.pipeline()
	if err := p.Restore(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	if err := p.WriteIndexSnapshot(f.t.Context()); err != nil {
		f.t.Fatalf("WriteIndexSnapshot: %v", err)
	}
	if !strings.Contains(log.String(), "index snapshot written") {
		f.t.Fatalf("no snapshot written; log: %s", log)
	}
}

func (f *snapFixture) exec(query string) {
	f.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(f.dir, "feedd.db")+"?_foreign_keys=on") // as the store
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(f.t.Context(), query); err != nil {
		f.t.Fatal(err)
	}
}

func (f *snapFixture) editSnapshot(edit func(b []byte) []byte) {
	f.t.Helper()
	path := filepath.Join(f.dir, "index.snap")
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o640); err != nil {
		f.t.Fatal(err)
	}
}

// TestRestoreFromSnapshot: a matching snapshot is loaded, with the articles recorded after it
// read from the database; any other (missing, truncated, corrupt, of another fingerprint
// version, stale after a delete or a prune, of another database, window or feed names) is not
// used, and why is logged. In every case the index is the one a full rebuild makes.
func TestRestoreFromSnapshot(t *testing.T) {
	const loaded, refused = "duplicate index loaded", "index snapshot not used"
	tests := []struct {
		name   string
		change func(f *snapFixture)
		want   string // what the log says
	}{
		{"unchanged", func(*snapFixture) {}, loaded},
		{"rows added after it", func(f *snapFixture) { f.record(30) }, loaded},
		{"missing", func(f *snapFixture) { os.Remove(filepath.Join(f.dir, "index.snap")) }, "no index snapshot"},
		{"truncated", func(f *snapFixture) { f.editSnapshot(func(b []byte) []byte { return b[:len(b)*2/3] }) }, "truncated"},
		{"flipped byte", func(f *snapFixture) {
			f.editSnapshot(func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, "corrupt"},
		{"fingerprint version changed", func(f *snapFixture) {
			f.editSnapshot(func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[12:], binary.LittleEndian.Uint32(b[12:])+1)
				return b
			})
		}, "fingerprint version"},
		{"rows deleted after it", func(f *snapFixture) {
			f.exec(`DELETE FROM articles WHERE rowid = (SELECT min(rowid) + 7 FROM articles)`)
		}, "pruned, deleted or changed"},
		{"rows added then deleted after it", func(f *snapFixture) {
			f.record(5)
			f.exec(`DELETE FROM articles WHERE rowid = (SELECT max(rowid) FROM articles)`)
		}, "pruned, deleted or changed"},
		{"pruned after it", func(f *snapFixture) {
			f.window = 47*time.Hour + 30*time.Minute // the older half leaves it
			f.writeSnapshot()
			if n, err := f.st.PruneFingerprints(t.Context(), f.t0.Add(45*time.Minute)); err != nil || n == 0 {
				t.Fatalf("prune: %d, %v", n, err)
			}
		}, "pruned, deleted or changed"},
		{"window changed", func(f *snapFixture) { f.window = 47*time.Hour + 30*time.Minute }, "dedupe window"},
		{"feed renamed", func(f *snapFixture) { f.feeds[2].Name = "Al Yaum" }, "feed names changed"},
		{"another database", func(f *snapFixture) {
			g := newSnapFixture(t)
			g.record(60)
			g.writeSnapshot()
			os.Rename(filepath.Join(g.dir, "index.snap"), filepath.Join(f.dir, "index.snap"))
		}, "another database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSnapFixture(t)
			f.record(60)
			f.writeSnapshot()
			tt.change(f)
			log := f.restoreBoth()
			if !strings.Contains(log, tt.want) {
				t.Errorf("log does not say %q:\n%s", tt.want, log)
			}
			if tt.want != loaded && strings.Count(log, refused)+strings.Count(log, "no index snapshot") != 1 {
				t.Errorf("want the reason logged once:\n%s", log)
			}
			if tt.want != loaded && !strings.Contains(log, "duplicate index rebuilt") {
				t.Errorf("not rebuilt from the database:\n%s", log)
			}
		})
	}
}

// TestWriteIndexSnapshot: nothing is written before the index is restored, nor when nothing
// changed since the last snapshot, nor after a reload renamed a feed; what is written replaces
// the last snapshot whole.
func TestWriteIndexSnapshot(t *testing.T) {
	f := newSnapFixture(t)
	f.record(20)
	p, log := f.pipeline()
	if err := p.WriteIndexSnapshot(t.Context()); err == nil {
		t.Error("snapshot written before Restore")
	}
	if err := p.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.WriteIndexSnapshot(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(log.String(), "index snapshot written"); n != 1 {
		t.Errorf("%d snapshots written with nothing new in between, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "index.snap.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	renamed := append([]Feed(nil), f.feeds...)
	renamed[0].Name = "Saudi Press Agency"
	p.noteFeeds(renamed)
	f.record(1)
	if err := p.WriteIndexSnapshot(t.Context()); err == nil || !strings.Contains(err.Error(), "renamed") {
		t.Errorf("after a rename: got %v, want an error saying the feed was renamed", err)
	}
	added := append(append([]Feed(nil), f.feeds...), Feed{ID: "new", Name: "New"})
	q, _ := f.pipeline()
	if err := q.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	q.noteFeeds(added) // a new feed changes no article's name
	if err := q.WriteIndexSnapshot(t.Context()); err != nil {
		t.Errorf("after adding a feed: %v", err)
	}
}
