package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/feedd/feedd/config"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// feeddBinary is the command built once for the tests that run it as a child process.
var feeddBinary struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	// Tests never touch the internet. Corpus feeds link to the outlets' real pages, which full
	// text would fetch: every request to a host that is not loopback goes to a local proxy
	// that refuses it (Go never proxies loopback), here and in the feedd processes started.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "tests stay off the internet", http.StatusForbidden)
	}))
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Setenv(k, proxy.URL)
	}
	os.Unsetenv("NO_PROXY")
	os.Unsetenv("no_proxy")
	code := m.Run()
	proxy.Close()
	if feeddBinary.path != "" {
		os.RemoveAll(filepath.Dir(feeddBinary.path))
	}
	os.Exit(code)
}

// buildFeedd builds the command once per test binary run.
func buildFeedd(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the feedd binary")
	}
	feeddBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "feedd-bin")
		if err != nil {
			feeddBinary.err = err
			return
		}
		feeddBinary.path = filepath.Join(dir, "feedd")
		cmd := exec.Command("go", "build", "-o", feeddBinary.path, ".")
		cmd.Env = append(withoutProxy(os.Environ()), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			feeddBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if feeddBinary.err != nil {
		t.Fatal(feeddBinary.err)
	}
	return feeddBinary.path
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is feedd running as a child process, its log in a file.
type process struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

func startFeedd(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "feedd.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = withoutFeeddEnv(os.Environ())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("feedd log:\n%s", b)
		}
	})
	return p
}

// withoutProxy drops the test proxy from env, for the go command's own downloads.
func withoutProxy(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !strings.EqualFold(k, "HTTP_PROXY") && !strings.EqualFold(k, "HTTPS_PROXY") {
			out = append(out, kv)
		}
	}
	return out
}

func withoutFeeddEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "FEEDD_") {
			out = append(out, kv)
		}
	}
	return out
}

func (p *process) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func streamCount(natsURL string) int {
	nc, err := nats.Connect(natsURL, nats.Timeout(time.Second))
	if err != nil {
		return -1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "ARTICLES")
	if err != nil {
		return -1
	}
	info, err := s.Info(ctx)
	if err != nil {
		return -1
	}
	return int(info.State.Msgs)
}

// stop sends SIGTERM and asserts a clean exit within the shutdown timeout.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("feedd exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("feedd did not stop within 10 s of SIGTERM")
	}
}

// TestDaemonEmbedded runs the daemon as users do, on the embedded NATS server: another process
// reads the stream over nats.listen, the ops endpoints answer, SIGTERM stops it cleanly, and a
// restart publishes nothing new.
func TestDaemonEmbedded(t *testing.T) {
	bin := buildFeedd(t)
	srv := feedServer(t)
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, t.TempDir(), "", natsAddr, httpAddr, srv.URL)
	natsURL := "nats://" + natsAddr

	p := startFeedd(t, bin, "run", "--config", cfg)
	waitFor(t, "/healthz", 30*time.Second, func() bool {
		code, _ := httpGet("http://" + httpAddr + "/healthz")
		return code == http.StatusOK
	})
	waitFor(t, "the stream to hold every story", 60*time.Second, func() bool {
		return streamCount(natsURL) >= distinctStories
	})
	waitFor(t, "the first poll round", 30*time.Second, func() bool {
		return strings.Contains(p.logText(), "poll round done")
	})
	checkStream(t, streamMessages(t, natsURL, "ARTICLES"))

	if code, body := httpGet("http://" + httpAddr + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	code, metrics := httpGet("http://" + httpAddr + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{`feedd_published_total 125`, `feedd_articles_total\{verdict="new"\} \d+`,
		`feedd_polls_total\{result="ok"\} 12`, `feedd_outbox_depth 0`, `feedd_fetch_duration_seconds_bucket\{le="[^"]+"\} \d+`,
		`feedd_nats_connected 1`} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(metrics) {
			t.Errorf("/metrics lacks a line %s", want)
		}
	}
	p.stop(t)
	if log := p.logText(); !strings.Contains(log, "stopped") {
		t.Errorf("log does not end with a clean stop:\n%s", log)
	}

	// A restart on the same data publishes nothing new: a --once run polls every feed again...
	out, err := exec.Command(bin, "run", "--config", cfg, "--once", "--timeout", "1m").Output()
	if err != nil {
		t.Fatalf("run --once after restart: %v", err)
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if s.Fetched != len(corpusFeeds)+1 || s.New != 0 || s.Duplicates != 0 || s.Published != 0 {
		t.Errorf("run --once after restart: %+v, want every feed fetched and nothing published", s)
	}
	// ...and the daemon, started again, finds the stream as it was.
	p = startFeedd(t, bin, "run", "--config", cfg)
	waitFor(t, "/readyz after restart", 30*time.Second, func() bool {
		code, _ := httpGet("http://" + httpAddr + "/readyz")
		return code == http.StatusOK
	})
	if n := streamCount(natsURL); n != distinctStories {
		t.Errorf("after restart the stream has %d messages, want %d", n, distinctStories)
	}
	p.stop(t)
}

// startInProcess starts a daemon on cfg in this process with its relay running, stopped when the
// test ends.
func startInProcess(t *testing.T, ctx context.Context, cfg config.Config) *daemon {
	t.Helper()
	pt, err := partsOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := start(ctx, cfg, pt, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	relayCtx, stopRelay := context.WithCancel(context.Background())
	d.startRelay(relayCtx)
	t.Cleanup(func() { d.shutdown(time.Now().Add(5*time.Second), stopRelay, true) })
	return d
}
