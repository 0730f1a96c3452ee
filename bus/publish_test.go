package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPublishBatchDedupe(t *testing.T) {
	b := newBus(t)
	msgs := messages("articles.new.ar.x", "id", 1000)

	for _, round := range []string{"first", "again"} {
		t.Run(round, func(t *testing.T) {
			errs := b.PublishBatch(t.Context(), msgs, 5*time.Second)
			if len(errs) != len(msgs) {
				t.Fatalf("got %d errors, want one per message (%d)", len(errs), len(msgs))
			}
			for i, err := range errs {
				if err != nil {
					t.Fatalf("message %d: got error %v, want nil", i, err)
				}
			}
			if got := streamState(t, b.js, testStream).Msgs; got != 1000 {
				t.Errorf("got %d messages in the stream, want 1000", got)
			}
		})
	}
}

func TestPublishHeaders(t *testing.T) {
	b := newBus(t)
	m := Message{
		Subject: "articles.new.ar.aljazeera",
		ID:      "abc123",
		Header: map[string]string{
			"Content-Type":   "application/json",
			"ce-specversion": "1.0",
			"ce-type":        "news.article.new",
			"ce-id":          "abc123",
		},
		Data: []byte(`{"id":"abc123"}`),
	}
	if err := b.Publish(t.Context(), m); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	s, err := b.js.Stream(t.Context(), testStream)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{jetstream.MsgIDHeader: "abc123"}
	for k, v := range m.Header {
		want[k] = v
	}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("header %s: got %q, want %q", k, g, v)
		}
	}
	if string(got.Data) != string(m.Data) || got.Subject != m.Subject {
		t.Errorf("got %s %s, want %s %s", got.Subject, got.Data, m.Subject, m.Data)
	}
}

func TestPublishBatchPartialFailure(t *testing.T) {
	b := newBus(t)
	msgs := []Message{
		{Subject: "articles.new.ar.x", ID: "1", Data: []byte("{}")},
		{Subject: "elsewhere.new.ar.x", ID: "2", Data: []byte("{}")}, // no stream
		{Subject: "articles.new.ar.x", ID: "3", Data: []byte("{}")},
	}
	errs := b.PublishBatch(t.Context(), msgs, 3*time.Second)
	wantFail := []bool{false, true, false}
	for i, err := range errs {
		if (err != nil) != wantFail[i] {
			t.Errorf("message %d (%s): got error %v, want failure %t", i, msgs[i].Subject, err, wantFail[i])
		}
	}
	if got := streamState(t, b.js, testStream).Msgs; got != 2 {
		t.Errorf("got %d messages in the stream, want 2", got)
	}
}

func TestPublishBatchContext(t *testing.T) {
	b := newBus(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := b.PublishBatch(ctx, messages("articles.new.ar.x", "c", 3), time.Second)
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("message %d: got error %v, want context.Canceled", i, err)
		}
	}
	if got := b.PublishBatch(t.Context(), nil, time.Second); len(got) != 0 {
		t.Errorf("got %d errors for no messages, want 0", len(got))
	}
}

// TestPublishBatchServerDies stops the server in the middle of a batch: the batch must end,
// failing what was not acked, rather than wait for a server that is gone.
func TestPublishBatchServerDies(t *testing.T) {
	e := startServer(t, "127.0.0.1:0", t.TempDir())
	b := connect(t, Options{URL: e.ClientURL()})
	ensureTestStream(t, b)

	const ackTimeout = 2 * time.Second
	msgs := messages("articles.new.ar.x", "dies", 5000)
	done := make(chan []error, 1)
	start := time.Now()
	go func() { done <- b.PublishBatch(t.Context(), msgs, ackTimeout) }()
	time.Sleep(50 * time.Millisecond)
	e.Shutdown()

	select {
	case errs := <-done:
		t.Logf("PublishBatch ended %s after it began (ack timeout %s)", time.Since(start).Round(time.Millisecond), ackTimeout)
		var failed int
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		if failed == 0 {
			t.Errorf("got all %d messages acknowledged by a server that stopped, want failures", len(errs))
		}
		t.Logf("%d of %d failed", failed, len(errs))
	case <-time.After(30 * ackTimeout): // generous: a loaded machine is slow, a hang is forever
		t.Fatal("PublishBatch hung after the server stopped")
	}
}

func TestPublishRejectsOversizedMessage(t *testing.T) {
	b := newBus(t)
	ensureTestStream(t, b)
	big := make([]byte, b.MaxPayload()+1)
	errs := b.PublishBatch(context.Background(), []Message{
		{Subject: "articles.new.ar.x", ID: "small", Data: []byte("{}")},
		{Subject: "articles.new.ar.x", ID: "big", Data: big},
	}, time.Second)
	if errs[0] != nil {
		t.Errorf("small message: %v", errs[0])
	}
	if !errors.Is(errs[1], ErrRejected) {
		t.Errorf("oversized message: got %v, want ErrRejected", errs[1])
	}
}

// TestSendBeforeWait: a batch sent while the one before it awaits its acknowledgements lands
// after it in the stream, and both are acknowledged.
func TestSendBeforeWait(t *testing.T) {
	b := newBus(t)
	first := messages("articles.new.ar.x", "first", 600) // more than one window
	second := messages("articles.new.ar.x", "second", 600)
	a1 := b.Send(t.Context(), first, 5*time.Second)
	a2 := b.Send(t.Context(), second, 5*time.Second)
	for name, a := range map[string]*Acks{"first": a1, "second": a2} {
		for i, err := range a.Wait(t.Context()) {
			if err != nil {
				t.Fatalf("%s batch, message %d: got %v, want nil", name, i, err)
			}
		}
	}
	s, err := b.js.Stream(t.Context(), testStream)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range append(first, second...) {
		got, err := s.GetMsg(t.Context(), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if id := got.Header.Get(jetstream.MsgIDHeader); id != want.ID {
			t.Fatalf("stream message %d: got id %s, want %s", i+1, id, want.ID)
		}
	}
}

// TestPublishBatchKeepsOneHandle: batches sent with one ack timeout share one publishing
// handle, so that publishing does not start (nor leak) a goroutine per batch; the handle's
// goroutine ends with the connection.
func TestPublishBatchKeepsOneHandle(t *testing.T) {
	waitFor(t, 5*time.Second, "the connections of earlier tests to close", func() bool { return ackResetters() == 0 })
	b := newBus(t)
	mustPublish(t, b, messages("articles.new.ar.x", "warm", 1))
	before := runtime.NumGoroutine()
	for i := range 200 {
		mustPublish(t, b, messages("articles.new.ar.x", fmt.Sprintf("b%d", i), 3))
	}
	if n := len(b.pubs); n != 1 {
		t.Errorf("got %d publishing handles after 200 batches with one ack timeout, want 1", n)
	}
	// Let anything started by the batches end (a loaded machine may take a while): a
	// goroutine leaked per batch would leave some 200.
	settle := time.Now().Add(5 * time.Second)
	after := runtime.NumGoroutine()
	for after > before+2 && time.Now().Before(settle) {
		time.Sleep(20 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before+2 {
		t.Errorf("got %d goroutines after 200 batches, %d before, want no growth", after, before)
	}
	if n := ackResetters(); n != 1 {
		t.Errorf("got %d nats.go ack-reset goroutines while connected, want 1", n)
	}
	b.Close()
	waitFor(t, 5*time.Second, "the ack-reset goroutine to end with the connection", func() bool {
		return ackResetters() == 0
	})
}

// ackResetters counts the goroutines running nats.go's resetPendingAcksOnReconnect, one per
// publishing handle in use.
func ackResetters() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "resetPendingAcksOnReconnect")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestNATSHeader(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want nats.Header
	}{
		{name: "none", m: Message{}, want: nats.Header{}},
		{name: "id only", m: Message{ID: "a"}, want: nats.Header{jetstream.MsgIDHeader: {"a"}}},
		{
			name: "headers and id",
			m:    Message{ID: "a", Header: map[string]string{"Content-Type": "application/json", "ce-id": "a"}},
			want: nats.Header{jetstream.MsgIDHeader: {"a"}, "Content-Type": {"application/json"}, "ce-id": {"a"}},
		},
		{
			name: "the id wins over a Nats-Msg-Id header",
			m:    Message{ID: "a", Header: map[string]string{jetstream.MsgIDHeader: "b"}},
			want: nats.Header{jetstream.MsgIDHeader: {"a"}},
		},
		{
			name: "a Nats-Msg-Id header without an id is sent as given",
			m:    Message{Header: map[string]string{jetstream.MsgIDHeader: "b"}},
			want: nats.Header{jetstream.MsgIDHeader: {"b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := natsHeader(&tt.m)
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			// Adding a value to one header must not change another.
			for k := range got {
				got.Add(k, "more")
			}
			for k, v := range got {
				if len(v) != 2 {
					t.Errorf("header %s has %d values after one Add, want 2: %v", k, len(v), got)
				}
			}
		})
	}
}

// TestSendCheckedStopsAtFailedCheck: once the check fails, no further message is sent, each
// failing with the check's error; those sent before are stored.
func TestSendCheckedStopsAtFailedCheck(t *testing.T) {
	b := newBus(t)
	ended := errors.New("term ended")
	calls := 0
	check := func() error {
		calls++
		if calls > 300 { // beyond the window of 256: waits for room may come first
			return ended
		}
		return nil
	}
	msgs := messages("articles.new.ar.x", "checked", 400)
	errs := b.SendChecked(t.Context(), msgs, 5*time.Second, check).Wait(t.Context())
	sent := slices.IndexFunc(errs, func(err error) bool { return err != nil })
	if sent < 256 {
		t.Fatalf("first failure at message %d (%v), want the window's 256 sent at least", sent, errs[max(sent, 0)])
	}
	for i, err := range errs[sent:] {
		if !errors.Is(err, ended) {
			t.Fatalf("message %d: got %v, want the check's error", sent+i, err)
		}
	}
	if got := streamState(t, b.js, testStream).Msgs; got != uint64(sent) {
		t.Errorf("stream holds %d messages, want the %d sent before the check failed", got, sent)
	}
}
