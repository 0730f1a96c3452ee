package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/config"
	"golang.org/x/net/html"
)

// outletNames name the corpus feeds as a user would, in Arabic where the outlet does.
var outletNames = map[string]string{
	"alaraby": "العربي الجديد", "aljazeera": "الجزيرة", "alhurra": "الحرة", "arabi21": "عربي21",
	"aawsat": "الشرق الأوسط", "cnnarabic": "CNN بالعربية", "elaph": "إيلاف", "hespress": "هسبريس",
	"rtarabic": "RT Arabic", "skynews-a": "سكاي نيوز عربية", "skynews-b": "سكاي نيوز عربية (2)",
}

// scriptTitle is a title a hostile feed gets through: the feed writes it escaped as text (the
// pipeline strips markup from titles, so a bare <script> element would not survive). The page
// must show it as text.
const scriptTitle = `<script>document.title="pwned"</script> عنوان خطير`

// hostileFeed serves, at /hostile.xml, a copy of the first Al Jazeera item under another link (a
// duplicate) and an item whose title is markup.
func hostileFeed(t *testing.T, corpusFeedsDir string) *httptest.Server {
	t.Helper()
	aj, err := os.ReadFile(filepath.Join(corpusFeedsDir, corpusFeeds["aljazeera"]))
	if err != nil {
		t.Fatal(err)
	}
	item := regexp.MustCompile(`(?s)<item>.*?</item>`).Find(aj)
	if item == nil {
		t.Fatal("no item in the Al Jazeera feed")
	}
	item = regexp.MustCompile(`(?s)<link>.*?</link>`).ReplaceAll(item, []byte("<link>https://copies.example/story-1</link>"))
	item = regexp.MustCompile(`(?s)<guid[^>]*>.*?</guid>`).ReplaceAll(item, []byte("<guid>copy-1</guid>"))
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Copies</title><link>https://copies.example/</link><description>x</description>`)
	b.Write(item)
	b.WriteString(`<item><title>`)
	b.WriteString(html.EscapeString(html.EscapeString(scriptTitle)))
	b.WriteString(`</title><link>https://copies.example/hostile</link><guid>hostile-1</guid><description>نص الخبر &lt;img src=x onerror=alert(1)&gt;</description><pubDate>Mon, 07 Dec 2026 10:00:00 +0000</pubDate></item></channel></rss>`)
	body := b.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hostile.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// findChromium returns a headless-capable Chromium, or "".
func findChromium() string {
	if p := os.Getenv("FEEDD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium runs headless Chromium with a fresh profile on args, and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--lang=en-US"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// TestStatusPageInBrowser runs a daemon in the test's process over the corpus feeds, a failing
// feed and a hostile one, and loads its status page in headless Chromium: the rendered page
// shows the corpus's Arabic titles right to left, the duplicate, the failing feed, and the
// hostile title as text. The screenshot is status.png in the test's artifact directory
// (go test -artifacts keeps it).
func TestStatusPageInBrowser(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("no Chromium found (chromium, chromium-browser, google-chrome or $FEEDD_CHROMIUM): " +
			"install Debian's chromium package (.ci/run does) to run the status page in a browser")
	}
	srv := feedServer(t)
	hostile := hostileFeed(t, needCorpus(t))

	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nnats:\n  listen: \"\"\nhttp:\n  listen: %q\n", t.TempDir(), freeAddr(t))
	// One feed at a time, in this order: the hostile feed's items are the latest recorded.
	fmt.Fprintf(&b, "poll:\n  timeout: 10s\n  concurrency: 1\n  host_gap: 0s\nfeeds:\n")
	for _, id := range slices.Sorted(mapKeys(corpusFeeds)) {
		fmt.Fprintf(&b, "  - {id: %s, url: %q, name: %q}\n", id, srv.URL+"/"+id+".xml", outletNames[id])
	}
	fmt.Fprintf(&b, "  - {id: gone, url: %q, name: \"Gone Daily\", language: en}\n", srv.URL+"/gone.xml")
	fmt.Fprintf(&b, "  - {id: copies, url: %q, name: \"نسخ\"}\n", hostile.URL+"/hostile.xml")
	cfgPath := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	d := startInProcess(t, ctx, cfg)
	counts := d.pipe.PollAll(ctx)
	if counts.New < 100 || counts.Duplicates < 1 || counts.Failed != 1 {
		t.Fatalf("got %+v, want the corpus's stories, a duplicate and one failed feed", counts)
	}
	recent, err := d.store.Recent(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	pageURL := "http://" + d.ops.Addr() + "/"

	dom := chromium(t, bin, "--dump-dom", pageURL)
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	var (
		text      strings.Builder
		scripts   int
		docTitle  string
		rtlTitles = map[string]bool{} // text of the title cells with dir="rtl"
	)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.ElementNode && n.Data == "script":
			scripts++
		case n.Type == html.ElementNode && n.Data == "style":
			return
		case n.Type == html.ElementNode && n.Data == "title" && n.FirstChild != nil:
			docTitle = n.FirstChild.Data
		case n.Type == html.ElementNode && n.Data == "td" && attrOf(n, "class") == "title" && attrOf(n, "dir") == "rtl":
			rtlTitles[strings.TrimSpace(textOf(n))] = true
		case n.Type == html.TextNode:
			text.WriteString(n.Data)
			text.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	rendered := strings.Join(strings.Fields(text.String()), " ")

	if scripts != 0 || docTitle != "feedd status" {
		t.Errorf("got %d script elements and document title %q: the hostile title ran", scripts, docTitle)
	}
	if !strings.Contains(rendered, scriptTitle) || !rtlTitles[scriptTitle] {
		t.Errorf("the hostile title is not shown as right-to-left text %q:\n%s", scriptTitle, rendered)
	}
	arabic := regexp.MustCompile(`\p{Arabic}`)
	shown := 0
	for _, a := range recent {
		title := strings.Join(strings.Fields(a.Title), " ")
		if !strings.Contains(rendered, title) {
			t.Errorf("title %q not rendered", title)
		}
		if arabic.MatchString(title) && rtlTitles[title] {
			shown++
		}
	}
	if shown < 40 {
		t.Errorf("%d of the %d latest titles shown in Arabic right to left, want most of them", shown, len(recent))
	}
	for _, want := range []string{
		"duplicate of", "Feeds: 13 (12 ok, 1 failing, 0 never polled)", "Gone Daily gone failing",
		"http_status (404)", "الجزيرة aljazeera ok", "outbox: 0 unsent", "ready",
	} {
		if !strings.Contains(rendered, want) {
			t.Errorf("rendered page does not say %q:\n%s", want, rendered)
		}
	}

	shot := filepath.Join(t.ArtifactDir(), "status.png")
	chromium(t, bin, "--screenshot="+shot, "--window-size=1400,1800", "--hide-scrollbars", pageURL)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if r := img.Bounds(); r.Dx() != 1400 || r.Dy() != 1800 {
		t.Errorf("screenshot is %v, want 1400x1800", r)
	}
	t.Logf("screenshot: %s", shot)
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}
