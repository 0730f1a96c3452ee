package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/internal/testfeeds"
	"github.com/feedd/feedd/pipeline"
	"github.com/feedd/feedd/store"
)

// fillStore records n distinct synthetic articles, made of sentences of the development days,
// with their fingerprints, dated over the last day: all inside the duplicate window. It writes
// 1,000 articles to a transaction and marks their messages sent, as the relay would.
func fillStore(b *testing.B, path string, n int) {
	b.Helper()
	dir, ok := testfeeds.CorpusDir()
	if !ok {
		b.Skip("corpus not available")
	}
	as, err := testfeeds.SaudiNewsNet(dir, "2015-08-01")
	if err != nil {
		b.Fatal(err)
	}
	var sentences []string
	for _, a := range as {
		for _, s := range strings.Split(a.Content, ".") {
			if s = strings.TrimSpace(s); len(s) > 40 {
				sentences = append(sentences, s)
			}
		}
	}
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// Every URL is new and the decision's key lookups would only find nothing: they are
	// answered without the database, which the batches below write to. The articles are not
	// recorded in dd: a fingerprint depends on the text alone, and every article is stored as
	// the first of its story whatever the verdict, so searching an index that grows to a
	// million articles (most of the fill's time, 50 minutes at 1,000,000) changed nothing.
	dd := dedupe.NewDecider(unseenKeys{}, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	const perTx = 1000
	var tx *store.Batch
	var seqs []int64
	for i := range n {
		var text strings.Builder
		for range 12 {
			text.WriteString(sentences[rng.IntN(len(sentences))])
			text.WriteString(". ")
		}
		url := fmt.Sprintf("https://bench.example/%d", i)
		at := now.Add(-time.Duration(rng.Int64N(int64(24 * time.Hour))))
		doc := dedupe.Doc{FeedID: "bench", CanonicalURL: url, Title: sentences[rng.IntN(len(sentences))],
			Text: text.String(), PublishedAt: at}
		dec, err := dd.Decide(ctx, doc, at)
		if err != nil {
			b.Fatal(err)
		}
		if tx == nil {
			if tx, err = s.Begin(ctx); err != nil {
				b.Fatal(err)
			}
		}
		id := fmt.Sprintf("%064x", i)
		seq, err := tx.Insert(ctx, store.Article{ID: id, FeedID: "bench", CanonicalURL: url, ContentKey: dec.ContentKey,
			ClusterID: id, Fingerprint: dec.Fingerprint, PublishedAt: at, FetchedAt: at},
			store.Message{MsgID: id, Subject: "articles.new.ar.bench", Data: []byte("{}"), CreatedAt: at})
		if err != nil {
			b.Fatal(err)
		}
		seqs = append(seqs, seq)
		if len(seqs) == perTx || i == n-1 {
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			tx = nil
			if err := s.MarkSent(ctx, seqs, now); err != nil {
				b.Fatal(err)
			}
			seqs = seqs[:0]
		}
	}
}

// unseenKeys answers the decision's key lookups for articles that are all new.
type unseenKeys struct{}

func (unseenKeys) HasURL(context.Context, string) (bool, error)          { return false, nil }
func (unseenKeys) HasGUID(context.Context, string, string) (bool, error) { return false, nil }
func (unseenKeys) FindContent(context.Context, string, time.Time) (dedupe.Match, bool, error) {
	return dedupe.Match{}, false, nil
}

// BenchmarkStartToReady measures the time from starting `feedd run` to /readyz answering 200,
// with 100,000 articles inside the duplicate window to index (FEEDD_BENCH_ARTICLES overrides),
// and the memory of the ready daemon: its heap in use (go_memstats_heap_inuse_bytes, read from
// /metrics once ready) and its resident set. Filling the database is not timed; it takes about
// 10 s per 100,000 articles on a quiet machine. FEEDD_BENCH_DATA_DIR keeps the filled database
// in that directory and reuses it on the next run when it holds one.
//
// Each start loads the index snapshot (data_dir/index.snap) that the stop before saved; when
// there is none, an untimed start and stop saves one first. FEEDD_BENCH_SNAPSHOT=off removes it
// before each start instead: the index is then rebuilt from the database, as on a first start.
// Run it with:
//
//	go test ./cmd/feedd -run '^$' -bench StartToReady -benchtime 5x
//	FEEDD_BENCH_SNAPSHOT=off go test ./cmd/feedd -run '^$' -bench StartToReady -benchtime 5x
//	FEEDD_BENCH_ARTICLES=1000000 go test ./cmd/feedd -run '^$' -bench StartToReady -benchtime 3x -timeout 30m
func BenchmarkStartToReady(b *testing.B) {
	n := 100_000
	if v := os.Getenv("FEEDD_BENCH_ARTICLES"); v != "" {
		fmt.Sscan(v, &n)
	}
	useSnapshot := os.Getenv("FEEDD_BENCH_SNAPSHOT") != "off"
	bin := buildFeedd(b)
	dataDir := os.Getenv("FEEDD_BENCH_DATA_DIR")
	if dataDir == "" {
		dataDir = b.TempDir()
	}
	if _, err := os.Stat(filepath.Join(dataDir, dbFile)); err != nil {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			b.Fatal(err)
		}
		fillStore(b, filepath.Join(dataDir, dbFile), n)
	}
	httpAddr := freeAddr(b)
	cfg := filepath.Join(b.TempDir(), "feedd.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %q\nlog:\n  level: warn\nnats:\n  listen: \"\"\nhttp:\n  listen: %q\n"+
		"poll:\n  interval: 24h\nfeeds:\n  - id: bench\n    url: file:///nonexistent.xml\n", dataDir, httpAddr)), 0o600)
	snapshot := filepath.Join(dataDir, snapshotFile)
	// startStop starts feedd, waits until it is ready, reads its figures and stops it.
	startStop := func() (wall, cpu time.Duration, heap, rss float64) {
		start := time.Now()
		p := exec.Command(bin, "run", "--config", cfg)
		p.Env = withoutFeeddEnv(os.Environ())
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			if code, _ := httpGet("http://" + httpAddr + "/readyz"); code == http.StatusOK {
				break
			}
			if time.Since(start) > 2*time.Minute {
				p.Process.Kill()
				p.Wait()
				b.Fatal("not ready within two minutes")
			}
			time.Sleep(5 * time.Millisecond)
		}
		wall = time.Since(start)
		cpu = childCPU(b, p.Process.Pid)
		_, metrics := httpGet("http://" + httpAddr + "/metrics")
		heap = metricValue(metrics, "go_memstats_heap_inuse_bytes")
		rss = metricValue(metrics, "process_resident_memory_bytes")
		p.Process.Signal(os.Interrupt)
		p.Wait()
		return wall, cpu, heap, rss
	}
	if _, err := os.Stat(snapshot); useSnapshot && err != nil {
		startStop() // rebuilds the index, and saves it as it stops
		if _, err := os.Stat(snapshot); err != nil {
			b.Fatalf("no snapshot saved at shutdown: %v", err)
		}
	}
	var total, cpu time.Duration
	var heap, rss float64
	for b.Loop() {
		if !useSnapshot {
			if err := os.Remove(snapshot); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
		}
		w, c, h, r := startStop()
		total += w
		cpu += c
		heap, rss = max(heap, h), max(rss, r)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms-to-ready")
	b.ReportMetric(heap/(1<<20), "MiB-heap-inuse")
	b.ReportMetric(rss/(1<<20), "MiB-rss")
}

// childCPU returns the user and system time a running process has used so far, from
// /proc/<pid>/stat: on a busy machine, the part of start to ready that is feedd's own.
func childCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: utime and stime are the
	// 12th and 13th of them, in clock ticks (100 a second on Linux).
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	var utime, stime int64
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// metricValue returns the value of an unlabelled metric in a Prometheus text exposition, or 0.
func metricValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// BenchmarkRestore restores the duplicate index, in this process, from the database that
// BenchmarkStartToReady kept in FEEDD_BENCH_DATA_DIR: the part of start to ready that grows
// with the articles, to profile with -cpuprofile. "rebuild" reads every fingerprint from the
// database; "snapshot" loads a snapshot of the index (saved once, untimed, in a temporary
// directory). It reports the heap in use after the restore.
//
//	FEEDD_BENCH_DATA_DIR=/tmp/feedd-1m go test ./cmd/feedd -run '^$' -bench Restore -benchtime 3x -cpuprofile cpu.out
func BenchmarkRestore(b *testing.B) {
	dir := os.Getenv("FEEDD_BENCH_DATA_DIR")
	if dir == "" {
		b.Skip("FEEDD_BENCH_DATA_DIR names no database kept by BenchmarkStartToReady")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	snapshot := filepath.Join(b.TempDir(), snapshotFile)
	newPipeline := func(snapshot string) *pipeline.Pipeline {
		return pipeline.New(pipeline.Options{Feeds: []pipeline.Feed{{ID: "bench", URL: "file:///nonexistent.xml"}},
			IndexSnapshot: snapshot}, nil, s, nil)
	}
	for _, bm := range []struct {
		name     string
		snapshot string
	}{{"rebuild", ""}, {"snapshot", snapshot}} {
		b.Run(bm.name, func(b *testing.B) {
			if bm.snapshot != "" {
				p := newPipeline(bm.snapshot)
				if err := p.Restore(ctx); err != nil {
					b.Fatal(err)
				}
				if err := p.WriteIndexSnapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
			var heap uint64
			for b.Loop() {
				p := newPipeline(bm.snapshot)
				if err := p.Restore(ctx); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, ms.HeapInuse)
				runtime.KeepAlive(p)
			}
			b.ReportMetric(float64(heap)/(1<<20), "MiB-heap-inuse")
		})
	}
}
