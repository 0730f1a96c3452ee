// Package feeddate parses the dates that news feeds carry, English and Arabic.
//
// Parse reads RFC 822, RFC 1123 and RFC 3339 / ISO 8601 dates with their common deviations
// (single-digit days, missing seconds or weekday, two-digit years, GMT, UT and Z, "+03:00" as
// well as "+0300", any letter case, extra spaces, fractional seconds, trailing comments such as
// "(UTC)"), and dates written in Arabic:
//
//   - month names of the three families, with their spelling variants (hamza or none, ى or ي,
//     ة or ه, with or without the article ال): Egyptian and Gulf (يناير فبراير … ديسمبر, and the
//     Moroccan ماي يوليوز غشت شتنبر نونبر دجنبر), Levantine and Iraqi (كانون الثاني شباط آذار
//     … كانون الأول) and Maghrebi (جانفي فيفري … أوت); both names of a month may be given, as in
//     "6 أغسطس (آب) 2015" or "8 آذار/ مارس 2014";
//   - weekday names (الأحد … السبت), the Arabic comma ،, Eastern Arabic (٠–٩) and Persian
//     (۰–۹) digits, harakat and tatweel, direction marks;
//   - ص and م for AM and PM (and صباحا, مساء, ظهرا, ليلا); م right after a year is the era mark
//     of the Gregorian calendar (2015م) and is ignored;
//   - filler words such as عام, الموافق, الساعة, بتوقيت, نشر في, آخر تحديث.
//
// Zone abbreviations are read as they are meant in the region: AST is Arabia Standard Time
// (+03:00, not Atlantic) and GST Gulf Standard Time (+04:00); EET, EEST, CET, CEST, MSK, IRST,
// TRT, GMT, UTC, Mecca time (بتوقيت مكة) and the North American abbreviations are known too, and
// so are numeric offsets (+0300, +03:00, +03, GMT+3). A date without a zone is in the default
// zone given to Parse.
//
// All-numeric dates are read day first, as Arab (and European) sources write them: 12/10/2025
// is 12 October 2025. Only when the second number cannot be a month and the first can
// (01/25/2025) is the date read month first. A four-digit first number starts a year-month-day
// date (2025/10/12, 2025-10-12).
//
// Parse does not convert Hijri dates (a year followed by هـ, or a Hijri month, is refused), but
// it reads the Gregorian half of a double date ("14 شوال 1436 هـ الموافق 30 يوليو 2015م",
// either way round). It does not read relative dates ("منذ ساعتين", "2 hours ago"), and an
// unknown word outside parentheses makes the string unreadable rather than guessed at. A weekday
// that does not match the date is ignored. Results before 1900 or after 2200 are refused.
//
// The common RFC 1123 and RFC 3339 layouts are tried first with the standard library; only
// what they do not match goes through the tokenizer.
package feeddate

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Error is the error Parse returns: the date string and why it could not be read.
type Error struct {
	Value  string // the string given to Parse, cut to maxLen bytes
	Reason string
}

// Error formats the failure as `parse date "VALUE": REASON`.
func (e *Error) Error() string {
	return fmt.Sprintf("parse date %q: %s", e.Value, e.Reason)
}

// Bounds on what Parse accepts.
const (
	maxLen  = 256  // longer strings are refused
	minYear = 1900 // earliest year accepted
	maxYear = 2200 // latest year accepted
)

// fastLayouts are tried before anything else: they cover nearly every real feed date. Layouts
// without a zone are parsed in the default zone.
var fastLayouts = []struct {
	layout string
	zoned  bool
}{
	{"Mon, 2 Jan 2006 15:04:05 -0700", true},
	{time.RFC3339, true}, // fractional seconds are accepted too
	{"Mon, 2 Jan 2006 15:04:05 GMT", true},
	{"2 Jan 2006 15:04:05 -0700", true},
	{"Mon, 2 Jan 2006 15:04 -0700", true},
	{"2006-01-02T15:04:05", false},
	{"2006-01-02 15:04:05", false},
}

// Parse reads a feed date. defaultZone is the zone of a date that names none; nil means UTC.
// The result keeps the date's own offset (a fixed zone, named for an abbreviation); a date
// without a zone is in defaultZone. Every error is an *Error.
func Parse(s string, defaultZone *time.Location) (time.Time, error) {
	if defaultZone == nil {
		defaultZone = time.UTC
	}
	trimmed := strings.TrimSpace(s)
	fail := func(format string, args ...any) (time.Time, error) {
		v := s
		if len(v) > maxLen {
			v = strings.ToValidUTF8(v[:maxLen], "") + "…"
		}
		return time.Time{}, &Error{Value: v, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case trimmed == "":
		return fail("empty")
	case len(trimmed) > maxLen:
		return fail("longer than %d bytes", maxLen)
	}

	for _, l := range fastLayouts {
		var t time.Time
		var err error
		if l.zoned {
			t, err = time.Parse(l.layout, trimmed)
		} else {
			t, err = time.ParseInLocation(l.layout, trimmed, defaultZone)
		}
		if err == nil && t.Year() >= minYear && t.Year() <= maxYear {
			return t, nil
		}
	}

	toks, ok := scan(fold(trimmed))
	if !ok {
		return fail("more than %d parts", maxTokens)
	}
	var p parser
	p.toks = gregorianPart(toks)
	if reason := p.run(); reason != "" {
		return fail("%s", reason)
	}
	t, reason := p.time(defaultZone)
	if reason != "" {
		return fail("%s", reason)
	}
	return t, nil
}

// gregorianPart keeps the Gregorian half of a Hijri date given with its Gregorian equivalent
// ("… هـ الموافق …"): the side of الموافق that has no Hijri word. Other strings are returned
// whole.
func gregorianPart(toks []token) []token {
	k := slices.IndexFunc(toks, func(t token) bool { return t.kind == word && corresponding[t.text] })
	if k < 0 {
		return toks
	}
	isHijri := func(t token) bool { return t.kind == word && hijri[t.text] }
	before, after := toks[:k], toks[k+1:]
	switch {
	case slices.ContainsFunc(before, isHijri) && !slices.ContainsFunc(after, isHijri):
		return after
	case slices.ContainsFunc(after, isHijri) && !slices.ContainsFunc(before, isHijri):
		return before
	}
	return toks
}
