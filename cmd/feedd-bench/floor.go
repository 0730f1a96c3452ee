package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mmcdole/gofeed"
)

// floorRun fetches every URL with net/http and parses each body with a new gofeed parser,
// concurrency at once, and checks that it read want items in all. It measures the wall time,
// this process's CPU time, and the growth of this process's peak RSS over the run.
//
// Each run gets a fresh transport cloned from http.DefaultTransport, as feedd's fetcher does (so
// the same two idle connections per host are kept), and starts after a full GC that returns
// freed memory to the system, so that what the previous run left does not count.
func floorRun(ctx context.Context, urls []string, concurrency, want int) (trial, error) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := resetPeakRSS(); err != nil {
		return trial{}, err
	}
	baseRSS, err := statusKB("/proc/self/status", "VmRSS")
	if err != nil {
		return trial{}, err
	}
	cpu0 := selfCPU()

	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	jobs := make(chan string)
	var (
		items    atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	start := time.Now()
	for range min(concurrency, len(urls)) {
		wg.Go(func() {
			for u := range jobs {
				n, err := fetchParse(ctx, client, u)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				items.Add(int64(n))
			}
		})
	}
feed:
	for _, u := range urls {
		select {
		case jobs <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	cpu := selfCPU() - cpu0
	peak, err := statusKB("/proc/self/status", "VmHWM")
	if err != nil {
		return trial{}, err
	}
	if firstErr != nil {
		return trial{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return trial{}, err
	}
	if got := int(items.Load()); got != want {
		return trial{}, fmt.Errorf("parsed %d items, want %d", got, want)
	}
	return trial{Seconds: elapsed.Seconds(), PeakBytes: max(0, peak-baseRSS) * 1024, CPUSeconds: cpu.Seconds()}, nil
}

// fetchParse GETs one feed and parses its body with gofeed, returning the number of items.
func fetchParse(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", url, err)
	}
	return len(feed.Items), nil
}
