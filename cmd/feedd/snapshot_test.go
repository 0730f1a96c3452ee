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
	"strconv"
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

// TestOnceRestore runs `run --once` on a database whose fingerprints were damaged since the last
// run. One corrupt fingerprint row is skipped with a warning naming it, and the run records the
// new items of a feed polled meanwhile. When the index cannot be restored at all (the table is
// gone), the run exits non-zero naming the cause, records and publishes nothing, and the feed it
// polled meanwhile is not booked as failing.
func TestOnceRestore(t *testing.T) {
	bin := buildFeedd(t)
	srv := feedServer(t)
	full := writeConfig(t, "DATA_DIR", "", "", "", srv.URL)
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	// A first run polls every feed but hespress; the second, all of them: hespress's items are
	// new then. The corpus feeds are years old: a window that holds them.
	hespress := fmt.Sprintf("  - id: hespress\n    url: %s/hespress.xml\n    name: hespress\n", srv.URL)
	if !bytes.Contains(b, []byte(hespress)) {
		t.Fatalf("config has no hespress feed:\n%s", b)
	}
	b = append(b, "dedupe:\n  window: 175000h\n"...)
	config := func(dataDir string, feeds []byte) string {
		path := filepath.Join(t.TempDir(), "feedd.yaml")
		if err := os.WriteFile(path, bytes.Replace(feeds, []byte(`"DATA_DIR"`), []byte(strconv.Quote(dataDir)), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
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
	// damaged runs a first run without hespress on a new data_dir, damages the database with
	// stmt, and returns the data_dir, the second run's config and the number of articles.
	damaged := func(stmt string) (string, string, int) {
		t.Helper()
		dataDir := t.TempDir()
		if s, log, err := run(config(dataDir, bytes.Replace(b, []byte(hespress), nil, 1))); err != nil || s.New == 0 {
			t.Fatalf("first run: %+v, %v\n%s", s, err, log)
		}
		db, err := sql.Open("sqlite3", filepath.Join(dataDir, "feedd.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var articles int
		if err := db.QueryRow(`SELECT count(*) FROM articles`).Scan(&articles); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
		return dataDir, config(dataDir, b), articles
	}

	t.Run("corrupt row", func(t *testing.T) {
		// One fingerprint cut short, its version byte kept: corrupt, not of another version.
		_, cfg, _ := damaged(`UPDATE fingerprints SET data = substr(data, 1, 5) WHERE article_id = (SELECT min(article_id) FROM fingerprints)`)
		s, log, err := run(cfg)
		if err != nil || !strings.Contains(log, "corrupt fingerprints skipped") || !strings.Contains(log, "count=1") {
			t.Fatalf("run with a corrupt fingerprint: %v, want it skipped with a warning and the run done:\n%s", err, log)
		}
		if s.New == 0 || s.Published != int64(s.New+s.Duplicates) {
			t.Errorf("run with a corrupt fingerprint: %+v, want hespress's new items recorded and published", s)
		}
	})

	t.Run("no index", func(t *testing.T) {
		dataDir, cfg, articles := damaged(`DROP TABLE fingerprints`)
		s, log, err := run(cfg)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(log, "rebuild the duplicate index") {
			t.Fatalf("run without fingerprints: %v, want a non-zero exit naming the restore:\n%s", err, log)
		}
		if s.New != 0 || s.Published != 0 {
			t.Errorf("run without fingerprints: %+v, want nothing new recorded or published", s)
		}
		st, err := store.Open(t.Context(), filepath.Join(dataDir, "feedd.db"))
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
	})
}
