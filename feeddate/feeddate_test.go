package feeddate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// cairoWinter stands for a feed's default zone in tests: a fixed +02:00.
var cairoWinter = time.FixedZone("EET", 2*3600)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		zone *time.Location // default zone; nil for UTC
		want string         // RFC 3339 with the result's own offset
	}{
		// The issue's acceptance examples.
		{name: "arabic weekday comma month", in: "الأحد، 12 أكتوبر 2025 10:30 +0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "levantine month eastern digits", in: "١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300", want: "2025-10-12T10:30:00+03:00"},

		// RFC 822 / 1123 and their variants.
		{name: "rfc1123z", in: "Sun, 12 Oct 2025 10:30:00 +0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "rfc1123 gmt", in: "Thu, 01 Jan 2004 19:48:21 GMT", want: "2004-01-01T19:48:21Z"},
		{name: "single-digit day", in: "Mon, 2 Feb 2026 07:05:09 +0000", want: "2026-02-02T07:05:09Z"},
		{name: "no seconds", in: "Mon, 02 Feb 2026 07:05 +0100", want: "2026-02-02T07:05:00+01:00"},
		{name: "no weekday", in: "02 Feb 2026 07:05:09 -0500", want: "2026-02-02T07:05:09-05:00"},
		{name: "two-digit year", in: "Mon, 02 Feb 26 07:05:09 GMT", want: "2026-02-02T07:05:09Z"},
		{name: "two-digit year of last century", in: "Thu, 01 Jan 98 00:00:00 GMT", want: "1998-01-01T00:00:00Z"},
		{name: "ut", in: "Sat, 07 Sep 2002 00:00:01 UT", want: "2002-09-07T00:00:01Z"},
		{name: "z", in: "Sat, 07 Sep 2002 00:00:01 Z", want: "2002-09-07T00:00:01Z"},
		{name: "colon offset", in: "Sun, 12 Oct 2025 10:30:00 +03:00", want: "2025-10-12T10:30:00+03:00"},
		{name: "two-digit offset", in: "Sun, 12 Oct 2025 10:30:00 +03", want: "2025-10-12T10:30:00+03:00"},
		{name: "lowercase", in: "sun, 12 oct 2025 10:30:00 gmt", want: "2025-10-12T10:30:00Z"},
		{name: "uppercase", in: "SUN, 12 OCT 2025 10:30:00 GMT", want: "2025-10-12T10:30:00Z"},
		{name: "extra spaces", in: "  Sun,   12  Oct   2025  10:30:00   +0300 ", want: "2025-10-12T10:30:00+03:00"},
		{name: "no space after comma", in: "Sun,12 Oct 2025 10:30:00 +0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "trailing utc comment", in: "Sun, 12 Oct 2025 10:30:00 +0000 (UTC)", want: "2025-10-12T10:30:00Z"},
		{name: "comment gives the zone", in: "Sun, 12 Oct 2025 10:30:00 (GMT)", zone: cairoWinter, want: "2025-10-12T10:30:00Z"},
		{name: "comment gives the offset", in: "12 أكتوبر 2025 10:30 (GMT+03:00)", want: "2025-10-12T10:30:00+03:00"},
		{name: "comment after offset ignored", in: "12 Oct 2025 10:30 +0300 (GMT+04:00)", want: "2025-10-12T10:30:00+03:00"},
		{name: "full names", in: "Sunday, 12 October 2025 10:30:00 +0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "sept", in: "Fri, 12 Sept 2025 10:30:00 +0300", want: "2025-09-12T10:30:00+03:00"},
		{name: "offset then abbreviation", in: "Mon, 02 Jan 2006 15:04:05 -0700 MST", want: "2006-01-02T15:04:05-07:00"},
		{name: "no space before offset", in: "Mon, 02 Jan 2006 15:04:05-0700", want: "2006-01-02T15:04:05-07:00"},
		{name: "double minus", in: "Mon, 02 Jan 2006 15:04:05 --0700", want: "2006-01-02T15:04:05-07:00"},
		{name: "single-digit time parts", in: "Mon, 2 Jan 2006 15:4:5 -0700", want: "2006-01-02T15:04:05-07:00"},
		{name: "rfc850", in: "Monday, 02-Jan-06 15:04:05 GMT", want: "2006-01-02T15:04:05Z"},
		{name: "ansic", in: "Mon Jan  2 15:04:05 2006", want: "2006-01-02T15:04:05Z"},
		{name: "unix date", in: "Mon Jan 2 15:04:05 MST 2006", want: "2006-01-02T15:04:05-07:00"},
		{name: "ruby date", in: "Mon Jan 02 15:04:05 -0700 2006", want: "2006-01-02T15:04:05-07:00"},
		{name: "javascript", in: "Sun Oct 12 2025 10:30:00 GMT+0300 (Arabian Standard Time)", want: "2025-10-12T10:30:00+03:00"},
		{name: "gmt plus hours", in: "12 Oct 2025 10:30 GMT+3", want: "2025-10-12T10:30:00+03:00"},
		{name: "utc minus colon", in: "12 Oct 2025 10:30 UTC-05:00", want: "2025-10-12T10:30:00-05:00"},
		{name: "month first with comma", in: "October 12, 2025 10:30 AM", want: "2025-10-12T10:30:00Z"},
		{name: "pm", in: "Oct 12, 2025 3:04:05 PM", want: "2025-10-12T15:04:05Z"},
		{name: "p.m.", in: "October 12, 2025, 3:04 p.m.", want: "2025-10-12T15:04:00Z"},
		{name: "12 am is midnight", in: "October 12, 2025 12:15 am", want: "2025-10-12T00:15:00Z"},
		{name: "ordinal suffix", in: "January 2nd, 2006", want: "2006-01-02T00:00:00Z"},
		{name: "date only", in: "12 Oct 2025", want: "2025-10-12T00:00:00Z"},
		{name: "french", in: "12 octobre 2025 10:30", want: "2025-10-12T10:30:00Z"},
		{name: "french accent", in: "1 août 2025", want: "2025-08-01T00:00:00Z"},

		// RFC 3339 / ISO 8601.
		{name: "rfc3339 z", in: "2003-12-31T10:14:55Z", want: "2003-12-31T10:14:55Z"},
		{name: "rfc3339 offset", in: "2025-10-12T10:30:00+03:00", want: "2025-10-12T10:30:00+03:00"},
		{name: "fraction", in: "2019-10-12T07:20:50.52Z", want: "2019-10-12T07:20:50.52Z"},
		{name: "fraction with offset", in: "2025-10-12T10:30:00.123456789+03:00", want: "2025-10-12T10:30:00.123456789+03:00"},
		{name: "compact offset", in: "2025-10-12T10:30:00+0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "lower-case t and z", in: "2025-10-12t10:30:00z", want: "2025-10-12T10:30:00Z"},
		{name: "space separator", in: "2025-10-12 10:30:00 +03:00", want: "2025-10-12T10:30:00+03:00"},
		{name: "no seconds iso", in: "2002-10-13T09:00+01:00", want: "2002-10-13T09:00:00+01:00"},
		{name: "iso without zone", in: "2025-10-12T10:30:00", zone: cairoWinter, want: "2025-10-12T10:30:00+02:00"},
		{name: "iso without zone utc", in: "2025-10-12 10:30:00", want: "2025-10-12T10:30:00Z"},
		{name: "date only iso", in: "2025-10-12", zone: cairoWinter, want: "2025-10-12T00:00:00+02:00"},
		{name: "year and month", in: "2003-12", want: "2003-12-01T00:00:00Z"},
		{name: "basic", in: "20251012T103000Z", want: "2025-10-12T10:30:00Z"},
		{name: "basic no seconds", in: "20251012T1030+0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "offset with seconds", in: "2006-01-02T15:04:05-07:00:00", want: "2006-01-02T15:04:05-07:00"},
		{name: "slashes year first", in: "2025/10/12 10:30", want: "2025-10-12T10:30:00Z"},
		{name: "unicode minus", in: "2025-10-12T10:30:00−05:00", want: "2025-10-12T10:30:00-05:00"},
		{name: "leap second", in: "2016-12-31T23:59:60Z", want: "2017-01-01T00:00:00Z"},

		// Numeric dates: day first.
		{name: "day first slashes", in: "12/10/2025 10:30", zone: cairoWinter, want: "2025-10-12T10:30:00+02:00"},
		{name: "day first dots", in: "12.10.2025 10:30:00", want: "2025-10-12T10:30:00Z"},
		{name: "day first dashes", in: "12-10-2025", want: "2025-10-12T00:00:00Z"},
		{name: "single digits", in: "24/1/2025", want: "2025-01-24T00:00:00Z"},
		{name: "month first when day over 12", in: "01/25/2025", want: "2025-01-25T00:00:00Z"},
		{name: "two-digit year numeric", in: "12/10/25", want: "2025-10-12T00:00:00Z"},
		{name: "time first", in: "15:04 02.01.2006 -0700", want: "2006-01-02T15:04:00-07:00"},
		{name: "time dash date", in: "10:30 - 12/10/2025", want: "2025-10-12T10:30:00Z"},

		// Arabic month families, variants, weekdays, digits.
		{name: "egyptian", in: "الثلاثاء 16 يونيو 2026", want: "2026-06-16T00:00:00Z"},
		{name: "egyptian yunyah", in: "16 يونيه 2026", want: "2026-06-16T00:00:00Z"},
		{name: "hamza below", in: "1 إبريل 2025", want: "2025-04-01T00:00:00Z"},
		{name: "no hamza", in: "1 اكتوبر 2025", want: "2025-10-01T00:00:00Z"},
		{name: "levantine first", in: "3 كانون الثاني 2025", want: "2025-01-03T00:00:00Z"},
		{name: "levantine without article", in: "3 كانون ثاني 2025", want: "2025-01-03T00:00:00Z"},
		{name: "levantine december", in: "31 كانون الأول 2024", want: "2024-12-31T00:00:00Z"},
		{name: "levantine november", in: "9 تشرين الثاني 2024", want: "2024-11-09T00:00:00Z"},
		{name: "levantine madda", in: "9 آذار 2024", want: "2024-03-09T00:00:00Z"},
		{name: "levantine ab", in: "15 آب 2024", want: "2024-08-15T00:00:00Z"},
		{name: "maghrebi", in: "01 جويلية 2021", want: "2021-07-01T00:00:00Z"},
		{name: "maghrebi taa marbuta as haa", in: "01 جويليه 2021", want: "2021-07-01T00:00:00Z"},
		{name: "maghrebi august", in: "السبت 2 أوت 2025", want: "2025-08-02T00:00:00Z"},
		{name: "moroccan", in: "الجمعة 5 دجنبر 2025 - 18:40", want: "2025-12-05T18:40:00Z"},
		{name: "both names parenthesised", in: "الخميس 6 أغسطس (آب) 2015", want: "2015-08-06T00:00:00Z"},
		{name: "both names slash", in: "8 آذار/ مارس 2014", want: "2014-03-08T00:00:00Z"},
		{name: "era mark", in: "4 يونيو 2015م،", want: "2015-06-04T00:00:00Z"},
		{name: "era mark spaced", in: "الأحد 2 أغسطس 2015 م", want: "2015-08-02T00:00:00Z"},
		{name: "year word", in: "18 يناير عام 2014", want: "2014-01-18T00:00:00Z"},
		{name: "of month of year", in: "20 من آب (أغسطس) عام 2012", want: "2012-08-20T00:00:00Z"},
		{name: "month with article", in: "5 الأيار 2024", want: "2024-05-05T00:00:00Z"},
		{name: "weekday alif maqsura", in: "الإثنين 3 أغسطس 2015", want: "2015-08-03T00:00:00Z"},
		{name: "weekday without article", in: "اثنين 3 أغسطس 2015", want: "2015-08-03T00:00:00Z"},
		{name: "wednesday hamza", in: "الاربعاء 30 يونيو 2021", want: "2021-06-30T00:00:00Z"},
		{name: "eastern digits", in: "١٨ أغسطس ٢٠١٤", want: "2014-08-18T00:00:00Z"},
		{name: "persian digits", in: "۱۸ أغسطس ۲۰۱۴ ۰۹:۰۵", want: "2014-08-18T09:05:00Z"},
		{name: "harakat and tatweel", in: "١٢ أُكْتُوبَـــر ٢٠٢٥", want: "2025-10-12T00:00:00Z"},
		{name: "direction marks", in: "\u200f12 أكتوبر 2025\u200e 10:30", want: "2025-10-12T10:30:00Z"},
		{name: "presentation forms", in: "12 \ufe8d\ufedb\ufe98\ufeee\ufe91\ufeae 2025", want: "2025-10-12T00:00:00Z"},
		{name: "pm marker", in: "12 أكتوبر 2025 10:30 م", want: "2025-10-12T22:30:00Z"},
		{name: "am marker", in: "12 أكتوبر 2025 10:30 ص", want: "2025-10-12T10:30:00Z"},
		{name: "12 ص is midnight", in: "12 أكتوبر 2025 12:05 ص", want: "2025-10-12T00:05:00Z"},
		{name: "pm before date", in: "10:30 م 12 أكتوبر 2025", want: "2025-10-12T22:30:00Z"},
		{name: "era then pm", in: "12 أكتوبر 2025م 10:30 م", want: "2025-10-12T22:30:00Z"},
		{name: "numeric date era", in: "12/10/2025م", want: "2025-10-12T00:00:00Z"},
		{name: "evening word", in: "12 أكتوبر 2025 الساعة 8:15 مساءً", want: "2025-10-12T20:15:00Z"},
		{name: "morning word", in: "12 أكتوبر 2025 الساعة 8:15 صباحاً", want: "2025-10-12T08:15:00Z"},
		{name: "noon word", in: "12 أكتوبر 2025 2:00 ظهرا", want: "2025-10-12T14:00:00Z"},
		{name: "night word", in: "12 أكتوبر 2025 11:00 ليلا", want: "2025-10-12T23:00:00Z"},
		{name: "mecca time", in: "12 أكتوبر 2025 10:30 بتوقيت مكة المكرمة", want: "2025-10-12T10:30:00+03:00"},
		{name: "greenwich", in: "12 أكتوبر 2025 10:30 بتوقيت غرينتش", zone: cairoWinter, want: "2025-10-12T10:30:00Z"},
		{name: "published prefix", in: "نشر في: الأحد، 12 أكتوبر 2025 - 10:30", want: "2025-10-12T10:30:00Z"},
		{name: "last update prefix", in: "آخر تحديث: 12 أكتوبر 2025", want: "2025-10-12T00:00:00Z"},
		{name: "hijri with gregorian after", in: "الخميس 14 شوال 1436 هـ الموافق 30 يوليو 2015م", want: "2015-07-30T00:00:00Z"},
		{name: "gregorian with hijri after", in: "30 يوليو 2015م الموافق 14 شوال 1436هـ", want: "2015-07-30T00:00:00Z"},
		{name: "arabic english mix", in: "Sun, 12 أكتوبر 2025 10:30:00 GMT", want: "2025-10-12T10:30:00Z"},
		{name: "arabic with rfc numbers", in: "الأحد, 12 أكتوبر 2025 10:30:00 +0300", want: "2025-10-12T10:30:00+03:00"},
		{name: "year first arabic", in: "2025 أكتوبر 12", want: "2025-10-12T00:00:00Z"},

		// Zone abbreviations of the region.
		{name: "ast", in: "Sun, 12 Oct 2025 10:30:00 AST", want: "2025-10-12T10:30:00+03:00"},
		{name: "gst", in: "Sun, 12 Oct 2025 10:30:00 GST", want: "2025-10-12T10:30:00+04:00"},
		{name: "eet", in: "Sun, 12 Jan 2025 10:30:00 EET", want: "2025-01-12T10:30:00+02:00"},
		{name: "eest", in: "Sun, 12 Oct 2025 10:30:00 EEST", want: "2025-10-12T10:30:00+03:00"},
		{name: "cet", in: "Sun, 12 Jan 2025 10:30:00 CET", want: "2025-01-12T10:30:00+01:00"},
		{name: "cest", in: "Sun, 12 Oct 2025 10:30:00 CEST", want: "2025-10-12T10:30:00+02:00"},
		{name: "msk", in: "Sun, 12 Oct 2025 10:30:00 MSK", want: "2025-10-12T10:30:00+03:00"},
		{name: "irst", in: "Sun, 12 Oct 2025 10:30:00 IRST", want: "2025-10-12T10:30:00+03:30"},
		{name: "trt", in: "Sun, 12 Oct 2025 10:30:00 TRT", want: "2025-10-12T10:30:00+03:00"},
		{name: "utc word", in: "Sun, 12 Oct 2025 10:30:00 UTC", want: "2025-10-12T10:30:00Z"},
		{name: "est", in: "Mon, 02 Jan 2006 15:04:05 EST", want: "2006-01-02T15:04:05-05:00"},
		{name: "pdt", in: "Mon, 02 Jan 2006 15:04:05 PDT", want: "2006-01-02T15:04:05-07:00"},
		{name: "arabic date with ast", in: "12 أكتوبر 2025 10:30 AST", want: "2025-10-12T10:30:00+03:00"},
		{name: "offset over abbreviation", in: "12 Oct 2025 10:30 AST +0400", want: "2025-10-12T10:30:00+04:00"},
		{name: "no zone uses default", in: "12 أكتوبر 2025 10:30", zone: cairoWinter, want: "2025-10-12T10:30:00+02:00"},
		{name: "no zone rfc uses default", in: "Sun, 12 Oct 2025 10:30:00", zone: cairoWinter, want: "2025-10-12T10:30:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, tt.zone)
			if err != nil {
				t.Fatalf("Parse(%q): got error %v, want %s", tt.in, err, tt.want)
			}
			if s := got.Format(time.RFC3339Nano); s != tt.want {
				t.Errorf("Parse(%q): got %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func TestParseZoneNames(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantZone string
	}{
		{name: "abbreviation kept", in: "Sun, 12 Oct 2025 10:30:00 AST", wantZone: "AST"},
		{name: "numeric unnamed", in: "12 أكتوبر 2025 10:30 +0300", wantZone: ""},
		{name: "gmt is utc", in: "12 أكتوبر 2025 10:30 GMT", wantZone: "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if name, _ := got.Zone(); name != tt.wantZone {
				t.Errorf("got zone %q, want %q", name, tt.wantZone)
			}
		})
	}
}

// TestParseDefaultZoneDST checks that a real location, not only a fixed offset, is honoured:
// the same wall time maps to different offsets in winter and summer.
func TestParseDefaultZoneDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no zoneinfo: %v", err)
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "winter", in: "12 جانفي 2025 10:30", want: "2025-01-12T09:30:00Z"},
		{name: "summer", in: "12 جويلية 2025 10:30", want: "2025-07-12T08:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, loc)
			if err != nil {
				t.Fatal(err)
			}
			if s := got.UTC().Format(time.RFC3339); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

// TestParseEveryMonthName writes the 15th of every month with every name and spelling the
// package documents, and checks the month.
func TestParseEveryMonthName(t *testing.T) {
	families := []struct {
		name  string
		names [12][]string
	}{
		{name: "egyptian and gulf", names: [12][]string{
			{"يناير"}, {"فبراير"}, {"مارس"}, {"أبريل", "إبريل", "ابريل"}, {"مايو"}, {"يونيو", "يونيه"},
			{"يوليو", "يوليه"}, {"أغسطس", "اغسطس"}, {"سبتمبر"}, {"أكتوبر", "اكتوبر"}, {"نوفمبر"}, {"ديسمبر"}}},
		{name: "levantine", names: [12][]string{
			{"كانون الثاني", "كانون ثاني"}, {"شباط"}, {"آذار", "اذار"}, {"نيسان"}, {"أيار", "ايار"}, {"حزيران"},
			{"تموز"}, {"آب", "اب"}, {"أيلول", "ايلول"}, {"تشرين الأول", "تشرين الاول", "تشرين أول"},
			{"تشرين الثاني", "تشرين ثاني"}, {"كانون الأول", "كانون الاول"}}},
		{name: "maghrebi", names: [12][]string{
			{"جانفي"}, {"فيفري"}, {"مارس"}, {"أفريل", "افريل"}, {"ماي"}, {"جوان"},
			{"جويلية", "جويليه"}, {"أوت", "اوت"}, {"سبتمبر"}, {"أكتوبر"}, {"نوفمبر"}, {"ديسمبر"}}},
		{name: "moroccan", names: [12][]string{
			{"يناير"}, {"فبراير"}, {"مارس"}, {"أبريل"}, {"ماي"}, {"يونيو"},
			{"يوليوز"}, {"غشت"}, {"شتنبر"}, {"أكتوبر"}, {"نونبر"}, {"دجنبر"}}},
		{name: "english", names: [12][]string{
			{"Jan", "January"}, {"Feb", "February"}, {"Mar", "March"}, {"Apr", "April"}, {"May"}, {"Jun", "June"},
			{"Jul", "July"}, {"Aug", "August"}, {"Sep", "Sept", "September"}, {"Oct", "October"}, {"Nov", "November"}, {"Dec", "December"}}},
	}
	for _, f := range families {
		for i, names := range f.names {
			for _, name := range names {
				in := "15 " + name + " 2025"
				t.Run(f.name+"/"+name, func(t *testing.T) {
					got, err := Parse(in, nil)
					if err != nil {
						t.Fatal(err)
					}
					if got.Month() != time.Month(i+1) || got.Day() != 15 || got.Year() != 2025 {
						t.Errorf("Parse(%q): got %s, want 2025-%02d-15", in, got.Format(time.DateOnly), i+1)
					}
				})
			}
		}
	}
}

func TestParseWeekdays(t *testing.T) {
	for _, day := range []string{"الأحد", "الاحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الاربعاء",
		"الخميس", "الجمعة", "الجمعه", "السبت", "Sun", "Sunday", "Thurs", "dimanche"} {
		t.Run(day, func(t *testing.T) {
			in := day + "، 12 أكتوبر 2025"
			got, err := Parse(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The weekday is not checked against the date.
			if s := got.Format(time.DateOnly); s != "2025-10-12" {
				t.Errorf("Parse(%q): got %s, want 2025-10-12", in, s)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantReason string // a part of the reason
	}{
		{name: "empty", in: "", wantReason: "empty"},
		{name: "blank", in: " \t\n", wantReason: "empty"},
		{name: "words", in: "yesterday afternoon", wantReason: "unknown word"},
		{name: "relative arabic", in: "منذ ساعتين", wantReason: "unknown word"},
		{name: "hijri", in: "14 شوال 1436 هـ", wantReason: "hijri"},
		{name: "hijri mark only", in: "14/10/1436 هـ", wantReason: "hijri"},
		{name: "no year", in: "12 أكتوبر", wantReason: "no year"},
		{name: "no month", in: "12 2025", wantReason: "no month"},
		{name: "no day", in: "أكتوبر 2025", wantReason: "no day"},
		{name: "day 32", in: "32 Jan 2025", wantReason: "day 32"},
		{name: "february 29 of a common year", in: "29 فبراير 2025", wantReason: "day 29"},
		{name: "month 13", in: "2025-13-01", wantReason: "month 13"},
		{name: "both over 12", in: "25/25/2025", wantReason: "month 25"},
		{name: "too early", in: "12 Oct 1800", wantReason: "out of range"},
		{name: "too late", in: "12 Oct 2300 10:00 GMT", wantReason: "out of range"},
		{name: "hour 25", in: "12 Oct 2025 25:00", wantReason: "bad time"},
		{name: "minute 60", in: "12 Oct 2025 10:60", wantReason: "bad time"},
		{name: "offset too large", in: "12 Oct 2025 10:30 +1500", wantReason: "bad zone offset"},
		{name: "offset garbage", in: "12 Oct 2025 10:30 +03000", wantReason: "bad zone offset"},
		{name: "two offsets", in: "12 Oct 2025 10:30 +0300 +0400", wantReason: "second zone offset"},
		{name: "two times", in: "12 Oct 2025 10:30 11:30", wantReason: "second time"},
		{name: "two years", in: "12 Oct 2025 2026", wantReason: "second year"},
		{name: "two dates", in: "2025-10-12 2025-10-13", wantReason: "second date"},
		{name: "contradicting months", in: "6 أغسطس (تموز) 2015", wantReason: "contradicts"},
		{name: "contradicting zones", in: "12 Oct 2025 10:30 GMT AST", wantReason: "contradicts"},
		{name: "conflicting meridiem", in: "12 Oct 2025 10:30 am pm", wantReason: "am/pm"},
		{name: "three-digit year", in: "12 Oct 202", wantReason: "unexpected number"},
		{name: "too long", in: strings.Repeat("1 ", 200), wantReason: "longer than"},
		{name: "too many parts", in: strings.Repeat("-", 100), wantReason: "more than"},
		{name: "kanun alone", in: "12 كانون 2025", wantReason: "unknown word"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, nil)
			if err == nil {
				t.Fatalf("Parse(%q): got %s, want an error", tt.in, got.Format(time.RFC3339))
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("got %T, want *Error", err)
			}
			if !strings.Contains(e.Reason, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", e.Reason, tt.wantReason)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", e.Value)) || (len(tt.in) <= maxLen && e.Value != tt.in) {
				t.Errorf("got message %q, want it to name the string %q", err.Error(), tt.in)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"الأحد، 12 أكتوبر 2025 10:30 +0300",
		"١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300",
		"Sun, 12 Oct 2025 10:30:00 GMT",
		"2025-10-12T10:30:00.5+03:00",
		"12/10/2025 10:30 م",
		"الخميس 14 شوال 1436 هـ الموافق 30 يوليو 2015م",
		"6 أغسطس (آب) 2015",
		"Sun Oct 12 2025 10:30:00 GMT+0300 (Arabian Standard Time)",
		"20251012T103000Z",
		"2003-12",
		"((((",
		"+99:99",
		"29 فبراير 2024 24:00",
	} {
		f.Add(s)
	}
	zone := time.FixedZone("X", 5*3600+1800)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s, zone)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("Parse(%q): got error %T, want *Error", s, err)
			}
			return
		}
		if y := got.Year(); y < minYear || y > maxYear {
			t.Fatalf("Parse(%q): got year %d, want %d..%d", s, y, minYear, maxYear)
		}
		if u := got.UTC().Year(); u < minYear-1 || u > maxYear+1 {
			t.Fatalf("Parse(%q): got UTC year %d", s, u)
		}
	})
}

func ExampleParse() {
	for _, s := range []string{
		"الأحد، 12 أكتوبر 2025 10:30 +0300",
		"١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300",
		"12 جويلية 2025 8:15 م",
	} {
		t, err := Parse(s, time.FixedZone("Africa/Algiers", 3600))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(t.UTC().Format(time.RFC3339))
	}
	// Output:
	// 2025-10-12T07:30:00Z
	// 2025-10-12T07:30:00Z
	// 2025-07-12T19:15:00Z
}

func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct{ name, in string }{
		{name: "rfc1123z", in: "Sun, 12 Oct 2025 10:30:00 +0300"},
		{name: "rfc3339", in: "2025-10-12T10:30:00+03:00"},
		{name: "arabic", in: "الأحد، 12 أكتوبر 2025 10:30 +0300"},
		{name: "levantine eastern digits", in: "١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bm.in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
