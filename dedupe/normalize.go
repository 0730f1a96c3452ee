// Package dedupe decides whether an article is new, a duplicate of one already published, or a
// repeat of an item already seen. It holds the pure parts of that decision: Arabic text
// normalisation, URL canonicalisation, content keys and the decision itself; what it remembers
// comes through the Keys interface.
package dedupe

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

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
	b, _, _ := appendNormalized(make([]byte, 0, len(s)+maxFoldBytes), s, nil)
	// b is never written again: the string may share its bytes, as in strings.Builder.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendNormalized appends Normalize(s) to dst. While it folds, it hashes the words it writes
// into ws (see [appendFold]); ok reports that they are the words of the result (n values of ws),
// which is not so when the text needed NFKC or may have needed a second fold, or ws was too
// short.
func appendNormalized(dst []byte, s string, ws []uint64) (out []byte, n int, ok bool) {
	start := len(dst)
	out, n, needNFKC, check := appendFold(dst, s, true, ws)
	ok = !needNFKC && !check && n <= len(ws)
	if needNFKC {
		out, _, _, check = appendFold(dst, norm.NFKC.String(s), false, nil)
	}
	// Removing a format character or tatweel can leave a letter next to a combining mark it was
	// kept apart from, and lower-casing can produce a character NFKC would change: fold again
	// until the result is stable, so that Normalize stays idempotent. Text made only of ASCII and
	// Arabic never gets here.
	for i := 0; check && i < 3 && !norm.NFKC.IsNormal(out[start:]); i++ {
		out, _, _, check = appendFold(out[:start], norm.NFKC.String(string(out[start:])), false, nil)
	}
	return out, n, ok
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

// appendFold appends the fold of s to dst: every rune mapped through the fold table, removed
// runes dropped, separators collapsed into single spaces, and the result trimmed. In fast mode
// it gives up (needNFKC) as soon as it meets a rune that NFKC could change or combine and that
// the table does not fold the same way; the caller then applies NFKC and folds again in slow
// mode. check reports that the result holds a rune outside the table's safe set, so it may not
// be NFKC-normal.
//
// It also hashes the words it writes, for analysis: for each word, two values of ws, the FNV-1a
// state of its bytes (wordHash before its final mix) and the offset in out where it ends. n is
// how many values that takes, which may be more than ws holds: the words past its end are not
// stored. ws may be nil.
//
// The runes of one and two bytes (ASCII to the end of the Arabic block: what news is made of)
// take foldFast's loop; the others, and the few of those that need more care, the general path.
func appendFold(dst []byte, s string, fast bool, ws []uint64) (out []byte, n int, needNFKC, check bool) {
	start := len(dst)
	b := dst
	st := foldState{j: start, k: 0, h: fnvOffset, sep: 1}
	var seen uint32 // the entries of the runes of the general path
	i := 0
	for {
		// The fast loop writes at most as many bytes as it reads; a rune of the general path
		// at most a space and four bytes.
		if len(b)-st.j < len(s)-i+maxFoldBytes {
			b = slices.Grow(b[:st.j], len(s)-i+maxFoldBytes)
			b = b[:cap(b)]
		}
		i = foldFast(b, s, i, ws, &st)
		if i >= len(s) {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		e := entry(r)
		if fast && e&entryNeedsNFKC != 0 {
			return dst, 0, true, false
		}
		seen |= e
		switch o := rune(e & entryRune); o {
		case dropRune:
		case ' ':
			st.separate(b, ws)
		default:
			w := utf8.EncodeRune(b[st.j:], o)
			for _, c := range b[st.j : st.j+w] {
				st.h = (st.h ^ uint64(c)) * fnvPrime
			}
			st.j += w
			st.sep = 0
		}
	}
	if st.sep == 0 {
		st.endWord(ws)
	} else if st.j > start {
		st.j-- // the space written for the last separator
	}
	return b[:st.j], st.k, false, seen&entryCheckOutput != 0
}

// foldState is the state of appendFold between its fast loop and its general path.
type foldState struct {
	j   int    // the length of the output
	k   int    // the word values produced (two a word)
	h   uint64 // the FNV-1a state of the current word
	sep uint32 // 1 when no letter was written since the last separator or the start
}

// separate handles a separator: it ends the current word, if any, and writes a space after it.
// A run of separators writes one space; the one after the last word is taken back at the end.
func (st *foldState) separate(b []byte, ws []uint64) {
	if st.sep == 0 {
		st.endWord(ws)
		b[st.j] = ' '
		st.j++
		st.sep = 1
	}
}

// endWord stores the current word's values in ws, when there is room, and starts the next.
func (st *foldState) endWord(ws []uint64) {
	if st.k+1 < len(ws) {
		ws[st.k] = st.h
		ws[st.k+1] = uint64(st.j)
	}
	st.k += 2
	st.h = fnvOffset
}

// foldFast folds s from i on with the fast tables, until the last byte of s or a rune that needs
// the general path, and returns where it stopped. It writes at most as many bytes as it reads,
// and b has room for that. The state is kept in locals, so that the loop runs in registers; the
// common cases (an ASCII letter or space, an Arabic letter) take a few instructions each, and
// the only branches that depend on the text are between ASCII and the rest, and at a word's end.
func foldFast(b []byte, s string, i int, ws []uint64, st *foldState) int {
	tab := &foldTable.fast
	j, k, h, sep := st.j, st.k, st.h, st.sep
	for i+1 < len(s) {
		c := uint32(s[i])
		if c < utf8.RuneSelf {
			e := tab.ascii[c]
			i++
			if e&fastSep == 0 {
				b[j] = byte(e)
				h = (h ^ uint64(byte(e))) * fnvPrime
				j++
				sep = 0
				continue
			}
			if sep == 0 {
				if k+1 < len(ws) {
					ws[k] = h
					ws[k+1] = uint64(j)
				}
				k += 2
				h = fnvOffset
				b[j] = ' '
				j++
				sep = 1
			}
			continue
		}
		// A rune of two bytes, or the start of something the general path decodes.
		e := tab.two[(c&0x7F)<<8|uint32(s[i+1])]
		if e&fastTwo != 0 {
			// A letter that folds to two bytes: most of Arabic text.
			_ = b[j+1]
			b[j] = byte(e)
			b[j+1] = byte(e >> 8)
			h = (h ^ uint64(byte(e))) * fnvPrime
			h = (h ^ uint64(byte(e>>8))) * fnvPrime
			j += 2
			i += 2
			sep = 0
			continue
		}
		if e&fastGeneral != 0 {
			break
		}
		i += 2
		switch {
		case e&fastLetter != 0: // a letter that folds to one byte (a digit)
			b[j] = byte(e)
			h = (h ^ uint64(byte(e))) * fnvPrime
			j++
			sep = 0
		case e&fastSep != 0:
			if sep == 0 {
				if k+1 < len(ws) {
					ws[k] = h
					ws[k+1] = uint64(j)
				}
				k += 2
				h = fnvOffset
				b[j] = ' '
				j++
				sep = 1
			}
		}
	}
	st.j, st.k, st.h, st.sep = j, k, h, sep
	return i
}

// FNV-1a, 64 bits: see wordHash.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// maxFoldBytes is the room appendFold keeps past what it reads: a rune of the general path
// writes at most a space and four bytes.
const maxFoldBytes = 8

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

	lowEnd     = 0x0700 // the table covers [0, lowEnd) ...
	punctStart = 0x2000 // ... and [punctStart, punctEnd)
	punctEnd   = 0x2070
)

// foldTable is built once when the package is loaded and only read afterwards.
var foldTable = newTable()

type table struct {
	low   [lowEnd]uint32
	punct [punctEnd - punctStart]uint32
	// fast is what appendFold's fast loop reads.
	fast fastTable
}

// fastTable holds the fold of the runes of one and two bytes for appendFold's fast loop: ascii
// by byte, two by its first byte (less its top bit) and the next, so that an invalid sequence
// simply has an entry that sends it to the general path.
type fastTable struct {
	ascii [utf8.RuneSelf]uint32
	two   [1 << 15]uint32
}

// A fast table entry holds the UTF-8 bytes of the folded rune (one or two, the first in the low
// byte), their number and flags. A rune has a fast entry when it folds like NFKC and is safe
// (see safeRune), and folds to a rune of at most two bytes; the others take the general path,
// which handles every rune.
const (
	fastLenShift = 16      // bits 16-17: how many bytes the fold writes
	fastTwo      = 1 << 17 // the fold writes two bytes
	fastLetter   = 1 << 18 // the rune folds to a letter, digit or mark that is kept
	fastSep      = 1 << 19 // the rune is a separator
	fastGeneral  = 1 << 20 // the rune takes the general path
)

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
	}
	for i := range t.punct {
		mark(&t.punct[i])
	}
	fastEntry := func(r rune) uint32 {
		e, ok := t.entry(r)
		if !ok || e&(entryNeedsNFKC|entryCheckOutput) != 0 {
			return fastGeneral
		}
		switch o := rune(e & entryRune); {
		case o == dropRune:
			return 0
		case o == ' ':
			return fastSep
		case utf8.RuneLen(o) > 2:
			return fastGeneral
		default:
			var enc [2]byte
			n := utf8.EncodeRune(enc[:], o)
			return uint32(enc[0]) | uint32(enc[1])<<8 | uint32(n)<<fastLenShift | fastLetter
		}
	}
	for c := range rune(utf8.RuneSelf) {
		t.fast.ascii[c] = fastEntry(c)
	}
	for i := range t.fast.two {
		c, c2 := 0x80|i>>8, i&0xFF
		t.fast.two[i] = fastGeneral
		if c >= 0xC2 && c < 0xE0 && c2&0xC0 == 0x80 {
			t.fast.two[i] = fastEntry(rune(c&0x1F)<<6 | rune(c2&0x3F))
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
