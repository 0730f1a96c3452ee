package extract

import (
	"testing"
	"unicode/utf8"
)

func TestMetaLabel(t *testing.T) {
	tests := []struct{ head, want string }{
		{`<meta charset="windows-1256">`, "windows-1256"},
		{`<meta charset=utf-8>`, "utf-8"},
		{`<META CHARSET='ISO-8859-6'>`, "ISO-8859-6"},
		{`<meta http-equiv="Content-Type" content="text/html; charset=cp1256">`, "cp1256"},
		{`<meta content="text/html; charset=windows-1256" http-equiv="content-type">`, "windows-1256"},
		{`<!-- <meta charset="koi8-r"> --><meta charset="utf-8">`, "utf-8"},
		{`<meta name="description" content="charset is not here">`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		body := "<html><head>" + tt.head + "</head><body><meta charset=\"big5\"></body></html>"
		if got := metaLabel([]byte(body)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.head, got, tt.want)
		}
	}
}

func FuzzDecodeHTML(f *testing.F) {
	f.Add([]byte(`<html><head><meta charset="windows-1256"></head><body>`+"\xe3\xd1\xcd\xc8\xc7"+`</body></html>`), "text/html")
	f.Add([]byte("\xEF\xBB\xBF<p>نص</p>"), "text/html; charset=iso-8859-6")
	f.Add([]byte("\xFF\xFE<\x00p\x00>\x00"), "")
	f.Add([]byte(`<meta http-equiv="content-type" content="text/html; charset=utf-16">`), "text/html; charset=bogus")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		d := decodeHTML(body, contentType)
		if !utf8.Valid(d.Text) {
			t.Errorf("decoded text is not valid utf-8")
		}
		if d.Charset == "" {
			t.Errorf("no charset named")
		}
	})
}
