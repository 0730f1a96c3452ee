// Package display turns what feedd stores into text for a terminal.
package display

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// URL shows a URL as a browser's address bar does: percent-encoded UTF-8 letters (an
// Arabic slug) decoded, while escapes that carry meaning (%2F, %3F, %25, a space) and characters
// that could disturb a terminal or reorder the text (controls, bidi marks) stay or become escaped.
func URL(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] == '%' {
			if r, n := decodeEscapedRune(s[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
			b.WriteByte('%')
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || r == ' ' || (r >= 0x80 && !displayable(r)) {
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// decodeEscapedRune decodes one non-ASCII character written as %XX escapes of its UTF-8 bytes at
// the start of s, and returns it with the length of its escapes; n is 0 when s does not start
// with one that is displayable.
func decodeEscapedRune(s string) (r rune, n int) {
	var buf [utf8.UTFMax]byte
	k := 0
	for k < utf8.UTFMax && len(s) >= 3*(k+1) && s[3*k] == '%' {
		c, ok := unhex(s[3*k+1], s[3*k+2])
		if !ok || c < 0x80 || (k > 0 && utf8.RuneStart(c)) {
			break
		}
		buf[k] = c
		k++
		if utf8.FullRune(buf[:k]) {
			break
		}
	}
	r, size := utf8.DecodeRune(buf[:k])
	if k == 0 || r == utf8.RuneError || size != k || !displayable(r) {
		return 0, 0
	}
	return r, 3 * k
}

// displayable reports whether a non-ASCII rune may be shown as is: a letter, mark, digit,
// punctuation or symbol, but not a space, a control or a format character (bidi marks).
func displayable(r rune) bool {
	return unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r) && !unicode.IsSpace(r)
}

func unhex(a, b byte) (byte, bool) {
	h := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		case 'A' <= c && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	x, ok1 := h(a)
	y, ok2 := h(b)
	return x<<4 | y, ok1 && ok2
}
