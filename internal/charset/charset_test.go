package charset

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestDecode(t *testing.T) {
	text := "غارات على الجنوب"
	cp1256, _ := charmap.Windows1256.NewEncoder().String(text)
	docLabel := func(label string) func([]byte) string { return func([]byte) string { return label } }
	tests := []struct {
		name        string
		body        string
		o           Options
		wantCharset string
		wantSource  string
		wantWarn    string
	}{
		{name: "utf-8 detected", body: text, wantCharset: "utf-8", wantSource: SourceDetected},
		{name: "windows-1256 detected", body: cp1256, wantCharset: "windows-1256", wantSource: SourceDetected},
		{name: "http", body: cp1256, o: Options{ContentType: "text/html; charset=cp1256"}, wantCharset: "windows-1256", wantSource: SourceHTTP},
		{name: "document", body: cp1256, o: Options{DocSource: "meta", DocLabel: docLabel("windows-1256")}, wantCharset: "windows-1256", wantSource: "meta"},
		{name: "http iso-8859-1 yields to the document", body: cp1256,
			o:           Options{ContentType: "text/html; charset=iso-8859-1", DocSource: "meta", DocLabel: docLabel("windows-1256")},
			wantCharset: "windows-1256", wantSource: "meta", wantWarn: "the meta declaration says"},
		{name: "utf-8 claimed for legacy bytes", body: cp1256, o: Options{ContentType: "text/html; charset=utf-8"},
			wantCharset: "windows-1256", wantSource: SourceDetected, wantWarn: "not utf-8"},
		{name: "override", body: cp1256, o: Options{ContentType: "text/html; charset=utf-8", Override: "windows-1256"}, wantCharset: "windows-1256", wantSource: SourceOverride},
		{name: "unknown override", body: text, o: Options{Override: "x-klingon"}, wantCharset: "utf-8", wantSource: SourceDetected, wantWarn: "x-klingon"},
		{name: "bom", body: "\xEF\xBB\xBF" + text, o: Options{ContentType: "text/html; charset=windows-1256"}, wantCharset: "utf-8", wantSource: SourceBOM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Decode([]byte(tt.body), tt.o)
			if string(r.Text) != text || r.Charset != tt.wantCharset || r.Source != tt.wantSource {
				t.Errorf("got %q as %q from %q, want %q as %q from %q", r.Text, r.Charset, r.Source, text, tt.wantCharset, tt.wantSource)
			}
			if got := strings.Join(r.Warnings, "\n"); (tt.wantWarn == "") != (got == "") || !strings.Contains(got, tt.wantWarn) {
				t.Errorf("got warnings %q, want one with %q", r.Warnings, tt.wantWarn)
			}
		})
	}
}

func TestDecodeReplacesInvalidBytes(t *testing.T) {
	r := Decode([]byte("نص \xff\xfe صحيح وطويل بما يكفي ليكون utf-8"), Options{})
	if r.Charset != "utf-8" || r.Replaced != 2 || !strings.Contains(string(r.Text), "\uFFFD\uFFFD") {
		t.Errorf("got %q as %q with %d replaced, want utf-8 with 2", r.Text, r.Charset, r.Replaced)
	}
}
