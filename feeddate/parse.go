package feeddate

import (
	"fmt"
	"strings"
	"time"
)

// last is what the previous date part was, to tell the era mark م (after a year) from PM (after
// a time).
type last uint8

const (
	lastOther last = iota
	lastYear
	lastTime
)

// parser assembles a date from tokens. Each part may be given once; the order is free, so that
// "12 أكتوبر 2025 10:30" and "10:30 2025/10/12" both work.
type parser struct {
	toks []token
	i    int

	year, month, day int
	haveYear         bool
	yearDigits       int
	yearMonthOnly    bool // an ISO "2003-12": the day defaults to 1

	hour, min, sec, nsec int
	haveTime             bool
	mer                  meridiem

	haveOffset bool // a numeric offset was given: it wins over any abbreviation
	haveZone   bool
	offset     int
	zoneName   string

	depth int // inside parentheses or brackets: a comment such as "(UTC)" or "(آب)"
	last  last
}

// run consumes every token. It returns why the string is not a date, or "".
func (p *parser) run() string {
	for p.i < len(p.toks) {
		var reason string
		switch p.toks[p.i].kind {
		case number:
			reason = p.number()
		case word:
			reason = p.word()
		default:
			reason = p.symbol()
		}
		if reason != "" {
			return reason
		}
	}
	return ""
}

// at returns the token n places ahead, or a zero token past the end.
func (p *parser) at(n int) token {
	if j := p.i + n; j < len(p.toks) {
		return p.toks[j]
	}
	return token{}
}

// isNum reports whether the token n places ahead is a number.
func (p *parser) isNum(n int) bool { return p.at(n).kind == number }

// dateSep returns the symbol n places ahead when it can separate the parts of a numeric date.
func (p *parser) dateSep(n int) string {
	t := p.at(n)
	if t.kind == symbol && (t.text == "-" || t.text == "/" || t.text == ".") {
		return t.text
	}
	return ""
}

func (p *parser) number() string {
	t := p.toks[p.i]
	if p.depth > 0 { // numbers in comments are not trusted
		p.i++
		return ""
	}
	if p.at(1).is(":") && p.isNum(2) {
		return p.clock()
	}
	if sep := p.dateSep(1); sep != "" && p.isNum(2) {
		if p.dateSep(3) == sep && p.isNum(4) {
			return p.numericDate()
		}
		if sep == "-" && len(t.text) == 4 && len(p.at(2).text) <= 2 && !p.at(1).spaced && !p.at(2).spaced &&
			p.at(3).kind != number && p.dateSep(3) == "" && !p.at(3).is(":") {
			// W3C-DTF year and month: 2003-12.
			if reason := p.setDate(atoi(t.text), 4, atoi(p.at(2).text), 1); reason != "" {
				return reason
			}
			p.yearMonthOnly = true
			p.i += 3
			return ""
		}
	}
	v, n := atoi(t.text), len(t.text)
	p.i++
	switch {
	case n == 8 && !p.haveYear && p.month == 0 && p.day == 0: // ISO basic: 20251012
		return p.setDate(atoi(t.text[:4]), 4, atoi(t.text[4:6]), atoi(t.text[6:]))
	case n == 4:
		if p.haveYear {
			return fmt.Sprintf("second year %s", t.text)
		}
		p.year, p.yearDigits, p.haveYear, p.last = v, 4, true, lastYear
	case n <= 2 && p.day == 0:
		if v == 0 {
			return "day 0"
		}
		p.day, p.last = v, lastOther
	case n <= 2 && !p.haveYear:
		p.year, p.yearDigits, p.haveYear, p.last = v, n, true, lastYear
	default:
		return fmt.Sprintf("unexpected number %s", t.text)
	}
	return ""
}

// clock reads h:mm, h:mm:ss or h:mm:ss.fraction.
func (p *parser) clock() string {
	if p.haveTime {
		return "second time of day"
	}
	h, m := p.at(0).text, p.at(2).text
	p.i += 3
	s := "0"
	if p.at(0).is(":") && p.isNum(1) {
		s = p.at(1).text
		p.i += 2
		if p.at(0).is(".") && p.isNum(1) && !p.at(0).spaced && !p.at(1).spaced {
			frac := p.at(1).text
			frac = (frac + "000000000")[:9]
			p.nsec = atoi(frac)
			p.i += 2
		}
	}
	if len(h) > 2 || len(m) > 2 || len(s) > 2 {
		return fmt.Sprintf("bad time %s:%s:%s", h, m, s)
	}
	p.hour, p.min, p.sec = atoi(h), atoi(m), atoi(s)
	p.haveTime, p.last = true, lastTime
	return ""
}

// numericDate reads three numbers joined by one separator: y-m-d when the first has four
// digits, else d/m/y (m/d/y when only that makes sense).
func (p *parser) numericDate() string {
	a, b, c := p.at(0).text, p.at(2).text, p.at(4).text
	p.i += 5
	if len(b) > 2 {
		return fmt.Sprintf("bad numeric date %s %s %s", a, b, c)
	}
	switch {
	case len(a) == 4 && len(c) <= 2:
		return p.setDate(atoi(a), 4, atoi(b), atoi(c))
	case len(a) <= 2 && (len(c) == 4 || len(c) == 2):
		d, m := atoi(a), atoi(b)
		if m > 12 && d <= 12 {
			d, m = m, d
		}
		return p.setDate(atoi(c), len(c), m, d)
	}
	return fmt.Sprintf("bad numeric date %s %s %s", a, b, c)
}

// setDate records a whole date, refusing a second one.
func (p *parser) setDate(year, yearDigits, month, day int) string {
	if p.haveYear || p.month != 0 || p.day != 0 {
		return "second date"
	}
	if month < 1 || month > 12 {
		return fmt.Sprintf("month %d", month)
	}
	if day < 1 {
		return fmt.Sprintf("day %d", day)
	}
	p.year, p.yearDigits, p.haveYear = year, yearDigits, true
	p.month, p.day = month, day
	p.last = lastYear
	if yearDigits == 4 { // y-m-d ends with the day
		p.last = lastOther
	}
	return ""
}

// setMonth records a month given by name. A month may be named twice, in two families, as long
// as both name the same month.
func (p *parser) setMonth(m int, name string) string {
	if p.month != 0 && p.month != m {
		return fmt.Sprintf("month %q contradicts month %d", name, p.month)
	}
	p.month, p.last = m, lastOther
	return ""
}

// month recognises a month name at the current token, one word or two (كانون الثاني), and
// returns the month and how many tokens it takes.
func (p *parser) monthName() (int, int) {
	w := p.at(0).text
	for _, key := range []string{w, strings.TrimPrefix(w, "ال")} {
		if m, ok := months[key]; ok {
			return m, 1
		}
		if c, ok := compoundMonths[key]; ok && p.at(1).kind == word {
			switch ordinals[p.at(1).text] {
			case 1:
				return c.first, 2
			case 2:
				return c.second, 2
			}
		}
	}
	return 0, 0
}

func (p *parser) word() string {
	w := p.at(0).text
	if m, n := p.monthName(); n > 0 {
		p.i += n
		return p.setMonth(m, w)
	}
	if p.depth > 0 {
		// In a comment only a month counts; "(UTC)" or "(GMT+03:00)" may still give the only
		// zone.
		p.i++
		if off, ok := zones[w]; ok && !p.haveZone {
			if sign := p.at(0); utcZones[w] && (sign.is("+") || sign.is("-") || sign.is("−")) && p.isNum(1) && !p.at(1).spaced {
				return p.numericOffset(sign.text != "+")
			}
			p.haveZone, p.offset, p.zoneName = true, off, w
		}
		return ""
	}
	p.i++
	switch {
	case weekdays[w] || weekdays[strings.TrimPrefix(w, "ال")]:
		return ""
	case w == "t" && p.haveYear && !p.haveTime:
		// ISO date-time separator; the basic format follows with hhmm or hhmmss.
		if t := p.at(0); t.kind == number && (len(t.text) == 4 || len(t.text) == 6) {
			p.hour, p.min = atoi(t.text[:2]), atoi(t.text[2:4])
			if len(t.text) == 6 {
				p.sec = atoi(t.text[4:])
			}
			p.haveTime, p.last = true, lastTime
			p.i++
		}
		return ""
	case hijri[w]:
		return "hijri dates are not supported"
	case w == "م" && (p.last == lastYear || !p.haveTime):
		return "" // era mark: 2015م
	case (w == "a" || w == "p") && p.at(0).is(".") && p.at(1).kind == word && p.at(1).text == "m":
		p.i += 2
		if p.at(0).is(".") {
			p.i++
		}
		return p.setMeridiem(meridiems[w+"m"])
	case meridiems[w] != noMeridiem:
		return p.setMeridiem(meridiems[w])
	case isZone(w):
		return p.zoneWord(w)
	case fillers[w]:
		return ""
	case ordinalSuffixes[w] && p.i >= 2 && p.toks[p.i-2].kind == number:
		return ""
	}
	return fmt.Sprintf("unknown word %q", w)
}

// isZone reports whether w is a zone abbreviation.
func isZone(w string) bool {
	_, ok := zones[w]
	return ok
}

// isArabicUTC reports whether w is one of the Arabic spellings of Greenwich.
func isArabicUTC(w string) bool {
	off, ok := zones[w]
	return ok && off == 0 && w[0] >= 0x80
}

func (p *parser) setMeridiem(m meridiem) string {
	if p.mer != noMeridiem && p.mer != m {
		return "conflicting am/pm"
	}
	p.mer = m
	return ""
}

// zoneWord records a zone abbreviation. A numeric offset, before or after it, wins: "-0700
// MST" and "EST -0500" agree anyway, and "GMT+3" is read as +03:00.
func (p *parser) zoneWord(w string) string {
	if utcZones[w] && (p.at(0).is("+") || p.at(0).is("-")) && p.isNum(1) {
		return p.symbol() // GMT+3, UTC-05:00
	}
	if p.haveOffset {
		return ""
	}
	if p.haveZone && p.offset != zones[w] {
		return fmt.Sprintf("zone %q contradicts zone %q", w, p.zoneName)
	}
	p.haveZone, p.offset, p.zoneName, p.last = true, zones[w], w, lastOther
	return ""
}

func (p *parser) symbol() string {
	s := p.at(0).text
	switch s {
	case "(", "[":
		p.depth++
	case ")", "]":
		if p.depth > 0 {
			p.depth--
		}
	case "+", "-", "−":
		// A sign starts an offset when its digits follow at once, after a time or GMT, and they
		// do not start a numeric date: "10:30 - 12/10/2025" and "10:30 - 12 أكتوبر" are dates.
		if p.depth == 0 && p.isNum(1) && !p.at(1).spaced &&
			(s == "+" || p.haveTime || (p.i > 0 && utcZones[p.toks[p.i-1].text])) &&
			!(p.dateSep(2) != "" && p.isNum(3)) {
			return p.numericOffset(s != "+")
		}
	}
	p.i++ // any other punctuation separates
	return ""
}

// numericOffset reads +hhmm, +hh:mm, +hh, +h, +hmm and +hh:mm:00 after the sign.
func (p *parser) numericOffset(negative bool) string {
	n := p.at(1).text
	p.i += 2
	var h, m int
	switch len(n) {
	case 4:
		h, m = atoi(n[:2]), atoi(n[2:])
	case 3:
		h, m = atoi(n[:1]), atoi(n[1:])
	case 1, 2:
		h = atoi(n)
		if p.at(0).is(":") && p.isNum(1) && len(p.at(1).text) == 2 {
			m = atoi(p.at(1).text)
			p.i += 2
			if p.at(0).is(":") && p.at(1).text == "00" {
				p.i += 2
			}
		}
	default:
		return fmt.Sprintf("bad zone offset %s", n)
	}
	if h > 14 || m > 59 {
		return fmt.Sprintf("bad zone offset %s", n)
	}
	if p.haveOffset {
		return "second zone offset"
	}
	off := (h*60 + m) * 60
	if negative {
		off = -off
	}
	p.haveOffset, p.haveZone, p.offset, p.zoneName, p.last = true, true, off, "", lastOther
	return ""
}

// time builds the result once every token is read.
func (p *parser) time(defaultZone *time.Location) (time.Time, string) {
	switch {
	case !p.haveYear:
		return time.Time{}, "no year"
	case p.month == 0:
		return time.Time{}, "no month"
	case p.day == 0:
		return time.Time{}, "no day"
	}
	year := p.year
	switch p.yearDigits {
	case 1, 2: // as Go and POSIX read two-digit years
		if year < 69 {
			year += 2000
		} else {
			year += 1900
		}
	case 4:
	default:
		return time.Time{}, fmt.Sprintf("bad year %d", year)
	}
	if year < minYear || year > maxYear {
		return time.Time{}, fmt.Sprintf("year %d out of range", year)
	}
	if p.day > daysIn(time.Month(p.month), year) {
		return time.Time{}, fmt.Sprintf("day %d of month %d", p.day, p.month)
	}
	hour := p.hour
	if p.mer != noMeridiem && hour <= 12 {
		switch {
		case p.mer == am && hour == 12:
			hour = 0
		case p.mer == pm && hour < 12:
			hour += 12
		case p.mer == noon && hour >= 1 && hour <= 5:
			hour += 12
		case p.mer == night && hour == 12:
			hour = 0
		case p.mer == night && hour >= 6 && hour < 12:
			hour += 12
		}
	}
	if hour > 23 || p.min > 59 || p.sec > 60 {
		return time.Time{}, fmt.Sprintf("bad time %d:%02d:%02d", p.hour, p.min, p.sec)
	}
	loc := defaultZone
	switch {
	case p.haveZone && p.offset == 0 && (p.zoneName == "" || utcZones[p.zoneName] || isArabicUTC(p.zoneName)):
		loc = time.UTC
	case p.haveZone:
		name := p.zoneName
		if name != "" && name[0] < 0x80 {
			name = strings.ToUpper(name)
		}
		loc = time.FixedZone(name, p.offset)
	}
	return time.Date(year, time.Month(p.month), p.day, hour, p.min, p.sec, p.nsec, loc), ""
}

// daysIn returns the number of days of month m in year.
func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
