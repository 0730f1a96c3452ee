package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/config"
	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"
)

// deployDir is the compose example of a three-node NATS cluster and two feedd replicas.
const deployDir = "../deploy/cluster"

// compose is the part of a compose file the test reads.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Hostname    string            `yaml:"hostname"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   map[string]any    `yaml:"depends_on"`
	} `yaml:"services"`
}

// mounts returns the service's bind mounts of files of deployDir: container path → file.
func mounts(volumes []string) map[string]string {
	out := make(map[string]string)
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			out[parts[1]] = strings.TrimPrefix(parts[0], "./")
		}
	}
	return out
}

// TestDeployExample reads deploy/cluster as Docker Compose would (no Docker engine runs here):
// three NATS servers forming one JetStream cluster with their configs checked by nats-server's
// own parser, and two feedd replicas with a configuration that points at all three.
func TestDeployExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}

	var natsNames, routes []string
	clusterNames := map[string]bool{}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("nats-%d", i)
		svc, ok := c.Services[name]
		if !ok {
			t.Fatalf("compose.yaml has no service %s", name)
		}
		if !strings.HasPrefix(svc.Image, "nats:2.") {
			t.Errorf("%s: image %q, want nats:2.x", name, svc.Image)
		}
		i := slices.Index(svc.Command, "-c")
		if i < 0 || i+1 >= len(svc.Command) {
			t.Fatalf("%s: command %v passes no -c config", name, svc.Command)
		}
		file, ok := mounts(svc.Volumes)[svc.Command[i+1]]
		if !ok {
			t.Fatalf("%s: its config %s is not mounted from this directory", name, svc.Command[i+1])
		}
		opts, err := server.ProcessConfigFile(filepath.Join(deployDir, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if opts.ServerName != name {
			t.Errorf("%s: server_name %q, want the service name %s", file, opts.ServerName, name)
		}
		if !opts.JetStream || opts.StoreDir == "" {
			t.Errorf("%s: JetStream %v with store %q, want it on with a store", file, opts.JetStream, opts.StoreDir)
		}
		if opts.Port != 4222 || opts.Cluster.Port != 6222 {
			t.Errorf("%s: ports %d and %d, want 4222 and 6222", file, opts.Port, opts.Cluster.Port)
		}
		clusterNames[opts.Cluster.Name] = true
		var rs []string
		for _, r := range opts.Routes {
			rs = append(rs, r.Host)
		}
		slices.Sort(rs)
		if routes == nil {
			routes = rs
		} else if !slices.Equal(rs, routes) {
			t.Errorf("%s: routes %v, want the same as the others' %v", file, rs, routes)
		}
		natsNames = append(natsNames, name)
	}
	if len(clusterNames) != 1 {
		t.Errorf("the servers name %d clusters, want one: %v", len(clusterNames), clusterNames)
	}
	var wantRoutes []string
	for _, n := range natsNames {
		wantRoutes = append(wantRoutes, n+":6222")
	}
	if !slices.Equal(routes, wantRoutes) {
		t.Errorf("routes %v, want all three servers %v", routes, wantRoutes)
	}

	var hosts []string
	for _, name := range []string{"feedd-a", "feedd-b"} {
		svc, ok := c.Services[name]
		if !ok {
			t.Fatalf("compose.yaml has no service %s", name)
		}
		if svc.Build == nil {
			t.Errorf("%s: not built from the repository", name)
		}
		hosts = append(hosts, svc.Hostname)
		for _, n := range natsNames {
			if _, ok := svc.DependsOn[n]; !ok {
				t.Errorf("%s: does not depend on %s", name, n)
			}
		}
		path := svc.Environment["FEEDD_CONFIG"]
		file, ok := mounts(svc.Volumes)[path]
		if !ok {
			t.Fatalf("%s: FEEDD_CONFIG %q is not mounted from this directory", name, path)
		}
		checkFeeddConfig(t, filepath.Join(deployDir, file), natsNames)
	}
	if hosts[0] == "" || hosts[0] == hosts[1] {
		t.Errorf("replica host names %v: each needs its own, it is its holder id", hosts)
	}
}

// checkFeeddConfig loads the replicas' configuration as feedd does.
func checkFeeddConfig(t *testing.T, path string, natsNames []string) {
	t.Helper()
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !cfg.Cluster.Enabled {
		t.Errorf("%s: cluster.enabled is false, want true", path)
	}
	var urls []string
	for _, n := range natsNames {
		urls = append(urls, "nats://"+n+":4222")
	}
	if got := strings.Split(cfg.NATS.URL, ","); !slices.Equal(got, urls) {
		t.Errorf("nats.url lists %v, want all three servers %v", got, urls)
	}
	if cfg.NATS.Replicas != 3 {
		t.Errorf("nats.replicas: got %d, want 3", cfg.NATS.Replicas)
	}
	if cfg.Cluster.Name == "" || cfg.Cluster.LeaseTTL < 5*time.Second {
		t.Errorf("cluster: got name %q, lease_ttl %s, want a name and a TTL above JetStream's elections", cfg.Cluster.Name, cfg.Cluster.LeaseTTL)
	}
}
