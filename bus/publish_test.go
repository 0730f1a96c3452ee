package bus

import (
	"context"
	"errors"
	"testing"
	"time"

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

// TestPublishBatchServerDies stops the server in the middle of a batch: the
// batch must end within about the ack timeout, failing what was not acked.
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
		if d := time.Since(start); d > ackTimeout+2*time.Second {
			t.Errorf("PublishBatch took %s, want about the ack timeout %s at most", d, ackTimeout)
		}
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
	case <-time.After(3 * ackTimeout):
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
