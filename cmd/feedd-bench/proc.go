package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// statusKB reads a "Key: <n> kB" line of a /proc status-like file (/proc/<pid>/status,
// /proc/meminfo) and returns n.
func statusKB(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(path, "/proc/self/") {
		return 0, errNoProc
	}
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s %q: %w", path, key, v, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: no %s line", path, key)
}

// resetPeakRSS sets this process's VmHWM back to its current RSS (Linux 4.0 and later).
func resetPeakRSS() error {
	err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return errNoProc
	}
	if err != nil {
		return fmt.Errorf("resetting the peak RSS: %w", err)
	}
	return nil
}

// childrenCPU returns the user and system CPU time of this process's children that have been
// waited for.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// selfCPU returns the user and system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
