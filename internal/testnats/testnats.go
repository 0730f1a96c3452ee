// Package testnats runs a real NATS server with JetStream in the test's process, on loopback.
package testnats

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Run starts a JetStream server on 127.0.0.1:port (-1 for a random port) storing in storeDir,
// and shuts it down when the test ends. A fixed port and store let a test stop the server and
// start it again where clients expect it.
func Run(t testing.TB, port int, storeDir string) *server.Server {
	t.Helper()
	return RunWith(t, port, storeDir, func(*server.Options) {})
}

// RunWith is Run with the server's options changed by set first, such as a smaller
// MaxPayload.
func RunWith(t testing.TB, port int, storeDir string, set func(*server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{
		ServerName: "test",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		NoLog:      true,
	}
	set(o)
	ns, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}
