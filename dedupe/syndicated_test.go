package dedupe

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// syntheticEdit makes a syndicated copy of an article: what another outlet or a scraper does to
// a wire story without rewriting it. seed makes the random choices reproducible.
type syntheticEdit struct {
	name string
	edit func(title, body string, seed uint64) (string, string)
}

// syntheticEdits are the edits of issue 3's acceptance criteria, plus all of them at once.
var syntheticEdits = []syntheticEdit{
	{"hashtags", func(t, b string, s uint64) (string, string) { return t, hashtags(b, s) }},
	{"diacritics", func(t, b string, s uint64) (string, string) { return diacritics(t, s), diacritics(b, s+1) }},
	{"tatweel", func(t, b string, s uint64) (string, string) { return tatweel(t, s), tatweel(b, s+1) }},
	{"letter_variants", func(t, b string, s uint64) (string, string) { return letterVariants(t, s), letterVariants(b, s+1) }},
	{"separators", func(t, b string, _ uint64) (string, string) { return t, separators(b) }},
	{"lead", func(t, b string, _ uint64) (string, string) { return t, leadOf(b) }},
	{"boilerplate", func(t, b string, s uint64) (string, string) { return t, boilerplate(b, s) }},
	{"retitle", func(t, b string, s uint64) (string, string) { return retitle(b, s), b }},
	{"eastern_digits", func(t, b string, _ uint64) (string, string) { return easternDigits(t), easternDigits(b) }},
	{"presentation_forms", func(t, b string, s uint64) (string, string) {
		return presentationForms(t, s), presentationForms(b, s+1)
	}},
	// Every edit but the truncation at once: a retitled copy cut to its lead keeps nothing that
	// tells it from the first item of a round-up, and is left to the lead edit alone.
	{"all_but_lead", func(t, b string, s uint64) (string, string) {
		t, b = retitle(b, s), boilerplate(b, s)
		b = separators(hashtags(b, s))
		b = presentationForms(letterVariants(tatweel(diacritics(easternDigits(b), s), s), s), s)
		return t, b
	}},
}

// placeNames are the names the hashtag edit marks, as the seed article does (#مصراتة, #بنغازي).
var placeNames = []string{"الرياض", "جدة", "مكة", "المكرمة", "المدينة", "المنورة", "الدمام", "نجران", "جازان",
	"المملكة", "السعودية", "اليمن", "مصر", "سوريا", "العراق", "إيران", "ليبيا", "تركيا", "لبنان", "الأردن",
	"الإمارات", "الكويت", "قطر", "البحرين", "عمان", "واشنطن", "لندن", "باريس", "موسكو", "القاهرة", "عدن", "تعز"}

// hashtags marks place names, and every twentieth pair of words as one underscored hashtag.
func hashtags(s string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	fields := strings.Fields(s)
	for i := 0; i < len(fields); i++ {
		w := fields[i]
		for _, p := range placeNames {
			if strings.TrimLeft(w, "وبلف") == p || w == p {
				fields[i] = "#" + w
				break
			}
		}
		if i+1 < len(fields) && r.IntN(20) == 0 && isArabicWord(w) && isArabicWord(fields[i+1]) {
			fields[i] = "#" + w + "_" + fields[i+1]
			fields = append(fields[:i+1], fields[i+2:]...)
		}
	}
	return strings.Join(fields, " ")
}

func isArabicWord(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.Is(unicode.Arabic, r)
}

// diacritics adds harakat after a third of the Arabic letters.
func diacritics(s string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 2))
	marks := []rune{'\u064E', '\u064F', '\u0650', '\u0651', '\u0652', '\u064B', '\u064C', '\u064D'}
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(c)
		if isArabicLetter(c) && r.IntN(3) == 0 {
			b.WriteRune(marks[r.IntN(len(marks))])
		}
	}
	return b.String()
}

func isArabicLetter(c rune) bool { return c >= 'ء' && c <= 'ي' && c != 'ـ' }

// tatweel stretches one word in four after its first letter.
func tatweel(s string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 3))
	fields := strings.Fields(s)
	for i, w := range fields {
		rs := []rune(w)
		if len(rs) > 3 && isArabicLetter(rs[0]) && isArabicLetter(rs[1]) && r.IntN(4) == 0 {
			fields[i] = string(rs[:2]) + strings.Repeat("ـ", 1+r.IntN(3)) + string(rs[2:])
		}
	}
	return strings.Join(fields, " ")
}

// letterVariants writes alef with hamza or madda, final ya as alef maqsura or Farsi yeh, final
// ha as ta marbuta and kaf as Farsi kaf, at random.
func letterVariants(s string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 4))
	fields := strings.Fields(s)
	for i, w := range fields {
		rs := []rune(w)
		for j, c := range rs {
			last := j == len(rs)-1
			switch {
			case c == 'ا' && j == 0 && r.IntN(2) == 0:
				rs[j] = []rune{'أ', 'إ', 'آ'}[r.IntN(3)]
			case (c == 'أ' || c == 'إ') && r.IntN(2) == 0:
				rs[j] = 'ا'
			case c == 'ي' && last && r.IntN(2) == 0:
				rs[j] = []rune{'ى', 'ی'}[r.IntN(2)]
			case c == 'ى' && last && r.IntN(2) == 0:
				rs[j] = 'ي'
			case c == 'ه' && last && r.IntN(2) == 0:
				rs[j] = 'ة'
			case c == 'ة' && r.IntN(2) == 0:
				rs[j] = 'ه'
			case c == 'ك' && r.IntN(4) == 0:
				rs[j] = 'ک'
			}
		}
		fields[i] = string(rs)
	}
	return strings.Join(fields, " ")
}

// separators re-scrapes the text as the seed article was: paragraphs joined with ".,", Arabic
// commas as Latin ones, quotes and dashes swapped.
func separators(s string) string {
	paras := paragraphs(s)
	for i, p := range paras {
		p = strings.NewReplacer("،", ",", "«", "\"", "»", "\"", " - ", " – ", "؛", ";").Replace(p)
		paras[i] = strings.TrimRight(p, ". ")
	}
	return strings.Join(paras, ".,")
}

func paragraphs(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// leadOf keeps the lead: the first paragraphs up to 40 words, cut at a sentence end when one
// paragraph runs on.
func leadOf(s string) string {
	var kept []string
	words := 0
	for _, p := range paragraphs(s) {
		n := len(strings.Fields(p))
		if words+n > 120 {
			// A long paragraph: keep its first sentences up to 40 words.
			var sent []string
			for f := range strings.FieldsSeq(p) {
				sent = append(sent, f)
				words++
				if words >= 40 && (strings.HasSuffix(f, ".") || strings.HasSuffix(f, "،")) || words >= 80 {
					break
				}
			}
			kept = append(kept, strings.Join(sent, " "))
			break
		}
		kept = append(kept, p)
		words += n
		if words >= 40 {
			break
		}
	}
	return strings.Join(kept, "\n")
}

// boilerplate adds an outlet's credit line before the text and its footer after it.
func boilerplate(s string, seed uint64) string {
	heads := []string{"الرياض - واس:", "متابعات - صحيفة المرصد:", "جدة – عين اليوم", "نقلا عن وكالة الأنباء السعودية (واس)"}
	tails := []string{
		"تابعونا على تويتر وفيسبوك للاطلاع على آخر الأخبار العاجلة. جميع الحقوق محفوظة © 2015",
		"رابط الخبر بصحيفة الوئام: اضغط هنا",
		"للمزيد من الأخبار حمل تطبيقنا على الهواتف الذكية",
	}
	r := rand.New(rand.NewPCG(seed, 5))
	return heads[r.IntN(len(heads))] + "\n" + s + "\n" + tails[r.IntN(len(tails))]
}

// retitle gives the copy a headline of its own, made of words of the body.
func retitle(body string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 6))
	fields := strings.Fields(body)
	if len(fields) == 0 {
		return "عاجل"
	}
	start := r.IntN(max(len(fields)/2, 1))
	end := min(len(fields), start+4+r.IntN(5))
	return "عاجل: " + strings.Join(fields[start:end], " ")
}

// easternDigits writes ASCII digits as Arabic-Indic ones, and every other number as Persian ones.
func easternDigits(s string) string {
	var b strings.Builder
	persian := false
	prevDigit := false
	for _, c := range s {
		if c >= '0' && c <= '9' {
			if !prevDigit {
				persian = !persian
			}
			prevDigit = true
			if persian {
				b.WriteRune('۰' + c - '0')
			} else {
				b.WriteRune('٠' + c - '0')
			}
			continue
		}
		prevDigit = false
		b.WriteRune(c)
	}
	return b.String()
}

// presentationForm maps an Arabic letter to a presentation form that NFKC takes back to it.
var presentationForm = func() map[rune][]rune {
	m := map[rune][]rune{}
	for r := rune(0xFE70); r <= 0xFEFC; r++ {
		s := norm.NFKC.String(string(r))
		if rs := []rune(s); len(rs) == 1 && isArabicLetter(rs[0]) {
			m[rs[0]] = append(m[rs[0]], r)
		}
	}
	return m
}()

// presentationForms writes half of the words in presentation forms, and لا as its ligature.
func presentationForms(s string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	fields := strings.Fields(s)
	for i, w := range fields {
		if r.IntN(2) == 0 {
			continue
		}
		w = strings.ReplaceAll(w, "لا", "\uFEFB")
		var b strings.Builder
		for _, c := range w {
			if forms := presentationForm[c]; len(forms) > 0 {
				c = forms[r.IntN(len(forms))]
			}
			b.WriteRune(c)
		}
		fields[i] = b.String()
	}
	return strings.Join(fields, " ")
}

// TestSyndicatedCopies indexes the development days, then makes copies of a sample of their
// articles with each synthetic edit and checks that at least 97% of the copies of each edit are
// found to be duplicates of their original's story.
func TestSyndicatedCopies(t *testing.T) {
	arts := loadDevCorpus(t)
	keys := newMemKeys()
	dd := NewDecider(keys, 0)
	res := runStream(t, dd, keys, arts)

	// Every seventh article with at least 40 words, up to 400.
	var sample []*snnArticle
	for i := 0; i < len(arts) && len(sample) < 400; i += 7 {
		if len(strings.Fields(arts[i].Content)) >= 40 {
			sample = append(sample, &arts[i])
		}
	}
	const want = 0.97
	for _, e := range syntheticEdits {
		caught := 0
		var missed []string
		for i, a := range sample {
			title, body := e.edit(a.Title, a.Content, uint64(i))
			at := a.at.Add(time.Hour)
			d := Doc{FeedID: "copy", CanonicalURL: "https://copy.example/" + a.URL, Title: title, Text: body, PublishedAt: at}
			dec := mustDecide(t, dd, d, at)
			if dec.Verdict == Duplicate && sameStory(arts, res, a, dec) {
				caught++
			} else if len(missed) < 5 {
				missed = append(missed, fmt.Sprintf("%s (%v %.2f)", a.URL, dec.Verdict, dec.Similarity))
			}
		}
		rate := float64(caught) / float64(len(sample))
		t.Logf("%-20s caught %3d of %3d: %.3f", e.name, caught, len(sample), rate)
		if rate < want {
			t.Errorf("%s: caught %.3f of the copies, want at least %.2f; missed for example %s", e.name, rate, want, strings.Join(missed, ", "))
		}
	}
}

// sameStory reports whether a copy of a, decided dec, was matched to a's story: to a's cluster,
// or judged one story with a and joined another cluster (the stream may hold one story in two
// clusters: an article joins a story only when it matches its root), or matched to an article
// that is a near-verbatim copy of a.
func sameStory(arts []snnArticle, res streamResult, a *snnArticle, dec Decision) bool {
	if dec.ClusterID == res.cluster[a.URL] || slices.Contains(dec.SameStory, (&snnArticle{Article: a.Article}).id()) {
		return true
	}
	u, ok := res.ids[dec.DuplicateOf]
	if !ok {
		return false
	}
	var x, y analysis
	x.analyze(Normalize(a.Title), Normalize(a.Content))
	if b := byURLIdx(arts, u); b != nil {
		y.analyze(Normalize(b.Title), Normalize(b.Content))
	}
	if !x.ok || !y.ok {
		return false
	}
	return measure(&x.fp, &y.fp, 0).jaccard >= 0.85
}

var (
	urlIndexOnce sync.Once
	urlIndex     map[string]int
)

// byURLIdx returns the article of the development days with this URL, or nil.
func byURLIdx(arts []snnArticle, u string) *snnArticle {
	urlIndexOnce.Do(func() {
		urlIndex = make(map[string]int, len(arts))
		for i := range arts {
			urlIndex[arts[i].URL] = i
		}
	})
	i, ok := urlIndex[u]
	if !ok {
		return nil
	}
	return &arts[i]
}
