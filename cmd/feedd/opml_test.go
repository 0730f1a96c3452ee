package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/feedd/feedd/opml"
)

// TestFeedsImportExportRoundTrip imports each reader's export as a configuration, checks that
// the configuration is valid, exports it again, and finds every feed's URL and title.
func TestFeedsImportExportRoundTrip(t *testing.T) {
	validID := regexp.MustCompile(`^[a-z0-9_-]+$`)
	for _, file := range []string{"miniflux.opml", "freshrss.opml", "feedly.opml"} {
		t.Run(file, func(t *testing.T) {
			src := filepath.Join("..", "..", "opml", "testdata", file)
			f, err := os.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := opml.Parse(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}

			var yaml, stderr bytes.Buffer
			if code := run(context.Background(), []string{"feeds", "import", src}, &yaml, &stderr); code != 0 {
				t.Fatalf("feeds import: exit %d\n%s", code, stderr.String())
			}
			cfgPath := filepath.Join(t.TempDir(), "feedd.yaml")
			if err := os.WriteFile(cfgPath, yaml.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			stderr.Reset()
			if code := run(context.Background(), []string{"check", "--config", cfgPath}, &bytes.Buffer{}, &stderr); code != 0 {
				t.Fatalf("check on the imported feeds: exit %d\n%s\n%s", code, stderr.String(), yaml.String())
			}

			var out bytes.Buffer
			stderr.Reset()
			if code := run(context.Background(), []string{"feeds", "export", "--config", cfgPath}, &out, &stderr); code != 0 {
				t.Fatalf("feeds export: exit %d\n%s", code, stderr.String())
			}
			back, err := opml.Parse(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatalf("reading the export: %v\n%s", err, out.String())
			}
			if back.Version != "2.0" {
				t.Errorf("export version %q, want 2.0", back.Version)
			}
			if len(back.Feeds) != len(orig.Feeds) || len(back.Invalid) != 0 {
				t.Fatalf("export has %d feeds (%d invalid), want %d\n%s", len(back.Feeds), len(back.Invalid), len(orig.Feeds), out.String())
			}
			for i, o := range orig.Feeds {
				if b := back.Feeds[i]; b.XMLURL != o.XMLURL || b.Title != o.Title {
					t.Errorf("feed %d: got %q %q, want %q %q", i, b.Title, b.XMLURL, o.Title, o.XMLURL)
				}
			}
			// The ids are what config accepts, and unique (check passed), and not all alike.
			for _, m := range regexp.MustCompile(`(?m)^  - id: (\S+)`).FindAllStringSubmatch(yaml.String(), -1) {
				if !validID.MatchString(m[1]) || m[1] == "feed" {
					t.Errorf("id %q: want a name from the title or host", m[1])
				}
			}
		})
	}
}

func TestFeedID(t *testing.T) {
	tests := []struct{ title, url, want string }{
		{"BBC News عربي", "https://feeds.bbci.co.uk/arabic/rss.xml", "bbc-news"},
		{"الجزيرة نت", "https://www.aljazeera.net/aljazeerarss/x", "aljazeera"},
		{"الجزيرة نت", "https://feeds.bbci.co.uk/arabic/rss.xml", "bbci"},
		{"اليوم السابع", "https://m.youm7.com.eg/rss", "youm7"},
		{"DW عربية", "https://rss.dw.com/rdf/rss-ar-all", "dw"},
		{"", "http://127.0.0.1:8080/feed.xml", "127-0-0-1"},
		{"", "https://موقع.مصر/rss", "feed"},
		{"Le Monde — À la une", "https://www.lemonde.fr/rss/une.xml", "le-monde-a-la-une"},
		{"Süddeutsche Zeitung", "https://rss.sueddeutsche.de/rss/Topthemen", "suddeutsche-zeitung"},
		{"A very long title that goes on and on and on beyond forty characters", "https://x.example/", "a-very-long-title-that-goes-on-and-on-an"},
	}
	for _, tt := range tests {
		if got := feedID(tt.title, tt.url); got != tt.want {
			t.Errorf("feedID(%q, %q) = %q, want %q", tt.title, tt.url, got, tt.want)
		}
	}
}

func TestFeedsImportRefusesBadOPML(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, doc string
		args      []string
		code      int
		stdout    bool     // something printed on stdout
		want      []string // in stderr
	}{
		{"not OPML", "<rss version=\"2.0\"><channel/></rss>", nil, 2, false,
			[]string{"not an OPML document", "<rss>"}},
		{"not XML", "feeds:\n  - a\n", nil, 2, false, []string{"not an OPML document"}},
		{"no feeds", "<opml><body><outline text=\"empty folder\"/></body></opml>", nil, 2, false,
			[]string{"no feeds"}},
		{"bad entries named", "<opml><body>\n<outline text=\"good\" xmlUrl=\"https://a.example/rss\"/>\n" +
			"<outline text=\"قناة\" xmlUrl=\"javascript:alert(1)\"/>\n<outline text=\"rel\" xmlUrl=\"feed.xml\"/>\n</body></opml>",
			nil, 2, false,
			[]string{"2 unusable feed outlines", `line 3: outline "قناة": xmlUrl "javascript:alert(1)"`, `line 4: outline "rel"`}},
		{"bad entries skipped", "<opml><body>\n<outline text=\"good\" xmlUrl=\"https://a.example/rss\"/>\n" +
			"<outline text=\"bad\" xmlUrl=\"ftp://a.example/rss\"/>\n</body></opml>",
			[]string{"--skip-invalid"}, 0, true, []string{`skipped line 3: outline "bad"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".opml")
			if err := os.WriteFile(path, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"feeds", "import"}, tt.args...), path)
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr.String())
			}
			if (stdout.Len() > 0) != tt.stdout {
				t.Errorf("stdout %q, want output: %v", stdout.String(), tt.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}
