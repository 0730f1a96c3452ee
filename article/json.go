package article

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendJSON appends the JSON encoding of a to b: byte for byte what encoding/json writes for
// the struct with HTML escaping off and nil lists written as [] (TestMarshalMatchesEncodingJSON
// holds it to that). It exists because the message is encoded for every article and reflection
// cost more than the rest of the encoding; a field added to Article must be added here, which
// that test checks.
func (a *Article) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"schema_version":`...)
	b = strconv.AppendInt(b, int64(a.SchemaVersion), 10)
	b = appendField(b, "id", a.ID)
	b = appendField(b, "url", a.URL)
	b = appendField(b, "canonical_url", a.CanonicalURL)
	b = appendField(b, "guid", a.GUID)
	b = appendField(b, "feed_id", a.FeedID)
	b = appendField(b, "feed_url", a.FeedURL)
	b = appendField(b, "source", a.Source)
	b = appendField(b, "lang", a.Lang)
	b = appendField(b, "title", a.Title)
	b = appendField(b, "summary", a.Summary)
	b = appendField(b, "content_text", a.ContentText)
	b = appendField(b, "content_html", a.ContentHTML)
	b = appendField(b, "content_source", a.ContentSource)
	b = appendList(b, "authors", a.Authors)
	b = appendList(b, "categories", a.Categories)
	b = appendField(b, "image_url", a.ImageURL)
	var err error
	if b, err = appendTime(b, "published_at", a.PublishedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"published_at_guessed":`...)
	b = strconv.AppendBool(b, a.PublishedAtGuessed)
	if a.PublishedAtRaw != "" {
		b = appendField(b, "published_at_raw", a.PublishedAtRaw)
	}
	if b, err = appendTime(b, "fetched_at", a.FetchedAt); err != nil {
		return nil, err
	}
	if a.DuplicateOf != "" {
		b = appendField(b, "duplicate_of", a.DuplicateOf)
	}
	if a.Similarity != 0 {
		if b, err = appendFloat(append(b, `,"similarity":`...), a.Similarity); err != nil {
			return nil, err
		}
	}
	b = appendField(b, "cluster_id", a.ClusterID)
	if len(a.SameStory) > 0 {
		b = appendList(b, "same_story", a.SameStory)
	}
	if a.UpdatedOf != "" {
		b = appendField(b, "updated_of", a.UpdatedOf)
	}
	if a.Revision != "" {
		b = appendField(b, "revision", a.Revision)
	}
	return append(b, '}'), nil
}

// appendField appends ,"name":"value".
func appendField(b []byte, name, value string) []byte {
	b = append(append(append(b, `,"`...), name...), `":`...)
	return appendString(b, value)
}

func appendList(b []byte, name string, values []string) []byte {
	b = append(append(append(b, `,"`...), name...), `":[`...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

// appendTime appends the time as time.Time.MarshalJSON does: RFC 3339 with nanoseconds, and an
// error for a time RFC 3339 cannot write (a year outside 0..9999, an offset of a day or more).
func appendTime(b []byte, name string, t time.Time) ([]byte, error) {
	b = append(append(append(b, `,"`...), name...), `":"`...)
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	switch {
	case b[n0+len("9999")] != '-':
		return nil, fmt.Errorf("%s: year %d outside of range [0,9999]", name, t.Year())
	case b[len(b)-1] != 'Z':
		c := b[len(b)-len("Z07:00")]
		hh := 10*int(b[len(b)-5]-'0') + int(b[len(b)-4]-'0')
		if '0' <= c && c <= '9' || hh >= 24 {
			return nil, fmt.Errorf("%s: time zone offset of %s outside of range [0,23] hours", name, t.Format("-07:00"))
		}
	}
	return append(b, '"'), nil
}

// appendFloat appends f as encoding/json does: the shortest representation, with an exponent
// only for very small or large magnitudes.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("similarity: unsupported value " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 becomes e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does without HTML escaping:
// quotes, backslashes and control characters escaped, invalid UTF-8 replaced by U+FFFD, and
// U+2028 and U+2029 escaped (JavaScript reads them as line ends). Two-byte sequences, which
// all of Arabic is, are copied without decoding.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		if c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2 // a valid two-byte sequence: nothing to escape
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i += size
			start = i
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
		default:
			i += size
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
