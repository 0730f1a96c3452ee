package feeddate

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/mmcdole/gofeed"
)

// TestParseCorpusFeeds parses every pubDate of the real Arabic feeds and compares it with the
// standard library's reading of RFC 1123.
func TestParseCorpusFeeds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testfeeds.Corpus(t), "feeds", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Skipf("no corpus feeds: %v", err)
	}
	dateRe := regexp.MustCompile(`<(pubDate|updated|published)>([^<]+)<`)
	n := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range dateRe.FindAllSubmatch(raw, -1) {
			s := string(m[2])
			layout := time.RFC1123Z
			if string(m[1]) != "pubDate" {
				layout = time.RFC3339
			}
			want, err := time.Parse(layout, s)
			if err != nil {
				t.Fatalf("%s: standard library: %v", filepath.Base(file), err)
			}
			got, err := Parse(s, nil)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(file), err)
				continue
			}
			if !got.Equal(want) {
				t.Errorf("%s: Parse(%q): got %s, want %s", filepath.Base(file), s, got, want)
			}
			n++
		}
	}
	if n < 150 {
		t.Errorf("got %d dates, want at least 150", n)
	}
}

// TestParseCorpusHeadlines parses the dates of the headline records: NewsAPI's RFC 3339 dates,
// Al Jazeera's day-first "24/1/2025", and every Arabic date written in the headlines' text.
func TestParseCorpusHeadlines(t *testing.T) {
	dir := filepath.Join(testfeeds.Corpus(t), "headlines")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no headlines: %v", err)
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}

	t.Run("newsapi publishedAt", func(t *testing.T) {
		re := regexp.MustCompile(`"publishedAt": *"([^"]+)"`)
		ms := re.FindAllSubmatch(all, -1)
		if len(ms) < 50 {
			t.Fatalf("got %d publishedAt, want at least 50", len(ms))
		}
		for _, m := range ms {
			want, err := time.Parse(time.RFC3339, string(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(string(m[1]), cairoWinter)
			if err != nil || !got.Equal(want) {
				t.Errorf("Parse(%q): got %s, %v, want %s", m[1], got, err, want)
			}
		}
	})

	t.Run("al jazeera day first", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "hassanInfo_aljazeera_article_raw.json"))
		if err != nil {
			t.Skip(err)
		}
		var recs []struct {
			Date string `json:"date"`
		}
		if err := json.Unmarshal(raw, &recs); err != nil || len(recs) == 0 {
			t.Fatalf("got %d records, %v, want one", len(recs), err)
		}
		rec := recs[0]
		got, err := Parse(rec.Date, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s := got.Format(time.DateOnly); s != "2025-01-24" {
			t.Errorf("Parse(%q): got %s, want 2025-01-24", rec.Date, s)
		}
	})

	t.Run("arabic dates in text", func(t *testing.T) {
		checkArabicDatesInText(t, string(all), 6)
	})
}

// TestParseCorpusSaudiNewsNet parses the crawl timestamps of one day of SaudiNewsNet and the
// Arabic dates written in its articles (a day that the corpus rules allow).
func TestParseCorpusSaudiNewsNet(t *testing.T) {
	zr, err := zip.OpenReader(filepath.Join(testfeeds.Corpus(t), "saudinewsnet", "2015-08-01.zip"))
	if err != nil {
		t.Skipf("saudinewsnet not available: %v", err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("got %d files in the zip, want 1", len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var articles []struct {
		DateExtracted string `json:"date_extracted"`
		Content       string `json:"content"`
	}
	if err := json.Unmarshal(raw, &articles); err != nil {
		t.Fatal(err)
	}
	riyadh := time.FixedZone("AST", 3*3600)
	var text strings.Builder
	for _, a := range articles {
		want, err := time.ParseInLocation(time.DateTime, a.DateExtracted, riyadh)
		if err != nil {
			continue // an empty field
		}
		got, err := Parse(a.DateExtracted, riyadh)
		if err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q): got %s, %v, want %s", a.DateExtracted, got, err, want)
		}
		text.WriteString(a.Content)
		text.WriteString("\n")
	}
	checkArabicDatesInText(t, text.String(), 25)
}

// arabicDateRe finds candidate dates in running text: a day, one to three Arabic words (a month,
// perhaps with its other name in parentheses or after a slash) and a four-digit year. Which
// words are months is left to Parse.
var arabicDateRe = regexp.MustCompile(`([0-9٠-٩]{1,2})\s+(\p{Arabic}+(?:\s+\p{Arabic}+)?(?:\s*\(\p{Arabic}+(?:\s\p{Arabic}+)?\)|\s*/\s*\p{Arabic}+)?)\s+(?:عام\s+)?([0-9٠-٩]{4})(?:\s*م)?`)

// checkArabicDatesInText parses every candidate date in text, with the word before it (a
// weekday, perhaps) and without. A candidate whose words are not a month may fail ("5 آلاف
// 2015"); one that parses must have the day and year written in it, and at least min must
// parse.
func checkArabicDatesInText(t *testing.T, text string, min int) {
	t.Helper()
	digits := strings.NewReplacer("٠", "0", "١", "1", "٢", "2", "٣", "3", "٤", "4", "٥", "5", "٦", "6", "٧", "7", "٨", "8", "٩", "9")
	parsed, failed := 0, 0
	for _, loc := range arabicDateRe.FindAllStringSubmatchIndex(text, -1) {
		s := text[loc[0]:loc[1]]
		before := strings.TrimRight(text[max(0, loc[0]-40):loc[0]], " ،,")
		if i := strings.LastIndexAny(before, " \n.:؛"); i >= 0 {
			before = before[i+1:]
		}
		got, err := Parse(before+" "+s, nil)
		if err != nil {
			if got, err = Parse(s, nil); err != nil {
				failed++
				continue
			}
		}
		parsed++
		day, _ := strconv.Atoi(digits.Replace(text[loc[2]:loc[3]]))
		year, _ := strconv.Atoi(digits.Replace(text[loc[6]:loc[7]]))
		if got.Day() != day || got.Year() != year {
			t.Errorf("Parse(%q): got %s, want day %d of %d", s, got.Format(time.DateOnly), day, year)
		}
	}
	t.Logf("%d Arabic dates in text parsed, %d candidates were not dates", parsed, failed)
	if parsed < min {
		t.Errorf("parsed %d Arabic dates, want at least %d", parsed, min)
	}
}

// TestParseFeedparserExpectations checks the dates of feedparser's tests against the parsed
// tuples they expect (year, month, day, hour, minute, second in UTC).
func TestParseFeedparserExpectations(t *testing.T) {
	dir := filepath.Join(testfeeds.Corpus(t), "peer-tests", "feedparser", "wellformed")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	expectRe := regexp.MustCompile(`_parsed'\] == \((\d+), (\d+), (\d+), (\d+), (\d+), (\d+),`)
	dateRe := regexp.MustCompile(`<(pubDate|dc:date|dcterms:created|dcterms:issued|dcterms:modified|updated|published|modified|created|issued|lastBuildDate|expirationDate)>([^<]+)<`)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		em := expectRe.FindSubmatch(raw)
		dates := dateRe.FindAllSubmatch(raw, -1)
		if em == nil || len(dates) == 0 {
			return nil
		}
		var f [6]int
		for i := range f {
			f[i], _ = strconv.Atoi(string(em[i+1]))
		}
		want := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
		found := false
		for _, dm := range dates {
			got, err := Parse(string(dm[2]), nil)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
				continue
			}
			found = found || got.Equal(want)
		}
		if !found {
			t.Errorf("%s: no date parsed to %s", filepath.Base(path), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("checked %d files, want at least 20", n)
	}
}

// TestParseAgreesWithGofeed parses every feed of the peer corpora with gofeed and checks that
// Parse reads each date gofeed reads as the same instant, and reports the dates only one of
// them reads.
func TestParseAgreesWithGofeed(t *testing.T) {
	root := filepath.Join(testfeeds.Corpus(t), "peer-tests")
	if _, err := os.Stat(root); err != nil {
		t.Skip(err)
	}
	var checked, onlyUs, onlyGofeed int
	check := func(file, s string, theirs *time.Time) {
		if strings.TrimSpace(s) == "" {
			return
		}
		ours, err := Parse(s, nil)
		switch {
		case theirs == nil && err == nil:
			onlyUs++
		case theirs == nil:
		case err != nil:
			onlyGofeed++
			t.Logf("%s: gofeed reads %q as %s, Parse fails: %v", file, s, theirs, err)
		default:
			checked++
			if !ours.Equal(*theirs) {
				t.Errorf("%s: Parse(%q): got %s, gofeed %s", file, s, ours.UTC(), theirs.UTC())
			}
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".xml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(raw))
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		check(rel, feed.Published, feed.PublishedParsed)
		check(rel, feed.Updated, feed.UpdatedParsed)
		for _, it := range feed.Items {
			check(rel, it.Published, it.PublishedParsed)
			check(rel, it.Updated, it.UpdatedParsed)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d dates read alike, %d read only by Parse, %d only by gofeed", checked, onlyUs, onlyGofeed)
	if checked < 100 {
		t.Errorf("compared %d dates, want at least 100", checked)
	}
}
