package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// arabicSentences returns sentences of the chardet sample paragraph, decoded from windows-1256.
func arabicSentences(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "encodings", "chardet_windows-1256_chromium_sample.html"))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	text, err := charmap.Windows1256.NewDecoder().Bytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	body := string(text)
	body = body[strings.Index(body, "<body"):]
	body = body[strings.Index(body, ">")+1 : strings.Index(body, "</body>")]
	var out []string
	for _, s := range regexp.MustCompile(`[.،"/]`).Split(body, -1) {
		if s = strings.Join(strings.Fields(s), " "); len([]rune(s)) > 12 {
			out = append(out, s)
		}
	}
	if len(out) < 4 {
		t.Fatalf("only %d sentences in the sample", len(out))
	}
	return out
}

type hostileItem struct{ title, link, pubDate string }

func rssBody(decl string, items []hostileItem) string {
	var b strings.Builder
	b.WriteString(decl + `<rss version="2.0"><channel><title>t</title><link>https://hostile.example/</link>`)
	for _, it := range items {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s</link><description>%s</description><pubDate>%s</pubDate></item>",
			it.title, it.link, it.title, it.pubDate)
	}
	b.WriteString("</channel></rss>")
	return b.String()
}

func encode(t *testing.T, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// TestHostileFeeds runs one `feedd run --once` (timeout 5s, max_body 4MiB) over feeds in legacy
// charsets, with Arabic dates, gzip-encoded, moved, and over servers that fail in every way a
// server can. The good feeds' items arrive with exact titles and UTC dates; each bad one fails
// alone and is counted; the run ends within a minute in under 300 MB.
func TestHostileFeeds(t *testing.T) {
	bin := buildFeedd(t)
	sentences := arabicSentences(t)
	wants := map[string]hostileWant{} // by link
	items := func(feed string, n int, pubDate string, date time.Time) []hostileItem {
		var out []hostileItem
		for i := range n {
			title := sentences[(len(wants)+i)%len(sentences)] + fmt.Sprintf(" %s %d", feed, i)
			link := fmt.Sprintf("https://hostile.example/%s/%d", feed, i)
			out = append(out, hostileItem{title, link, pubDate})
			wants[link] = hostileWant{title, date}
		}
		return out
	}
	rfc := "Sun, 12 Oct 2025 10:30:00 +0300"
	at := time.Date(2025, 10, 12, 7, 30, 0, 0, time.UTC)

	mux := http.NewServeMux()
	serve := func(path, contentType string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Write(body)
		})
	}
	// Legacy charsets, named only in the HTTP header or only in the XML declaration.
	serve("/cp1256-header.xml", "application/rss+xml; charset=windows-1256",
		encode(t, charmap.Windows1256, rssBody(`<?xml version="1.0"?>`, items("cp1256-header", 3, rfc, at))))
	serve("/cp1256-decl.xml", "application/rss+xml",
		encode(t, charmap.Windows1256, rssBody(`<?xml version="1.0" encoding="windows-1256"?>`, items("cp1256-decl", 3, rfc, at))))
	serve("/iso88596-header.xml", "text/xml; charset=ISO-8859-6",
		encode(t, charmap.ISO8859_6, rssBody(`<?xml version="1.0"?>`, items("iso88596-header", 3, rfc, at))))
	serve("/iso88596-decl.xml", "application/xml",
		encode(t, charmap.ISO8859_6, rssBody(`<?xml version="1.0" encoding="ISO-8859-6"?>`, items("iso88596-decl", 3, rfc, at))))
	// Arabic dates.
	arabicDates := append(items("dates-egypt", 2, "الأحد، 12 أكتوبر 2025 10:30 +0300", at),
		items("dates-levant", 2, "١٢ تشرين الأول ٢٠٢٥ ١٠:٣٠ +0300", at)...)
	serve("/arabic-dates.xml", "application/rss+xml; charset=utf-8", []byte(rssBody(`<?xml version="1.0" encoding="UTF-8"?>`, arabicDates)))
	// gzip on the wire.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(rssBody(`<?xml version="1.0" encoding="UTF-8"?>`, items("gzip", 3, rfc, at))))
	zw.Close()
	mux.HandleFunc("/gzip.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	})
	// A feed that moved for good.
	mux.Handle("/moved.xml", http.RedirectHandler("/new-home.xml", http.StatusMovedPermanently))
	serve("/new-home.xml", "application/rss+xml", []byte(rssBody("", items("moved", 3, rfc, at))))

	// Servers that fail.
	mux.HandleFunc("/500.xml", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/429.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	mux.HandleFunc("/slow.xml", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/endless.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>`))
		chunk := bytes.Repeat([]byte("لا نهاية "), 1000)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	bomb := gzipBomb(t, 2<<30)
	mux.HandleFunc("/bomb.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	})
	serve("/html.xml", "text/html", []byte("<!DOCTYPE html><html><body><p>صفحة</p></body></html>"))
	serve("/empty.xml", "application/rss+xml", nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	good := []string{"cp1256-header", "cp1256-decl", "iso88596-header", "iso88596-decl", "arabic-dates", "gzip", "moved"}
	bad := []string{"500", "429", "404", "slow", "endless", "bomb", "html", "empty"}
	var cfg strings.Builder
	ns := natsServer(t, t.TempDir())
	fmt.Fprintf(&cfg, "data_dir: %q\nlog:\n  level: warn\nnats:\n  url: %q\nhttp:\n  listen: \"\"\npoll:\n  timeout: 5s\n  max_body: 4MiB\n  host_gap: 0s\n  per_host: 16\nfeeds:\n", t.TempDir(), ns.ClientURL())
	for _, id := range append(good, bad...) {
		fmt.Fprintf(&cfg, "  - id: %s\n    url: %s/%s.xml\n", id, srv.URL, id)
	}
	cfgPath := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	cmd := exec.Command(bin, "run", "--once", "--timeout", "1m", "--config", cfgPath)
	cmd.Env = withoutFeeddEnv(os.Environ())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	took := time.Since(start)
	maxRSS := peak()
	if err != nil {
		t.Fatalf("run --once: %v\n%s", err, stderr.String())
	}
	out := stdout.Bytes()
	t.Logf("run took %v, peak RSS %d MiB", took.Round(time.Millisecond), maxRSS>>20)
	if took > time.Minute {
		t.Errorf("run took %v, want under a minute", took)
	}
	if maxRSS > 300<<20 {
		t.Errorf("peak RSS %d MiB, want under 300", maxRSS>>20)
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if s.Feeds != len(good)+len(bad) || s.Fetched != len(good) || s.Failed != len(bad) {
		t.Errorf("summary %+v, want %d fetched and %d failed", s, len(good), len(bad))
	}
	for _, id := range bad {
		if !strings.Contains(stderr.String(), "feed="+id+" ") {
			t.Errorf("no log line for the failure of feed %s", id)
		}
	}

	msgs := streamMessages(t, ns.ClientURL(), "ARTICLES")
	if len(msgs) != len(wants) {
		t.Errorf("stream has %d articles, want %d", len(msgs), len(wants))
	}
	for _, m := range msgs {
		checkHostileArticle(t, m, wants)
	}
}

type hostileWant struct {
	title string
	date  time.Time
}

func checkHostileArticle(t *testing.T, m jetstream.Msg, wants map[string]hostileWant) {
	t.Helper()
	var a struct {
		URL         string    `json:"url"`
		Title       string    `json:"title"`
		PublishedAt time.Time `json:"published_at"`
		Guessed     bool      `json:"published_at_guessed"`
	}
	if err := json.Unmarshal(m.Data(), &a); err != nil {
		t.Fatal(err)
	}
	w, ok := wants[a.URL]
	if !ok {
		t.Errorf("unexpected article %s", a.URL)
		return
	}
	if a.Title != w.title {
		t.Errorf("%s: title %q, want %q", a.URL, a.Title, w.title)
	}
	if !a.PublishedAt.Equal(w.date) || a.Guessed {
		t.Errorf("%s: published_at %v (guessed %v), want %v", a.URL, a.PublishedAt, a.Guessed, w.date)
	}
}

// gzipBomb returns a small gzip stream that inflates to n zero bytes: one member of 1 MiB of
// zeros, repeated (a multi-member stream is valid gzip).
func gzipBomb(t *testing.T, n int64) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(member.Bytes(), int(n>>20))
}

// watchPeakRSS follows a process's peak resident set (VmHWM, which belongs to the process's own
// address space, unlike the rusage of a child that also counts the parent's pages it was forked
// with) until it exits, and returns a function giving the peak seen, in bytes.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				return
			}
			var kb int64
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				}
				if strings.HasPrefix(line, "State:") && strings.Contains(line, "zombie") {
					return
				}
			}
			if kb<<10 > peak.Load() {
				peak.Store(kb << 10)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		return peak.Load()
	}
}
