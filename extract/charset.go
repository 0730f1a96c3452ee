package extract

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/feedd/feedd/internal/charset"
)

// sourceMeta names a charset found in the page's <meta charset> or <meta http-equiv>.
const sourceMeta = "meta"

// metaScanLimit bounds how far into a page its <meta> charset is looked for. Browsers look in
// the first 1024 bytes; pages that put scripts and styles first are common, so this looks
// further, but never past the start of <body>.
const metaScanLimit = 8192

// metaCharset finds a charset in a <meta> element: <meta charset="…"> or
// <meta http-equiv="Content-Type" content="text/html; charset=…">. Group 1 is the label.
var metaCharset = regexp.MustCompile(`(?i)<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-z0-9_.:\-]+)`)

// htmlComment matches an HTML comment, so that a commented-out <meta> is not taken.
var htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)

// metaLabel returns the charset label of the page's first <meta> declaring one, or "".
func metaLabel(body []byte) string {
	head := body[:min(len(body), metaScanLimit)]
	if i := indexFold(head, "<body"); i >= 0 {
		head = head[:i]
	}
	if bytes.Contains(head, []byte("<!--")) {
		head = htmlComment.ReplaceAll(head, nil)
	}
	m := metaCharset.FindSubmatch(head)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]))
}

// decodeHTML decodes a page to UTF-8. The charset comes from, in order: a byte-order mark, the
// HTTP Content-Type charset, the page's <meta>, then detection (UTF-8 when the bytes are, else
// windows-1256 or ISO-8859-6 for Arabic). A declaration that cannot be right for the bytes
// (UTF-8 claimed for bytes that are not, a legacy charset for valid non-ASCII UTF-8) is
// skipped. Bytes that cannot be decoded become U+FFFD.
func decodeHTML(body []byte, contentType string) charset.Result {
	return charset.Decode(body, charset.Options{
		ContentType: contentType,
		DocSource:   sourceMeta,
		DocLabel:    metaLabel,
	})
}

// indexFold returns the index of the first ASCII-case-insensitive occurrence of s in b, or -1.
func indexFold(b []byte, s string) int {
	n := len(s)
	for i := 0; i+n <= len(b); i++ {
		if b[i] == '<' && bytes.EqualFold(b[i:i+n], []byte(s)) {
			return i
		}
	}
	return -1
}

// DecodePage decodes a page read from elsewhere (a file) to UTF-8, as Fetch decodes the pages it
// fetches: byte-order mark, contentType's charset ("" for none), <meta>, then detection. It
// returns the text and the charset it was decoded from.
func DecodePage(body []byte, contentType string) (text []byte, charset string) {
	r := decodeHTML(body, contentType)
	return r.Text, r.Charset
}
