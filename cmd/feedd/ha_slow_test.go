//go:build slow

package main

import (
	"testing"
	"time"
)

// TestFailover is the acceptance test of high availability (issue 14): three replicas on a
// three-node NATS cluster over the three development days' full-text feeds, the leader killed
// with SIGKILL twice while it publishes, and the NATS server that leads the lease's Raft group
// stopped and started again, the three faults in a random order (see testFailover for what it
// asserts). About a minute and a half on two cores:
//
//	go test -tags slow -run 'TestFailover$' ./cmd/feedd
//
// FEEDD_FAULT_SEED replays the faults' order and moments.
func TestFailover(t *testing.T) {
	testFailover(t, failoverRun{
		days:        []string{"2015-08-01", "2015-08-02", "2015-08-03"},
		kills:       2,
		natsRestart: true,
		delay:       300 * time.Millisecond,
		ttl:         2 * time.Second,
	})
}
