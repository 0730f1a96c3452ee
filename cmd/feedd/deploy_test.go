package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/config"
	"go.yaml.in/yaml/v3"
)

// deployDir holds the deployment files (deploy/cluster/ is another's).
var deployDir = filepath.Join("..", "..", "deploy")

func readDeploy(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeploySystemdUnit checks the unit with systemd-analyze: verify reports nothing (it exits 0
// even on unknown keys, so any output fails), and the offline security score stays low.
func TestDeploySystemdUnit(t *testing.T) {
	unit := string(readDeploy(t, "systemd/feedd.service"))
	for _, want := range []string{
		"\nDynamicUser=yes\n", "\nStateDirectory=feedd\n", "\nProtectSystem=strict\n", "\nNoNewPrivileges=yes\n",
		"\nRestart=on-failure\n", "\nRestartPreventExitStatus=2\n", "feedd health", "\nEnvironment=FEEDD_DATA_DIR=/var/lib/feedd\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found (Debian's systemd package; .ci/run installs it): the unit is not verified")
	}
	// verify wants the programs the unit runs to exist: stand the test binary in for feedd.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "feedd.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/feedd", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for feedd.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0 (systemd-analyze security):\n%s", level, out)
	}
}

// TestDeployPrometheus checks the alert rules and the Prometheus configuration with promtool,
// and runs the rules' unit tests (each alert fires on the series that should fire it).
func TestDeployPrometheus(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (Debian's prometheus package; .ci/run installs it): the rules are not checked")
	}
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"check", "config", "prometheus.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDeployDashboard checks that the Grafana dashboard is JSON with a query in every panel,
// on the dashboard's data source variable.
func TestDeployDashboard(t *testing.T) {
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(readDeploy(t, "grafana/feedd-dashboard.json"), &d); err != nil {
		t.Fatalf("grafana/feedd-dashboard.json: %v", err)
	}
	if d.UID == "" || len(d.Panels) < 10 {
		t.Fatalf("got uid %q and %d panels, want a uid and the feedd_ metrics", d.UID, len(d.Panels))
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q and %d queries", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, q := range p.Targets {
			if !strings.Contains(q.Expr, "feedd_") {
				t.Errorf("panel %q: query %q names no feedd_ metric", p.Title, q.Expr)
			}
		}
	}
}

// TestDeployCompose checks the compose file's shape: the three services, ports published on
// loopback only, and every file it mounts present. With the docker compose plugin at hand,
// docker compose config validates it too.
func TestDeployCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Ports   []string `yaml:"ports"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(readDeploy(t, "compose.yaml"), &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"feedd", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose.yaml has no service %s", name)
		}
	}
	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q beyond loopback", name, p)
			}
		}
		for _, v := range s.Volumes {
			if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(deployDir, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Log("docker compose not available: compose.yaml checked for shape only")
		return
	}
	if out, err := exec.Command("docker", "compose", "-f", filepath.Join(deployDir, "compose.yaml"), "config", "-q").CombinedOutput(); err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}
}

// TestDeployMetricsExist runs a daemon in the test's process over a good feed and a missing one,
// and finds in its /metrics every feedd_ metric that the dashboard and the alert rules name. (A
// date no parser reads makes feedd_fallbacks_total appear: its labels exist once counted.)
func TestDeployMetricsExist(t *testing.T) {
	names := map[string]bool{}
	metricRE := regexp.MustCompile(`feedd_[a-z0-9_]+`)
	for _, file := range []string{"grafana/feedd-dashboard.json", "prometheus/alerts.yml", "prometheus/alerts_test.yml"} {
		for _, m := range metricRE.FindAll(readDeploy(t, file), -1) {
			names[string(m)] = true
		}
	}
	if len(names) < 15 {
		t.Fatalf("found only %d metric names in the dashboard and the rules: %v", len(names), names)
	}

	feed := `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://t.example/</link><description>d</description>` +
		`<item><title>خبر أول</title><link>https://t.example/1</link><description>نص الخبر الأول</description><pubDate>Mon, 07 Dec 2026 10:00:00 +0000</pubDate></item>` +
		`<item><title>خبر ثان</title><link>https://t.example/2</link><description>نص الخبر الثاني</description><pubDate>أمس بعد الظهر</pubDate></item>` +
		`</channel></rss>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/feed.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, feed)
	}))
	defer srv.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.Listen = ""
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Poll.HostGap = 0
	cfg.Feeds = []config.Feed{
		{ID: "good", URL: srv.URL + "/feed.xml", Name: "good", Language: "ar"},
		{ID: "gone", URL: srv.URL + "/gone.xml", Name: "gone", Language: "ar"},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	d := startInProcess(t, ctx, cfg)
	if c := d.pipe.PollAll(ctx); c.New != 2 || c.Failed != 1 {
		t.Fatalf("got %+v, want 2 new articles and 1 failed feed", c)
	}
	if err := d.relay.WaitDrained(ctx, false); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + d.ops.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	exposed := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		exposed[name] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if !exposed[name] {
			t.Errorf("%s is named by deploy/ but not in /metrics", name)
		}
	}
}
