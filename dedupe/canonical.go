package dedupe

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidURL is matched (with errors.Is) by every error CanonicalURL returns.
var ErrInvalidURL = errors.New("invalid url")

// CanonicalURL returns the normalised form of raw used for repeat detection and ids: two links to
// the same item written differently give the same string. raw must be an absolute http or https
// URL; anything else (empty, relative, another scheme, a bad host or port) is an error wrapping
// ErrInvalidURL that names raw.
//
// The rules:
//   - white space (including NBSP) and invisible format characters (LRM, RLM, BOM, ...) around
//     raw are trimmed;
//   - scheme and host are lower-cased; the host is otherwise kept as written (no IDNA or punycode
//     conversion, and www., m. and amp. variants are not merged: outlets differ);
//   - the default port (:80 for http, :443 for https) and an empty port are dropped;
//   - userinfo is dropped: it does not name a different item, and canonical URLs are published;
//   - percent-encoding is normalised in path, query and fragment: escapes of unreserved characters
//     (A-Z a-z 0-9 - . _ ~) are decoded, other escapes get upper-case hex, and every other byte
//     that may not appear raw (non-ASCII, such as Arabic or NBSP, space, quotes, ...) is escaped,
//     so /news/مصر and /news/%d9%85%d8%b5%d8%b1 give the same result; %2F and + keep their
//     meaning and stay as they are; a % that starts no escape becomes %25;
//   - an empty path becomes "/", dot segments are removed (RFC 3986 section 5.2.4); a trailing
//     slash and empty segments are kept;
//   - tracking parameters (see IsTrackingParam) are removed, the others are sorted by key then
//     value, and an empty query is dropped;
//   - the fragment is dropped unless it tells the item apart: one made only of digits
//     (/news/breaking#12990783) or a route starting with "!" or "/" is kept.
//
// CanonicalURL is idempotent: CanonicalURL of a canonical URL returns it unchanged.
func CanonicalURL(raw string) (string, error) {
	s := strings.TrimFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
	if s == "" {
		return "", fmt.Errorf("%w %q: empty", ErrInvalidURL, raw)
	}
	scheme, rest, ok := splitScheme(s)
	if !ok {
		return "", fmt.Errorf("%w %q: not absolute", ErrInvalidURL, raw)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%w %q: scheme %q is not http or https", ErrInvalidURL, raw, scheme)
	}
	rest, ok = strings.CutPrefix(rest, "//")
	if !ok {
		return "", fmt.Errorf("%w %q: no host", ErrInvalidURL, raw)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	host, err := canonicalHost(scheme, authority)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidURL, raw, err)
	}

	p, rest, _ := cutAny(rest, "?#")
	var query, fragment string
	hasQuery := strings.HasPrefix(rest, "?")
	if hasQuery {
		query, fragment, _ = strings.Cut(rest[1:], "#")
	} else if rest != "" {
		fragment = rest[1:]
	}

	b := make([]byte, 0, len(s)+len(s)/2)
	b = append(b, scheme...)
	b = append(b, "://"...)
	b = append(b, host...)

	n := len(b)
	b = appendEscaped(b, p, pathChars)
	switch {
	case len(b) == n:
		b = append(b, '/')
	case bytes.Contains(b[n:], []byte("/.")):
		b = append(b[:n], removeDotSegments(string(b[n:]))...)
	}

	if hasQuery {
		b = appendQuery(b, query)
	}

	if fragment != "" {
		n := len(b)
		b = append(b, '#')
		b = appendEscaped(b, fragment, fragmentChars)
		if !identifies(string(b[n+1:])) {
			b = b[:n]
		}
	}
	return string(b), nil
}

// trackingParams lists the query parameters CanonicalURL removes besides the utm_* family
// (Google Analytics campaign tags: utm_source, utm_medium, utm_campaign, ...). None of them
// selects content; they only say how the reader arrived. Names are compared in lower case.
var trackingParams = map[string]string{
	"fbclid":               "Facebook click id added to outbound links",
	"gclid":                "Google Ads click id",
	"dclid":                "Google Display & Video 360 click id",
	"gbraid":               "Google Ads click id for iOS app campaigns",
	"wbraid":               "Google Ads click id for web-to-app campaigns",
	"msclkid":              "Microsoft Advertising click id",
	"yclid":                "Yandex Direct click id",
	"mc_cid":               "Mailchimp campaign id",
	"mc_eid":               "Mailchimp recipient id",
	"_hsenc":               "HubSpot email tracking",
	"_hsmi":                "HubSpot email message id",
	"mkt_tok":              "Marketo email tracking token",
	"igshid":               "Instagram share id",
	"traffic_source":       "feed marker: Al Jazeera adds ?traffic_source=rss to feed links",
	"at_medium":            "AT Internet (Piano Analytics) campaign medium",
	"at_campaign":          "AT Internet (Piano Analytics) campaign name",
	"ref_src":              "Twitter/X referral source",
	"ocid":                 "Microsoft/MSN syndication origin id",
	"cmpid":                "campaign id (Adobe Analytics and many outlets)",
	"__twitter_impression": "Twitter impression marker",
	"s_cid":                "Adobe Analytics campaign id",
	"ncid":                 "newsletter/syndication campaign id (Yahoo, Engadget and others)",
	"_ga":                  "Google Analytics cross-domain client id",
	"_gl":                  "Google Analytics cross-domain linker",
	"oly_enc_id":           "Omeda/Olytics reader id",
	"oly_anon_id":          "Omeda/Olytics anonymous reader id",
	"vero_id":              "Vero email tracking id",
	"wt_mc":                "Webtrends marketing campaign",
	"rss_source":           "feed marker some CMSs add to feed links",
}

// IsTrackingParam reports whether CanonicalURL removes the query parameter name: a utm_*
// parameter or one of TrackingParams, compared case-insensitively. Parameters that can select
// content (id, p, story, page, ...) are never tracking parameters.
func IsTrackingParam(name string) bool {
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "utm_") {
		return true
	}
	_, ok := trackingParams[name]
	return ok
}

// TrackingParams returns, sorted, the names of the tracking parameters CanonicalURL removes
// besides the utm_* prefix.
func TrackingParams() []string {
	names := make([]string, 0, len(trackingParams))
	for name := range trackingParams {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// splitScheme splits s at the colon that ends an RFC 3986 scheme.
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", "", false
			}
		case c == ':':
			return s[:i], s[i+1:], i > 0
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// cutAny slices s around the first byte that is one of chars; rest keeps that byte.
func cutAny(s, chars string) (before, rest string, found bool) {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return s[:i], s[i:], true
	}
	return s, "", false
}

// canonicalHost validates the authority of a URL and returns its host and port in canonical form:
// no userinfo, lower case, no default or empty port.
func canonicalHost(scheme, authority string) (string, error) {
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if plainHost(authority) {
		return strings.ToLower(authority), nil
	}
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("bad host %q: %w", authority, err)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("no host")
	}
	if !utf8.ValidString(host) {
		return "", fmt.Errorf("host %q is not valid UTF-8", host)
	}
	// The host is kept decoded (an Arabic host stays readable) except for "%" itself, which only
	// url.Parse's decoding of %25 can have put there (an IPv6 zone, or a stray one).
	host = strings.ReplaceAll(host, "%", "%25")
	if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			return "", fmt.Errorf("bad port %q", p)
		}
		if !(scheme == "http" && n == 80 || scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	return host, nil
}

// plainHost reports whether authority is a host name of ASCII letters, digits, dots and hyphens
// with no port: the common case, already canonical but for its case.
func plainHost(authority string) bool {
	if authority == "" {
		return false
	}
	for i := 0; i < len(authority); i++ {
		c := authority[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// appendQuery appends the canonical form of a raw query (without its "?"): tracking parameters
// removed, the others sorted by key then value. Nothing is appended when no parameter is left.
func appendQuery(b []byte, query string) []byte {
	type param struct{ key, pair string }
	var params []param
	for piece := range strings.SplitSeq(query, "&") {
		if piece == "" {
			continue
		}
		pair := string(appendEscaped(nil, piece, queryChars))
		key, _, _ := strings.Cut(pair, "=")
		if IsTrackingParam(key) { // tracking names are unreserved characters, decoded by now
			continue
		}
		params = append(params, param{key, pair})
	}
	if len(params) == 0 {
		return b
	}
	slices.SortStableFunc(params, func(x, y param) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.pair, y.pair)
	})
	for i, p := range params {
		if i == 0 {
			b = append(b, '?')
		} else {
			b = append(b, '&')
		}
		b = append(b, p.pair...)
	}
	return b
}

// identifies reports whether a canonical fragment tells an item apart: all digits, or a
// hash-bang or route fragment.
func identifies(fragment string) bool {
	if fragment == "" {
		return false
	}
	if fragment[0] == '!' || fragment[0] == '/' {
		return true
	}
	for i := 0; i < len(fragment); i++ {
		if fragment[i] < '0' || fragment[i] > '9' {
			return false
		}
	}
	return true
}

// removeDotSegments removes "." and ".." segments from an absolute path (RFC 3986 section 5.2.4).
func removeDotSegments(p string) string {
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
			continue
		}
		if last { // "/a/." and "/a/b/.." both end in a slash
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

// Byte classes for percent-encoding: which bytes may stay raw in each part of a URL.
const (
	unreserved      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	subDelims       = "!$&'()*+,;="
	pchar           = unreserved + subDelims + ":@"
	pathAllowed     = pchar + "/"
	queryAllowed    = pchar + "/?"
	fragmentAllowed = queryAllowed
)

var (
	pathChars     = newByteSet(pathAllowed)
	queryChars    = newByteSet(queryAllowed)
	fragmentChars = newByteSet(fragmentAllowed)
	unreservedSet = newByteSet(unreserved)
)

// byteSet is a set of ASCII bytes; it is built once and only read.
type byteSet [256]bool

func newByteSet(chars string) *byteSet {
	var s byteSet
	for i := 0; i < len(chars); i++ {
		s[chars[i]] = true
	}
	return &s
}

// appendEscaped appends s with its percent-encoding normalised: escapes of unreserved bytes
// decoded, the hex of other escapes upper-cased, a % that starts no escape and every byte not in
// allowed escaped.
func appendEscaped(b []byte, s string, allowed *byteSet) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreservedSet[v] {
				b = append(b, v)
			} else {
				b = append(b, '%', hex[v>>4], hex[v&0xF])
			}
			i += 2
			continue
		}
		if c != '%' && allowed[c] {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&0xF])
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
