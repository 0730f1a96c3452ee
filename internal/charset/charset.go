// Package charset resolves the character set of a fetched body and decodes it to UTF-8: the
// byte-order mark, the HTTP Content-Type charset, the document's own declaration (an XML
// declaration for feeds, a <meta> for HTML pages), then detection tuned for Arabic text
// (windows-1256 and ISO-8859-6). The feed fetcher and the page fetcher share it.
package charset

import (
	"bytes"
	"fmt"
	"mime"
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

// Where the charset of a body came from. The document's own declaration is named by
// Options.DocSource.
const (
	SourceBOM      = "bom"      // a byte-order mark, or UTF-16/32 sniffed from "<" without one
	SourceHTTP     = "http"     // the charset parameter of Content-Type
	SourceDetected = "detected" // nothing usable was declared: guessed from the bytes
	SourceOverride = "override" // the configured charset
)

// Options say what is known of a body besides its bytes.
type Options struct {
	ContentType string // the HTTP Content-Type, or ""
	Override    string // a configured charset that decides alone, or ""

	// DocSource names the document's own declaration in Result.Source and warnings ("xml",
	// "meta"); DocLabel finds it in the body and returns its label, or "". DocLabel may be nil.
	DocSource string
	DocLabel  func(body []byte) string
}

// Result is a body decoded to UTF-8.
type Result struct {
	Text     []byte   // valid UTF-8, without a byte-order mark
	Charset  string   // what the body was decoded from, e.g. "utf-8", "windows-1256"
	Source   string   // a Source constant or Options.DocSource
	Replaced int      // U+FFFD introduced by decoding invalid or unmapped input
	Warnings []string // declarations that were ignored, and why
}

func (r *Result) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// Decode resolves the charset of body and returns it as UTF-8.
//
// A known Override label decides alone: only a byte-order mark of that same encoding is
// removed. An unknown one is ignored with a warning. Otherwise the charset is taken from, in
// order: a byte-order mark (or UTF-16/32 "<" without one), the charset parameter of ContentType,
// the document's declaration, and detection (UTF-8 when the bytes are UTF-8, else the better of
// windows-1256 and ISO-8859-6, windows-1256 by default). A declaration is skipped, with a
// warning, when its name is unknown, when it claims UTF-8 for bytes that are not UTF-8, when it
// names a legacy charset for bytes that are valid, non-ASCII UTF-8, or when it is an HTTP
// ISO-8859-1 (a common server default) and the document declares another charset.
//
// The text is always valid UTF-8: bytes that cannot be decoded become U+FFFD and are counted.
func Decode(body []byte, o Options) Result {
	var r Result
	valid := &utf8Memo{b: body} // several checks ask; the body is scanned once
	var enc encoding.Encoding
	var name string
	var rest []byte
	if o.Override != "" {
		if e, n, ok := Lookup(o.Override); ok {
			enc, name, rest, r.Source = e, n, body, SourceOverride
			if be, bn, brest := sniffBOM(body); be != nil && len(brest) < len(body) {
				if bn == n {
					rest = brest
				} else {
					r.warn("byte-order mark of %s ignored: the configured charset is %s", bn, n)
				}
			}
		} else {
			r.warn("unknown charset %q from the configuration, ignored", o.Override)
		}
	}
	if enc == nil {
		enc, name, rest = sniffBOM(body)
	}
	switch {
	case r.Source == SourceOverride:
	case enc != nil:
		r.Source = SourceBOM
	default:
		rest = body
		var docLabel string
		if o.DocLabel != nil {
			docLabel = o.DocLabel(body)
		}
		candidates := []struct{ source, label string }{
			{SourceHTTP, FromContentType(o.ContentType)},
			{o.DocSource, docLabel},
		}
		for _, c := range candidates {
			if c.label == "" {
				continue
			}
			e, n, ok := Lookup(c.label)
			if !ok {
				r.warn("unknown charset %q from %s, ignored", c.label, c.source)
				continue
			}
			if reason := implausible(n, body, valid); reason != "" {
				r.warn("charset %q from %s ignored: %s", c.label, c.source, reason)
				continue
			}
			// ISO-8859-1 (which WHATWG reads as windows-1252) is many web servers' default for
			// any text: a document that declares another charset itself knows better.
			if c.source == SourceHTTP && n == "windows-1252" {
				if _, dn, ok := Lookup(docLabel); ok && dn != n && implausible(dn, body, valid) == "" {
					r.warn("charset %q from http ignored: the %s declaration says %q", c.label, o.DocSource, docLabel)
					continue
				}
			}
			enc, name, r.Source = e, n, c.source
			break
		}
		if enc == nil {
			enc, name = detect(body, valid)
			r.Source = SourceDetected
		}
	}
	r.Charset = name

	if name == "utf-8" {
		// rest is body, or what follows its byte-order mark: valid when body is.
		r.Text = rest
		if !valid.Valid() {
			r.Text, r.Replaced = ValidUTF8(rest)
		}
		return r
	}
	out, _, err := transform.Bytes(enc.NewDecoder(), rest)
	if err != nil {
		// The x/text decoders replace bad input instead of failing; keep the bytes anyway.
		r.warn("decoding as %s failed: %v; read as utf-8", name, err)
		out, r.Charset = rest, "utf-8"
	}
	var extra int
	r.Text, extra = ValidUTF8(out)
	// Decoders turn bad input into U+FFFD; do not count those the input really contained.
	r.Replaced = max(0, countReplacement(r.Text)-extra-literalReplacements(rest, name)) + extra
	return r
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

// FromContentType returns the charset parameter of a Content-Type value, or "".
func FromContentType(contentType string) string {
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

// Lookup maps a charset label (WHATWG names first, then IANA) to an encoding and its
// canonical lower-case name.
func Lookup(label string) (encoding.Encoding, string, bool) {
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

// detect guesses the charset of an undeclared body: UTF-8 when it is (mostly) UTF-8, else
// Arabic: ISO-8859-6 when every byte is defined there and windows-1256 would produce Latin
// letters, otherwise windows-1256.
func detect(body []byte, valid *utf8Memo) (encoding.Encoding, string) {
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

// ValidUTF8 returns b with every byte that is not part of a valid UTF-8 sequence replaced by
// U+FFFD, and how many were replaced. b itself is returned when it is already valid.
func ValidUTF8(b []byte) ([]byte, int) {
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

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0, 0}
	bomUTF32BE = []byte{0, 0, 0xFE, 0xFF}
)
