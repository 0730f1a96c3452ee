package extract

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// robotsFile is what a robots.txt says to one agent: the rules of its groups, else those of
// the "*" groups. Groups naming the same token are merged, as RFC 9309 says; other agents'
// groups are not kept.
type robotsFile struct {
	mine, any       []robotsRule
	hasMine, hasAny bool // a group names the agent, or "*" (possibly with no rules)
}

// robotsRule is one Allow or Disallow line.
type robotsRule struct {
	allow   bool
	pattern string // normalised (see normalisePattern); never empty
}

// Bounds against hostile files: lines longer than robotsMaxLine are ignored, and so are rules
// once robotsMaxPatterns bytes of patterns are kept.
const (
	robotsMaxLine     = 4096
	robotsMaxPatterns = 64 << 10
)

// parseRobots parses a robots.txt for agent, a lower-case product token. It never fails: lines
// it cannot read are skipped, as crawlers do.
func parseRobots(body []byte, agent string) *robotsFile {
	f := &robotsFile{}
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	var forMine, forAny bool // the current group names the agent, "*"
	inRules := false         // a rule was read since the last user-agent line
	kept := 0                // bytes of patterns kept
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		if len(line) > robotsMaxLine {
			continue
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(string(key)))
		v := strings.TrimSpace(string(value))
		switch k {
		case "user-agent", "useragent", "user agent":
			if inRules {
				forMine, forAny, inRules = false, false, false
			}
			switch {
			case v == "*":
				forAny, f.hasAny = true, true
			case productToken(v) == agent:
				forMine, f.hasMine = true, true
			}
		case "allow", "disallow":
			inRules = true
			// A rule of another agent's group, outside any group, or an empty Disallow (which
			// allows all) adds nothing.
			if (!forMine && !forAny) || v == "" {
				continue
			}
			r := robotsRule{allow: k == "allow", pattern: normalisePattern(v)}
			if kept += len(r.pattern); kept > robotsMaxPatterns {
				continue
			}
			if forMine {
				f.mine = append(f.mine, r)
			}
			if forAny {
				f.any = append(f.any, r)
			}
		default:
			// Sitemap, Crawl-delay, Host and unknown lines do not end a group.
		}
	}
	return f
}

// allowed reports whether the agent the file was parsed for may fetch path (the URL's escaped
// path and query).
func (f *robotsFile) allowed(path string) bool {
	if f == nil {
		return true
	}
	rules := f.mine
	if !f.hasMine {
		if !f.hasAny {
			return true
		}
		rules = f.any
	}
	path = normalisePath(path)
	best, allow := -1, true
	for _, r := range rules {
		if n := len(r.pattern); n < best || (n == best && !r.allow) {
			continue // a shorter match cannot win; at equal length Allow wins
		}
		if matchPattern(r.pattern, path) {
			best, allow = len(r.pattern), r.allow
		}
	}
	return allow
}

// matchPattern reports whether path matches a robots.txt pattern: a prefix match where "*"
// stands for any characters and a final "$" anchors the end. Each literal run is matched at its
// leftmost place, which is exact for patterns whose only wildcard is "*", and linear in the
// path for each run.
func matchPattern(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	if len(parts) == 1 {
		return !anchored || len(path) == len(parts[0])
	}
	pos := len(parts[0])
	last := len(parts) - 1
	for _, p := range parts[1:last] {
		i := strings.Index(path[pos:], p)
		if i < 0 {
			return false
		}
		pos += i + len(p)
	}
	if anchored {
		return len(path)-pos >= len(parts[last]) && strings.HasSuffix(path, parts[last])
	}
	return strings.Contains(path[pos:], parts[last])
}

// normalisePattern percent-encodes what a URL path would carry encoded (non-ASCII bytes,
// spaces) and upper-cases percent escapes, so that a pattern written with raw Arabic matches
// the encoded path. Runs of "*" become one.
func normalisePattern(p string) string {
	p = normalisePath(p)
	for strings.Contains(p, "**") {
		p = strings.ReplaceAll(p, "**", "*")
	}
	return p
}

// normalisePath percent-encodes non-ASCII bytes, spaces and control characters, and
// upper-cases the hex of percent escapes.
func normalisePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			b.WriteByte('%')
			b.WriteByte(upperHex(p[i+1]))
			b.WriteByte(upperHex(p[i+2]))
			i += 2
		case c >= utf8.RuneSelf || c <= ' ' || c == 0x7F:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
