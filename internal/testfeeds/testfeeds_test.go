package testfeeds

import (
	"errors"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

func TestHeldOutDaysRefused(t *testing.T) {
	for _, day := range []string{"2015-08-08", "2015-08-09", "2015-08-10"} {
		if _, err := SaudiNewsNet("/nonexistent", day); !errors.Is(err, ErrHeldOut) {
			t.Errorf("%s: got %v, want ErrHeldOut", day, err)
		}
	}
}

func TestSplitRendersParseableFeeds(t *testing.T) {
	dir, ok := CorpusDir()
	if !ok {
		t.Skip("corpus not available")
	}
	as, err := SaudiNewsNet(dir, "2015-08-01")
	if err != nil {
		t.Fatal(err)
	}
	feeds := Split("0801", as, 50)
	items, withContent := 0, 0
	for _, f := range feeds {
		parsed, err := gofeed.NewParser().ParseString(string(f.Body))
		if err != nil {
			t.Fatalf("%s: %v", f.ID, err)
		}
		for _, it := range parsed.Items {
			if it.Link == "" || it.Title == "" || it.PublishedParsed == nil {
				t.Fatalf("%s: item %q lacks link, title or date", f.ID, it.Link)
			}
			if strings.Contains(it.Content, "<p>") {
				withContent++
			}
		}
		items += len(parsed.Items)
	}
	if items != len(as) {
		t.Errorf("feeds hold %d items, want %d", items, len(as))
	}
	if withContent < len(as)*9/10 {
		t.Errorf("%d of %d items carry full text", withContent, items)
	}
}
