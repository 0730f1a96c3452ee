package store

import (
	"bytes"
	"testing"
)

// BenchmarkPending reads the outbox a page at a time, as the relay does, 256 messages of 6 KB to
// a page; one op is one message.
func BenchmarkPending(b *testing.B) {
	s := openTest(b)
	const n = 20000
	batch, err := s.Begin(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("ن"), 3000)
	for i := range n {
		a, m := testArticle(i)
		m.Data = body
		if _, err := batch.Insert(b.Context(), a, m); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Commit(); err != nil {
		b.Fatal(err)
	}
	var after int64
	read := 0
	for b.Loop() {
		if read%256 == 0 {
			msgs, err := s.Pending(b.Context(), after, 256)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) == 0 {
				after = 0
				continue
			}
			after = msgs[len(msgs)-1].Seq
		}
		read++
	}
}
