package display

import (
	"net/url"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://news.example/a/b?x=1", "https://news.example/a/b?x=1"},
		{"https://www.aljazeera.net/news/2026/2/15/%D8%BA%D8%A7%D8%B1%D8%A7%D8%AA", "https://www.aljazeera.net/news/2026/2/15/غارات"},
		{"https://x.example/%d8%ba", "https://x.example/غ"},
		{"https://x.example/a%2Fb%3Fc%25d%20e", "https://x.example/a%2Fb%3Fc%25d%20e"}, // meaningful ASCII escapes stay
		{"https://x.example/%E2%80%AEevil", "https://x.example/%E2%80%AEevil"},         // a bidi override stays escaped
		{"https://x.example/%C2%A0", "https://x.example/%C2%A0"},                       // a no-break space too
		{"https://x.example/%D8", "https://x.example/%D8"},                             // a cut sequence
		{"https://x.example/%D8%2F", "https://x.example/%D8%2F"},
		{"https://x.example/%ZZ%", "https://x.example/%ZZ%"},
		{"https://x.example/\u202eevil\x1b[31m", "https://x.example/%E2%80%AEevil%1B[31m"}, // raw ones are escaped
		{"https://x.example/غ ز", "https://x.example/غ%20ز"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzURL: the readable form is valid UTF-8 without controls or format characters, and it
// names the same resource: unescaping it gives what unescaping the input gives.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://x.example/%D8%BA%D8%A7?q=%E2%80%AE", "%%41%C3", "\u202e\x00%F0%9F%98%80", "https://a/%2f%25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := URL(s)
		if !utf8.ValidString(got) {
			t.Fatalf("URL(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (r >= 0x80 && unicode.IsSpace(r)) {
				t.Fatalf("URL(%q) = %q holds %U", s, got, r)
			}
		}
		if want, err := url.PathUnescape(s); err == nil {
			if back, err := url.PathUnescape(got); err != nil || back != want {
				t.Fatalf("URL(%q) = %q unescapes to %q (%v), want %q", s, got, back, err, want)
			}
		}
	})
}
