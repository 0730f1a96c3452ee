package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestIndexSnapshotAcrossRestarts runs `feedd run --once` again and again on one data_dir: the
// first run rebuilds the duplicate index and saves it to index.snap as it stops; the next
// loads it; a corrupt snapshot is refused with a reason and the index rebuilt; and every run
// after the first finds every item already published.
func TestIndexSnapshotAcrossRestarts(t *testing.T) {
	bin := buildFeedd(t)
	srv := feedServer(t)
	dataDir := t.TempDir()
	cfg := writeConfig(t, dataDir, "", "", "", srv.URL)
	// The corpus feeds are years old: a window that holds them, so that the index is not empty.
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("dedupe:\n  window: 175000h\n")
	f.Close()
	snap := filepath.Join(dataDir, snapshotFile)

	run := func() (summary, string) {
		t.Helper()
		cmd := exec.Command(bin, "run", "--config", cfg, "--once", "--timeout", "1m")
		cmd.Env = withoutFeeddEnv(os.Environ())
		var out, log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &log
		if err := cmd.Run(); err != nil {
			t.Fatalf("run --once: %v\n%s", err, log.String())
		}
		var s summary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatalf("summary %q: %v", out.String(), err)
		}
		return s, log.String()
	}
	loadedRE := regexp.MustCompile(`duplicate index loaded" articles=(\d+) from_snapshot=(\d+)`)

	s, log := run()
	if s.New == 0 || !strings.Contains(log, "no index snapshot") || !strings.Contains(log, "index snapshot written") {
		t.Fatalf("first run: %+v; want articles, a rebuilt index and a snapshot written:\n%s", s, log)
	}
	if _, err := os.Stat(snap); err != nil {
		t.Fatal(err)
	}

	s, log = run()
	m := loadedRE.FindStringSubmatch(log)
	if m == nil || m[1] == "0" || m[1] != m[2] {
		t.Fatalf("second run: want the whole index loaded from the snapshot:\n%s", log)
	}
	if s.New != 0 || s.Duplicates != 0 || s.Published != 0 {
		t.Errorf("second run: %+v, want nothing new", s)
	}
	if strings.Contains(log, "index snapshot written") {
		t.Errorf("second run wrote a snapshot though nothing changed:\n%s", log)
	}

	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(snap, b, 0o640); err != nil {
		t.Fatal(err)
	}
	s, log = run()
	if !strings.Contains(log, "index snapshot not used") || !strings.Contains(log, "corrupt") ||
		!strings.Contains(log, "duplicate index rebuilt") || !strings.Contains(log, "index snapshot written") {
		t.Errorf("run with a corrupt snapshot: want it refused as corrupt, the index rebuilt and saved again:\n%s", log)
	}
	if s.New != 0 || s.Published != 0 {
		t.Errorf("run with a corrupt snapshot: %+v, want nothing new", s)
	}
	if _, log = run(); !loadedRE.MatchString(log) {
		t.Errorf("after the corrupt snapshot was replaced: want it loaded:\n%s", log)
	}
}
