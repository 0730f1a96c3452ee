package fetcher

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// datedFeed builds an RSS feed whose items have the given pubDates (and no pubDate for "").
func datedFeed(channelDate string, pubDates ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<rss version="2.0"><channel><title>t</title><link>http://example.com/</link><description>d</description>`)
	if channelDate != "" {
		fmt.Fprintf(&b, "<pubDate>%s</pubDate>", escape(channelDate))
	}
	for i, d := range pubDates {
		fmt.Fprintf(&b, "\n<item><title>خبر %d</title><guid>%d</guid>", i+1, i+1)
		if d != "" {
			fmt.Fprintf(&b, "<pubDate>%s</pubDate>", escape(d))
		}
		b.WriteString("</item>")
	}
	b.WriteString("\n</channel></rss>\n")
	return b.String()
}

func TestFetchArabicDates(t *testing.T) {
	cairo := time.FixedZone("EET", 2*3600)
	tests := []struct {
		name          string
		pubDate       string
		zone          *time.Location
		want          string // UTC, RFC 3339; "" for no date
		wantFallbacks int
	}{
		{name: "arabic weekday and month", pubDate: "الأحد، 12 أكتوبر 2025 10:30 +0300", want: "2025-10-12T07:30:00Z"},
		{name: "levantine eastern digits", pubDate: "١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300", want: "2025-10-12T07:30:00Z"},
		{name: "maghrebi default zone", pubDate: "12 جويلية 2025 10:30", zone: cairo, want: "2025-07-12T08:30:00Z"},
		{name: "english unchanged", pubDate: "Sun, 12 Oct 2025 10:30:00 +0300", want: "2025-10-12T07:30:00Z"},
		{name: "arabia standard time", pubDate: "Sun, 12 Oct 2025 10:30:00 AST", want: "2025-10-12T07:30:00Z"},             // gofeed: UTC
		{name: "zoneless english in feed zone", pubDate: "2025-10-12 10:30:00", zone: cairo, want: "2025-10-12T08:30:00Z"}, // gofeed: UTC
		{name: "zoneless english utc", pubDate: "2025-10-12 10:30:00", want: "2025-10-12T10:30:00Z"},
		{name: "unreadable", pubDate: "منذ ساعتين", wantFallbacks: 1},
		{name: "no date", pubDate: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, feedHandler("application/rss+xml", datedFeed("", tt.pubDate)))
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL, DefaultZone: tt.zone})
			if err != nil {
				t.Fatal(err)
			}
			it := res.Feed.Items[0]
			got := ""
			if it.PublishedParsed != nil {
				got = it.PublishedParsed.UTC().Format(time.RFC3339)
			}
			if got != tt.want {
				t.Errorf("got PublishedParsed %q, want %q", got, tt.want)
			}
			if it.Published != tt.pubDate {
				t.Errorf("got Published %q, want the raw %q", it.Published, tt.pubDate)
			}
			if res.DateFallbacks != tt.wantFallbacks {
				t.Errorf("got DateFallbacks %d, want %d", res.DateFallbacks, tt.wantFallbacks)
			}
			if tt.wantFallbacks > 0 && !strings.Contains(strings.Join(res.Warnings, "\n"), tt.pubDate) {
				t.Errorf("got warnings %q, want one naming %q", res.Warnings, tt.pubDate)
			}
		})
	}
}

func TestFetchDateFallbacksCounted(t *testing.T) {
	body := datedFeed("الأحد، 12 أكتوبر 2025 10:30 +0300",
		"الأحد، 12 أكتوبر 2025 10:30 +0300",
		"غير معروف",
		"غير معروف", // the same string is reported once
		"",
		"قبل ساعة",
		"أمس",
		"قبل يومين", // past maxDateWarnings distinct strings
	)
	srv := serve(t, feedHandler("application/rss+xml", body))
	res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.DateFallbacks != 5 {
		t.Errorf("got DateFallbacks %d, want 5", res.DateFallbacks)
	}
	if len(res.Warnings) != maxDateWarnings {
		t.Errorf("got warnings %q, want %d", res.Warnings, maxDateWarnings)
	}
	if p := res.Feed.PublishedParsed; p == nil || !p.Equal(time.Date(2025, 10, 12, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("got feed PublishedParsed %v, want 2025-10-12T07:30:00Z", p)
	}
}

func TestFetchAtomDates(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id>
<updated>12 أكتوبر 2025 10:30 GST</updated>
<entry><title>a</title><id>1</id><published>١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300</published><updated>2025-10-12T09:00:00Z</updated></entry>
<entry><title>b</title><id>2</id><updated>غير معروف</updated></entry>
</feed>`
	srv := serve(t, feedHandler("application/atom+xml", body))
	res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	utc := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.UTC().Format(time.RFC3339)
	}
	checks := []struct {
		name string
		got  *time.Time
		want string
	}{
		{name: "feed updated", got: res.Feed.UpdatedParsed, want: "2025-10-12T06:30:00Z"},
		{name: "entry published", got: res.Feed.Items[0].PublishedParsed, want: "2025-10-12T07:30:00Z"},
		{name: "entry updated", got: res.Feed.Items[0].UpdatedParsed, want: "2025-10-12T09:00:00Z"},
		{name: "unreadable updated", got: res.Feed.Items[1].UpdatedParsed, want: ""},
	}
	for _, c := range checks {
		if g := utc(c.got); g != c.want {
			t.Errorf("%s: got %q, want %q", c.name, g, c.want)
		}
	}
	if res.DateFallbacks != 1 {
		t.Errorf("got DateFallbacks %d, want 1", res.DateFallbacks)
	}
}
