package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/feedd/feedd/store"
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

// TestOnceRestoreFailed: when the duplicate index cannot be restored (a corrupt fingerprint row),
// `run --once` exits non-zero naming the cause; the new items of a feed it polls meanwhile are not
// recorded (nothing can be decided), and that feed's state is not booked as a failure.
func TestOnceRestoreFailed(t *testing.T) {
	bin := buildFeedd(t)
	srv := feedServer(t)
	dataDir := t.TempDir()
	full := writeConfig(t, dataDir, "", "", "", srv.URL)
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	// The first run polls every feed but hespress; the second, all of them: hespress's items are
	// new then. The corpus feeds are years old: a window that holds them.
	window := "dedupe:\n  window: 175000h\n"
	hespress := fmt.Sprintf("  - id: hespress\n    url: %s/hespress.xml\n    name: hespress\n", srv.URL)
	if !bytes.Contains(b, []byte(hespress)) {
		t.Fatalf("config has no hespress feed:\n%s", b)
	}
	first := filepath.Join(t.TempDir(), "first.yaml")
	if err := os.WriteFile(first, append(bytes.Replace(b, []byte(hespress), nil, 1), window...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, append(b, window...), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(cfg string) (summary, string, error) {
		t.Helper()
		cmd := exec.Command(bin, "run", "--config", cfg, "--once", "--timeout", "1m")
		cmd.Env = withoutFeeddEnv(os.Environ())
		var out, log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &log
		err := cmd.Run()
		var s summary
		_ = json.Unmarshal(out.Bytes(), &s)
		return s, log.String(), err
	}
	if s, log, err := run(first); err != nil || s.New == 0 {
		t.Fatalf("first run: %+v, %v\n%s", s, err, log)
	}

	dbPath := filepath.Join(dataDir, "feedd.db")
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var articles int
	if err := db.QueryRow(`SELECT count(*) FROM articles`).Scan(&articles); err != nil {
		t.Fatal(err)
	}
	// Cut one fingerprint short, keeping its version byte: corrupt, not of another version.
	if _, err := db.Exec(`UPDATE fingerprints SET data = substr(data, 1, 5) WHERE article_id = (SELECT min(article_id) FROM fingerprints)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, log, err := run(full)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(log, "rebuild the duplicate index") {
		t.Fatalf("run with a corrupt fingerprint: %v, want a non-zero exit naming the restore:\n%s", err, log)
	}
	if s.New != 0 || s.Published != 0 {
		t.Errorf("run with a corrupt fingerprint: %+v, want nothing new recorded or published", s)
	}
	st, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, _, err := st.Counts(t.Context()); err != nil || int(n) != articles {
		t.Errorf("articles after the failed restore: %d (%v), want %d as before", n, err, articles)
	}
	if f, ok, err := st.Feed(t.Context(), "hespress"); err != nil || (ok && (f.ConsecutiveFailures != 0 || f.ETag != "" || f.LastModified != "")) {
		t.Errorf("hespress state after the failed restore: %+v (%v): want no failure and no validators booked", f, err)
	}
}
