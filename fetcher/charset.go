package fetcher

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/feedd/feedd/internal/charset"
)

// Where the charset of a body came from.
const (
	sourceBOM      = charset.SourceBOM      // a byte-order mark, or UTF-16/32 sniffed from "<" without one
	sourceHTTP     = charset.SourceHTTP     // the charset parameter of Content-Type
	sourceXML      = "xml"                  // the encoding of the XML declaration
	sourceDetected = charset.SourceDetected // nothing usable was declared: guessed from the bytes
	sourceOverride = charset.SourceOverride // the feed's configured charset
)

// bomUTF8 is the UTF-8 byte-order mark.
var bomUTF8 = []byte{0xEF, 0xBB, 0xBF}

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

// decodeBody resolves the charset of a feed body with package charset (the feed's configured
// charset, byte-order mark, HTTP header, XML declaration, detection) and returns it as UTF-8
// ready for gofeed: repaired (see repair: characters XML 1.0 forbids removed, bare & escaped …),
// leading white space and BOMs removed, and the XML declaration's encoding rewritten to utf-8, so
// that the parser does not decode a second time.
func decodeBody(body []byte, contentType, override string) decoded {
	r := charset.Decode(body, charset.Options{
		ContentType: contentType,
		Override:    override,
		DocSource:   sourceXML,
		DocLabel:    xmlDeclLabel,
	})
	d := decoded{charset: r.Charset, source: r.Source, replaced: r.Replaced, warnings: r.Warnings}
	text, repaired := repair(r.Text)
	d.repaired = repaired
	// A BOM that survived decoding, and white space, must not hide the XML declaration.
	text = bytes.TrimLeft(text, " \t\r\n\uFEFF")
	d.text = rewriteDeclEncoding(text)
	return d
}

// xmlDeclLabel returns the encoding named by the XML declaration at the start of body, or "".
func xmlDeclLabel(body []byte) string {
	m := xmlDeclEncoding.FindSubmatch(body[:min(len(body), declScanLimit)])
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]) + string(m[2]))
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
