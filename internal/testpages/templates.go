package testpages

import (
	"fmt"
	"strings"
	"time"
)

// The templates imitate the article pages of Arabic outlets. Each one puts the clutter in
// different places and marks it differently: by class names, by HTML5 elements, by layout
// tables only, or by nothing but its headings (hashed class names).

var sections = []string{"الرئيسية", "محليات", "سياسة", "اقتصاد", "رياضة", "ثقافة وفنون", "مقالات الرأي", "منوعات", "فيديو", "اتصل بنا"}

var months = []string{"يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"}

var weekdays = []string{"الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت"}

// arabicDate writes t as Arabic outlets do: "السبت 1 أغسطس 2015 - 10:25 ص".
func arabicDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	ampm := "ص"
	h := t.Hour()
	if h >= 12 {
		ampm = "م"
	}
	if h%12 == 0 {
		h = 12
	} else {
		h %= 12
	}
	return fmt.Sprintf("%s %d %s %d - %d:%02d %s", weekdays[t.Weekday()], t.Day(), months[t.Month()-1], t.Year(), h, t.Minute(), ampm)
}

var comments = []struct{ name, text string }{
	{"أبو فهد", "الله يحفظ بلادنا من كل شر، ونتمنى من الجهات المختصة متابعة الموضوع بجدية أكبر وإطلاع المواطنين على كل جديد."},
	{"مواطن غيور", "كلام جميل لكن العبرة بالتطبيق على أرض الواقع، فقد سمعنا مثل هذه الوعود كثيرا ولم نر شيئا يتغير في الحي."},
	{"نورة", "شكرا للصحيفة على هذا الطرح المميز، وأتمنى أن تستمروا في نقل هموم الناس بكل أمانة وشفافية."},
}

const appFooter = "حمّل تطبيق الصحيفة على أجهزة آيفون وأندرويد من متجر App Store و Google Play لتصلك الأخبار العاجلة أولا بأول."

const copyright = "جميع الحقوق محفوظة © 2015 لمؤسسة الصحيفة للصحافة والنشر. يمنع النسخ أو إعادة النشر دون إذن مكتوب."

const newsletter = "اشترك في النشرة البريدية ليصلك ملخص أهم الأخبار يوميا على بريدك الإلكتروني."

const cookies = "نستخدم ملفات تعريف الارتباط لتحسين تجربتك على موقعنا، وباستمرارك في التصفح فإنك توافق على سياسة الخصوصية."

func head(b *strings.Builder, a article, charset string) {
	fmt.Fprintf(b, `<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="%s"><title>%s | صحيفة %s</title>`, charset, esc(a.title), esc(a.source))
	fmt.Fprintf(b, `<meta property="og:title" content="%s"><meta property="og:image" content="/media/%s.jpg">`, esc(a.title), esc(a.source))
	if !a.published.IsZero() {
		fmt.Fprintf(b, `<meta property="article:published_time" content="%s">`, a.published.Format(time.RFC3339))
	}
	if a.author != "" {
		fmt.Fprintf(b, `<meta name="author" content="%s">`, esc(a.author))
	}
	b.WriteString(`<style>body{direction:rtl;font-family:Tahoma}</style><script>var ads=[];window.dataLayer=[];</script></head>`)
}

func navList(b *strings.Builder, class string) {
	fmt.Fprintf(b, `<ul class="%s">`, class)
	for i, s := range sections {
		fmt.Fprintf(b, `<li><a href="/section/%d">%s</a></li>`, i, s)
	}
	b.WriteString(`</ul>`)
}

func shareLinks(b *strings.Builder, class string) {
	fmt.Fprintf(b, `<div class="%s"><span>شارك الخبر:</span> <a href="#">فيسبوك</a> <a href="#">تويتر</a> <a href="#">واتساب</a> <a href="#">تيليجرام</a> <a href="#">نسخ الرابط</a></div>`, class)
}

func link(o article) string { return fmt.Sprintf(`<a href="%s">%s</a>`, esc(o.url), esc(o.title)) }

// pick returns others[i:j] within bounds.
func pick(others []article, i, j int) []article {
	i, j = min(i, len(others)), min(j, len(others))
	return others[i:j]
}

// portal: a news portal with class names that say what each block is; "read also" sits
// inside the article body, after its second paragraph.
func portal(b *strings.Builder, a article, others []article) {
	head(b, a, "utf-8")
	b.WriteString(`<body><div class="header"><div class="logo"><a href="/">صحيفة ` + esc(a.source) + `</a></div>`)
	navList(b, "menu main-menu")
	b.WriteString(`</div><div class="breaking-news"><strong>عاجل</strong><marquee>`)
	for _, o := range pick(others, 0, 3) {
		b.WriteString(`<span>` + esc(o.title) + `</span> ● `)
	}
	b.WriteString(`</marquee></div><div class="container"><div class="main-col"><div class="article">`)
	b.WriteString(`<div class="breadcrumbs"><a href="/">الرئيسية</a> » <a href="/local">محليات</a></div>`)
	fmt.Fprintf(b, `<h1 class="title">%s</h1><div class="meta"><span class="date">نشر في: %s</span>`, esc(a.title), arabicDate(a.published))
	if a.author != "" {
		fmt.Fprintf(b, ` <span class="author">%s</span>`, esc(a.author))
	}
	b.WriteString(`</div>`)
	shareLinks(b, "share-buttons top")
	b.WriteString(`<div class="article-body">`)
	for i, p := range a.paras {
		fmt.Fprintf(b, `<p>%s</p>`, esc(p))
		if i == 1 && len(others) > 3 {
			b.WriteString(`<div class="read-also"><strong>اقرأ أيضا:</strong> ` + link(others[3]) + `</div>`)
		}
	}
	b.WriteString(`</div><div class="tags">الوسوم: <a href="#">السعودية</a> <a href="#">الرياض</a> <a href="#">أخبار</a></div>`)
	shareLinks(b, "share-buttons bottom")
	fmt.Fprintf(b, `<div id="comments" class="comments"><h3>التعليقات (%d)</h3>`, len(comments))
	for _, c := range comments {
		fmt.Fprintf(b, `<div class="comment"><span class="comment-author">%s</span><p>%s</p></div>`, esc(c.name), esc(c.text))
	}
	b.WriteString(`<form><textarea></textarea><button>أرسل تعليقك</button></form></div></div></div>`)
	b.WriteString(`<div class="sidebar"><div class="most-read"><h3>الأكثر قراءة</h3><ol>`)
	for _, o := range pick(others, 4, 8) {
		fmt.Fprintf(b, `<li>%s<p>%s</p></li>`, link(o), esc(o.lead))
	}
	b.WriteString(`</ol></div><div class="ad-box">إعلان</div></div></div>`)
	fmt.Fprintf(b, `<div class="footer"><p>%s</p><p>%s</p>`, esc(appFooter), esc(copyright))
	navList(b, "footer-links")
	b.WriteString(`</div></body></html>`)
}

// semantic: HTML5 elements (header, nav, article, aside, footer); the text is one block of
// lines separated by <br><br>, and the related stories, with their leads, sit inside <article>.
func semantic(b *strings.Builder, a article, others []article) {
	head(b, a, "utf-8")
	b.WriteString(`<body><header><nav>`)
	navList(b, "nav")
	b.WriteString(`</nav><div class="ticker"><span>آخر الأخبار</span><ul>`)
	for _, o := range pick(others, 0, 3) {
		b.WriteString(`<li>` + link(o) + `</li>`)
	}
	b.WriteString(`</ul></div></header><main><article>`)
	fmt.Fprintf(b, `<header><h1>%s</h1>`, esc(a.title))
	if a.author != "" {
		fmt.Fprintf(b, `<p class="byline">بقلم: %s</p>`, esc(a.author))
	}
	fmt.Fprintf(b, `<time datetime="%s">%s</time></header>`, a.published.Format(time.RFC3339), arabicDate(a.published))
	b.WriteString(`<div class="entry-content">`)
	for i, p := range a.paras {
		if i > 0 {
			b.WriteString("<br><br>\n")
		}
		b.WriteString(esc(p))
	}
	b.WriteString(`</div>`)
	shareLinks(b, "social-share")
	b.WriteString(`<aside class="related-posts"><h2>أخبار ذات صلة</h2>`)
	for _, o := range pick(others, 3, 6) {
		fmt.Fprintf(b, `<div class="post"><h3>%s</h3><p>%s</p></div>`, link(o), esc(o.lead))
	}
	b.WriteString(`</aside><section class="comments"><h2>التعليقات</h2>`)
	for _, c := range comments {
		fmt.Fprintf(b, `<div class="comment"><b>%s</b><p>%s</p></div>`, esc(c.name), esc(c.text))
	}
	b.WriteString(`</section></article><aside class="widget"><h2>الأكثر قراءة</h2><ul>`)
	for _, o := range pick(others, 6, 8) {
		fmt.Fprintf(b, `<li>%s<p>%s</p></li>`, link(o), esc(o.lead))
	}
	fmt.Fprintf(b, `</ul></aside></main><footer><p>%s</p><p>%s</p><p>%s</p></footer></body></html>`, esc(newsletter), esc(appFooter), esc(copyright))
}

// legacy: a table layout in windows-1256 with meaningless class names; paragraphs are lines
// of one cell separated by <br>; "most read" is a table beside it.
func legacy(b *strings.Builder, a article, others []article) {
	head(b, a, "windows-1256")
	b.WriteString(`<body bgcolor="#ffffff"><table width="980" align="center"><tr><td colspan="2" class="t0">`)
	for i, s := range sections {
		fmt.Fprintf(b, `<a class="m1" href="/s%d.html">%s</a> | `, i, s)
	}
	b.WriteString(`</td></tr><tr><td colspan="2" class="t9"><b>عاجل:</b> `)
	for _, o := range pick(others, 0, 2) {
		b.WriteString(esc(o.title) + ` ... `)
	}
	b.WriteString(`</td></tr><tr><td width="680" valign="top" class="t1">`)
	fmt.Fprintf(b, `<font size="5" color="#003366"><b>%s</b></font><br><span class="d2">%s</span><br><br>`, esc(a.title), arabicDate(a.published))
	b.WriteString(`<span class="f14">`)
	for i, p := range a.paras {
		if i > 0 {
			b.WriteString("<br>\n")
		}
		b.WriteString(esc(p))
	}
	b.WriteString(`</span><br><br><table class="t3"><tr><td>طباعة</td><td>إرسال لصديق</td><td>حفظ</td><td>تويتر</td><td>فيسبوك</td></tr></table>`)
	b.WriteString(`<table class="t4"><tr><td><b>مواد ذات صلة</b></td></tr>`)
	for _, o := range pick(others, 2, 4) {
		fmt.Fprintf(b, `<tr><td>%s<br>%s</td></tr>`, link(o), esc(o.lead))
	}
	b.WriteString(`</table></td><td width="300" valign="top" class="t2"><table><tr><td><b>الأكثر قراءة</b></td></tr>`)
	for _, o := range pick(others, 4, 8) {
		fmt.Fprintf(b, `<tr><td>%s<br><font size="2">%s</font></td></tr>`, link(o), esc(o.lead))
	}
	fmt.Fprintf(b, `</table></td></tr><tr><td colspan="2" class="t5">%s<br>%s</td></tr></table></body></html>`, esc(appFooter), esc(copyright))
}

// agency: a news agency's page; the text is in <p> elements and, in the same container, a
// "more news" grid of cards with a title, a lead and a date each.
func agency(b *strings.Builder, a article, others []article) {
	head(b, a, "utf-8")
	fmt.Fprintf(b, `<body><div id="cookie-banner">%s <button>موافق</button></div><div id="wrapper"><div id="top">`, esc(cookies))
	navList(b, "nav-menu")
	b.WriteString(`</div><div class="news-ticker"><ul>`)
	for _, o := range pick(others, 0, 3) {
		b.WriteString(`<li>` + link(o) + `</li>`)
	}
	b.WriteString(`</ul></div><div id="content"><div class="news-details">`)
	fmt.Fprintf(b, `<h2>%s</h2><span class="date">%s</span>`, esc(a.title), arabicDate(a.published))
	b.WriteString(`<div class="text">`)
	for _, p := range a.paras {
		fmt.Fprintf(b, `<p>%s</p>`, esc(p))
	}
	b.WriteString(`</div>`)
	shareLinks(b, "share")
	b.WriteString(`<div class="more-news"><h3>المزيد من الأخبار</h3>`)
	for _, o := range pick(others, 3, 8) {
		fmt.Fprintf(b, `<div class="card"><a href="%s"><img src="/img/%s.jpg"></a><h4>%s</h4><p>%s</p><span>%s</span></div>`, esc(o.url), esc(o.source), link(o), esc(o.lead), arabicDate(o.published))
	}
	fmt.Fprintf(b, `</div></div></div><div id="newsletter"><p>%s</p><form><input type="email"><button>اشترك</button></form></div>`, esc(newsletter))
	fmt.Fprintf(b, `<div id="bottom"><p>%s</p><p>%s</p></div></div></body></html>`, esc(appFooter), esc(copyright))
}

// hashed: a modern front end's markup: divs with generated class names and nothing but their
// headings to say what a block is; paragraphs are divs.
func hashed(b *strings.Builder, a article, others []article) {
	head(b, a, "utf-8")
	b.WriteString(`<body><div id="__next"><div class="x1a9f"><div class="k3b7">`)
	for i, s := range sections {
		fmt.Fprintf(b, `<div class="q8d2"><a href="/c/%d">%s</a></div>`, i, s)
	}
	b.WriteString(`</div></div><div class="r5t1"><div class="w2e4"><span class="z9">عاجل</span>`)
	for _, o := range pick(others, 0, 2) {
		b.WriteString(`<div class="y7u">` + link(o) + `</div>`)
	}
	b.WriteString(`</div><div class="p0o9"><div class="m4n6">`)
	fmt.Fprintf(b, `<h1 class="h7g5">%s</h1><div class="v3c2">%s</div>`, esc(a.title), arabicDate(a.published))
	b.WriteString(`<div class="j8k1">`)
	for i, p := range a.paras {
		fmt.Fprintf(b, `<div class="l2p5" dir="rtl">%s</div>`, esc(p))
		if i == 0 && len(others) > 2 {
			fmt.Fprintf(b, `<div class="e5r6"><span>اقرأ أيضاً</span>%s</div>`, link(others[2]))
		}
	}
	b.WriteString(`</div><div class="g6h8"><span>شارك</span><a href="#">X</a><a href="#">f</a><a href="#">in</a></div>`)
	b.WriteString(`<div class="s1d4"><div class="f9g2">قد يعجبك أيضا</div>`)
	for _, o := range pick(others, 3, 5) {
		fmt.Fprintf(b, `<div class="c5v7">%s<div class="b8n3">%s</div></div>`, link(o), esc(o.lead))
	}
	b.WriteString(`</div></div><div class="a2s5"><div class="f9g2">الأكثر قراءة</div>`)
	for _, o := range pick(others, 5, 8) {
		fmt.Fprintf(b, `<div class="c5v7">%s<div class="b8n3">%s</div></div>`, link(o), esc(o.lead))
	}
	fmt.Fprintf(b, `</div></div></div><div class="u6i8"><div>%s</div><div>%s</div></div></div></body></html>`, esc(appFooter), esc(copyright))
}

// blog: a WordPress news site. It was written after the extractor had been tuned on the
// other templates, to measure how the tuning carries over: its related-posts block is headed
// by words no other template uses ("مقالات مشابهة"), and its inline "read also" is a <p>
// followed by a list, as siblings inside the text.
func blog(b *strings.Builder, a article, others []article) {
	head(b, a, "utf-8")
	b.WriteString(`<body class="single single-post"><div id="page" class="site"><header id="masthead" class="site-header"><p class="site-title"><a href="/">` + esc(a.source) + `</a></p>`)
	navList(b, "primary-menu")
	b.WriteString(`</header><div class="newsticker"><span>عاجل</span><ul>`)
	for _, o := range pick(others, 0, 2) {
		b.WriteString(`<li>` + link(o) + `</li>`)
	}
	b.WriteString(`</ul></div><div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">`)
	fmt.Fprintf(b, `<article class="post type-post status-publish"><header class="entry-header"><h1 class="entry-title">%s</h1>`, esc(a.title))
	fmt.Fprintf(b, `<div class="entry-meta"><span class="posted-on"><time class="entry-date published" datetime="%s">%s</time></span>`, a.published.Format(time.RFC3339), arabicDate(a.published))
	if a.author != "" {
		fmt.Fprintf(b, ` <span class="byline">كتب: <a href="/author/1">%s</a></span>`, esc(a.author))
	}
	b.WriteString(`</div></header><div class="entry-content">`)
	for i, p := range a.paras {
		fmt.Fprintf(b, "<p>%s</p>\n", esc(p))
		if i == len(a.paras)/2 && len(others) > 3 {
			b.WriteString(`<p><strong>اقرأ أيضًا:</strong></p><ul>`)
			for _, o := range pick(others, 2, 4) {
				b.WriteString(`<li>` + link(o) + `</li>`)
			}
			b.WriteString(`</ul>`)
		}
	}
	b.WriteString(`<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">شارك هذا:</h3><ul><li><a href="#">تويتر</a></li><li><a href="#">فيسبوك</a></li></ul></div>`)
	b.WriteString(`</div><footer class="entry-footer"><span class="cat-links">نشرت في <a href="/cat/local">محليات</a></span></footer></article>`)
	b.WriteString(`<div class="yarpp yarpp-related"><h3>مقالات مشابهة</h3><ol>`)
	for _, o := range pick(others, 4, 6) {
		fmt.Fprintf(b, `<li>%s<small>%s</small><p>%s</p></li>`, link(o), arabicDate(o.published), esc(o.lead))
	}
	fmt.Fprintf(b, `</ol></div><div id="comments" class="comments-area"><h2 class="comments-title">%d تعليقات على “%s”</h2><ol class="comment-list">`, len(comments), esc(a.title))
	for _, c := range comments {
		fmt.Fprintf(b, `<li class="comment"><article class="comment-body"><footer class="comment-meta"><b class="fn">%s</b></footer><div class="comment-content"><p>%s</p></div></article></li>`, esc(c.name), esc(c.text))
	}
	b.WriteString(`</ol></div></main></div><aside id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">الأكثر مشاهدة</h2><ul>`)
	for _, o := range pick(others, 6, 8) {
		fmt.Fprintf(b, `<li>%s<p>%s</p></li>`, link(o), esc(o.lead))
	}
	fmt.Fprintf(b, `</ul></section></aside></div><footer id="colophon" class="site-footer"><div class="site-info">%s | مدعوم بواسطة ووردبريس</div></footer></div></body></html>`, esc(copyright))
}
