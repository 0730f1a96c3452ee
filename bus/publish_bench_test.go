package bus

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"
)

// benchBodySize is the median article body feedd publishes: the SaudiNewsNet development days
// (2015-08-01 to -03) make 3,745 messages of 2,912 (p10), 6,004 (p50) and 14,824 (p90) bytes.
// `feedd-bench -publish` measures it again from the corpus.
const benchBodySize = 6004

// benchMessages returns n messages shaped like feedd's: a benchBodySize body, a 64-hex id, the
// Content-Type and CloudEvents headers (about 330 bytes of headers with Nats-Msg-Id). Their ids
// start with prefix.
func benchMessages(prefix string, n int) []Message {
	body := bytes.Repeat([]byte("a"), benchBodySize)
	msgs := make([]Message, n)
	for i := range msgs {
		id := fmt.Sprintf("%s%0*x", prefix, 64-len(prefix), i)
		msgs[i] = Message{
			Subject: "articles.new.ar.bench",
			ID:      id,
			Header: map[string]string{
				"Nats-Msg-Id":    id,
				"Content-Type":   "application/json",
				"ce-specversion": "1.0",
				"ce-id":          id,
				"ce-type":        "feedd.article.new",
				"ce-source":      "https://sabq.example/sabq-0801-3.xml",
				"ce-time":        "2015-08-01T09:30:00Z",
			},
			Data: body,
		}
	}
	return msgs
}

// BenchmarkPublishBatch publishes feedd-sized messages with ids and headers to a file-backed
// stream over loopback TCP, in PublishBatch calls of the relay's batch size and in one call
// for the whole run. It reports messages per second; MB/s counts the bodies only, as
// `nats bench` does. The server runs in this process unless FEEDD_BENCH_NATS_URL names one
// (then only the client shows in a CPU profile):
//
//	go test -run '^$' -bench PublishBatch -benchtime 20000x ./bus
func BenchmarkPublishBatch(b *testing.B) {
	url := os.Getenv("FEEDD_BENCH_NATS_URL")
	if url == "" {
		url = startServer(b, "127.0.0.1:0", b.TempDir()).ClientURL()
	}
	bus := connect(b, Options{URL: url, Name: "bench"})
	ensureTestStream(b, bus)

	for _, batch := range []int{256, 0} {
		name := fmt.Sprintf("batch=%d", batch)
		if batch == 0 {
			name = "batch=all"
		}
		b.Run(name, func(b *testing.B) {
			msgs := benchMessages(fmt.Sprintf("%x-", time.Now().UnixNano()), b.N)
			size := batch
			if size == 0 {
				size = len(msgs)
			}
			b.SetBytes(benchBodySize)
			b.ResetTimer()
			for i := 0; i < len(msgs); i += size {
				for j, err := range bus.PublishBatch(b.Context(), msgs[i:min(i+size, len(msgs))], 0) {
					if err != nil {
						b.Fatalf("message %d: %v", i+j, err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
