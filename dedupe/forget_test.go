package dedupe_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/store"
)

// TestForgetRemovesAnArticleFromTheIndex records two stories, forgets the second as a caller
// does when its transaction fails: the second story's copy is new again, while the first
// story's copy is still found.
func TestForgetRemovesAnArticleFromTheIndex(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "feedd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dd := dedupe.NewDecider(storeKeys{st}, 0)
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)
	festival := strings.Repeat("افتتح أمير منطقة مكة المكرمة مهرجان الصيف في الطائف بحضور عدد من المسؤولين. ", 6)
	decide := func(feed, url, title, text string) dedupe.Decision {
		t.Helper()
		dec, err := dd.Decide(ctx, dedupe.Doc{FeedID: feed, CanonicalURL: url, Title: title, Text: text, PublishedAt: t0}, t0)
		if err != nil {
			t.Fatal(err)
		}
		return dec
	}
	first, second := strings.Repeat("a", 64), strings.Repeat("b", 64)
	dd.Record(first, "", decide("spa", "https://spa.example/1", "الصحة تسجل 12 إصابة بكورونا", wire))
	dd.Record(second, "", decide("okaz", "https://okaz.example/1", "مهرجان الطائف", festival))
	if got := decide("alyaum", "https://alyaum.example/2", "انطلاق مهرجان الطائف", "الطائف - واس: "+festival); got.Verdict != dedupe.Duplicate {
		t.Fatalf("copy of the second story before Forget: got %v, want duplicate", got.Verdict)
	}
	third := strings.Repeat("c", 64)
	dd.Record(third, "", decide("okaz", "https://okaz.example/2", "حريق في جدة", strings.Repeat("اندلع حريق في مستودع بجدة وتمكنت فرق الدفاع المدني من السيطرة عليه دون إصابات. ", 5)))
	if got := dd.Forget(second, third); got != 2 {
		t.Errorf("Forget of two recorded articles removed %d, want 2", got)
	}
	if got := dd.Len(); got != 1 {
		t.Errorf("Len after Forget = %d, want 1", got)
	}
	if got := decide("alyaum", "https://alyaum.example/2", "انطلاق مهرجان الطائف", "الطائف - واس: "+festival); got.Verdict != dedupe.New {
		t.Errorf("copy of the forgotten story: got %v, want new", got.Verdict)
	}
	// The first article recorded again under its id, then forgotten twice: the second Forget
	// finds the newest one with the id dead and leaves the older one alone.
	dd.Record(first, "", decide("spa", "https://spa.example/1b", "الصحة تسجل 12 إصابة بكورونا", wire))
	if got := dd.Forget(first); got != 1 {
		t.Errorf("Forget of the newer article with the first id removed %d, want 1", got)
	}
	if got := dd.Forget(first); got != 0 || dd.Len() != 1 {
		t.Errorf("second Forget of the first id removed %d, leaving %d articles; want 0 and 1", got, dd.Len())
	}
	got := decide("alyaum", "https://alyaum.example/3", "12 إصابة بكورونا في الرياض", "الرياض - واس: "+wire)
	if got.Verdict != dedupe.Duplicate || got.DuplicateOf != first {
		t.Errorf("copy of the first story: got %v of %q, want duplicate of the first", got.Verdict, got.DuplicateOf)
	}
	if got := dd.Forget(second); got != 0 {
		t.Errorf("Forget of a forgotten article removed %d, want 0", got)
	}
}
