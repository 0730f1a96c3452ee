package dedupe

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/feedd/feedd/internal/testfeeds"
)

func TestCanonicalURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"already canonical", "https://aawsat.com/node/5254780", "https://aawsat.com/node/5254780"},
		{"empty path becomes slash", "https://alhurra.com", "https://alhurra.com/"},
		{"empty path before query", "https://example.com?id=3", "https://example.com/?id=3"},
		{"upper-case scheme and host", "HTTPS://WWW.Skynewsarabia.COM/world/1860372", "https://www.skynewsarabia.com/world/1860372"},
		{"path case kept", "https://elaph.com/Web/News/2026/03/1592201.html", "https://elaph.com/Web/News/2026/03/1592201.html"},
		{"spaces and nbsp around", " \u00a0https://aawsat.com/node/1\t\n", "https://aawsat.com/node/1"},
		{"direction marks and bom around", "\ufeff\u200ehttps://aawsat.com/node/1\u200f", "https://aawsat.com/node/1"},
		{"default http port", "http://example.com:80/a", "http://example.com/a"},
		{"default https port", "https://example.com:443/a", "https://example.com/a"},
		{"other port kept", "https://example.com:8443/a", "https://example.com:8443/a"},
		{"https on port 80 kept", "https://example.com:80/a", "https://example.com:80/a"},
		{"empty port", "https://example.com:/a", "https://example.com/a"},
		{"leading zeros in port", "http://example.com:0080/a", "http://example.com/a"},
		{"userinfo dropped", "https://user:secret@example.com/a", "https://example.com/a"},
		{"ipv6 host", "http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"},
		{"www not merged", "https://www.hespress.com/x", "https://www.hespress.com/x"},
		{"m not merged", "https://m.hespress.com/x", "https://m.hespress.com/x"},
		{"traffic_source removed", "https://www.aljazeera.net/news/2026/2/15/x?traffic_source=rss", "https://www.aljazeera.net/news/2026/2/15/x"},
		{"utm removed", "https://example.com/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x", "https://example.com/a"},
		{"tracking removed, content kept", "https://example.com/a?fbclid=IwAR0&id=7&gclid=x&page=2&msclkid=1&p=3&story=4", "https://example.com/a?id=7&p=3&page=2&story=4"},
		{"tracking names case-insensitive", "https://example.com/a?FBCLID=1&Mc_Cid=2&_HSENC=3", "https://example.com/a"},
		{"tracking name written with escapes", "https://example.com/a?%75tm_source=x&id=1", "https://example.com/a?id=1"},
		{"params sorted by key then value", "https://example.com/a?b=2&a=2&a=1&c", "https://example.com/a?a=1&a=2&b=2&c"},
		{"empty query dropped", "https://example.com/a?", "https://example.com/a"},
		{"empty params dropped", "https://example.com/a?&&id=1&", "https://example.com/a?id=1"},
		{"plus in query kept", "https://example.com/search?q=a+b", "https://example.com/search?q=a+b"},
		{"escaped ampersand stays in value", "https://example.com/a?q=a%26b&z=1", "https://example.com/a?q=a%26b&z=1"},
		{"fragment comments dropped", "https://example.com/a#comments", "https://example.com/a"},
		{"fragment respond dropped", "https://example.com/a?id=1#respond", "https://example.com/a?id=1"},
		{"fragment section dropped", "https://example.com/a#section-2", "https://example.com/a"},
		{"empty fragment dropped", "https://example.com/a#", "https://example.com/a"},
		{"numeric fragment kept", "https://www.alaraby.co.uk/news/breaking#12990783", "https://www.alaraby.co.uk/news/breaking#12990783"},
		{"hash-bang fragment kept", "https://example.com/#!/news/12", "https://example.com/#!/news/12"},
		{"route fragment kept", "https://example.com/app#/news/12", "https://example.com/app#/news/12"},
		{"numeric fragment after tracking", "https://example.com/live?utm_source=x#42", "https://example.com/live#42"},
		{"unreserved escapes decoded", "https://example.com/%7Euser/%41%62%2D%2E%5F", "https://example.com/~user/Ab-._"},
		{"lower-case hex upper-cased", "https://www.hespress.com/%d8%a8%d9%8a%d8%aa-1701642.html", "https://www.hespress.com/%D8%A8%D9%8A%D8%AA-1701642.html"},
		{"escaped slash kept", "https://example.com/a%2fb/c%2Fd", "https://example.com/a%2Fb/c%2Fd"},
		{"raw arabic path escaped", "https://www.elmostaqbal.com/527479/مصر/", "https://www.elmostaqbal.com/527479/%D9%85%D8%B5%D8%B1/"},
		{"raw arabic query escaped", "https://example.com/s?q=غزة", "https://example.com/s?q=%D8%BA%D8%B2%D8%A9"},
		{"nbsp in slug escaped", "https://www.alaraby.co.uk/economy/a\u00a0b", "https://www.alaraby.co.uk/economy/a%C2%A0b"},
		{"space escaped", "https://example.com/a b?q=c d", "https://example.com/a%20b?q=c%20d"},
		{"stray percent escaped", "https://example.com/100%/x?p=5%", "https://example.com/100%25/x?p=5%25"},
		{"dot segments removed", "https://example.com/a/./b/../c", "https://example.com/a/c"},
		{"escaped dot segments removed", "https://example.com/a/%2E%2E/b", "https://example.com/b"},
		{"dot-dot above root", "https://example.com/../../a", "https://example.com/a"},
		{"trailing dot-dot keeps slash", "https://example.com/a/b/..", "https://example.com/a/"},
		{"trailing slash kept", "https://arabic.rt.com/world/1771133-x/", "https://arabic.rt.com/world/1771133-x/"},
		{"no trailing slash kept", "https://arabic.rt.com/world/1771133-x", "https://arabic.rt.com/world/1771133-x"},
		{"double slash kept", "https://example.com/a//b", "https://example.com/a//b"},
		{"arabic host lower-case only", "https://مثال.مصر/a", "https://مثال.مصر/a"},
		{"escaped arabic host decoded", "https://%D9%85%D8%B5%D8%B1.com/", "https://مصر.com/"},
		{"image url entity fragment dropped", "https://i0.wp.com/alhurra.com/a.jpg?fit=1200%2C675&#038;ssl=1", "https://i0.wp.com/alhurra.com/a.jpg?fit=1200%2C675"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalURL(tt.in)
			if err != nil {
				t.Fatalf("CanonicalURL(%q) error %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("CanonicalURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := CanonicalURL(got)
			if err != nil || again != got {
				t.Errorf("CanonicalURL(%q) = %q, %v; want %q, nil", got, again, err, got)
			}
		})
	}
}

func TestCanonicalURLEquivalent(t *testing.T) {
	tests := []struct {
		name     string
		variants []string
	}{
		{"arabic raw, lower-case and upper-case escapes", []string{
			"https://www.skynewsarabia.com/middle-east/1860393-باكستان-تعرض",
			"https://www.skynewsarabia.com/middle-east/1860393-%d8%a8%d8%a7%d9%83%d8%b3%d8%aa%d8%a7%d9%86-%d8%aa%d8%b9%d8%b1%d8%b6",
			"https://www.skynewsarabia.com/middle-east/1860393-%D8%A8%D8%A7%D9%83%D8%B3%D8%AA%D8%A7%D9%86-%D8%AA%D8%B9%D8%B1%D8%B6",
			"https://www.skynewsarabia.com/middle-east/1860393-%D8%A8%d8%a7%D9%83%D8%B3%D8%AA%D8%A7%D9%86-تعرض",
			"HTTPS://WWW.SKYNEWSARABIA.COM:443/middle-east/./1860393-باكستان-تعرض?utm_source=twitter#main",
		}},
		{"tracking and order", []string{
			"https://example.com/story?id=5&page=2",
			"https://example.com/story?page=2&id=5",
			"https://example.com/story?utm_campaign=x&page=2&fbclid=y&id=5&traffic_source=rss",
			"https://example.com/story?page=2&id=5#comments",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := CanonicalURL(tt.variants[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.variants[1:] {
				got, err := CanonicalURL(v)
				if err != nil || got != want {
					t.Errorf("CanonicalURL(%q) = %q, %v; want %q", v, got, err, want)
				}
			}
		})
	}
}

func TestCanonicalURLErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // in the message, besides the value
	}{
		{"empty", "", "empty"},
		{"blank", " \u00a0 ", "empty"},
		{"not a url", "not a url", "not absolute"},
		{"relative path", "/relative", "not absolute"},
		{"scheme-relative", "//example.com/a", "not absolute"},
		{"ftp", "ftp://x", `scheme "ftp"`},
		{"file", "file:///tmp/feed.xml", `scheme "file"`},
		{"mailto", "mailto:news@example.com", `scheme "mailto"`},
		{"javascript", "javascript:alert(1)", `scheme "javascript"`},
		{"no authority", "http:example.com/a", "no host"},
		{"no host", "https:///a", "no host"},
		{"only userinfo", "https://user@/a", "no host"},
		{"space in host", "https://exa mple.com/", "bad host"},
		{"port not a number", "https://example.com:http/", "bad host"},
		{"port out of range", "https://example.com:70000/", "bad port"},
		{"bad escape in host", "https://ex%zzample.com/", "bad host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalURL(tt.in)
			if err == nil {
				t.Fatalf("CanonicalURL(%q) = %q, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("CanonicalURL(%q) error %v, want one matching ErrInvalidURL", tt.in, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.Quote(tt.in)) || !strings.Contains(msg, tt.want) {
				t.Errorf("CanonicalURL(%q) error %q, want it to name the value and say %q", tt.in, msg, tt.want)
			}
		})
	}
}

func TestCanonicalURLCorpus(t *testing.T) {
	dir := testfeeds.Corpus(t)
	feeds, err := filepath.Glob(filepath.Join(dir, "feeds", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	canonical := make(map[string]string) // raw link -> canonical
	for _, f := range feeds {
		var n int
		for _, it := range readFeed(t, f) {
			for _, link := range it.links {
				if !strings.HasPrefix(link, "http") {
					continue // Atom tag: ids
				}
				c, err := CanonicalURL(link)
				if err != nil {
					t.Errorf("%s: CanonicalURL(%q): %v", filepath.Base(f), link, err)
					continue
				}
				if again, err := CanonicalURL(c); err != nil || again != c {
					t.Errorf("%s: CanonicalURL(%q) = %q, %v; want %q", filepath.Base(f), c, again, err, c)
				}
				canonical[link] = c
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no links", filepath.Base(f))
		}
	}
	for _, a := range newsAPIArticles(t, dir) {
		c, err := CanonicalURL(a.URL)
		if err != nil {
			t.Errorf("newsapi: CanonicalURL(%q): %v", a.URL, err)
			continue
		}
		if again, err := CanonicalURL(c); err != nil || again != c {
			t.Errorf("newsapi: CanonicalURL(%q) = %q, %v; want %q", c, again, err, c)
		}
		canonical[a.URL] = c
	}

	var jazeera, hespress, breaking int
	for raw, c := range canonical {
		if strings.ContainsAny(c, " \u00a0") || strings.Contains(c, "traffic_source") {
			t.Errorf("CanonicalURL(%q) = %q, still holds a space or a tracking parameter", raw, c)
		}
		if strings.Contains(raw, "traffic_source=rss") {
			jazeera++
		}
		if strings.HasPrefix(raw, "https://www.hespress.com/%d8") {
			hespress++
			if want := upperEscapes(raw); c != want {
				t.Errorf("CanonicalURL(%q) = %q, want %q", raw, c, want)
			}
		}
		if raw == "https://www.alaraby.co.uk/news/breaking#12990783" {
			breaking++
			if c != raw {
				t.Errorf("CanonicalURL(%q) = %q, want the numeric fragment kept", raw, c)
			}
		}
	}
	if jazeera == 0 || hespress == 0 || breaking == 0 {
		t.Errorf("got %d Al Jazeera, %d Hespress and %d breaking links, want some of each", jazeera, hespress, breaking)
	}
}

// upperEscapes upper-cases the hex digits of every percent-escape in s.
func upperEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			copy(b[i+1:i+3], strings.ToUpper(string(b[i+1:i+3])))
		}
	}
	return string(b)
}

func TestIsTrackingParam(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"utm_source", true},
		{"UTM_MEDIUM", true},
		{"utm_anything", true},
		{"fbclid", true},
		{"traffic_source", true},
		{"Traffic_Source", true},
		{"__twitter_impression", true},
		{"id", false},
		{"p", false},
		{"story", false},
		{"page", false},
		{"utm", false},
		{"source", false},
		{"q", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTrackingParam(tt.name); got != tt.want {
				t.Errorf("IsTrackingParam(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestTrackingParams(t *testing.T) {
	got := TrackingParams()
	if !slices.IsSorted(got) {
		t.Errorf("TrackingParams() = %q, want it sorted", got)
	}
	for _, name := range []string{"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "igshid", "traffic_source"} {
		if !slices.Contains(got, name) {
			t.Errorf("TrackingParams() lacks %q", name)
		}
	}
	for _, name := range got {
		if name != strings.ToLower(name) || !IsTrackingParam(name) {
			t.Errorf("TrackingParams() holds %q, want lower-case names IsTrackingParam accepts", name)
		}
		u := "https://example.com/a?" + name + "=1&id=2"
		if c, err := CanonicalURL(u); err != nil || c != "https://example.com/a?id=2" {
			t.Errorf("CanonicalURL(%q) = %q, %v; want https://example.com/a?id=2", u, c, err)
		}
	}
	got[0] = "changed"
	if TrackingParams()[0] == "changed" {
		t.Error("TrackingParams() returns shared state")
	}
}

func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{
		"https://www.aljazeera.net/news/2026/2/15/%d8%ba?traffic_source=rss",
		"https://www.alaraby.co.uk/news/breaking#12990783",
		"HTTP://User@Example.COM:80/a/./b/../c?b=2&a=1#!x",
		"https://www.elmostaqbal.com/527479/مصر/?q=غزة#1",
		"http://[fe80::1%25en0]:8080/%2e%2E/%2f%zz?&=&a=%7e+",
		"https://a%25b/", "https://%D9%85/", "http://x/\u00a0", "https://x?#/", "ftp://x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalURL(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("CanonicalURL(%q) error %v, want one matching ErrInvalidURL", s, err)
			}
			return
		}
		again, err := CanonicalURL(c)
		if err != nil || again != c {
			t.Fatalf("CanonicalURL(%q) = %q; CanonicalURL(%q) = %q, %v; want %q, nil", s, c, c, again, err, c)
		}
	})
}

func BenchmarkCanonicalURL(b *testing.B) {
	benchmarks := []struct {
		name string
		in   string
	}{
		{"canonical", "https://aawsat.com/node/5254780"},
		{"aljazeera", "https://www.aljazeera.net/news/2026/2/15/%d8%ba%d8%a7%d8%b1%d8%a7%d8%aa-%d8%a5%d8%b3%d8%b1%d8%a7%d8%a6%d9%8a%d9%84%d9%8a%d8%a9-%d8%b9%d9%84%d9%89-%d8%b9%d8%af%d8%a9-%d8%a8%d9%84%d8%af%d8%a7%d8%aa-%d9%81%d9%8a-%d8%ac%d9%86%d9%88%d8%a8-2?traffic_source=rss"},
		{"raw_arabic", "https://www.elmostaqbal.com/527479/2021/07/01/اعرف-سعر-الدولار-اليوم-أمام-الجنيه-في-8-2/"},
		{"query", "https://example.com/story?utm_source=rss&utm_medium=feed&id=5&page=2&fbclid=x#comments"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CanonicalURL(bm.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleCanonicalURL() {
	c, err := CanonicalURL("HTTPS://www.AlJazeera.net:443/news/%d9%85%d8%b5%d8%b1?traffic_source=rss#comments")
	if err != nil {
		panic(err)
	}
	fmt.Println(c)
	// Output: https://www.aljazeera.net/news/%D9%85%D8%B5%D8%B1
}
