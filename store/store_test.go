package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTest opens a fresh store in a temporary directory and closes it when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "feedd.db"))
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// base is a fixed time with millisecond precision, the precision the store keeps.
var base = time.Date(2015, 8, 1, 10, 0, 0, 0, time.UTC)

// testArticle returns a distinct article and its message for index i.
func testArticle(i int) (Article, Message) {
	id := fmt.Sprintf("%064x", i+1)
	a := Article{
		ID:           id,
		FeedID:       "aljazeera",
		CanonicalURL: fmt.Sprintf("https://www.aljazeera.net/news/%d", i),
		GUID:         fmt.Sprintf("guid-%d", i),
		ContentKey:   fmt.Sprintf("content-%d", i),
		ClusterID:    id,
		Title:        fmt.Sprintf("خبر رقم %d", i),
		PublishedAt:  base.Add(time.Duration(i) * time.Minute),
		FetchedAt:    base.Add(time.Duration(i)*time.Minute + time.Second),
	}
	m := Message{
		MsgID:     id,
		Subject:   "articles.new.ar.aljazeera",
		Header:    map[string]string{"Nats-Msg-Id": id, "ce-type": "feedd.article.new"},
		Data:      []byte(`{"id":"` + id + `"}`),
		CreatedAt: a.FetchedAt,
	}
	return a, m
}

func mustInsert(t testing.TB, s *Store, a Article, m Message) int64 {
	t.Helper()
	seq, err := s.Insert(t.Context(), a, m)
	if err != nil {
		t.Fatalf("Insert(%s): %v", a.ID, err)
	}
	return seq
}

func counts(t testing.TB, s *Store) (articles, pending int64) {
	t.Helper()
	articles, pending, err := s.Counts(t.Context())
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return articles, pending
}

func userVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("user_version: %v", err)
	}
	return v
}

func TestOpenCreatesSchemaAndReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "feedd.db")
	ctx := t.Context()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got, want := userVersion(t, s), len(migrations); got != want {
		t.Errorf("user_version = %d, want %d", got, want)
	}
	pragmas := []struct{ name, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
	}
	for _, p := range pragmas {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %q, want %q", p.name, got, p.want)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	a, m := testArticle(0)
	mustInsert(t, s, a, m)
	if err := s.PutFeed(ctx, Feed{ID: "aljazeera", URL: "https://example.com/rss"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	info, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o750 {
		t.Errorf("parent dir mode = %o, want 750", got)
	}

	s = openAt(t, path) // migrations run again: must be a no-op
	if got, want := userVersion(t, s), len(migrations); got != want {
		t.Errorf("after reopen user_version = %d, want %d", got, want)
	}
	if ok, err := s.HasURL(ctx, a.CanonicalURL); err != nil || !ok {
		t.Errorf("after reopen HasURL = %v, %v; want true, nil", ok, err)
	}
	if _, ok, err := s.Feed(ctx, "aljazeera"); err != nil || !ok {
		t.Errorf("after reopen Feed found = %v, %v; want true, nil", ok, err)
	}
	if arts, pend := counts(t, s); arts != 1 || pend != 1 {
		t.Errorf("after reopen Counts = %d, %d; want 1, 1", arts, pend)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notADB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("not a database ", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	fileAsDir := filepath.Join(dir, "file")
	if err := os.WriteFile(fileAsDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		class error // nil: any error
	}{
		{name: "empty path", path: ""},
		{name: "memory", path: ":memory:"},
		{name: "not a database", path: notADB, class: ErrCorrupt},
		{name: "parent is a file", path: filepath.Join(fileAsDir, "feedd.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) = nil error, want one", tt.path)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.path)) {
				t.Errorf("error %q does not name the path %q", err, tt.path)
			}
			if tt.class != nil && !errors.Is(err, tt.class) {
				t.Errorf("got error %v (class %q), want class %v", err, Classify(err), tt.class)
			}
		})
	}
}

func TestOpenNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feedd.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping with a foreign schema version = nil, want an error")
	}
	s.Close()

	s, err = Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema = nil error, want one")
	}
	if !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), path) {
		t.Errorf("got error %q, want it to name the path and a newer schema", err)
	}
}

func TestOpenConcurrentlyOnNewFile(t *testing.T) {
	// Two processes starting on a new file must not both apply migration 1.
	path := filepath.Join(t.TempDir(), "feedd.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		}
	}
}

func TestPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd dir?#%", "أخبار.db")
	s := openAt(t, path)
	a, m := testArticle(1)
	mustInsert(t, s, a, m)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

// queryPlan returns SQLite's plan for query, its steps joined with "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

func TestQueriesUseIndexes(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name  string
		query string
		args  []any
		index string
	}{
		{"has url", queryHasURL, []any{"u"}, "articles_canonical_url"},
		{"has guid", queryHasGUID, []any{"f", "g"}, "articles_feed_guid"},
		{"find content", queryFindContent, []any{"k", 0}, "articles_content_key"},
		{"pending", queryPending, []any{0, 10}, "outbox_unsent"},
		{"prune sent", queryPruneSent, []any{0}, "outbox_sent"},
		{"depth", queryDepth, nil, "outbox_unsent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queryPlan(t, s, tt.query, tt.args...); !strings.Contains(got, tt.index) || strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("got plan %q, want it to use index %s without a temp b-tree", got, tt.index)
			}
		})
	}
}

func TestFeedRoundTrip(t *testing.T) {
	riyadh := time.FixedZone("AST", 3*60*60)
	tests := []struct {
		name string
		in   Feed
		want Feed
	}{
		{
			name: "never polled",
			in:   Feed{ID: "bbc", URL: "https://feeds.bbci.co.uk/arabic/rss.xml"},
			want: Feed{ID: "bbc", URL: "https://feeds.bbci.co.uk/arabic/rss.xml"},
		},
		{
			name: "every field",
			in: Feed{
				ID: "aljazeera", URL: "https://www.aljazeera.net/aljazeerarss",
				ETag: `W/"abc"`, LastModified: "Sat, 01 Aug 2015 10:00:00 GMT",
				LastPollAt:    base.Add(123456789 * time.Nanosecond), // sub-millisecond part dropped
				LastSuccessAt: base.Add(-time.Hour),
				NextPollAt:    base.Add(10 * time.Minute).In(riyadh), // returned in UTC
				LastStatus:    503, LastError: "service unavailable", ErrorClass: "http_5xx",
				ConsecutiveFailures: 3, Items: 1 << 40,
				FetchURL: "https://www.aljazeera.net/moved", PublishingGap: 17*time.Minute + 1500*time.Microsecond,
			},
			want: Feed{
				ID: "aljazeera", URL: "https://www.aljazeera.net/aljazeerarss",
				ETag: `W/"abc"`, LastModified: "Sat, 01 Aug 2015 10:00:00 GMT",
				LastPollAt:    base.Add(123 * time.Millisecond),
				LastSuccessAt: base.Add(-time.Hour),
				NextPollAt:    base.Add(10 * time.Minute),
				LastStatus:    503, LastError: "service unavailable", ErrorClass: "http_5xx",
				ConsecutiveFailures: 3, Items: 1 << 40,
				FetchURL: "https://www.aljazeera.net/moved", PublishingGap: 17*time.Minute + time.Millisecond,
			},
		},
		{
			name: "file feed",
			in:   Feed{ID: "archive", URL: "file:///srv/أرشيف.xml", LastPollAt: base, LastSuccessAt: base},
			want: Feed{ID: "archive", URL: "file:///srv/أرشيف.xml", LastPollAt: base, LastSuccessAt: base},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			if err := s.PutFeed(t.Context(), tt.in); err != nil {
				t.Fatalf("PutFeed: %v", err)
			}
			got, ok, err := s.Feed(t.Context(), tt.in.ID)
			if err != nil || !ok {
				t.Fatalf("Feed(%q) = _, %v, %v; want found", tt.in.ID, ok, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPutFeedUpsertsAndFeedsOrdered(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	for _, id := range []string{"skynews", "aljazeera", "bbc", "alarabiya"} {
		if err := s.PutFeed(ctx, Feed{ID: id, URL: "https://" + id + ".example/rss", ConsecutiveFailures: 2, LastError: "timeout"}); err != nil {
			t.Fatal(err)
		}
	}
	// A successful poll: the caller clears the error; the store replaces the row.
	ok := Feed{ID: "bbc", URL: "https://bbc.example/rss2", LastStatus: 200, LastSuccessAt: base, Items: 7}
	if err := s.PutFeed(ctx, ok); err != nil {
		t.Fatal(err)
	}
	feeds, err := s.Feeds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range feeds {
		ids = append(ids, f.ID)
	}
	if want := []string{"alarabiya", "aljazeera", "bbc", "skynews"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("got ids %v, want %v", ids, want)
	}
	if got := feeds[2]; !reflect.DeepEqual(got, ok) {
		t.Errorf("got bbc %+v, want %+v", got, ok)
	}
	if _, found, err := s.Feed(ctx, "missing"); err != nil || found {
		t.Errorf("Feed(missing) found = %v, err = %v; want false, nil", found, err)
	}
}

func TestPutFeedInvalid(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name string
		feed Feed
		want string
	}{
		{"no id", Feed{URL: "https://x.example/rss"}, `"https://x.example/rss"`},
		{"no url", Feed{ID: "x"}, `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutFeed(t.Context(), tt.feed)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one naming %s", err, tt.want)
			}
		})
	}
	if feeds, err := s.Feeds(t.Context()); err != nil || len(feeds) != 0 {
		t.Errorf("Feeds = %v, %v; want none", feeds, err)
	}
}

func TestFeedsEmpty(t *testing.T) {
	s := openTest(t)
	feeds, err := s.Feeds(t.Context())
	if err != nil || len(feeds) != 0 {
		t.Errorf("got %v, %v; want no feeds", feeds, err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"exists", fmt.Errorf("store: insert article x: %w", ErrExists), "exists"},
		{"busy", &classifiedError{class: ErrBusy, err: errors.New("database is locked")}, "busy"},
		{"full", fmt.Errorf("store: x: %w", &classifiedError{class: ErrFull, err: errors.New("database or disk is full")}), "full"},
		{"canceled", fmt.Errorf("store: x: %w", context.Canceled), "canceled"},
		{"deadline", context.DeadlineExceeded, "canceled"},
		{"other", errors.New("boom"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPingReportsFullDatabase: a write that fails for want of space makes Ping fail, naming the
// cause, until a write succeeds again; a conflict does not.
func TestPingReportsFullDatabase(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.SetMaxOpenConns(1) // the page limit below is per connection
	var pages int
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 64<<10)
	var insertErr error
	for i := 0; i < 50 && insertErr == nil; i++ {
		id := fmt.Sprintf("%064d", i)
		_, insertErr = s.Insert(ctx, Article{ID: id, FeedID: "f", FetchedAt: time.Now()},
			Message{MsgID: id, Subject: "articles.new.ar.f", Data: big})
	}
	if !errors.Is(insertErr, ErrFull) {
		t.Fatalf("got %v, want ErrFull once the database is full", insertErr)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Ping on a full database: got %v, want ErrFull saying disk full", err)
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%064d", 999)
	if _, err := s.Insert(ctx, Article{ID: id, FeedID: "f", FetchedAt: time.Now()}, Message{MsgID: id, Subject: "s", Data: big}); err != nil {
		t.Fatalf("insert after space returned: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after a successful write: %v", err)
	}
	if _, err := s.Insert(ctx, Article{ID: id, FeedID: "f", FetchedAt: time.Now()}, Message{MsgID: id, Subject: "s"}); !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after a conflict: %v", err)
	}
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedd.db")
	if _, err := OpenReadOnly(ctx, path); err == nil {
		t.Fatal("OpenReadOnly created a database that did not exist")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("OpenReadOnly left a file behind")
	}
	rw, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if err := rw.PutFeed(ctx, Feed{ID: "a", URL: "https://example.com/a"}); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	feeds, err := ro.Feeds(ctx)
	if err != nil || len(feeds) != 1 || feeds[0].ID != "a" {
		t.Errorf("Feeds: %v, %v", feeds, err)
	}
	if err := ro.PutFeed(ctx, Feed{ID: "b", URL: "https://example.com/b"}); err == nil {
		t.Error("a read-only store accepted a write")
	}
}

// TestEndedContext checks that every call whose statements run without their context's
// cancellation (see quiet) refuses to start once the context has ended, and says why. The reads
// and Batch.Insert rely on quiet's own check for this; the writes also wait for the write slot
// under the context, which refuses it too.
func TestEndedContext(t *testing.T) {
	s := openTest(t)
	a, m := testArticle(0)
	seq := mustInsert(t, s, a, m)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	batch, err := s.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Rollback()
	b, bm := testArticle(1)
	calls := map[string]func() error{
		"HasURL":        func() error { _, err := s.HasURL(ctx, a.CanonicalURL); return err },
		"HasGUID":       func() error { _, err := s.HasGUID(ctx, a.FeedID, a.GUID); return err },
		"FindContent":   func() error { _, _, err := s.FindContent(ctx, a.ContentKey, time.Time{}); return err },
		"Batch.Insert":  func() error { _, err := batch.Insert(ctx, b, bm); return err },
		"Feed":          func() error { _, _, err := s.Feed(ctx, a.FeedID); return err },
		"PutFeed":       func() error { return s.PutFeed(ctx, Feed{ID: "f", URL: "https://example.com/f.xml"}) },
		"Pending":       func() error { _, err := s.Pending(ctx, 0, 10); return err },
		"MarkSent":      func() error { return s.MarkSent(ctx, []int64{seq}, time.Now()) },
		"RecordFailure": func() error { return s.RecordFailure(ctx, []int64{seq}, "x") },
		"OutboxDepth":   func() error { _, err := s.OutboxDepth(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with an ended context: got %v, want context.Canceled", name, err)
		}
	}
	// Nothing was written.
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 1 {
		t.Errorf("OutboxDepth = %d, %v; want 1 unsent message", n, err)
	}
	if _, ok, err := s.Feed(t.Context(), "f"); err != nil || ok {
		t.Errorf("Feed(f) = %v, %v; want no feed recorded", ok, err)
	}
}

// TestPoolWaitHonoursDeadline holds every connection of the pool and checks that the reads,
// whose statements run without their context's cancellation (see quiet), still give up waiting
// for a connection when their context's deadline passes.
func TestPoolWaitHonoursDeadline(t *testing.T) {
	s := openTest(t)
	var held []*sql.Conn
	release := func() {
		for _, c := range held {
			c.Close()
		}
		held = nil
	}
	defer release()
	for range maxOpenConns {
		c, err := s.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Were a read to wait regardless of its deadline, it would return, without error, once the
	// connections are let go.
	timer := time.AfterFunc(10*time.Second, func() {
		for _, c := range held {
			c.Close()
		}
	})
	defer timer.Stop()
	calls := map[string]func(ctx context.Context) error{
		"HasURL":      func(ctx context.Context) error { _, err := s.HasURL(ctx, "https://example.com/a"); return err },
		"HasGUID":     func(ctx context.Context) error { _, err := s.HasGUID(ctx, "f", "g"); return err },
		"FindContent": func(ctx context.Context) error { _, _, err := s.FindContent(ctx, "k", time.Time{}); return err },
		"Feed":        func(ctx context.Context) error { _, _, err := s.Feed(ctx, "f"); return err },
		"Pending":     func(ctx context.Context) error { _, err := s.Pending(ctx, 0, 10); return err },
		"OutboxDepth": func(ctx context.Context) error { _, err := s.OutboxDepth(ctx); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with every connection busy: got %v, want context.DeadlineExceeded", name, err)
		}
	}
}
