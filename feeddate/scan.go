package feeddate

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold normalises a date string for scanning: compatibility forms composed (NFKC turns Arabic
// presentation forms and full-width digits into plain ones), Eastern Arabic and Persian digits
// made ASCII, the Arabic comma and decimal separator made ASCII, harakat, tatweel, direction
// marks and zero-width characters removed, every space made a plain space, letters lower-cased,
// and the Arabic spelling variants that month and weekday names come in unified (أ إ آ ٱ → ا,
// ى → ي, ة → ه, Persian ی ک → ي ك).
func fold(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '٠' && r <= '٩':
			b.WriteByte(byte('0' + r - '٠'))
		case r >= '۰' && r <= '۹':
			b.WriteByte(byte('0' + r - '۰'))
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if r < ' ' || r == 0x7F {
				r = ' '
			}
			b.WriteRune(r)
		case r == '،' || r == '٬': // Arabic comma, thousands separator
			b.WriteByte(',')
		case r == '٫': // Arabic decimal separator
			b.WriteByte('.')
		case r == '؛':
			b.WriteByte(';')
		case r >= 0x064B && r <= 0x065F, r == 0x0670, r == 'ـ': // harakat, superscript alef, tatweel
		case r == 0x061C, r == 0x200B, r == 0x200C, r == 0x200D, r == 0x200E, r == 0x200F,
			r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0xFEFF:
			// Direction marks and zero-width characters.
		case r == 'أ', r == 'إ', r == 'آ', r == 'ٱ':
			b.WriteRune('ا')
		case r == 'ى', r == 'ی':
			b.WriteRune('ي')
		case r == 'ة':
			b.WriteRune('ه')
		case r == 'ک':
			b.WriteRune('ك')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// kind is the kind of a token.
type kind uint8

const (
	number kind = iota + 1 // a run of ASCII digits
	word                   // a run of letters
	symbol                 // one other character, white space excluded
)

// token is one piece of a folded date string.
type token struct {
	kind   kind
	text   string
	spaced bool // white space comes before it
}

// is reports whether t is the symbol sym.
func (t token) is(sym string) bool { return t.kind == symbol && t.text == sym }

// maxTokens bounds the work done on a hostile string.
const maxTokens = 64

// scan splits a folded string into numbers, words and symbols. It returns false when the
// string has more than maxTokens tokens.
func scan(s string) ([]token, bool) {
	var toks []token
	spaced := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var t token
		switch {
		case r == ' ':
			i += size
			spaced = true
			continue
		case '0' <= r && r <= '9':
			j := i + 1
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			t = token{kind: number, text: s[i:j]}
			i = j
		case unicode.IsLetter(r) || unicode.IsMark(r):
			j := i + size
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !unicode.IsLetter(r2) && !unicode.IsMark(r2) {
					break
				}
				j += n
			}
			t = token{kind: word, text: s[i:j]}
			i = j
		default:
			t = token{kind: symbol, text: s[i : i+size]}
			i += size
		}
		if len(toks) == maxTokens {
			return nil, false
		}
		t.spaced, spaced = spaced, false
		toks = append(toks, t)
	}
	return toks, true
}

// atoi converts a number token of at most 9 digits; longer ones give -1.
func atoi(s string) int {
	if len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
