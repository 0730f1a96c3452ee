package dedupe

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// story is a made-up wire story used where the corpus is not needed.
const story = `أعلنت وزارة الصحة السعودية اليوم تسجيل 12 حالة إصابة جديدة بفيروس كورونا في مدينة الرياض ` +
	`خلال الأسبوع الماضي، مشيرة إلى أن الفرق الطبية باشرت عزل المخالطين في المستشفيات الحكومية. ` +
	`وقال المتحدث الرسمي باسم الوزارة إن الحالات المسجلة شملت ثلاثة من العاملين في القطاع الصحي، ` +
	`وإن الوزارة رفعت درجة الاستعداد في المنشآت الصحية بالمنطقة الوسطى تحسبا لارتفاع عدد الإصابات. ` +
	`وأضاف أن فرق التقصي الوبائي تتابع 240 مخالطا، وأن نتائج الفحوص المخبرية ستعلن تباعا، داعيا ` +
	`المواطنين والمقيمين إلى الالتزام بالإرشادات الوقائية ومراجعة أقرب مركز صحي عند ظهور الأعراض. ` +
	`وكانت الوزارة قد أطلقت حملة توعوية في المدارس والمساجد والأسواق للتعريف بطرق انتقال الفيروس ` +
	`وسبل الوقاية منه، بالتعاون مع وزارة التعليم والشؤون الإسلامية والبلديات في مختلف المحافظات.`

// otherStory shares its subject but not its facts or words.
const otherStory = `افتتح أمير منطقة مكة المكرمة مساء أمس مهرجان الصيف في محافظة الطائف بمشاركة 35 جهة حكومية ` +
	`وخاصة، وتضمن البرنامج عروضا شعبية ومسابقات للأطفال ومعرضا للأسر المنتجة يستمر أسبوعين. ` +
	`وأوضح مدير المهرجان أن اللجنة المنظمة تتوقع أكثر من 400 ألف زائر هذا العام، وأن الفعاليات ` +
	`تقام يوميا من الخامسة مساء حتى منتصف الليل في حديقة الملك فهد وسط المدينة، مع توفير حافلات ` +
	`لنقل الزوار من المواقف البعيدة. وأشاد عدد من الزوار بتنوع البرامج وتنظيمها.`

func mustDecide(t testing.TB, dd *Decider, d Doc, now time.Time) Decision {
	t.Helper()
	dec, err := dd.Decide(context.Background(), d, now)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return dec
}

func TestFingerprintRoundTrip(t *testing.T) {
	var a analysis
	a.analyze(Normalize("عنوان الخبر 2015"), Normalize(story))
	if !a.ok {
		t.Fatal("story has no shingles")
	}
	b, err := a.fp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got fingerprint
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if got != a.fp {
		t.Errorf("round trip changed the fingerprint:\ngot  %+v\nwant %+v", got, a.fp)
	}
	if again := got.appendBinary(nil); !bytes.Equal(again, b) {
		t.Errorf("re-encoding differs: got %x, want %x", again, b)
	}
}

func TestFingerprintRejects(t *testing.T) {
	var a analysis
	a.analyze(Normalize("عنوان"), Normalize(story))
	good := a.fp.appendBinary(nil)
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"other version", mutate(func(b []byte) []byte { b[0] = 9; return b })},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"no shingles", mutate(func(b []byte) []byte { b[1], b[2] = 0, 0; return b })},
		{"too many numbers", mutate(func(b []byte) []byte { b[fixedEncodedLen-1], b[fixedEncodedLen] = 255, maxNumbers+1; return b })},
		{"all buckets empty", mutate(func(b []byte) []byte {
			for i := 4 + 2*sigSize; i < 4+3*sigSize; i++ {
				b[i] = emptyPos
			}
			return b
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fingerprint
			if err := f.UnmarshalBinary(tt.in); err == nil {
				t.Errorf("UnmarshalBinary(%x) = nil, want an error", tt.in)
			}
		})
	}
}

func FuzzFingerprint(f *testing.F) {
	var a analysis
	for _, s := range []string{story, otherStory, "كلمة", "1 2 3 4"} {
		a.analyze(Normalize("عنوان 7"), Normalize(s))
		f.Add(a.fp.appendBinary(nil))
	}
	f.Add([]byte{fingerprintVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fp fingerprint
		if err := fp.UnmarshalBinary(b); err != nil {
			return
		}
		// What decodes re-encodes to the same bytes, and can be compared and indexed.
		if again := fp.appendBinary(nil); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: got %x, want %x", again, b)
		}
		a.analyze(Normalize("عنوان"), Normalize(story))
		_ = measure(&a.fp, &fp, time.Hour)
		x := newIndex()
		x.add("a", "a", "f", time.Unix(0, 0), &fp)
		var sink uint32
		_ = x.candidates(nil, &fp, &sink)
	})
}

func TestDecideNearDuplicate(t *testing.T) {
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)
	// The lead: the first two sentences. A copy cut to one sentence is judged the same story but
	// shares no LSH key with the full text (its lead bands hold 20 of the 40 lead words, and its
	// rarest words are not the full text's): such copies are missed.
	first, rest, _ := strings.Cut(story, ". ")
	second, _, _ := strings.Cut(rest, ". ")
	lead := first + ". " + second
	tests := []struct {
		name    string
		title   string
		text    string
		after   time.Duration
		want    Verdict
		wantSim float64 // minimum
	}{
		{"same text other outlet", "الصحة: 12 إصابة بكورونا", story, time.Hour, Duplicate, 1},
		{"edited copy", "كورونا في الرياض", strings.Replace(story, "اليوم", "", 1) + " المصدر: واس", time.Hour, Duplicate, 0.5},
		{"truncated to lead", "الصحة تسجل 12 إصابة بكورونا", lead + ".", time.Hour, Duplicate, 0.3},
		{"retitled lead", "مهرجان في الرياض", lead + ".", time.Hour, New, 0},
		{"different story", "مهرجان الطائف", otherStory, time.Hour, New, 0},
		{"same text after the window", "الصحة: 12 إصابة بكورونا", story + " (محدث)", 8 * 24 * time.Hour, New, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := newMemKeys()
			dd := NewDecider(keys, 0)
			first := Doc{FeedID: "spa", CanonicalURL: "https://spa.example/1", Title: "وزارة الصحة تسجل 12 إصابة", Text: story, PublishedAt: t0}
			dec := mustDecide(t, dd, first, t0)
			if dec.Verdict != New || dec.Fingerprint == nil {
				t.Fatalf("first article: got %v with fingerprint %x, want new with one", dec.Verdict, dec.Fingerprint)
			}
			const firstID = "first"
			keys.record(first, firstID, dec, t0)
			dd.Record(firstID, firstID, dec)

			at := t0.Add(tt.after)
			d := Doc{FeedID: "okaz", CanonicalURL: "https://okaz.example/2", Title: tt.title, Text: tt.text, PublishedAt: at}
			got := mustDecide(t, dd, d, at)
			if got.Verdict != tt.want {
				t.Fatalf("got %v (similarity %.2f), want %v", got.Verdict, got.Similarity, tt.want)
			}
			if tt.want != Duplicate {
				return
			}
			if got.DuplicateOf != firstID || got.ClusterID != firstID {
				t.Errorf("got duplicate of %q in cluster %q, want %q in %q", got.DuplicateOf, got.ClusterID, firstID, firstID)
			}
			if got.Similarity < tt.wantSim || got.Similarity > 1 {
				t.Errorf("got similarity %.3f, want in [%.2f, 1]", got.Similarity, tt.wantSim)
			}
		})
	}
}

func TestDecideClusterIsFirstArticle(t *testing.T) {
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)
	keys := newMemKeys()
	dd := NewDecider(keys, 0)
	texts := []string{story, story + " وأكد المتحدث ذلك.", "نقلا عن واس: " + story + " وأكد المتحدث ذلك."}
	var ids []string
	for i, text := range texts {
		d := Doc{FeedID: fmt.Sprint("feed", i), CanonicalURL: fmt.Sprint("https://x.example/", i), Title: "كورونا", Text: text, PublishedAt: t0}
		dec := mustDecide(t, dd, d, t0.Add(time.Duration(i)*time.Minute))
		id := fmt.Sprintf("%064x", i+1)
		cluster := id
		if i == 0 && dec.Verdict != New {
			t.Fatalf("first: got %v, want new", dec.Verdict)
		}
		if i > 0 {
			if dec.Verdict != Duplicate {
				t.Fatalf("copy %d: got %v, want duplicate", i, dec.Verdict)
			}
			if dec.ClusterID != ids[0] {
				t.Errorf("copy %d: got cluster %s, want the first article %s", i, dec.ClusterID, ids[0])
			}
			cluster = dec.ClusterID
		}
		keys.record(d, id, dec, t0)
		dd.Record(id, cluster, dec)
		ids = append(ids, id)
	}
	if got := dd.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
}

func TestPruneAndRestore(t *testing.T) {
	t0 := time.Date(2015, 8, 1, 8, 0, 0, 0, time.UTC)
	dd := NewDecider(newMemKeys(), 0)
	type rec struct {
		id  string
		at  time.Time
		dec Decision
	}
	var recs []rec
	for i := range 40 {
		at := t0.Add(time.Duration(i) * 6 * time.Hour)
		text := fmt.Sprintf("%s الخبر رقم %d", otherStory, i)
		if i%2 == 0 {
			text = fmt.Sprintf("نص مختلف تماما رقم %d عن موضوع آخر %s", i, strings.Repeat(fmt.Sprint(" كلمة", i), 30))
		}
		dec := mustDecide(t, dd, Doc{Title: "t", Text: text, PublishedAt: at}, at)
		id := fmt.Sprintf("%064x", i+1)
		dd.Record(id, id, dec)
		recs = append(recs, rec{id, at, dec})
	}
	if got := dd.Len(); got != 40 {
		t.Fatalf("Len() = %d, want 40", got)
	}
	cut := t0.Add(5 * 24 * time.Hour) // 20 records are older
	if n := dd.Prune(cut); n != 20 {
		t.Errorf("Prune = %d, want 20", n)
	}
	if got := dd.Len(); got != 20 {
		t.Errorf("Len() after prune = %d, want 20", got)
	}

	// A new Decider restored from the fingerprints decides like the old one.
	restored := NewDecider(newMemKeys(), 0)
	for _, r := range recs[20:] {
		if err := restored.Restore(r.id, r.id, "", r.at, r.dec.Fingerprint); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	if err := restored.Restore("x", "x", "", t0, []byte{fingerprintVersion + 1}); err != nil {
		t.Errorf("Restore of another version: got %v, want it skipped", err)
	}
	if err := restored.Restore("x", "x", "", t0, []byte{fingerprintVersion, 1}); err == nil {
		t.Error("Restore of a corrupt fingerprint: got nil, want an error")
	}
	last := recs[len(recs)-1]
	probe := Doc{Title: "t2", Text: otherStory + " الخبر رقم 39", PublishedAt: last.at.Add(time.Hour)}
	for name, d := range map[string]*Decider{"pruned": dd, "restored": restored} {
		dec := mustDecide(t, d, probe, probe.PublishedAt)
		if dec.Verdict != Duplicate || dec.DuplicateOf != last.id {
			t.Errorf("%s: got %v of %q, want duplicate of %q", name, dec.Verdict, dec.DuplicateOf, last.id)
		}
	}
}

func TestSeedArticle(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(corpusRoot, "seed", "alarabiya-mustafa-al-imam.txt"))
	if os.IsNotExist(err) {
		t.Skipf("corpus not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	title, body, _ := strings.Cut(string(raw), "\n")
	t0 := time.Date(2017, 11, 5, 9, 0, 0, 0, time.UTC)
	for _, e := range syntheticEdits {
		t.Run(e.name, func(t *testing.T) {
			keys := newMemKeys()
			dd := NewDecider(keys, 0)
			orig := Doc{FeedID: "alarabiya", CanonicalURL: "https://alarabiya.example/imam", Title: title, Text: body, PublishedAt: t0}
			dec := mustDecide(t, dd, orig, t0)
			dd.Record("seed", "seed", dec)
			ct, cb := e.edit(title, body, 1)
			at := t0.Add(3 * time.Hour)
			got := mustDecide(t, dd, Doc{FeedID: "other", CanonicalURL: "https://other.example/1", Title: ct, Text: cb, PublishedAt: at}, at)
			if got.Verdict != Duplicate || got.DuplicateOf != "seed" {
				t.Errorf("got %v of %q (similarity %.2f), want duplicate of the seed", got.Verdict, got.DuplicateOf, got.Similarity)
			}
		})
	}
}
