package ops

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestFeedWatch(t *testing.T) {
	var logs bytes.Buffer
	w := NewFeedWatch(3, slog.New(slog.NewTextHandler(&logs, nil)))
	ready := func() string {
		t.Helper()
		err := w.Check(context.Background())
		if err == nil {
			return "ok"
		}
		return err.Error()
	}

	w.Failed("https://a.example/rss", "dns")
	w.Failed("https://b.example/rss", "dns")
	w.Failed("https://a.example/rss", "dns") // a retry of a feed already failing
	if got := ready(); got != "ok" {
		t.Fatalf("two of three feeds failing: check says %q, want ok", got)
	}
	w.Failed("https://c.example/rss", "timeout")
	got := ready()
	if !strings.Contains(got, "every feed failing since") || !strings.Contains(got, "3 feeds: dns 2, timeout 1") {
		t.Errorf("every feed failing: check says %q", got)
	}
	w.Failed("https://c.example/rss", "timeout")
	if n := strings.Count(logs.String(), "every feed is failing"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("not a warning:\n%s", logs.String())
	}

	w.Succeeded("https://b.example/rss")
	if got := ready(); got != "ok" {
		t.Errorf("after a success: check says %q, want ok", got)
	}
	if !strings.Contains(logs.String(), "a feed answers again") {
		t.Errorf("the recovery is not logged:\n%s", logs.String())
	}
	// After a success, every feed must fail again before it is said again.
	w.Failed("https://a.example/rss", "dns")
	w.Failed("https://c.example/rss", "dns")
	if got := ready(); got != "ok" {
		t.Errorf("two feeds failing after a success: check says %q, want ok", got)
	}
}
