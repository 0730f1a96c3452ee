package bus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/feedd/feedd/bus"
)

// Run an in-process server, publish an article twice under one id, and
// read the stream back.
func Example() {
	dir, err := os.MkdirTemp("", "bus-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()

	ctx := context.Background()
	b, err := bus.Connect(ctx, bus.Options{Embedded: srv, Name: "feedd"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	err = b.EnsureStream(ctx, bus.StreamConfig{
		Name:            "ARTICLES",
		Subjects:        []string{"articles.>"},
		DuplicateWindow: time.Hour,
		MaxAge:          30 * 24 * time.Hour,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	m := bus.Message{
		Subject: "articles.new.ar.aljazeera",
		ID:      "3f2a",
		Header:  map[string]string{"Content-Type": "application/json"},
		Data:    []byte(`{"id":"3f2a"}`),
	}
	fmt.Println(b.PublishBatch(ctx, []bus.Message{m, m}, 5*time.Second))

	done := errors.New("done")
	err = b.Tail(ctx, bus.TailOptions{Stream: "ARTICLES", Last: 10}, func(r bus.Received) error {
		fmt.Println(r.Seq, r.Subject, r.Header.Get("Nats-Msg-Id"), string(r.Data))
		return done
	})
	fmt.Println(err)
	// Output:
	// [<nil> <nil>]
	// 1 articles.new.ar.aljazeera 3f2a {"id":"3f2a"}
	// done
}

// Send the next batch before waiting for the acknowledgements of the one before it, so that
// the server always has messages to store.
func ExampleBus_Send() {
	dir, err := os.MkdirTemp("", "bus-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	ctx := context.Background()
	b, err := bus.Connect(ctx, bus.Options{Embedded: srv})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, bus.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"}}); err != nil {
		fmt.Println(err)
		return
	}

	batches := [][]bus.Message{
		{{Subject: "articles.new.ar.x", ID: "1", Data: []byte(`{}`)}, {Subject: "articles.new.ar.x", ID: "2", Data: []byte(`{}`)}},
		{{Subject: "articles.new.ar.x", ID: "3", Data: []byte(`{}`)}},
	}
	var prev *bus.Acks
	for _, msgs := range batches {
		acks := b.Send(ctx, msgs, 5*time.Second)
		if prev != nil {
			fmt.Println(prev.Wait(ctx))
		}
		prev = acks
	}
	fmt.Println(prev.Wait(ctx))
	// Output:
	// [<nil> <nil>]
	// [<nil>]
}
