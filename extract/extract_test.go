package extract

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const para = "قال وزير الصحة، في مؤتمر صحفي عقده اليوم في الرياض، إن الوزارة ستفتتح عشرة مستشفيات جديدة في المناطق الشمالية خلال العام المقبل، وإن العمل جار على تجهيزها بأحدث المعدات الطبية."

// page is an article page with metadata, a menu, a share bar, a related list and a footer.
func page(body string) []byte {
	return []byte(`<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>افتتاح عشرة مستشفيات | صحيفة الاختبار</title>
<meta property="og:title" content="افتتاح عشرة مستشفيات جديدة">
<meta property="og:image" content="/img/hospital.jpg">
<meta name="author" content="سارة العتيبي">
<meta property="article:published_time" content="2015-08-01T10:25:00+03:00">
</head><body><nav><a href="/">الرئيسية</a> <a href="/a">محليات</a> <a href="/b">رياضة</a></nav>
<div class="layout">` + body + `<div class="related"><h3>أخبار ذات صلة</h3><ul><li><a href="/x">عنوان خبر آخر عن الطقس في جدة</a></li></ul></div></div>
<footer>جميع الحقوق محفوظة © 2015</footer></body></html>`)
}

func TestExtractGeneral(t *testing.T) {
	body := `<div class="story"><h1>افتتاح عشرة مستشفيات جديدة</h1><div class="share">شارك: <a href="#">تويتر</a></div>` +
		strings.Repeat("<p>"+para+"</p>", 4) + `</div>`
	res, err := Extract(page(body), mustURL(t, "https://news.example/local/1.html"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat(para+"\n\n", 4)[:4*len(para)+6]; res.Text != want {
		t.Errorf("Text:\ngot  %q\nwant %q", res.Text, want)
	}
	if res.Title != "افتتاح عشرة مستشفيات جديدة" {
		t.Errorf("Title: got %q", res.Title)
	}
	if res.Byline != "سارة العتيبي" {
		t.Errorf("Byline: got %q", res.Byline)
	}
	if want := time.Date(2015, 8, 1, 7, 25, 0, 0, time.UTC); !res.PublishedAt.Equal(want) || res.PublishedAt.Location() != time.UTC {
		t.Errorf("PublishedAt: got %v, want %v in UTC", res.PublishedAt, want)
	}
	if res.ImageURL != "https://news.example/img/hospital.jpg" {
		t.Errorf("ImageURL: got %q, want it absolute", res.ImageURL)
	}
	if !strings.Contains(res.HTML, "<p>"+para+"</p>") {
		t.Errorf("HTML: got %q, want the paragraphs", res.HTML)
	}
	for _, bad := range []string{"تويتر", "الطقس", "محفوظة", "الرئيسية"} {
		if strings.Contains(res.Text, bad) || strings.Contains(res.HTML, bad) {
			t.Errorf("output holds boilerplate %q", bad)
		}
	}
}

func TestExtractRule(t *testing.T) {
	body := `<div class="teaser"><p>` + strings.Repeat("نص ترويجي طويل لا علاقة له بالخبر. ", 30) + `</p></div>
<div class="article-text"><p>` + para + `</p><div class="ad">إعلان: اشترك الآن</div><p>الفقرة الثانية.</p></div>`
	u := mustURL(t, "https://news.example/1")
	rule := &Rule{Body: "div.article-text", Strip: []string{".ad"}}
	res, err := Extract(page(body), u, rule)
	if err != nil {
		t.Fatal(err)
	}
	if want := para + "\n\nالفقرة الثانية."; res.Text != want {
		t.Errorf("Text:\ngot  %q\nwant %q", res.Text, want)
	}
	// A rule whose body selects nothing leaves the page to the general extractor.
	res, err = Extract(page(body), u, &Rule{Body: "#missing"})
	if err != nil || !strings.Contains(res.Text, "ترويجي") {
		t.Errorf("rule that selects nothing: got %v, %.40q; want the general extractor's text", err, res.Text)
	}
	// A rule with only strip selectors strips, then leaves the page to the general extractor.
	res, err = Extract(page(body), u, &Rule{Strip: []string{".teaser"}})
	if err != nil || strings.Contains(res.Text, "ترويجي") || !strings.Contains(res.Text, para) {
		t.Errorf("strip-only rule: got %v, %.60q; want the article without the teaser", err, res.Text)
	}
	// A bad selector is an error naming it.
	_, err = Extract(page(body), u, &Rule{Body: "div[", Strip: nil})
	if err == nil || !strings.Contains(err.Error(), `"div["`) {
		t.Errorf("bad selector: got %v, want an error naming it", err)
	}
	_, err = Extract(page(body), u, &Rule{Body: "div", Strip: []string{"p:nth-child("}})
	if err == nil || !strings.Contains(err.Error(), `"p:nth-child("`) {
		t.Errorf("bad strip selector: got %v, want an error naming it", err)
	}
}

func TestExtractNoArticle(t *testing.T) {
	for name, p := range map[string]string{
		"empty":      "",
		"menu only":  `<html><body><nav><a href="/">الرئيسية</a></nav></body></html>`,
		"not html":   "%PDF-1.4 \x00\x01\x02",
		"only title": `<html><head><title>عنوان</title></head><body></body></html>`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Extract([]byte(p), mustURL(t, "https://news.example/x"), nil)
			if !errors.Is(err, ErrNoArticle) {
				t.Errorf("got %+v, %v; want ErrNoArticle", res, err)
			}
		})
	}
}

func TestRuleFor(t *testing.T) {
	for host := range builtinRules {
		for _, h := range []string{host, "www." + host, strings.ToUpper(host) + "."} {
			r, ok := RuleFor(h)
			if !ok || r.Body == "" {
				t.Errorf("RuleFor(%q): got %v, %v", h, r, ok)
			}
		}
	}
	if r, ok := RuleFor("unknown.example"); ok || r != nil {
		t.Errorf("RuleFor(unknown): got %v, %v", r, ok)
	}
	// A caller cannot change the built-in rules through what RuleFor returns.
	for host := range builtinRules {
		r, _ := RuleFor(host)
		r.Strip = append(r.Strip[:0], "changed")
		r2, _ := RuleFor(host)
		if len(r2.Strip) > 0 && r2.Strip[0] == "changed" {
			t.Errorf("RuleFor(%q) shares its Strip slice", host)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(page(strings.Repeat("<p>"+para+"</p>", 3))), "")
	f.Add([]byte(`<html><body><div class="share"><h3>اقرأ أيضا</h3><a href="x">y</a></div><p>`+para+`</p></body></html>`), "div")
	f.Add([]byte("<table><tr><td>\xff\xfe<br><br>نص</td></tr></table>"), "td")
	f.Add([]byte(`<script type="application/ld+json">{"@type":"NewsArticle","headline":1,"author":[{"name":"x"}]}</script>`), "")
	u := mustURL(f, "https://news.example/a/b.html")
	f.Fuzz(func(t *testing.T, page []byte, sel string) {
		var rule *Rule
		if sel != "" {
			rule = &Rule{Body: sel, Strip: []string{sel + " aside"}}
		}
		res, err := Extract(page, u, rule)
		if err != nil {
			return
		}
		for name, s := range map[string]string{"Title": res.Title, "Byline": res.Byline,
			"ImageURL": res.ImageURL, "Text": res.Text, "HTML": res.HTML} {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not valid UTF-8: %q", name, s)
			}
		}
		if res.Text == "" {
			t.Error("an article with no text")
		}
		if !res.PublishedAt.IsZero() && res.PublishedAt.Location() != time.UTC {
			t.Errorf("PublishedAt %v not in UTC", res.PublishedAt)
		}
	})
}

// TestBuiltinRule: the built-in rule of an outlet selects its article body even where a long
// teaser block would draw the general extractor, the boilerplate pass still cleans inside it,
// and a page the rule no longer fits goes to the general extractor.
func TestBuiltinRule(t *testing.T) {
	u := mustURL(t, "https://www.aljazeera.net/news/2026/2/15/x")
	long := strings.Repeat("<p>"+strings.Repeat("نص ترويجي طويل عن برنامج تلفزيوني لا علاقة له بالخبر. ", 8)+"</p>", 5)
	body := `<div class="promo-block">` + long + `</div><main><div class="wysiwyg wysiwyg--all-content">` +
		`<p>` + para + `</p><div><h2>اقرأ أيضا</h2><ul><li><a href="/a">عنوان خبر آخر تماما</a></li></ul></div><p>الفقرة الثانية من الخبر.</p></div></main>`
	res, err := Extract(page(body), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := para + "\n\nالفقرة الثانية من الخبر."; res.Text != want {
		t.Errorf("Text:\ngot  %q\nwant %q", res.Text, want)
	}
	gen, err := ExtractWith(page(body), u, nil, Options{NoBuiltinRules: true})
	if err != nil || !strings.Contains(gen.Text, "ترويجي") {
		t.Errorf("without the rule: got %v, %.60q; want the general extractor to take the long block (the rule is what helps)", err, gen.Text)
	}
	stale := strings.Repeat("<p>"+para+"</p>", 3)
	res, err = Extract(page(`<article class="new-design">`+stale+`</article>`), u, nil)
	if err != nil || !strings.Contains(res.Text, para) {
		t.Errorf("page the rule does not fit: got %v, %.60q; want the general extractor's text", err, res.Text)
	}
}

func TestTrimBylinePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"بقلم: سارة العتيبي", "سارة العتيبي"},
		{"كتب - محمد علي", "محمد علي"},
		{"By Sarah Needleman", "Sarah Needleman"},
		{"Bystander Press", "Bystander Press"},
		{"كتبية الأخبار", "كتبية الأخبار"},
		{"سارة العتيبي", "سارة العتيبي"},
	}
	for _, tt := range tests {
		if got := trimBylinePrefix(tt.in); got != tt.want {
			t.Errorf("trimBylinePrefix(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
