package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const crashEnv = "FEEDD_STORE_CRASH_DB"

// TestKilledProcessLeavesWholeTransactions kills a process in the middle of a stream of inserts
// (SIGKILL: no deferred code, no Close) and checks that the database it leaves is intact and
// holds every article with its outbox row, and nothing else.
func TestKilledProcessLeavesWholeTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "feedd.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashHelperProcess$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatal("helper process ended before it was ready")
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper process not ready after 20s")
	}
	time.Sleep(20 * time.Millisecond) // let it get well into the next transactions
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s := openAt(t, path)
	ctx := t.Context()
	var check string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v; want ok", check, err)
	}
	arts, pend := counts(t, s)
	if arts < 100 || arts != pend {
		t.Errorf("got %d articles and %d outbox rows, want equal and at least 100", arts, pend)
	}
	var orphans int
	err = s.db.QueryRowContext(ctx, `
SELECT (SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.msg_id = a.id))
     + (SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = o.msg_id))`).
		Scan(&orphans)
	if err != nil || orphans != 0 {
		t.Errorf("got %d articles or messages without their pair (%v), want 0", orphans, err)
	}
	// The store goes on where the killed process stopped.
	a, m := testArticle(int(arts))
	mustInsert(t, s, a, m)
	t.Logf("killed after %d committed inserts", arts)
}

// TestCrashHelperProcess is the child of TestKilledProcessLeavesWholeTransactions: it inserts
// articles until it is killed, and says "ready" on stdout after the first hundred.
func TestCrashHelperProcess(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process of TestKilledProcessLeavesWholeTransactions")
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		a, m := testArticle(i)
		if _, err := s.Insert(t.Context(), a, m); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if i == 99 {
			fmt.Println("ready")
		}
	}
}
