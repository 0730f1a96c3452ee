package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// wantLink is how tail shows oneItemFeed's link: canonical (no utm_*), its Arabic path decoded.
const wantLink = "https://news.example/أخبار/لبنان?id=7"

// TestTailAfterOnce: after `run --once` on the embedded server, `tail` reads the stopped store by
// itself, prints its articles with readable links, and ends.
func TestTailAfterOnce(t *testing.T) {
	srv := smallFeedServer(t)
	dataDir := t.TempDir()
	cfg := smallConfig(t, dataDir, freeAddr(t), "", [2]string{"ok", srv.URL + "/ok.xml"})
	if s := runOnce(t, cfg); s.Published != 1 {
		t.Fatalf("run --once published %d, want 1", s.Published)
	}

	for _, args := range [][]string{{}, {"-n", "5"}, {"--since", "1h"}} {
		t.Run(strings.Join(append([]string{"tail"}, args...), " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, append([]string{"tail", "--config", cfg}, args...), &stdout, &stderr)
			if code != 0 || ctx.Err() != nil {
				t.Fatalf("exit %d (context: %v), want 0 by itself\n%s", code, ctx.Err(), stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], "غارات على جنوب لبنان") || strings.TrimSpace(lines[1]) != wantLink {
				t.Errorf("got %q, want the article with link %s", lines, wantLink)
			}
			if !strings.Contains(stderr.String(), "end of the articles stored in "+dataDir) {
				t.Errorf("stderr does not say the end was reached:\n%s", stderr.String())
			}
		})
	}

	// The store was only read: a daemon starts on it afterwards, and --once finds nothing new.
	if s := runOnce(t, cfg); s.Published != 0 || s.Repeats != 1 {
		t.Errorf("run --once after tail: %+v, want one repeat and nothing published", s)
	}
}

func TestTailNothingRecorded(t *testing.T) {
	for _, tt := range []struct{ name, dataDir, want string }{
		{"no data_dir", t.TempDir() + "/none", "nothing was recorded there yet"},
		{"no NATS store", t.TempDir(), "holds no NATS store"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smallConfig(t, tt.dataDir, "", "", [2]string{"a", "https://a.example/rss"})
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{"tail", "--config", cfg}, &stdout, &stderr); code != 1 ||
				!strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.want)
			}
			if _, err := os.Stat(tt.dataDir); err == nil && tt.name == "no data_dir" {
				t.Errorf("tail created data_dir")
			}
		})
	}
}

// TestTailFindsItsDaemon: with a daemon running on data_dir, tail reads from that daemon's
// listener, whatever nats.listen the tail's configuration says, says that it waits, and a second
// daemon on the same data_dir refuses to start, naming the first.
func TestTailFindsItsDaemon(t *testing.T) {
	srv := smallFeedServer(t)
	dataDir := t.TempDir()
	daemonAddr := freeAddr(t)
	daemonCfg := smallConfig(t, dataDir, daemonAddr, "", [2]string{"ok", srv.URL + "/ok.xml"})
	// Another server sits where the tail's configuration points: tail must not read it.
	decoy := natsServer(t, t.TempDir())
	tailCfg := smallConfig(t, dataDir, strings.TrimPrefix(decoy.ClientURL(), "nats://"), "", [2]string{"ok", srv.URL + "/ok.xml"})

	ctx, cancel := context.WithCancel(context.Background())
	var daemonLog syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--config", daemonCfg}, &bytes.Buffer{}, &daemonLog) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("daemon exit %d, want 0\n%s", code, daemonLog.String())
		}
	}()
	waitFor(t, "the daemon to publish the article", 30*time.Second, func() bool {
		return streamCount("nats://"+daemonAddr) == 1
	})

	t.Run("tail", func(t *testing.T) {
		tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer tcancel()
		var stderr syncBuffer
		out := &linesWriter{n: 2, cancel: tcancel}
		code := run(tctx, []string{"tail", "--config", tailCfg, "-n", "1"}, out, &stderr)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		if lines := out.lines(); len(lines) != 2 || strings.TrimSpace(lines[1]) != wantLink {
			t.Errorf("got %q, want the daemon's article", lines)
		}
		for _, want := range []string{fmt.Sprintf("reading from feedd run (pid %d", os.Getpid()), "nats://" + daemonAddr} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
		}
	})
	t.Run("tail says it waits", func(t *testing.T) {
		tctx, tcancel := context.WithCancel(context.Background())
		defer tcancel()
		var stderr syncBuffer
		tdone := make(chan int, 1)
		go func() { tdone <- run(tctx, []string{"tail", "--config", tailCfg}, &bytes.Buffer{}, &stderr) }()
		waitFor(t, "tail to say that it waits", 30*time.Second, func() bool {
			return strings.Contains(stderr.String(), "waiting for new articles on articles.> from nats://"+daemonAddr)
		})
		tcancel()
		if code := <-tdone; code != 0 {
			t.Errorf("exit %d after cancel\n%s", code, stderr.String())
		}
	})
	t.Run("second daemon", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		otherAddr := freeAddr(t)
		second := smallConfig(t, dataDir, otherAddr, "", [2]string{"ok", srv.URL + "/ok.xml"})
		code := run(context.Background(), []string{"run", "--once", "--config", second}, &stdout, &stderr)
		want := fmt.Sprintf("data_dir %s is in use by feedd run (pid %d, started 20", dataDir, os.Getpid())
		if code != 1 || !strings.Contains(stderr.String(), want) {
			t.Errorf("exit %d, stderr:\n%s\nwant 1 and %q", code, stderr.String(), want)
		}
	})
}
