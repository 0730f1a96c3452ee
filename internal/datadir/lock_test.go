package datadir

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestAcquire(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir, Owner{Command: "feedd run"})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SetNATSURL("nats://127.0.0.1:4222"); err != nil {
		t.Fatal(err)
	}

	_, err = Acquire(dir, Owner{Command: "feedd run --once"})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Acquire: got %v, want a *LockedError", err)
	}
	if le.Owner.PID != os.Getpid() || le.Owner.Command != "feedd run" || le.Owner.NATSURL != "nats://127.0.0.1:4222" ||
		time.Since(le.Owner.StartedAt) > time.Minute {
		t.Errorf("holder %+v, want this process's feedd run with its NATS URL", le.Owner)
	}
	for _, want := range []string{dir, "feedd run (pid ", "started 20", "in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	second, err := Acquire(dir, Owner{Command: "feedd tail"})
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	second.Release()
}

func TestAcquireMissingDir(t *testing.T) {
	if _, err := Acquire(t.TempDir()+"/nope", Owner{}); err == nil || errors.As(err, new(*LockedError)) {
		t.Errorf("got %v, want an error that is not *LockedError", err)
	}
}

// TestLockDiesWithItsProcess: a holder killed with SIGKILL leaves a lock file behind, yet the
// directory is free at once.
func TestLockDiesWithItsProcess(t *testing.T) {
	if dir := os.Getenv("DATADIR_TEST_HOLD"); dir != "" {
		if _, err := Acquire(dir, Owner{Command: "holder"}); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDiesWithItsProcess$")
	cmd.Env = append(os.Environ(), "DATADIR_TEST_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child said %q", line)
	}
	var le *LockedError
	if _, err := Acquire(dir, Owner{}); !errors.As(err, &le) || le.Owner.PID != cmd.Process.Pid || le.Owner.Command != "holder" {
		t.Fatalf("while the child holds it: got %v, want the child named", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir, Owner{})
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}
