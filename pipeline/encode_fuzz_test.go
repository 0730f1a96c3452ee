package pipeline

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/feedd/feedd/article"
)

// FuzzFit: whatever the article and the limit, fit never panics; when it says the body fits,
// the body is within the limit, valid UTF-8 JSON of the same article id, and a cut body has
// lost its HTML first.
func FuzzFit(f *testing.F) {
	f.Add("عنوان", "ملخص قصير", "نص طويل جدا نص طويل جدا", "<p>نص</p>", "a,b", 300)
	f.Add("t", "s", string([]byte{0xff, 0xfe, 'x'}), "<b>&amp;</b>", "", 40)
	f.Add("\u2028\"\\\x01", "…………", "…", "", "tag", 0)
	f.Fuzz(func(t *testing.T, title, summary, text, html, cats string, limit int) {
		a := article.Article{SchemaVersion: 1, ID: "id", Title: title, Summary: summary, ContentText: text,
			ContentHTML: html, Categories: []string{cats}, Authors: []string{cats}}
		size := 0
		data, ok, err := fit(&a, limit, &size)
		if err != nil {
			return // a value article.Marshal refuses (such as a date out of range): reported, not cut
		}
		if !ok {
			if len(data) <= limit {
				t.Fatalf("fit says %d bytes do not fit in %d", len(data), limit)
			}
			return
		}
		if len(data) > limit {
			t.Fatalf("fit says %d bytes fit in %d", len(data), limit)
		}
		var back article.Article
		if err := json.Unmarshal(data, &back); err != nil || back.ID != "id" {
			t.Fatalf("body %q: %v", data, err)
		}
		if !utf8.Valid(data) {
			t.Fatalf("body %q is not valid UTF-8", data)
		}
		if len(data) < size && back.ContentHTML != "" {
			t.Fatalf("a body cut from %d to %d bytes kept its HTML", size, len(data))
		}
	})
}
