package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRefusesBadConfig runs `feedd check` and `feedd run` on bad configurations: each must
// exit 2 and name the key and the bad value.
func TestCheckRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of stderr
	}{
		{"bad feed id", "feeds:\n  - id: Al Jazeera\n    url: https://example.com/rss\n", []string{"feeds[0].id", `"Al Jazeera"`}},
		{"bad url", "feeds:\n  - id: a\n    url: not a url\n", []string{"feeds[0].url", `"not a url"`}},
		{"relative url", "feeds:\n  - id: a\n    url: /rss.xml\n", []string{"feeds[0].url", `"/rss.xml"`}},
		{"bad scheme", "feeds:\n  - id: a\n    url: ftp://example.com/rss\n", []string{"feeds[0].url", "ftp://example.com/rss"}},
		{"negative feed interval", "feeds:\n  - id: a\n    url: https://example.com/rss\n    interval: -5m\n", []string{"feeds[0].interval", "-5m"}},
		{"zero poll interval", "poll:\n  interval: 0s\n", []string{"poll.interval", "0s"}},
		{"negative poll interval", "poll:\n  interval: -1m\n", []string{"poll.interval", "-1m"}},
		{"duplicate feed id", "feeds:\n  - id: a\n    url: https://example.com/1\n  - id: a\n    url: https://example.com/2\n", []string{"feeds[1].id", `"a"`, "duplicate"}},
		{"unknown key", "poll:\n  intervall: 5m\n", []string{"poll.intervall", "unknown key"}},
		{"invalid yaml", "poll: [interval: 5m\n", []string{"config", "line"}},
		{"bad size", "poll:\n  max_body: 16XB\n", []string{"poll.max_body", "16XB"}},
		{"size without a unit", "poll:\n  max_body: 16\n", []string{"(1 problem):", "poll.max_body", `"16B"`, "at least 64KiB"}},
		{"bad duration", "poll:\n  timeout: ten\n", []string{"poll.timeout", `"ten"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "feedd.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range [][]string{{"check", "--config", path}, {"run", "--once", "--config", path}} {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), cmd, &stdout, &stderr)
				if code != 2 {
					t.Errorf("feedd %s: exit %d, want 2\nstderr: %s", cmd[0], code, stderr.String())
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("feedd %s: stderr does not name %q:\n%s", cmd[0], w, stderr.String())
					}
				}
			}
		})
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feedd.yaml")
	yaml := "poll:\n  interval: 0s\n  concurrency: 0\nfeeds:\n  - id: A\n    url: https://example.com/rss\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", path}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, key := range []string{"(3 problems):", "poll.interval", "poll.concurrency", "feeds[0].id"} {
		if !strings.Contains(stderr.String(), key) {
			t.Errorf("stderr lacks %s:\n%s", key, stderr.String())
		}
	}
}

func TestCheckAcceptsGoodConfig(t *testing.T) {
	t.Setenv("FEEDD_POLL_INTERVAL", "5m")
	for _, args := range [][]string{{"check"}, {"check", "--config", filepath.Join("testdata", "good.yaml")}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Errorf("feedd %v: exit %d, stderr: %s", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "configuration ok") {
			t.Errorf("feedd %v: stdout %q", args, stdout.String())
		}
	}
}

func TestCheckRefusesBadEnvironment(t *testing.T) {
	t.Setenv("FEEDD_POLL_TIMEOUT", "soon")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check"}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "FEEDD_POLL_TIMEOUT") || !strings.Contains(stderr.String(), "soon") {
		t.Errorf("stderr does not name the variable and value:\n%s", stderr.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "feedd ") {
		t.Errorf("version: exit %d, stdout %q", code, stdout.String())
	}
}

func TestBadCommandLines(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative -n", []string{"tail", "-n", "-1"}, "must not be negative"},
		{"negative --since", []string{"tail", "--since", "-1h"}, "must not be negative"},
		{"bad --since", []string{"tail", "--since", "soon"}, "soon"},
		{"--timeout without --once", []string{"run", "--timeout", "1m"}, "--timeout goes with --once"},
		{"zero --timeout", []string{"run", "--once", "--timeout", "0s"}, "must be positive"},
		{"unknown flag", []string{"run", "--onse"}, "onse"},
		{"stray argument", []string{"check", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.want)
			}
		})
	}
}
