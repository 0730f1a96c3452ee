// Package dedupe decides whether an article is new, a duplicate of one already published, or a
// repeat of an item already seen. It holds the pure parts of that decision: Arabic text
// normalisation, URL canonicalisation, content keys and the decision itself; what it remembers
// comes through the Keys interface.
package dedupe

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize folds s for matching (never for display): two spellings of one headline that differ
// only in marks, letter variants, digits or punctuation normalise to the same string. In order:
//
//   - Unicode NFKC, which also maps the Arabic presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF)
//     to their base letters and ligatures to letter sequences;
//   - harakat (U+064B–U+065F, U+0670 superscript alef), Quranic annotation marks (U+0610–U+061A,
//     U+06D6–U+06ED), tatweel (U+0640) and every format character (category Cf: ZWJ, ZWNJ, LRM,
//     RLM, ALM, the bidi embeddings and isolates, the BOM, the soft hyphen, ...) are removed;
//   - alef variants (أ إ آ ٱ and U+0672, U+0673) become ا; ى and Farsi yeh ی become ي; ة becomes ه;
//     Farsi kaf ک becomes ك; ئ and ؤ are kept as they are (their hamza is part of the word);
//   - Arabic-Indic (٠–٩) and Persian (۰–۹) digits become ASCII digits;
//   - letters are lower-cased (Latin and every other cased script);
//   - every punctuation mark and symbol (categories P and S: #، ؛ ؟ «» ٪ ۔ quotes, dashes, | . , :
//     ...), control character and white space becomes a separator; runs of separators become one
//     ASCII space, and the result is trimmed.
//
// There is no stemming. Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s). Bytes
// that are not valid UTF-8 count as separators, so the result is always valid UTF-8.
func Normalize(s string) string {
	out, needNFKC, check := fold(s, true)
	if needNFKC {
		out, _, check = fold(norm.NFKC.String(s), false)
	}
	// Removing a format character or tatweel can leave a letter next to a combining mark it was
	// kept apart from, and lower-casing can produce a character NFKC would change: fold again
	// until the result is stable, so that Normalize stays idempotent. Text made only of ASCII and
	// Arabic never gets here.
	for i := 0; check && i < 3 && !norm.NFKC.IsNormalString(out); i++ {
		out, _, check = fold(norm.NFKC.String(out), false)
	}
	return out
}

// Tokens returns the normalised words of s (Normalize then split on spaces), for shingling. It
// returns nil when s has no words.
func Tokens(s string) []string {
	n := Normalize(s)
	if n == "" {
		return nil
	}
	return strings.Split(n, " ")
}

// fold maps every rune of s through the fold table, dropping removed runes, collapsing separators
// into single spaces and trimming. In fast mode it gives up (needNFKC) as soon as it meets a rune
// that NFKC could change or combine and that the table does not fold the same way; the caller then
// applies NFKC and folds again in slow mode. check reports that the result holds a rune outside
// the table's safe set, so it may not be NFKC-normal.
func fold(s string, fast bool) (out string, needNFKC, check bool) {
	low := &foldTable.low
	var b strings.Builder
	b.Grow(len(s))
	pending := false // a separator is due before the next rune written
	var seen uint32  // the flags of every entry met
	run := -1        // the start of a run of runes that fold to themselves, still to be copied
	for i := 0; i < len(s); {
		var e uint32
		start := i
		switch c := s[i]; {
		case c < utf8.RuneSelf:
			e = low[c]
			i++
		case c >= 0xC2 && c < 0xE0 && i+1 < len(s) && s[i+1]&0xC0 == 0x80:
			// Two bytes: Latin-1 to the end of the Arabic block, most of what news is made of.
			r := rune(c&0x1F)<<6 | rune(s[i+1]&0x3F)
			i += 2
			if r < lowEnd {
				e = low[r]
			} else {
				e = entry(r)
			}
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			e = entry(r)
		}
		if e&entryIdentity != 0 {
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

// entry returns r's fold table entry, or computes one for a rune outside the table.
func entry(r rune) uint32 {
	if e, ok := foldTable.entry(r); ok {
		return e
	}
	o := foldRune(r)
	e := uint32(o) | entryNeedsNFKC
	if o != dropRune && o != ' ' && !safeRune(o) {
		e |= entryCheckOutput
	}
	return e
}

// dropRune is what foldRune returns for a rune that is removed without leaving a separator.
const dropRune rune = 0

// foldRune folds one rune of NFKC-normalised text: dropRune to remove it, ' ' for a separator,
// otherwise the rune it becomes.
func foldRune(r rune) rune {
	switch r {
	case 'أ', 'إ', 'آ', 'ٱ', '\u0672', '\u0673':
		return 'ا'
	case 'ى', 'ی':
		return 'ي'
	case 'ة':
		return 'ه'
	case 'ک':
		return 'ك'
	case 'ـ': // tatweel
		return dropRune
	}
	switch {
	case r >= '٠' && r <= '٩':
		return '0' + r - '٠'
	case r >= '۰' && r <= '۹':
		return '0' + r - '۰'
	case r >= 0x064B && r <= 0x065F, r == 0x0670, r >= 0x0610 && r <= 0x061A, r >= 0x06D6 && r <= 0x06ED:
		return dropRune // harakat and Quranic marks
	case r < utf8.RuneSelf:
		switch {
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		}
		return ' ' // ASCII controls, space, punctuation and symbols
	case unicode.Is(unicode.Cf, r):
		return dropRune
	case unicode.IsSpace(r), unicode.In(r, unicode.Z, unicode.Cc, unicode.P, unicode.S):
		return ' '
	}
	return unicode.ToLower(r)
}

// The fold table caches foldRune for the runes news text is made of: ASCII, Latin-1 and the rest
// up to the end of the Arabic block, and General Punctuation (typographic quotes, dashes, spaces,
// direction marks). Each entry holds the folded rune and three flags.
const (
	entryRune        = 1<<21 - 1 // the folded rune, or dropRune
	entryNeedsNFKC   = 1 << 31   // NFKC could change or combine this rune differently from the fold
	entryCheckOutput = 1 << 30   // the folded rune is not itself safe (see fold's check result)
	entryIdentity    = 1 << 29   // the rune is safe and folds to itself: copy it as it is

	lowEnd     = 0x0700 // the table covers [0, lowEnd) ...
	punctStart = 0x2000 // ... and [punctStart, punctEnd)
	punctEnd   = 0x2070
)

// foldTable is built once when the package is loaded and only read afterwards.
var foldTable = newTable()

type table struct {
	low   [lowEnd]uint32
	punct [punctEnd - punctStart]uint32
}

// safeRune reports whether r may be folded without NFKC: it is in the table and NFKC could not
// change it or combine it with its neighbours in a way the fold does not already account for.
func safeRune(r rune) bool {
	e, ok := foldTable.entry(r)
	return ok && e&entryNeedsNFKC == 0
}

func newTable() *table {
	t := new(table)
	build := func(r rune) uint32 {
		e := uint32(foldRune(r))
		if !foldsLikeNFKC(r) {
			e |= entryNeedsNFKC
		}
		return e
	}
	for r := range rune(lowEnd) {
		t.low[r] = build(r)
	}
	for r := rune(punctStart); r < punctEnd; r++ {
		t.punct[r-punctStart] = build(r)
	}
	// The output flags need the whole table: a folded rune is safe when its own entry is.
	mark := func(e *uint32) {
		o := rune(*e & entryRune)
		if o != dropRune && o != ' ' {
			if oe, ok := t.entry(o); !ok || oe&entryNeedsNFKC != 0 {
				*e |= entryCheckOutput
			}
		}
	}
	for r := range t.low {
		mark(&t.low[r])
		if t.low[r] == uint32(r) && r != ' ' { // no flags, and the rune is itself
			t.low[r] |= entryIdentity
		}
	}
	for i := range t.punct {
		mark(&t.punct[i])
		if t.punct[i] == uint32(punctStart+i) {
			t.punct[i] |= entryIdentity
		}
	}
	return t
}

// entry returns r's entry, if the table has one.
func (t *table) entry(r rune) (uint32, bool) {
	switch {
	case r >= 0 && r < lowEnd:
		return t.low[r], true
	case r >= punctStart && r < punctEnd:
		return t.punct[r-punctStart], true
	}
	return 0, false
}

// foldsLikeNFKC reports whether folding r directly gives what NFKC followed by the fold would,
// whatever surrounds r. That holds when r cannot combine with a rune before it (the marks that
// are removed anyway combine with nothing, except the hamza and madda marks U+0653–U+0655, which
// NFKC composes with alef, waw, yeh and heh) and when folding NFKC(r) gives the same runes and
// separators as folding r.
func foldsLikeNFKC(r rune) bool {
	s := string(r)
	if !norm.NFKC.PropertiesString(s).BoundaryBefore() && (foldRune(r) != dropRune || r >= 0x0653 && r <= 0x0655) {
		return false
	}
	return foldSeq(norm.NFKC.String(s)) == foldSeq(s)
}

// foldSeq folds each rune of s and collapses separator runs, without trimming.
func foldSeq(s string) string {
	var b strings.Builder
	for _, r := range s {
		o := foldRune(r)
		switch {
		case o == dropRune:
		case o == ' ' && strings.HasSuffix(b.String(), " "):
		default:
			b.WriteRune(o)
		}
	}
	return b.String()
}
