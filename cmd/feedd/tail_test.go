package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// linesWriter collects output and cancels once it holds n lines.
type linesWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (w *linesWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Count(w.buf.String(), "\n") >= w.n {
		w.cancel()
	}
	return len(p), nil
}

func (w *linesWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSpace(w.buf.String()), "\n")
}

func TestTail(t *testing.T) {
	srv := feedServer(t)
	ns := natsServer(t, t.TempDir())
	cfg := writeConfig(t, t.TempDir(), ns.ClientURL(), "", "", srv.URL)
	runOnce(t, cfg)

	t.Run("json", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out := &linesWriter{n: 5, cancel: cancel}
		var stderr bytes.Buffer
		if code := run(ctx, []string{"tail", "--config", cfg, "-n", "5", "--json"}, out, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		lines := out.lines()
		if len(lines) != 5 {
			t.Fatalf("got %d lines, want 5", len(lines))
		}
		for _, l := range lines {
			var body struct{ ID, Title string }
			if err := json.Unmarshal([]byte(l), &body); err != nil || len(body.ID) != 64 || body.Title == "" {
				t.Errorf("line %q is not an article: %v", l, err)
			}
		}
	})
	t.Run("text with subject filter", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out := &linesWriter{n: 4, cancel: cancel} // two articles, two lines each
		var stderr bytes.Buffer
		if code := run(ctx, []string{"tail", "--config", cfg, "--subject", "articles.new.ar.alhurra", "-n", "2"}, out, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		lines := out.lines()
		if len(lines) != 4 || !strings.Contains(lines[0], "alhurra") || !strings.Contains(lines[1], "https://alhurra.com/") {
			t.Errorf("got %q", lines)
		}
	})
}
