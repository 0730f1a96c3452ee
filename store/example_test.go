package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/feedd/feedd/store"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "feedd-store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := store.Open(ctx, filepath.Join(dir, "feedd.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Date(2015, 8, 1, 10, 0, 0, 0, time.UTC)
	a := store.Article{
		ID:           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		FeedID:       "aljazeera",
		CanonicalURL: "https://www.aljazeera.net/news/1",
		FetchedAt:    now,
	}
	m := store.Message{MsgID: a.ID, Subject: "articles.new.ar.aljazeera", Data: []byte(`{}`)}
	if _, err := s.Insert(ctx, a, m); err != nil {
		log.Fatal(err)
	}
	_, err = s.Insert(ctx, a, m)
	fmt.Println("repeat:", errors.Is(err, store.ErrExists))

	// The relay: publish what is pending, then mark it sent once acknowledged.
	pending, err := s.Pending(ctx, 0, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, msg := range pending {
		fmt.Println("publish", msg.Seq, msg.Subject)
		if err := s.MarkSent(ctx, []int64{msg.Seq}, now); err != nil {
			log.Fatal(err)
		}
	}
	depth, _ := s.OutboxDepth(ctx)
	fmt.Println("depth:", depth)
	// Output:
	// repeat: true
	// publish 1 articles.new.ar.aljazeera
	// depth: 0
}
