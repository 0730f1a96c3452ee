package fetcher

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// mode is where the XML repair scanner is in the document.
type mode uint8

const (
	inText    mode = iota
	inTag          // between < and >, attribute values included
	inCDATA        // <![CDATA[ … ]]>
	inComment      // <!-- … -->
	inPI           // <? … ?>
	inDecl         // <!DOCTYPE …> and other declarations, internal subset included
)

// repair fixes, in one pass over UTF-8 text, what XML forbids but feeds carry and browsers and
// feed readers tolerate. Everywhere it removes the characters XML 1.0 does not allow (C0
// controls other than tab, LF and CR, U+FFFE and U+FFFF). When the document is XML (its first
// character that is not white space is "<") it also:
//
//   - escapes a bare & that starts no entity or character reference (a=1&b=2) as &amp;;
//   - removes a character reference to a character XML does not allow (&#1;, &#xFFFF;), which
//     would fail the whole document, and writes &#X41; as &#x41;;
//   - escapes a < that cannot start markup ("a < b", "<3") as &lt;;
//   - closes an end tag cut off at the very end of the document ("</rss").
//
// CDATA sections, comments, processing instructions and declarations are copied as they are,
// forbidden characters aside; entity references (&nbsp;, &amp;) are never touched. It returns
// the text (text itself when nothing needed repair) and the number of repairs made.
//
// It is one pass over the text; two when forbidden characters are removed first, so that the
// markup is judged without them (UTF-32 read as UTF-8 has a NUL after every <).
func repair(text []byte) ([]byte, int) { return repairWith(text, false) }

func repairWith(text []byte, bytewise bool) ([]byte, int) {
	text, removed := stripForbidden(text)
	r := repairer{text: text, xml: startsWithMarkup(text), bytewise: bytewise}
	if r.xml {
		r.run()
	}
	out, n := r.result()
	return out, n + removed
}

// stripForbidden removes the characters XML 1.0 does not allow anywhere in a document: C0
// controls other than tab, LF and CR, and U+FFFE, U+FFFF. text must be valid UTF-8; it is
// returned as is when it holds none. It also returns how many were removed.
func stripForbidden(text []byte) ([]byte, int) {
	if !hasForbidden(text) {
		return text, 0
	}
	out := make([]byte, 0, len(text))
	n := 0
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case forbiddenControl(c):
			i++
		case isNonCharacter(text, i):
			i += 3
		default:
			out = append(out, c)
			i++
			continue
		}
		n++
	}
	return out, n
}

// isNonCharacter reports whether text[i:] starts with U+FFFE or U+FFFF (EF BF BE, EF BF BF).
func isNonCharacter(text []byte, i int) bool {
	return text[i] == 0xEF && i+2 < len(text) && text[i+1] == 0xBF && (text[i+2] == 0xBE || text[i+2] == 0xBF)
}

// hasForbidden reports whether text holds a character stripForbidden removes. It reads eight
// bytes at a time: a word with no byte below 0x20 and none equal to 0xEF (the lead byte of
// U+FFFE and U+FFFF) holds none, and nearly every word of a feed is such a word; the others
// are looked at a byte at a time.
func hasForbidden(text []byte) bool {
	i := 0
	for ; i+8 <= len(text); i += 8 {
		w := binary.LittleEndian.Uint64(text[i:])
		if !hasByteBelow(w, 0x20) && !hasByte(w, 0xEF) {
			continue
		}
		if hasForbiddenIn(text, i, i+8) {
			return true
		}
	}
	return hasForbiddenIn(text, i, len(text))
}

// hasForbiddenIn is hasForbidden a byte at a time over text[from:to]; a non-character starting
// there may end past to.
func hasForbiddenIn(text []byte, from, to int) bool {
	for i := from; i < to; i++ {
		if forbiddenControl(text[i]) || isNonCharacter(text, i) {
			return true
		}
	}
	return false
}

// Word-at-a-time byte tests on eight bytes read as a little-endian uint64.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// hasByteBelow reports whether a byte of w is below n, for n <= 128.
func hasByteBelow(w uint64, n byte) bool { return (w-lowBits*uint64(n))&^w&highBits != 0 }

// hasByte reports whether a byte of w is b.
func hasByte(w uint64, b byte) bool {
	z := w ^ lowBits*uint64(b)
	return (z-lowBits)&^z&highBits != 0
}

// indexMarkup returns the index of the first & or < of text, or -1. It reads eight bytes at a
// time past runs of text, which in a feed are long: Arabic article text between entities.
func indexMarkup(text []byte) int {
	i := 0
	for ; i+8 <= len(text); i += 8 {
		w := binary.LittleEndian.Uint64(text[i:])
		if hasByte(w, '&') || hasByte(w, '<') {
			break
		}
	}
	for ; i < len(text); i++ {
		if c := text[i]; c == '&' || c == '<' {
			return i
		}
	}
	return -1
}

// startsWithMarkup reports whether the first character of text that is not white space or a BOM
// is "<".
func startsWithMarkup(text []byte) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '<':
			return true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c == 0xEF && bytes.HasPrefix(text[i:], bomUTF8):
			i += len(bomUTF8) - 1
		default:
			return false
		}
	}
	return false
}

type repairer struct {
	text    []byte
	xml     bool
	out     []byte // nil until the first repair
	copied  int    // text[:copied] is in out
	repairs int

	mode     mode
	quote    byte // the quote of the attribute value or declaration literal we are in, or 0
	depth    int  // [ ] nesting inside a declaration
	tagStart int  // where the tag being scanned starts

	// bytewise turns off skipping ahead to the next byte that matters: a byte at a time is the
	// reference the skips are tested against.
	bytewise bool
}

// replace puts repl in place of text[i:i+n].
func (r *repairer) replace(i, n int, repl string) {
	if r.out == nil {
		r.out = make([]byte, 0, len(r.text)+len(r.text)/64+16)
	}
	r.out = append(r.out, r.text[r.copied:i]...)
	r.out = append(r.out, repl...)
	r.copied = i + n
	r.repairs++
}

func (r *repairer) result() ([]byte, int) {
	if r.out == nil {
		return r.text, r.repairs
	}
	return append(r.out, r.text[r.copied:]...), r.repairs
}

// run scans the markup of forbidden-free text.
func (r *repairer) run() {
	t := r.text
	for i := 0; i < len(t); {
		i = r.step(i)
	}
	if r.mode == inTag && r.quote == 0 && bytes.HasPrefix(t[r.tagStart:], []byte("</")) &&
		isRootEnd(bytes.TrimRight(t[r.tagStart+2:], " \t\r\n")) {
		r.replace(len(t), 0, ">") // </rss at the end of the document
	}
}

// step handles the markup at text[i] in the current mode and returns where to go on.
func (r *repairer) step(i int) int {
	t := r.text
	rest := t[i:]
	switch r.mode {
	case inText:
		if j := indexMarkup(rest); j != 0 && !r.bytewise { // skip plain text at once
			if j < 0 {
				return len(t)
			}
			return i + j
		}
		switch t[i] {
		case '&':
			return r.ampersand(i)
		case '<':
			switch {
			case bytes.HasPrefix(rest, []byte("<![CDATA[")):
				r.mode = inCDATA
				return i + len("<![CDATA[")
			case bytes.HasPrefix(rest, []byte("<!--")):
				r.mode = inComment
				return i + len("<!--")
			case bytes.HasPrefix(rest, []byte("<?")):
				r.mode = inPI
				return i + 2
			case bytes.HasPrefix(rest, []byte("<!")):
				r.mode, r.depth, r.quote = inDecl, 0, 0
				return i + 2
			case bytes.HasPrefix(rest, []byte("</")) || isNameStart(t, i+1):
				r.mode, r.quote, r.tagStart = inTag, 0, i
				return i + 1
			}
			if i+1 == len(t) { // a lone < at the very end: a cut document, leave it to fail
				return i + 1
			}
			r.replace(i, 1, "&lt;")
		}
	case inTag:
		switch c := t[i]; {
		case r.quote != 0 && c == r.quote:
			r.quote = 0
		case r.quote == 0 && (c == '"' || c == '\''):
			r.quote = c
		case r.quote == 0 && c == '>':
			r.mode = inText
		case r.quote != 0 && c == '&':
			return r.ampersand(i)
		case r.quote != 0 && c == '<':
			r.replace(i, 1, "&lt;")
		}
	case inCDATA:
		return r.skipTo(i, "]]>")
	case inComment:
		return r.skipTo(i, "-->")
	case inPI:
		return r.skipTo(i, "?>")
	case inDecl:
		switch c := t[i]; {
		case r.quote != 0:
			if c == r.quote {
				r.quote = 0
			}
		case c == '"' || c == '\'':
			r.quote = c
		case c == '[':
			r.depth++
		case c == ']' && r.depth > 0:
			r.depth--
		case c == '>' && r.depth == 0:
			r.mode = inText
		}
	}
	return i + 1
}

// skipTo goes on past the end marker of the CDATA section, comment or processing instruction
// at text[i:], back in text mode, or to the end of the text when it has none.
func (r *repairer) skipTo(i int, end string) int {
	rest := r.text[i:]
	if r.bytewise {
		if bytes.HasPrefix(rest, []byte(end)) {
			r.mode = inText
			return i + len(end)
		}
		return i + 1
	}
	j := bytes.Index(rest, []byte(end))
	if j < 0 {
		return len(r.text)
	}
	r.mode = inText
	return i + j + len(end)
}

// ampersand handles an & in text or an attribute value: an entity reference is kept, a
// character reference kept unless it names a character XML forbids, anything else escaped.
func (r *repairer) ampersand(i int) int {
	t := r.text
	j := i + 1
	if j < len(t) && t[j] == '#' {
		j++
		hex := j < len(t) && (t[j] == 'x' || t[j] == 'X')
		if hex {
			j++
		}
		start := j
		for j < len(t) && j-start < 16 && (isDigit(t[j]) || (hex && isHexLetter(t[j]))) {
			j++
		}
		if j > start && j < len(t) && t[j] == ';' {
			base := 10
			if hex {
				base = 16
			}
			n, err := strconv.ParseUint(string(t[start:j]), base, 32)
			switch {
			case err == nil && !allowedRune(n):
				r.replace(i, j+1-i, "")
			case t[i+2] == 'X':
				r.replace(i+2, 1, "x")
			}
			return j + 1
		}
	} else if isNameStart(t, j) {
		for j < len(t) && j-i <= 64 && isNameByte(t[j]) {
			j++
		}
		if j < len(t) && t[j] == ';' {
			return j + 1
		}
	}
	r.replace(i, 1, "&amp;")
	return i + 1
}

// allowedRune reports whether XML 1.0 allows the character n; numbers past Unicode are left
// to the parser, which turns them into U+FFFD.
func allowedRune(n uint64) bool {
	switch {
	case n == '\t' || n == '\n' || n == '\r':
		return true
	case n < 0x20, n == 0xFFFE, n == 0xFFFF:
		return false
	}
	return true
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isHexLetter(c byte) bool { return ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }

// isNameStart reports whether text[i] can start an XML name: an ASCII letter, _ or :, or any
// non-ASCII character (XML names allow most of them, Arabic letters included).
func isNameStart(text []byte, i int) bool {
	if i >= len(text) {
		return false
	}
	c := text[i]
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_' || c == ':' || c >= 0x80
}

func isNameByte(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || isDigit(c) ||
		c == '_' || c == ':' || c == '-' || c == '.' || c >= 0x80
}

// isRootEnd reports whether name is the root element of a feed format. Only a document whose
// final root end tag lost its '>' is mended: an end tag cut off deeper in the document means the
// document itself was cut off, and its last item must not be published half-read.
func isRootEnd(name []byte) bool {
	switch string(name) {
	case "rss", "feed", "rdf:RDF", "RDF", "channel":
		return true
	}
	return false
}
