package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// connect connects to url (one URL or a comma-separated list) and returns JetStream. Through a
// testnats.Proxy, pass nats.IgnoreDiscoveredServers so the client stays behind the proxy.
func connect(t *testing.T, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts = append([]nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.Timeout(time.Second),
		nats.RetryOnFailedConnect(true),
	}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// term is one replica's term as the test saw it: from Campaign's return to its context's end.
type term struct {
	holder     string
	epoch      uint64
	start, end time.Time
}

// terms collects the terms of every replica of a test.
type terms struct {
	mu  sync.Mutex
	all []*term
}

func (ts *terms) begin(holder string, epoch uint64) *term {
	tm := &term{holder: holder, epoch: epoch, start: time.Now()}
	ts.mu.Lock()
	ts.all = append(ts.all, tm)
	ts.mu.Unlock()
	return tm
}

func (ts *terms) finish(tm *term) {
	ts.mu.Lock()
	tm.end = time.Now()
	ts.mu.Unlock()
}

// snapshot returns the terms by epoch; an unfinished term ends at the far future.
func (ts *terms) snapshot() []term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]term, len(ts.all))
	for i, tm := range ts.all {
		out[i] = *tm
		if out[i].end.IsZero() {
			out[i].end = time.Now().Add(time.Hour)
		}
	}
	slices.SortFunc(out, func(a, b term) int { return int(a.epoch) - int(b.epoch) })
	return out
}

// current returns the latest term that has not ended, if any.
func (ts *terms) current() (term, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var cur *term
	for _, tm := range ts.all {
		if tm.end.IsZero() && (cur == nil || tm.epoch > cur.epoch) {
			cur = tm
		}
	}
	if cur == nil {
		return term{}, false
	}
	return *cur, true
}

// checkNoOverlap fails t when two terms overlap or epochs do not grow with time, and returns
// the longest gap without a leader between consecutive terms.
func checkNoOverlap(t *testing.T, all []term) time.Duration {
	t.Helper()
	var gap time.Duration
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.epoch == b.epoch {
			t.Errorf("two terms with epoch %d: %s and %s", a.epoch, a.holder, b.holder)
		}
		if b.start.Before(a.end) {
			t.Errorf("terms overlap: %s epoch %d ended %s after %s epoch %d began",
				a.holder, a.epoch, a.end.Sub(b.start), b.holder, b.epoch)
		}
		gap = max(gap, b.start.Sub(a.end))
	}
	return gap
}

// replica campaigns in a loop until ctx ends, recording its terms. While it leads, it publishes
// a message with its epoch on subject every 10 ms, checking its lease first as a publisher
// must, when js is not nil.
func replica(ctx context.Context, t *testing.T, e *Elector, ts *terms, js jetstream.JetStream, subject string) {
	for ctx.Err() == nil {
		l, err := e.Campaign(ctx)
		if err != nil {
			return
		}
		tm := ts.begin(e.ID(), l.Epoch())
		ended := make(chan struct{})
		context.AfterFunc(l.Context(), func() { ts.finish(tm); close(ended) })
		if js != nil {
			publishWhileLeading(l, js, subject)
		}
		<-ended
		<-l.Done()
	}
}

func publishWhileLeading(l *Lease, js jetstream.JetStream, subject string) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-l.Context().Done():
			return
		case <-tick.C:
		}
		if l.Check() != nil {
			return
		}
		n++
		msg := &nats.Msg{Subject: subject, Header: nats.Header{}, Data: fmt.Appendf(nil, "%s %d", l.Holder(), n)}
		msg.Header.Set(EpochHeader, strconv.FormatUint(l.Epoch(), 10))
		ctx, cancel := context.WithTimeout(l.Context(), 500*time.Millisecond)
		_, _ = js.PublishMsg(ctx, msg)
		cancel()
	}
}

// checkEpochOrder reads the stream and fails t when an epoch is followed by a smaller one: an
// older term published after a newer one had begun. It returns the messages and epochs seen.
func checkEpochOrder(t *testing.T, js jetstream.JetStream, stream string) (msgs int, epochs []uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := info.State.LastSeq
	if last == 0 {
		return 0, nil
	}
	var prev uint64
	for seq := info.State.FirstSeq; seq <= last; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("read %s message %d: %v", stream, seq, err)
		}
		msgs++
		e, err := strconv.ParseUint(m.Header.Get(EpochHeader), 10, 64)
		if err != nil {
			t.Fatalf("message %d: %s header: %v", seq, EpochHeader, err)
		}
		if e < prev {
			t.Errorf("message %q of epoch %d follows one of epoch %d: two leaders published at once", m.Data, e, prev)
		}
		if e != prev {
			epochs = append(epochs, e)
		}
		prev = e
	}
	return msgs, epochs
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
