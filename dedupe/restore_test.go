package dedupe_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/store"
)

// storeKeys adapts the real store to dedupe.Keys, as the pipeline does.
type storeKeys struct{ s *store.Store }

func (k storeKeys) HasURL(ctx context.Context, u string) (bool, error) { return k.s.HasURL(ctx, u) }
func (k storeKeys) HasGUID(ctx context.Context, feedID, guid string) (bool, error) {
	return k.s.HasGUID(ctx, feedID, guid)
}
func (k storeKeys) FindContent(ctx context.Context, key string, since time.Time) (dedupe.Match, bool, error) {
	ref, ok, err := k.s.FindContent(ctx, key, since)
	return dedupe.Match{ID: ref.ID, ClusterID: ref.ClusterID}, ok, err
}

const wire = `أعلنت وزارة الصحة السعودية اليوم تسجيل 12 حالة إصابة جديدة بفيروس كورونا في مدينة الرياض ` +
	`خلال الأسبوع الماضي، مشيرة إلى أن الفرق الطبية باشرت عزل المخالطين في المستشفيات الحكومية. ` +
	`وقال المتحدث الرسمي باسم الوزارة إن الحالات المسجلة شملت ثلاثة من العاملين في القطاع الصحي، ` +
	`وإن الوزارة رفعت درجة الاستعداد في المنشآت الصحية بالمنطقة الوسطى تحسبا لارتفاع عدد الإصابات.`

// TestRestoreFromStore records articles with their fingerprints in a real SQLite store, rebuilds
// a new Decider from the store, and checks that it finds a copy of a recorded article, and that
// pruning leaves the repeat keys in place.
func TestRestoreFromStore(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)
	dd := dedupe.NewDecider(storeKeys{st}, 0)
	record := func(i int, feed, title, text string, at time.Time) (string, dedupe.Decision) {
		t.Helper()
		d := dedupe.Doc{FeedID: feed, CanonicalURL: fmt.Sprintf("https://%s.example/%d", feed, i), Title: title, Text: text, PublishedAt: at}
		dec, err := dd.Decide(ctx, d, at)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%064x", i+1)
		cluster := id
		if dec.Verdict == dedupe.Duplicate {
			cluster = dec.ClusterID
		}
		a := store.Article{ID: id, FeedID: feed, CanonicalURL: d.CanonicalURL, ContentKey: dec.ContentKey,
			ClusterID: cluster, DuplicateOf: dec.DuplicateOf, Title: title, PublishedAt: at, FetchedAt: at,
			Fingerprint: dec.Fingerprint}
		if _, err := st.Insert(ctx, a, store.Message{MsgID: id, Subject: "articles.new.ar." + feed}); err != nil {
			t.Fatal(err)
		}
		dd.Record(id, cluster, dec)
		return id, dec
	}
	origID, _ := record(0, "spa", "الصحة تسجل 12 إصابة بكورونا", wire, t0)
	record(1, "okaz", "مهرجان الطائف", strings.Repeat("افتتح أمير منطقة مكة المكرمة مهرجان الصيف في الطائف. ", 8), t0.Add(time.Hour))

	restored := dedupe.NewDecider(storeKeys{st}, 0)
	if err := st.Fingerprints(ctx, t0.Add(-dedupe.DefaultWindow), restored.Restore); err != nil {
		t.Fatalf("Fingerprints: %v", err)
	}
	if got := restored.Len(); got != 2 {
		t.Errorf("restored Len() = %d, want 2", got)
	}
	at := t0.Add(2 * time.Hour)
	copyDoc := dedupe.Doc{FeedID: "alyaum", CanonicalURL: "https://alyaum.example/9", Title: "12 إصابة بكورونا في الرياض",
		Text: "الرياض - واس: " + wire + " تابعونا على تويتر.", PublishedAt: at}
	dec, err := restored.Decide(ctx, copyDoc, at)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Verdict != dedupe.Duplicate || dec.DuplicateOf != origID || dec.ClusterID != origID {
		t.Errorf("copy after restore: got %v of %q in %q, want duplicate of %q", dec.Verdict, dec.DuplicateOf, dec.ClusterID, origID)
	}
	// Restoring all at once from the store decides the same.
	all := dedupe.NewDecider(storeKeys{st}, 0)
	if err := all.RestoreAll(func(restore dedupe.RestoreFunc) error {
		return st.Fingerprints(ctx, t0.Add(-dedupe.DefaultWindow), restore)
	}); err != nil {
		t.Fatalf("RestoreAll: %v", err)
	}
	if got := all.Len(); got != 2 {
		t.Errorf("RestoreAll: Len() = %d, want 2", got)
	}
	if got, err := all.Decide(ctx, copyDoc, at); err != nil || got.Verdict != dec.Verdict || got.DuplicateOf != dec.DuplicateOf ||
		got.ClusterID != dec.ClusterID || got.Similarity != dec.Similarity {
		t.Errorf("copy after RestoreAll: got %v of %q in %q (%v), want %v of %q in %q", got.Verdict, got.DuplicateOf, got.ClusterID, err,
			dec.Verdict, dec.DuplicateOf, dec.ClusterID)
	}

	// Pruning the window drops the fingerprints, in memory and on disk, not the repeat keys.
	cut := t0.Add(90 * time.Minute)
	if n := restored.Prune(cut); n != 2 {
		t.Errorf("Prune = %d, want 2", n)
	}
	if n, err := st.PruneFingerprints(ctx, cut); err != nil || n != 2 {
		t.Errorf("PruneFingerprints = %d, %v; want 2, nil", n, err)
	}
	dec, err = restored.Decide(ctx, copyDoc, at)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Verdict != dedupe.New {
		t.Errorf("copy after prune: got %v, want new", dec.Verdict)
	}
	again := dedupe.Doc{FeedID: "spa", CanonicalURL: "https://spa.example/0", Title: "x", Text: "y"}
	if dec, err := restored.Decide(ctx, again, at); err != nil || dec.Verdict != dedupe.Repeat {
		t.Errorf("same URL after prune: got %v, %v; want repeat", dec.Verdict, err)
	}
}

func ExampleDecider() {
	ctx := context.Background()
	dd := dedupe.NewDecider(exampleKeys{}, 0) // a real caller passes the store
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)

	first := dedupe.Doc{FeedID: "spa", CanonicalURL: "https://spa.example/1", Title: "الصحة تسجل 12 إصابة بكورونا", Text: wire, PublishedAt: t0}
	dec, _ := dd.Decide(ctx, first, t0)
	// ... store the article with dec.Fingerprint in one transaction, then:
	dd.Record("first", "first", dec)
	fmt.Println(dec.Verdict)

	later := t0.Add(time.Hour)
	copyDoc := dedupe.Doc{FeedID: "okaz", CanonicalURL: "https://okaz.example/2", Title: "كورونا: 12 إصابة في الرياض",
		Text: "جدة - عكاظ: " + strings.ReplaceAll(wire, "ي ", "ى "), PublishedAt: later}
	dec, _ = dd.Decide(ctx, copyDoc, later)
	fmt.Println(dec.Verdict, dec.DuplicateOf, dec.ClusterID)
	// Output:
	// new
	// duplicate first first
}

// exampleKeys has seen nothing.
type exampleKeys struct{}

func (exampleKeys) HasURL(context.Context, string) (bool, error)          { return false, nil }
func (exampleKeys) HasGUID(context.Context, string, string) (bool, error) { return false, nil }
func (exampleKeys) FindContent(context.Context, string, time.Time) (dedupe.Match, bool, error) {
	return dedupe.Match{}, false, nil
}
