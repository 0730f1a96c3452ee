// Package datadir guards feedd's data directory: one process at a time uses its SQLite database
// and its embedded NATS storage. The lock is an flock on a file in the directory, so the kernel
// releases it when the process dies, however it dies. The file also says who holds it, for the
// error another process prints and for `feedd tail`, which connects to the holder's NATS listener.
package datadir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// FileName is the lock file's name in the data directory.
const FileName = "feedd.lock"

// Owner is what the lock file says about the process holding the directory.
type Owner struct {
	PID       int       `json:"pid"`
	Command   string    `json:"command"` // such as "feedd run", "feedd run --once", "feedd tail"
	StartedAt time.Time `json:"started_at"`
	// NATSURL is the client URL of the holder's embedded NATS server, once it listens; empty
	// while it starts, with a remote server or with no listener.
	NATSURL string `json:"nats_url,omitempty"`
}

// String names the holder: `feedd run (pid 4242, started 2026-12-07T19:00:00Z)`.
func (o Owner) String() string {
	if o.PID == 0 {
		return "another process (its lock file does not say which)"
	}
	cmd := o.Command
	if cmd == "" {
		cmd = "a process"
	}
	return fmt.Sprintf("%s (pid %d, started %s)", cmd, o.PID, o.StartedAt.UTC().Format(time.RFC3339))
}

// LockedError is Lock's error when another process holds the directory.
type LockedError struct {
	Dir   string
	Owner Owner // zero when the lock file could not be read
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("data_dir %s is in use by %s: stop it first, or give this one another data_dir", e.Dir, e.Owner)
}

// Lock is a held data directory. Release it when done; the kernel releases it if the process dies.
type Lock struct {
	f     *os.File
	owner Owner
}

// Acquire locks dir, which must exist, for owner; PID and StartedAt are filled in when zero. It
// fails at once with a *LockedError when another process, or another Lock in this one, holds dir.
func Acquire(dir string, owner Owner) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			o, _ := readOwner(f)
			return nil, &LockedError{Dir: dir, Owner: o}
		}
		return nil, fmt.Errorf("lock data_dir: flock %s: %w", path, err)
	}
	if owner.PID == 0 {
		owner.PID = os.Getpid()
	}
	if owner.StartedAt.IsZero() {
		owner.StartedAt = time.Now()
	}
	owner.StartedAt = owner.StartedAt.UTC().Truncate(time.Second)
	l := &Lock{f: f, owner: owner}
	if err := l.write(); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// SetNATSURL records the client URL of the embedded NATS server, for `feedd tail`.
func (l *Lock) SetNATSURL(url string) error {
	l.owner.NATSURL = url
	return l.write()
}

// write replaces the file's content with the owner. A reader may see it before the truncation:
// readOwner reads the first JSON value only.
func (l *Lock) write() error {
	b, err := json.Marshal(l.owner)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("lock data_dir: write %s: %w", l.f.Name(), err)
	}
	if err := l.f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("lock data_dir: write %s: %w", l.f.Name(), err)
	}
	return nil
}

// Release empties the lock file and unlocks it. The file stays: removing it could let two
// processes lock two different files of one name.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

func readOwner(f *os.File) (Owner, error) {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
	if err != nil {
		return Owner{}, err
	}
	var o Owner
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&o); err != nil {
		return Owner{}, fmt.Errorf("lock file %s: %w", f.Name(), err)
	}
	return o, nil
}
