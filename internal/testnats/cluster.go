package testnats

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a JetStream cluster of servers in the test's process, on loopback, each with its
// own store in a temporary directory. A server can be stopped and started again on the same
// ports and store, as a restarted machine would be.
type Cluster struct {
	t       testing.TB
	opts    []*server.Options
	servers []*server.Server
}

// RunCluster starts a JetStream cluster of n servers (3 for R3 streams) on random loopback
// ports, waits until it has a meta leader, and shuts it down when the test ends.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return RunClusterWith(t, n, func(int, *server.Options) {})
}

// RunClusterWith is RunCluster with server i's options changed by set first. For example,
// o.Cluster.NoAdvertise keeps the servers from telling clients the other servers' addresses,
// so that a client connected through a [Proxy] cannot go around it when the proxy is cut.
func RunClusterWith(t testing.TB, n int, set func(i int, o *server.Options)) *Cluster {
	t.Helper()
	ports := freePorts(t, 2*n)
	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i])
	}
	c := &Cluster{t: t, opts: make([]*server.Options, n), servers: make([]*server.Server, n)}
	dir := t.TempDir()
	for i := range n {
		c.opts[i] = &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       ports[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoSigs:     true,
			NoLog:      true,
			Cluster: server.ClusterOpts{
				Name: "feedd-test",
				Host: "127.0.0.1",
				Port: ports[n+i],
			},
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
		}
		set(i, c.opts[i])
	}
	t.Cleanup(func() {
		for i := range c.servers {
			c.Stop(i)
		}
	})
	for i := range n {
		c.start(i)
	}
	c.WaitReady()
	return c
}

// URLs returns the client URLs of every server, comma-separated, as nats.Connect takes them.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.opts))
	for i, o := range c.opts {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", o.Port)
	}
	return strings.Join(urls, ",")
}

// URL returns the client URL of server i.
func (c *Cluster) URL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// Server returns server i, nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server { return c.servers[i] }

// Stop shuts server i down (a no-op when it is stopped).
func (c *Cluster) Stop(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// Restart starts server i again on its ports and store, and waits until the cluster has a meta
// leader and the server is current with it.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Stop(i)
	c.start(i)
	c.WaitReady()
}

func (c *Cluster) start(i int) {
	c.t.Helper()
	o := *c.opts[i]
	s, err := server.NewServer(&o)
	if err != nil {
		c.t.Fatalf("nats server %s: %v", o.ServerName, err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		c.t.Fatalf("nats server %s not ready", o.ServerName)
	}
	c.servers[i] = s
}

// WaitReady waits (up to 20 s) until the running servers agree on a JetStream meta leader and
// each is current with it.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		leaders, current, running := 0, 0, 0
		for _, s := range c.servers {
			if s == nil {
				continue
			}
			running++
			if s.JetStreamIsLeader() {
				leaders++
			}
			if s.JetStreamIsCurrent() {
				current++
			}
		}
		if leaders == 1 && current == running {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("nats cluster: no JetStream meta leader within 20s")
}

// freePorts returns n loopback TCP ports that were free a moment ago. A cluster's routes must
// be known before its servers start, and a restarted server must come back where its peers and
// clients expect it, so ports are chosen up front rather than with Port: -1.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// StreamLeader returns the index of the running server that leads the stream's Raft group (in
// the global account, as clients without credentials use), or -1 when none does now.
func (c *Cluster) StreamLeader(stream string) int {
	for i, s := range c.servers {
		if s != nil && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i
		}
	}
	return -1
}
