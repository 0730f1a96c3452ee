package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// tailCollect runs Tail with o until it has delivered want messages plus a
// quiet spell showing nothing more comes, then stops it and returns the
// sequences it delivered.
func tailCollect(t *testing.T, b *Bus, o TailOptions, want int) []uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan Received, 100)
	done := make(chan error, 1)
	go func() {
		done <- b.Tail(ctx, o, func(r Received) error {
			got <- r
			return nil
		})
	}()

	var seqs []uint64
	timeout := time.After(5 * time.Second)
	for len(seqs) < want {
		select {
		case r := <-got:
			seqs = append(seqs, r.Seq)
		case err := <-done:
			t.Fatalf("Tail ended early after %v: %v", seqs, err)
		case <-timeout:
			t.Fatalf("got %v after 5s, want %d messages", seqs, want)
		}
	}
	quiet := time.After(150 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case r := <-got:
			seqs = append(seqs, r.Seq)
		case <-quiet:
			waiting = false
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Tail returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Tail did not return after cancel")
	}
	return seqs
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestTailStart(t *testing.T) {
	b := newBus(t)

	// Seq 1-6 are old, 7-10 recent; odd sequences are "new" articles, even
	// ones duplicates.
	publishAlternating := func(prefix string, n int) {
		for i := range n {
			kind := "new"
			if i%2 == 1 {
				kind = "duplicate"
			}
			mustPublish(t, b, []Message{{Subject: "articles." + kind + ".ar.x", ID: fmt.Sprintf("%s-%d", prefix, i), Data: []byte("{}")}})
		}
	}
	publishAlternating("old", 6)
	time.Sleep(400 * time.Millisecond)
	mid := time.Now().Add(-200 * time.Millisecond)
	publishAlternating("recent", 4)
	recent := func() time.Duration { return time.Since(mid) } // covers 7-10, not 1-6

	tests := []struct {
		name    string
		subject string
		since   func() time.Duration
		last    int
		want    []uint64
	}{
		{name: "only new", want: nil},
		{name: "last 3", last: 3, want: []uint64{8, 9, 10}},
		{name: "last 3 of a filter", subject: "articles.new.>", last: 3, want: []uint64{5, 7, 9}},
		{name: "last 1 of a filter", subject: "articles.duplicate.>", last: 1, want: []uint64{10}},
		{name: "last more than stored", last: 100, want: seqRange(1, 10)},
		{name: "last all of a filter", subject: "articles.new.>", last: 5, want: []uint64{1, 3, 5, 7, 9}},
		{name: "since", since: recent, want: seqRange(7, 10)},
		{name: "since on a filter", subject: "articles.duplicate.>", since: recent, want: []uint64{8, 10}},
		{name: "since hour", since: func() time.Duration { return time.Hour }, want: seqRange(1, 10)},
		{name: "since and fewer last", since: recent, last: 2, want: []uint64{9, 10}},
		{name: "since and more last", since: recent, last: 100, want: seqRange(7, 10)},
		{name: "since hour and last", since: func() time.Duration { return time.Hour }, last: 2, want: []uint64{9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := TailOptions{Stream: testStream, Subject: tt.subject, Last: tt.last}
			if tt.since != nil {
				o.Since = tt.since()
			}
			got := tailCollect(t, b, o, len(tt.want))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got sequences %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTailFollows(t *testing.T) {
	b := newBus(t)
	mustPublish(t, b, messages("articles.new.ar.x", "old", 3))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan Received, 10)
	done := make(chan error, 1)
	stop := errors.New("seen enough")
	go func() {
		done <- b.Tail(ctx, TailOptions{Stream: testStream, Last: 1}, func(r Received) error {
			got <- r
			if r.Seq == 5 {
				return stop
			}
			return nil
		})
	}()

	next := func() Received {
		t.Helper()
		select {
		case r := <-got: // before done: fn sends, then may end Tail
			return r
		default:
		}
		select {
		case r := <-got:
			return r
		case err := <-done:
			// fn sends before it returns, so a message that ended Tail is waiting already.
			select {
			case r := <-got:
				return r
			default:
			}
			t.Fatalf("Tail ended early: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no message after 5s")
		}
		return Received{}
	}
	if r := next(); r.Seq != 3 {
		t.Fatalf("got first seq %d, want 3 (the last stored)", r.Seq)
	}

	// New messages follow, with their headers.
	before := time.Now().Add(-time.Second)
	m := Message{
		Subject: "articles.duplicate.ar.y",
		ID:      "fresh",
		Header:  map[string]string{"Content-Type": "application/json", "ce-type": "news.article.duplicate"},
		Data:    []byte(`{"id":"fresh"}`),
	}
	mustPublish(t, b, []Message{m, {Subject: "articles.new.ar.x", ID: "last", Data: []byte("{}")}})
	r := next()
	if r.Seq != 4 || r.Subject != m.Subject || string(r.Data) != string(m.Data) {
		t.Errorf("got seq %d %s %s, want 4 %s %s", r.Seq, r.Subject, r.Data, m.Subject, m.Data)
	}
	for k, v := range map[string]string{jetstream.MsgIDHeader: "fresh", "Content-Type": "application/json", "ce-type": "news.article.duplicate"} {
		if g := r.Header.Get(k); g != v {
			t.Errorf("header %s: got %q, want %q", k, g, v)
		}
	}
	if r.Time.Before(before) || r.Time.After(time.Now()) || r.Time.Location() != time.UTC {
		t.Errorf("got time %v, want about now, in UTC", r.Time)
	}

	// fn's error ends Tail and comes back as is.
	if r := next(); r.Seq != 5 {
		t.Errorf("got seq %d, want 5", r.Seq)
	}
	select {
	case err := <-done:
		if !errors.Is(err, stop) {
			t.Errorf("got Tail error %v, want %v", err, stop)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Tail did not return fn's error")
	}
}

func TestTailOnlyNew(t *testing.T) {
	b := newBus(t)
	mustPublish(t, b, messages("articles.new.ar.x", "old", 2))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan uint64, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.Tail(ctx, TailOptions{Stream: testStream}, func(r Received) error {
			got <- r.Seq
			return nil
		})
	}()
	waitFor(t, 5*time.Second, "the tail consumer", func() bool {
		return streamState(t, b.js, testStream).Consumers == 1
	})
	mustPublish(t, b, messages("articles.new.ar.x", "new", 1))
	select {
	case seq := <-got:
		if seq != 3 {
			t.Errorf("got seq %d, want 3 (only the new message)", seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message after 5s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got Tail error %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Tail did not return after cancel")
	}
}

// TestLastStart checks the binary search for the last N messages on a
// filter that matches one message in seven, against a count done by hand.
func TestLastStart(t *testing.T) {
	b := newBus(t)
	const total = 200
	var matching []uint64 // sequences of the messages the filter matches
	msgs := make([]Message, total)
	for i := range msgs {
		seq := uint64(i + 1)
		subject := "articles.duplicate.ar.y"
		if seq%7 == 3 {
			subject = "articles.new.ar.x"
			matching = append(matching, seq)
		}
		msgs[i] = Message{Subject: subject, ID: fmt.Sprint(seq), Data: []byte("{}")}
	}
	mustPublish(t, b, msgs)

	for _, n := range []int{1, 2, 13, len(matching) - 1, len(matching), len(matching) + 1, total} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			got, err := b.lastStart(t.Context(), testStream, "articles.new.>", uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			var want uint64 // 0: deliver all
			if n < len(matching) {
				want = matching[len(matching)-n]
			}
			if got != want {
				t.Errorf("got start %d, want %d", got, want)
			}
		})
	}
}

func TestTailErrors(t *testing.T) {
	b := newBus(t)
	tests := []struct {
		name string
		opts TailOptions
		want string
	}{
		{name: "no stream", opts: TailOptions{}, want: "empty stream"},
		{name: "negative since", opts: TailOptions{Stream: testStream, Since: -time.Second}, want: "-1s"},
		{name: "negative last", opts: TailOptions{Stream: testStream, Last: -2}, want: "-2"},
		{name: "unknown stream", opts: TailOptions{Stream: "NOPE"}, want: "NOPE"},
		{name: "unknown stream with last", opts: TailOptions{Stream: "NOPE", Last: 3}, want: "NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Tail(t.Context(), tt.opts, func(Received) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTailUntilCaughtUp(t *testing.T) {
	b := newBus(t)
	mustPublish(t, b, messages("articles.new.ar.x", "old", 6))

	tests := []struct {
		name    string
		subject string
		last    int
		since   time.Duration
		want    []uint64
	}{
		{name: "last 3", last: 3, want: []uint64{4, 5, 6}},
		{name: "since an hour", since: time.Hour, want: seqRange(1, 6)},
		{name: "nothing selected", want: nil},
		{name: "a filter that matches nothing", subject: "articles.duplicate.>", last: 5, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var got []uint64
			caught := 0
			err := b.Tail(ctx, TailOptions{Stream: testStream, Subject: tt.subject, Last: tt.last, Since: tt.since,
				UntilCaughtUp: true, CaughtUp: func() { caught++ }}, func(r Received) error {
				got = append(got, r.Seq)
				return nil
			})
			if err != nil || ctx.Err() != nil {
				t.Fatalf("Tail: %v (context: %v), want it to return nil by itself", err, ctx.Err())
			}
			if !slices.Equal(got, tt.want) || caught != 1 {
				t.Errorf("got %v, caught up %d times; want %v, once", got, caught, tt.want)
			}
		})
	}
}

// TestTailCaughtUp: following, CaughtUp is called once, after the stored messages selected and
// before the new ones.
func TestTailCaughtUp(t *testing.T) {
	b := newBus(t)
	mustPublish(t, b, messages("articles.new.ar.x", "old", 4))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var events []string
	caught := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- b.Tail(ctx, TailOptions{Stream: testStream, Last: 2, CaughtUp: func() {
			events = append(events, "caught up")
			close(caught)
		}}, func(r Received) error {
			events = append(events, fmt.Sprint(r.Seq))
			if r.Seq == 5 {
				cancel()
			}
			return nil
		})
	}()
	select {
	case <-caught:
	case <-ctx.Done():
		t.Fatal("never caught up")
	}
	mustPublish(t, b, messages("articles.new.ar.x", "new", 1))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []string{"3", "4", "caught up", "5"}; !slices.Equal(events, want) {
		t.Errorf("got %v, want %v", events, want)
	}
}
