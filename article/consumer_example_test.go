package article_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Read each story once: a durable pull consumer on articles.new.>, each message decoded into an
// article.Article and acknowledged. The README's consumer code is this example. (The first lines
// only start a server and publish what feedd would.)
func Example_consumer() {
	url, stop, err := exampleServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := publishLikeFeedd(ctx, js); err != nil {
		fmt.Println(err)
		return
	}

	cons, err := js.CreateOrUpdateConsumer(ctx, "ARTICLES", jetstream.ConsumerConfig{
		Durable:       "search-indexer", // the server remembers what this name acknowledged
		FilterSubject: "articles.new.>", // each story once; articles.> also gets the duplicates
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second)) // up to 10, or what came within a second
	if err != nil {
		fmt.Println(err)
		return
	}
	for m := range batch.Messages() {
		var a article.Article
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			// A body that does not decode will not decode on redelivery either.
			fmt.Println("undecodable:", err)
			_ = m.Term()
			continue
		}
		fmt.Println(m.Subject(), a.Source, a.Title)
		if err := m.DoubleAck(ctx); err != nil { // Ack, and wait for the server to confirm it
			fmt.Println(err)
		}
	}
	if err := batch.Error(); err != nil {
		fmt.Println(err)
	}

	// The same durable name resumes after what it acknowledged: nothing is left.
	info, err := cons.Info(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pending:", info.NumPending, "unacknowledged:", info.NumAckPending)
	// Output:
	// articles.new.ar.aljazeera الجزيرة غارات على جنوب لبنان
	// articles.new.ar.bbc_arabic بي بي سي عربي انتخابات في تونس
	// pending: 0 unacknowledged: 0
}

// Consume keeps a callback running as messages arrive, the way a long-lived service reads the
// stream; Stop ends it. Duplicates carry duplicate_of and cluster_id, so a consumer of
// articles.> can group the copies of a story.
func Example_consume() {
	url, stop, err := exampleServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := publishLikeFeedd(ctx, js); err != nil {
		fmt.Println(err)
		return
	}

	cons, err := js.CreateOrUpdateConsumer(ctx, "ARTICLES", jetstream.ConsumerConfig{
		Durable:       "story-grouper",
		FilterSubject: "articles.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	got := make(chan article.Article)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var a article.Article
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			_ = m.Term()
			return
		}
		_ = m.Ack()
		got <- a
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Stop()
	for range 3 {
		select {
		case a := <-got:
			fmt.Printf("%s %s cluster=%.8s duplicate_of=%.8s\n", a.Kind(), a.FeedID, a.ClusterID, a.DuplicateOf)
		case <-ctx.Done():
			fmt.Println(ctx.Err())
			return
		}
	}
	// Output:
	// new aljazeera cluster=328a9b1e duplicate_of=
	// new bbc_arabic cluster=e1b0247b duplicate_of=
	// duplicate alarabiya cluster=328a9b1e duplicate_of=328a9b1e
}

// exampleServer starts a NATS server with JetStream on a random loopback port, storing in a
// temporary directory, and returns its URL and a function that stops it and removes the store.
func exampleServer() (url string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "article-example")
	if err != nil {
		return "", nil, err
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("nats server not ready")
	}
	return ns.ClientURL(), func() { ns.Shutdown(); ns.WaitForShutdown(); os.RemoveAll(dir) }, nil
}

// publishLikeFeedd creates the stream and publishes what feedd would for two stories, one of
// them also published by a second outlet: the body, the subject and the headers.
func publishLikeFeedd(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: "ARTICLES", Subjects: []string{article.SubjectPrefix + ".>"}, Duplicates: time.Hour,
	}); err != nil {
		return err
	}
	at := time.Date(2026, 2, 15, 7, 0, 0, 0, time.UTC)
	first := article.Article{
		SchemaVersion: article.SchemaVersion, ID: article.ID("https://www.aljazeera.net/news/1", "", "", ""),
		FeedID: "aljazeera", Source: "الجزيرة", Lang: "ar", Title: "غارات على جنوب لبنان",
		URL: "https://www.aljazeera.net/news/1", PublishedAt: at, FetchedAt: at,
	}
	first.ClusterID = first.ID
	other := article.Article{
		SchemaVersion: article.SchemaVersion, ID: article.ID("https://www.bbc.com/arabic/2", "", "", ""),
		FeedID: "bbc_arabic", Source: "بي بي سي عربي", Lang: "ar", Title: "انتخابات في تونس",
		URL: "https://www.bbc.com/arabic/2", PublishedAt: at, FetchedAt: at,
	}
	other.ClusterID = other.ID
	dup := article.Article{
		SchemaVersion: article.SchemaVersion, ID: article.ID("https://www.alarabiya.net/3", "", "", ""),
		FeedID: "alarabiya", Source: "العربية", Lang: "ar", Title: "غارات على جنوب لبنان",
		URL: "https://www.alarabiya.net/3", PublishedAt: at, FetchedAt: at.Add(time.Minute),
		DuplicateOf: first.ID, Similarity: 1, ClusterID: first.ID,
	}
	for _, a := range []*article.Article{&first, &other, &dup} {
		data, err := article.Marshal(a)
		if err != nil {
			return err
		}
		m := nats.NewMsg(a.Subject())
		m.Data = data
		for k, v := range a.Headers() {
			m.Header.Set(k, v)
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
