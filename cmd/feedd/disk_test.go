package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of the given size (such as "1m") on a new directory, or skips the
// test where mounting is not allowed.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestDiskFull runs the daemon with data_dir on a 1 MiB tmpfs that fills while it records
// full-text articles: the error shows in the log, the metrics and /readyz. The disk stays full
// for longer than the stream's duplicate window (2 s here), so a message published again in
// the meantime would be stored twice. When the tmpfs grows, feedd recovers and every article
// reaches the stream exactly once.
func TestDiskFull(t *testing.T) {
	bin := buildFeedd(t)
	srv, feeds, _ := saudiFeeds(t, 0, "2015-08-03")
	feeds = feeds[:12]
	want := map[string]bool{}
	for _, f := range feeds {
		for _, u := range itemLinks(t, f.Body) {
			want[u] = true
		}
	}
	dataDir := mountTmpfs(t, "1m")
	ns := natsServer(t, t.TempDir())
	httpAddr := freeAddr(t)
	cfg := feedsConfig(t, dataDir, ns.ClientURL(), httpAddr, srv, feeds,
		"  interval: 2s\n  min_interval: 1s\n  max_interval: 4s\n")
	withDuplicateWindow(t, cfg, "2s")

	p := startFeedd(t, bin, "run", "--config", cfg)
	waitFor(t, "/readyz to report the full disk", 60*time.Second, func() bool {
		code, body := httpGet("http://" + httpAddr + "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "disk full")
	})
	if _, m := httpGet("http://" + httpAddr + "/metrics"); !strings.Contains(m, "feedd_store_errors_total") || strings.Contains(m, "feedd_store_errors_total 0\n") {
		t.Errorf("/metrics does not count the store errors")
	}
	if !strings.Contains(p.logText(), "full") {
		t.Errorf("the log does not report the full disk:\n%s", p.logText())
	}

	time.Sleep(5 * time.Second) // longer than the duplicate window, with the relay retrying

	// Space returns.
	if err := syscall.Mount("tmpfs", dataDir, "tmpfs", syscall.MS_REMOUNT, "size=256m"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	waitFor(t, "every article in the stream", 90*time.Second, func() bool {
		return streamCount(ns.ClientURL()) >= len(want)
	})
	waitFor(t, "/readyz to recover", 30*time.Second, func() bool {
		code, _ := httpGet("http://" + httpAddr + "/readyz")
		return code == http.StatusOK
	})
	p.stop(t)
	checkExactlyOnce(t, ns.ClientURL(), want)
}

// withDuplicateWindow sets nats.duplicate_window in the configuration file at path.
func withDuplicateWindow(t *testing.T, path, window string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(b), "nats:\n", "nats:\n  duplicate_window: "+window+"\n", 1)
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}
