package article_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func sample() article.Article {
	id := article.ID("https://www.aljazeera.net/news/2026/2/15/x", "", "", "")
	return article.Article{
		SchemaVersion: article.SchemaVersion,
		ID:            id, URL: "https://www.aljazeera.net/news/2026/2/15/x?traffic_source=rss",
		CanonicalURL: "https://www.aljazeera.net/news/2026/2/15/x", FeedID: "aljazeera",
		FeedURL: "https://www.aljazeera.net/rss", Source: "الجزيرة", Lang: "ar",
		Title: "غارات على جنوب لبنان", Summary: "ملخص", ContentText: "نص & تفاصيل", ContentHTML: "<p>نص & تفاصيل</p>",
		ContentSource: article.ContentFromFeed,
		PublishedAt:   time.Date(2026, 2, 15, 5, 0, 0, 0, time.UTC), FetchedAt: time.Date(2026, 2, 15, 7, 0, 0, 0, time.UTC),
		ClusterID: id,
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(article.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMarshalMatchesSchema(t *testing.T) {
	schema := compileSchema(t)
	dup := sample()
	dup.ID = article.ID("https://other.example/y", "", "", "")
	dup.DuplicateOf, dup.Similarity, dup.ClusterID = sample().ID, 0.87, sample().ID
	dup.SameStory = []string{sample().ID, article.ID("https://third.example/z", "", "", "")}
	noLink := sample()
	noLink.URL, noLink.CanonicalURL = "", ""
	noLink.ID = article.ID("", "aljazeera", "guid-1", "")
	noLink.ClusterID = noLink.ID
	noContent := sample()
	noContent.ContentText, noContent.ContentHTML, noContent.ContentSource = "", "", article.ContentNone
	fromPage := sample()
	fromPage.ContentSource = article.ContentFromPage
	tests := []struct {
		name string
		a    article.Article
	}{
		{"new", sample()},
		{"duplicate", dup},
		{"no link", noLink},
		{"no content", noContent},
		{"content from the page", fromPage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := article.Marshal(&tt.a)
			if err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(v); err != nil {
				t.Errorf("%s\ndoes not match the schema: %v", data, err)
			}
			var back article.Article
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if back.Title != tt.a.Title || back.ContentHTML != tt.a.ContentHTML || back.ContentSource != tt.a.ContentSource || !back.PublishedAt.Equal(tt.a.PublishedAt) {
				t.Errorf("round trip changed the article: %+v", back)
			}
		})
	}
}

func TestSchemaRejectsBrokenMessages(t *testing.T) {
	schema := compileSchema(t)
	for name, mutate := range map[string]func(map[string]any){
		"missing id":                   func(m map[string]any) { delete(m, "id") },
		"local time":                   func(m map[string]any) { m["published_at"] = "2026-02-15T08:00:00+03:00" },
		"null authors":                 func(m map[string]any) { m["authors"] = nil },
		"duplicate without similarity": func(m map[string]any) { m["duplicate_of"] = m["id"] },
		"missing content_source":       func(m map[string]any) { delete(m, "content_source") },
		"unknown content_source":       func(m map[string]any) { m["content_source"] = "web" },
	} {
		t.Run(name, func(t *testing.T) {
			a := sample()
			data, _ := article.Marshal(&a)
			var m map[string]any
			json.Unmarshal(data, &m)
			mutate(m)
			if err := schema.Validate(m); err == nil {
				t.Error("the schema accepted it")
			}
		})
	}
}

func TestMarshalKeepsHTMLReadable(t *testing.T) {
	a := sample()
	data, err := article.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"content_html":"<p>نص & تفاصيل</p>"`) || !strings.Contains(string(data), `"authors":[]`) {
		t.Errorf("got %s", data)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		kind       article.Kind
		lang, feed string
		want       string
	}{
		{article.New, "ar", "aljazeera", "articles.new.ar.aljazeera"},
		{article.Duplicate, "ar-EG", "youm7", "articles.duplicate.ar-eg.youm7"},
		{article.New, "", "x", "articles.new.und.x"},
		{article.New, "ar", "a.b*c>", "articles.new.ar.a_b_c_"},
	}
	for _, tt := range tests {
		if got := article.Subject(tt.kind, tt.lang, tt.feed); got != tt.want {
			t.Errorf("Subject(%s, %q, %q) = %q, want %q", tt.kind, tt.lang, tt.feed, got, tt.want)
		}
	}
}

func ExampleSubject() {
	fmt.Println(article.Subject(article.New, "ar", "aljazeera"))
	fmt.Println(article.Subject(article.Duplicate, "ar", "bbc_arabic"))
	// Output:
	// articles.new.ar.aljazeera
	// articles.duplicate.ar.bbc_arabic
}

func ExampleMarshal() {
	a := article.Article{SchemaVersion: article.SchemaVersion, ID: article.ID("https://example.com/a", "", "", ""),
		Title: "عنوان", FeedID: "example", Lang: "ar"}
	data, _ := article.Marshal(&a)
	var m map[string]any
	json.Unmarshal(data, &m)
	fmt.Println(m["title"], m["authors"], a.Subject())
	// Output: عنوان [] articles.new.ar.example
}
