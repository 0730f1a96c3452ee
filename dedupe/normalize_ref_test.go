package dedupe

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// refNormalize is Normalize as it was before its fold wrote bytes directly (a strings.Builder,
// identity runs copied), kept to check that the faster fold gives the same output.
func refNormalize(s string) string {
	out, needNFKC, check := refFold(s, true)
	if needNFKC {
		out, _, check = refFold(norm.NFKC.String(s), false)
	}
	for i := 0; check && i < 3 && !norm.NFKC.IsNormalString(out); i++ {
		out, _, check = refFold(norm.NFKC.String(out), false)
	}
	return out
}

// refFold is the fold that refNormalize uses.
func refFold(s string, fast bool) (out string, needNFKC, check bool) {
	low := &foldTable.low
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	var seen uint32
	run := -1
	for i := 0; i < len(s); {
		var e uint32
		var r rune
		start := i
		switch c := s[i]; {
		case c < utf8.RuneSelf:
			r = rune(c)
			e = low[c]
			i++
		case c >= 0xC2 && c < 0xE0 && i+1 < len(s) && s[i+1]&0xC0 == 0x80:
			r = rune(c&0x1F)<<6 | rune(s[i+1]&0x3F)
			i += 2
			if r < lowEnd {
				e = low[r]
			} else {
				e = entry(r)
			}
		default:
			var n int
			r, n = utf8.DecodeRuneInString(s[i:])
			i += n
			e = entry(r)
		}
		// The rune is safe and folds to itself (no flags): copy it as it is.
		if e == uint32(r) && r != ' ' {
			if run < 0 {
				if pending {
					b.WriteByte(' ')
					pending = false
				}
				run = start
			}
			continue
		}
		if run >= 0 {
			b.WriteString(s[run:start])
			run = -1
		}
		if fast && e&entryNeedsNFKC != 0 {
			return "", true, false
		}
		seen |= e
		switch o := rune(e & entryRune); o {
		case dropRune:
		case ' ':
			pending = b.Len() > 0
		default:
			if pending {
				b.WriteByte(' ')
				pending = false
			}
			if o < utf8.RuneSelf {
				b.WriteByte(byte(o))
			} else {
				b.WriteRune(o)
			}
		}
	}
	if run >= 0 {
		b.WriteString(s[run:])
	}
	return b.String(), false, seen&entryCheckOutput != 0
}

// refWords is the word split that analysis used before words were hashed during the fold: split
// the normalised string on spaces, hash each word with wordHash, and mark those made of digits.
func refWords(norm string) words {
	var w words
	for f := range strings.SplitSeq(norm, " ") {
		if f == "" {
			continue
		}
		w.hashes = append(w.hashes, wordHash(f))
		digits := true
		for i := 0; i < len(f); i++ {
			if f[i] < '0' || f[i] > '9' {
				digits = false
			}
		}
		w.number = append(w.number, digits)
	}
	return w
}

// checkFold checks appendNormalized and the analysis's word split against the reference
// implementations, for s appended after prefix. It reports whether the words were hashed while
// folding (rather than again from the result).
func checkFold(t *testing.T, prefix, s string) bool {
	t.Helper()
	want := refNormalize(s)
	if got := Normalize(s); got != want {
		t.Fatalf("Normalize(%+q) = %+q, want %+q", s, got, want)
	}
	if got := string(appendNormalizedTo(prefix, s)); got != prefix+want {
		t.Fatalf("appendNormalized(%+q, %+q) = %+q, want %+q", prefix, s, got, prefix+want)
	}
	var a analysis
	out := a.appendNormalized([]byte(prefix), s, &a.body)
	if got := string(out); got != prefix+want {
		t.Fatalf("analysis.appendNormalized(%+q, %+q) = %+q, want %+q", prefix, s, got, prefix+want)
	}
	ref := refWords(want)
	if !slices.Equal(a.body.hashes, ref.hashes) || !slices.Equal(a.body.number, ref.number) {
		t.Fatalf("words of %+q = %x %v, want %x %v", s, a.body.hashes, a.body.number, ref.hashes, ref.number)
	}
	_, _, ok := appendNormalized([]byte(prefix), s, a.ws)
	return ok
}

func appendNormalizedTo(prefix, s string) []byte {
	out, _, _ := appendNormalized([]byte(prefix), s, nil)
	return out
}

// TestFoldMatchesReference checks the fold and its word hashes against the reference on every
// title and text of the development days, and on texts that take the general path; the words of
// nearly all of the corpus are hashed while folding.
func TestFoldMatchesReference(t *testing.T) {
	for _, s := range foldSeeds {
		checkFold(t, "", s)
		checkFold(t, "عنوان\x00", s)
	}
	arts := loadDevCorpus(t)
	fast := 0
	for i := range arts {
		if checkFold(t, "", arts[i].Title) && checkFold(t, "x\x00", arts[i].Content) {
			fast++
		}
	}
	if fast < len(arts)*99/100 {
		t.Errorf("the words of %d of %d articles were hashed while folding, want 99%%", fast, len(arts))
	}
}

// TestFoldWordsOverflow checks that words that do not fit the scratch are hashed again from the
// result: ok is false, and the analysis's words are still right.
func TestFoldWordsOverflow(t *testing.T) {
	s := "ب ت ث ج ح خ د ذ ر ز س ش ص ض ط ظ ع غ ف ق ك ل م ن ه و ي 1 2 3 4 5 6 7 8 9"
	out, n, ok := appendNormalized(nil, s, make([]uint64, 8))
	if ok || n != 2*len(strings.Fields(s)) || string(out) != refNormalize(s) {
		t.Errorf("appendNormalized(%q) with 4 words of room = %q, %d values, ok %v; want %q, %d values, not ok",
			s, out, n, ok, refNormalize(s), 2*len(strings.Fields(s)))
	}
	if checkFold(t, "", s+" "+s+" "+s) {
		t.Errorf("the words of %q fit the analysis's scratch, want them not to", s)
	}
}

// foldSeeds are texts for the fold's paths: ASCII, Arabic, digits of three scripts, marks,
// tatweel, punctuation, separators at both ends, invalid bytes (a lone lead byte at the end, a
// lead byte followed by ASCII, stray continuation bytes), presentation forms (NFKC), format
// characters, runes of three and four bytes, and letters whose lower case takes three bytes.
var foldSeeds = []string{
	"", " ", "a", "ب", "قُتِل في سبيل الاحتلال!", "ﻟ«حماس»", "#مصراتة", "e\u200d\u0301", "ا\u200d\u0654",
	"ي\u0654", "a\xffb\xc0", "ᄀ\u200dᅡ", "ﷺ ﷻ", "İSTANBUL ǅ", "\u0675\u0676", "½ ⅓ ™",
	"a\u00a0\u00a0b", "ـــ", "\u0301a", "١٢٣ ۴۵۶ 789", "﴾ ﴿", "ॐ क़", "가각", "Ⱥ ȺȾ", "\xd8", "a\xd8",
	"\xd8a", "\x80\x80ب", "بـــب  ، . ؟", "  «نص»  ", "𝔸𝕓 😀 ب", "مُحَمَّدٌ كِتَابًا", "٣٫٥ ٪",
	"الرياض – واس:", "\u200fنص\u200e", "ABC def ١٢", "\t\nب\r\n", "ب\xdb", "\xc2\xa0ب",
}
