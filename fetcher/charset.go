package fetcher

import (
	"bytes"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
	"golang.org/x/text/transform"
)

// Where the charset of a body came from.
const (
	sourceBOM      = "bom"      // a byte-order mark, or UTF-16/32 sniffed from "<" without one
	sourceHTTP     = "http"     // the charset parameter of Content-Type
	sourceXML      = "xml"      // the encoding of the XML declaration
	sourceDetected = "detected" // nothing usable was declared: guessed from the bytes
	sourceOverride = "override" // the feed's configured charset
)

// decoded is a body made ready for the feed parser.
type decoded struct {
	text     []byte   // UTF-8, no BOM, XML declaration saying utf-8, no characters XML forbids
	charset  string   // what the body was decoded from, e.g. "utf-8", "windows-1256"
	source   string   // one of the source constants
	replaced int      // U+FFFD introduced by decoding invalid or unmapped input
	repaired int      // repairs made to the XML (see repair)
	warnings []string // declarations that were ignored, and why
}

// xmlDeclEncoding finds the encoding pseudo-attribute of an XML declaration at the very start of
// a document (after optional white space). Group 1 or 2 is the value.
var xmlDeclEncoding = regexp.MustCompile(`\A[ \t\r\n]*<\?xml[ \t\r\n][^>]*?\bencoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')`)

// declScanLimit bounds how far into a body the XML declaration is looked for.
const declScanLimit = 1024

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0, 0}
	bomUTF32BE = []byte{0, 0, 0xFE, 0xFF}
)

// decodeBody resolves the charset of a feed body and returns it as UTF-8 ready for gofeed.
//
// A known override label (the feed's configured charset) decides alone: only a byte-order mark
// of that same encoding is removed. An unknown one is ignored with a warning. Otherwise the
// charset is taken from, in order: a byte-order mark (or UTF-16/32 "<" without one), the
// charset parameter of contentType, the XML declaration, and detection (UTF-8 when the bytes are
// UTF-8, else the better of windows-1256 and ISO-8859-6, windows-1256 by default). A declaration
// is skipped, with a warning, when its name is unknown, when it claims UTF-8 for bytes that are
// not UTF-8, when it names a legacy charset for bytes that are valid, non-ASCII UTF-8, or when it
// is an HTTP ISO-8859-1 (a common server default) and the XML declaration names another charset.
//
// The result is always valid UTF-8: bytes that cannot be decoded become U+FFFD and are counted.
// It is then repaired (see repair: characters XML 1.0 forbids removed, bare & escaped …), leading
// white space and BOMs are removed, and the XML declaration's encoding is rewritten to utf-8, so
// that the parser does not decode a second time.
func decodeBody(body []byte, contentType, override string) decoded {
	var d decoded
	valid := &utf8Memo{b: body} // several checks ask; the body is scanned once
	var enc encoding.Encoding
	var name string
	var rest []byte
	if override != "" {
		if e, n, ok := lookupCharset(override); ok {
			enc, name, rest, d.source = e, n, body, sourceOverride
			if be, bn, brest := sniffBOM(body); be != nil && len(brest) < len(body) {
				if bn == n {
					rest = brest
				} else {
					d.warn("byte-order mark of %s ignored: the feed's configured charset is %s", bn, n)
				}
			}
		} else {
			d.warn("unknown charset %q from the feed's configuration, ignored", override)
		}
	}
	if enc == nil {
		enc, name, rest = sniffBOM(body)
	}
	switch {
	case d.source == sourceOverride:
	case enc != nil:
		d.source = sourceBOM
	default:
		rest = body
		declLabel := xmlDeclLabel(body)
		candidates := []struct{ source, label string }{
			{sourceHTTP, contentTypeCharset(contentType)},
			{sourceXML, declLabel},
		}
		for _, c := range candidates {
			if c.label == "" {
				continue
			}
			e, n, ok := lookupCharset(c.label)
			if !ok {
				d.warn("unknown charset %q from %s, ignored", c.label, c.source)
				continue
			}
			if reason := implausible(n, body, valid); reason != "" {
				d.warn("charset %q from %s ignored: %s", c.label, c.source, reason)
				continue
			}
			// ISO-8859-1 (which WHATWG reads as windows-1252) is many web servers' default for
			// any text: a document that declares another charset itself knows better.
			if c.source == sourceHTTP && n == "windows-1252" {
				if _, dn, ok := lookupCharset(declLabel); ok && dn != n && implausible(dn, body, valid) == "" {
					d.warn("charset %q from http ignored: the xml declaration says %q", c.label, declLabel)
					continue
				}
			}
			enc, name, d.source = e, n, c.source
			break
		}
		if enc == nil {
			enc, name = detectCharset(body, valid)
			d.source = sourceDetected
		}
	}
	d.charset = name

	var text []byte
	if name == "utf-8" {
		// rest is body, or what follows its byte-order mark: valid when body is.
		text = rest
		if !valid.Valid() {
			text, d.replaced = validUTF8(rest)
		}
	} else {
		out, _, err := transform.Bytes(enc.NewDecoder(), rest)
		if err != nil {
			// The x/text decoders replace bad input instead of failing; keep the bytes anyway.
			d.warn("decoding as %s failed: %v; read as utf-8", name, err)
			out, d.charset = rest, "utf-8"
		}
		var extra int
		text, extra = validUTF8(out)
		// Decoders turn bad input into U+FFFD; do not count those the input really contained.
		d.replaced = max(0, countReplacement(text)-extra-literalReplacements(rest, name)) + extra
	}
	text, d.repaired = repair(text)
	// A BOM that survived decoding, and white space, must not hide the XML declaration.
	text = bytes.TrimLeft(text, " \t\r\n\uFEFF")
	d.text = rewriteDeclEncoding(text)
	return d
}

func (d *decoded) warn(format string, args ...any) {
	d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
}

// sniffBOM recognises a UTF-8, UTF-16 or UTF-32 byte-order mark, or UTF-16 or UTF-32 text
// starting "<" without one, and returns the encoding, its name and the body without the mark.
func sniffBOM(body []byte) (encoding.Encoding, string, []byte) {
	switch {
	case bytes.HasPrefix(body, bomUTF8):
		return unicode.UTF8, "utf-8", body[len(bomUTF8):]
	case bytes.HasPrefix(body, bomUTF32LE): // before UTF-16LE, whose mark it starts with
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), "utf-32le", body[len(bomUTF32LE):]
	case bytes.HasPrefix(body, bomUTF32BE):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), "utf-32be", body[len(bomUTF32BE):]
	case bytes.HasPrefix(body, bomUTF16LE):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le", body[len(bomUTF16LE):]
	case bytes.HasPrefix(body, bomUTF16BE):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be", body[len(bomUTF16BE):]
	case bytes.HasPrefix(body, []byte{'<', 0, 0, 0}):
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), "utf-32le", body
	case bytes.HasPrefix(body, []byte{0, 0, 0, '<'}):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), "utf-32be", body
	case bytes.HasPrefix(body, []byte{'<', 0, '?', 0}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le", body
	case bytes.HasPrefix(body, []byte{0, '<', 0, '?'}):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be", body
	}
	return nil, "", nil
}

// contentTypeCharset returns the charset parameter of a Content-Type value, or "".
func contentTypeCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		return strings.TrimSpace(params["charset"])
	}
	// Malformed parameters elsewhere in the header: look for charset= by hand.
	const key = "charset="
	i := 0
	for ; i+len(key) <= len(contentType); i++ {
		if strings.EqualFold(contentType[i:i+len(key)], key) {
			break
		}
	}
	if i+len(key) > len(contentType) {
		return ""
	}
	v := contentType[i+len(key):]
	if j := strings.IndexAny(v, "; ,"); j >= 0 {
		v = v[:j]
	}
	return strings.Trim(v, `"' `)
}

// xmlDeclLabel returns the encoding named by the XML declaration at the start of body, or "".
func xmlDeclLabel(body []byte) string {
	m := xmlDeclEncoding.FindSubmatch(body[:min(len(body), declScanLimit)])
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]) + string(m[2]))
}

// lookupCharset maps a charset label (WHATWG names first, then IANA) to an encoding and its
// canonical lower-case name.
func lookupCharset(label string) (encoding.Encoding, string, bool) {
	label = strings.ToLower(strings.TrimSpace(label))
	if label == "" {
		return nil, "", false
	}
	if e, err := htmlindex.Get(label); err == nil && e != encoding.Replacement {
		if name, err := htmlindex.Name(e); err == nil {
			return e, name, true
		}
	}
	if e, err := ianaindex.IANA.Encoding(label); err == nil && e != nil && e != encoding.Replacement {
		name, err := ianaindex.IANA.Name(e)
		if err != nil {
			name = label
		}
		if n, err := htmlindex.Name(e); err == nil {
			name = n
		}
		return e, strings.ToLower(name), true
	}
	return nil, "", false
}

// implausible says why a declared charset cannot be right for body, or "" when it may be.
func implausible(name string, body []byte, valid *utf8Memo) string {
	switch {
	case name == "utf-8":
		if !mostlyUTF8(body, valid) {
			return "the body is not utf-8"
		}
	case strings.HasPrefix(name, "utf-16"):
		if !looksUTF16(body) {
			return "the body is not utf-16"
		}
	default:
		// Legacy charsets practically never produce a valid UTF-8 byte stream with non-ASCII
		// characters in it: such a body is UTF-8 whatever it says.
		if valid.Valid() && !isASCII(body) {
			return "the body is valid utf-8"
		}
	}
	return ""
}

// mostlyUTF8 reports whether body is UTF-8, tolerating a few broken sequences (a description cut
// in the middle of a character) among many good ones.
func mostlyUTF8(body []byte, valid *utf8Memo) bool {
	if valid.Valid() {
		return true
	}
	var multi, invalid int
	for i := 0; i < len(body); {
		if body[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			multi++
		}
		i += size
	}
	return multi >= 4*invalid
}

// utf8Memo answers utf8.Valid for one body, scanning it at most once.
type utf8Memo struct {
	b           []byte
	done, valid bool
}

// Valid reports whether the body is valid UTF-8.
func (m *utf8Memo) Valid() bool {
	if !m.done {
		m.valid, m.done = utf8.Valid(m.b), true
	}
	return m.valid
}

// looksUTF16 reports whether body has the NUL bytes of mostly-ASCII UTF-16 text.
func looksUTF16(body []byte) bool {
	head := body[:min(len(body), 64)]
	return len(head) >= 2 && bytes.Count(head, []byte{0})*4 >= len(head)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// detectCharset guesses the charset of an undeclared body: UTF-8 when it is (mostly) UTF-8, else
// Arabic: ISO-8859-6 when every byte is defined there and windows-1256 would produce Latin
// letters, otherwise windows-1256.
func detectCharset(body []byte, valid *utf8Memo) (encoding.Encoding, string) {
	if mostlyUTF8(body, valid) {
		return unicode.UTF8, "utf-8"
	}
	if preferISO88596(body) {
		return charmap.ISO8859_6, "iso-8859-6"
	}
	return charmap.Windows1256, "windows-1256"
}

// preferISO88596 compares the two Arabic single-byte charsets. Windows-1256 text nearly always
// has letters (غ ف ق ك, tatweel) on bytes ISO-8859-6 leaves undefined; ISO-8859-6 text read as
// windows-1256 turns letters such as ل و ي into é è ê.
func preferISO88596(body []byte) bool {
	var latin int
	for _, c := range body {
		if c < 0x80 {
			continue
		}
		if charmap.ISO8859_6.DecodeByte(c) == utf8.RuneError {
			return false
		}
		if r := charmap.Windows1256.DecodeByte(c); r >= 0xC0 && r <= 0xFF {
			latin++
		}
	}
	return latin > 0
}

// validUTF8 returns b with every byte that is not part of a valid UTF-8 sequence replaced by
// U+FFFD, and how many were replaced. b itself is returned when it is already valid.
func validUTF8(b []byte) ([]byte, int) {
	if utf8.Valid(b) {
		return b, 0
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	n := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			n++
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out, n
}

// countReplacement counts U+FFFD in valid UTF-8 text.
func countReplacement(text []byte) int {
	return bytes.Count(text, []byte("\uFFFD"))
}

// literalReplacements counts U+FFFD characters genuinely present in a UTF-16 input, so they are
// not counted as introduced by decoding. Single-byte charsets cannot encode U+FFFD.
func literalReplacements(raw []byte, name string) int {
	var first, second byte
	switch name {
	case "utf-16le":
		first, second = 0xFD, 0xFF
	case "utf-16be":
		first, second = 0xFF, 0xFD
	default:
		return 0
	}
	n := 0
	for i := 0; i+1 < len(raw); i += 2 {
		if raw[i] == first && raw[i+1] == second {
			n++
		}
	}
	return n
}

// rewriteDeclEncoding makes the XML declaration at the start of text, if it names an encoding,
// name utf-8: text has been transcoded already and must not be decoded again.
func rewriteDeclEncoding(text []byte) []byte {
	m := xmlDeclEncoding.FindSubmatchIndex(text[:min(len(text), declScanLimit)])
	if m == nil {
		return text
	}
	start, end := m[2], m[3]
	if start < 0 {
		start, end = m[4], m[5]
	}
	if strings.EqualFold(string(text[start:end]), "utf-8") {
		return text
	}
	out := make([]byte, 0, len(text))
	out = append(out, text[:start]...)
	out = append(out, "utf-8"...)
	return append(out, text[end:]...)
}

// forbiddenControl reports whether XML 1.0 forbids the byte c: a C0 control other than tab, LF
// and CR.
func forbiddenControl(c byte) bool {
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r'
}
