package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// collector applies messages by keeping their ids, and fails on the id named failOn.
type collector struct {
	mu     sync.Mutex
	ids    []string
	seqs   []uint64
	failOn string
}

func (c *collector) apply(_ context.Context, m jetstream.Msg) error {
	id := m.Headers().Get(nats.MsgIdHdr)
	if id == c.failOn {
		return errors.New("disk full")
	}
	md, _ := m.Metadata()
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.seqs = append(c.seqs, md.Sequence.Stream)
	c.mu.Unlock()
	return nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// publish publishes articles from..to-1 with their ids as Nats-Msg-Id.
// publish publishes messages a<from> to a<to-1>, each retried (its message id makes a retry
// harmless) while a server of the cluster stops or comes back: a request lost in a reconnection
// gets no answer, and waiting for it would use up the whole deadline.
func publish(t *testing.T, js jetstream.JetStream, from, to int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := from; i < to; i++ {
		id := fmt.Sprintf("a%04d", i)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := js.Publish(ctx, "articles.new.ar.x", []byte(id), jetstream.WithMsgID(id))
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish %s: %v", id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func articlesStream(t *testing.T, js jetstream.JetStream, replicas int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"}, Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFollowerCatchesUpAndResumes(t *testing.T) {
	ns := testnats.Run(t, -1, t.TempDir())
	_, js := connect(t, ns.ClientURL())
	articlesStream(t, js, 1)
	publish(t, js, 0, 200)

	var c collector
	f := NewFollower(js, "ARTICLES", c.apply, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, 0) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	last, err := f.WaitCaughtUp(wctx)
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	if last != 200 || f.Applied() < 200 || c.count() < 200 {
		t.Fatalf("caught up at %d with %d applied (%d messages), want 200", last, f.Applied(), c.count())
	}
	publish(t, js, 200, 250) // live messages are followed too
	wctx, wcancel = context.WithTimeout(ctx, 10*time.Second)
	if _, err := f.WaitCaughtUp(wctx); err != nil {
		t.Fatal(err)
	}
	wcancel()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: got %v, want context.Canceled", err)
	}
	for i, id := range c.ids {
		if want := fmt.Sprintf("a%04d", i); id != want || c.seqs[i] != uint64(i+1) {
			t.Fatalf("message %d: got %s at %d, want %s at %d", i, id, c.seqs[i], want, i+1)
		}
	}

	// A restart resumes after what was applied, and an apply error stops it, naming the message.
	publish(t, js, 250, 300)
	c2 := collector{failOn: "a0280"}
	f2 := NewFollower(js, "ARTICLES", c2.apply, nil)
	err = f2.Run(context.Background(), f.Applied())
	if err == nil || !strings.Contains(err.Error(), "apply message 281") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Run with a failing apply: got %v, want the error of message 281", err)
	}
	if len(c2.ids) != 30 || c2.ids[0] != "a0250" || f2.Applied() != 280 {
		t.Errorf("resumed: got %d messages from %v, applied %d, want 30 from a0250, applied 280", len(c2.ids), c2.ids[:1], f2.Applied())
	}
}

func TestFollowerWaitBehind(t *testing.T) {
	ns := testnats.Run(t, -1, t.TempDir())
	_, js := connect(t, ns.ClientURL())
	articlesStream(t, js, 1)
	f := NewFollower(js, "ARTICLES", func(context.Context, jetstream.Msg) error { return nil }, nil)
	if last, err := f.WaitCaughtUp(context.Background()); err != nil || last != 0 {
		t.Errorf("empty stream: got %d, %v, want 0, nil", last, err)
	}
	publish(t, js, 0, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.WaitCaughtUp(ctx); !errors.Is(err, ErrBehind) {
		t.Errorf("a follower that is not running: got %v, want ErrBehind", err)
	}
}

// TestFollowerAcrossNATSRestart follows an R3 stream while the server the follower is connected
// to stops and starts again: every message is applied once, in order.
func TestFollowerAcrossNATSRestart(t *testing.T) {
	c := testnats.RunCluster(t, 3)
	nc, js := connect(t, c.URLs())
	_, pub := connect(t, c.URLs())
	articlesStream(t, js, 3)
	publish(t, pub, 0, 300)

	var col collector
	f := NewFollower(js, "ARTICLES", col.apply, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, 0) }()
	for col.count() < 100 {
		time.Sleep(time.Millisecond)
	}
	name := nc.ConnectedServerName()
	idx, _ := strconv.Atoi(name[1:])
	c.Stop(idx - 1)
	publish(t, pub, 300, 400)
	c.Restart(idx - 1)
	publish(t, pub, 400, 500)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if _, err := f.WaitCaughtUp(wctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if len(col.ids) != 500 {
		t.Fatalf("got %d messages, want 500", len(col.ids))
	}
	for i, id := range col.ids {
		if want := fmt.Sprintf("a%04d", i); id != want {
			t.Fatalf("message %d: got %s, want %s", i, id, want)
		}
	}
}
