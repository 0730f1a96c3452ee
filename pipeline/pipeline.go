// Package pipeline runs feedd's work: it schedules polls, fetches feeds with a bounded worker
// pool and a per-host limit, turns items into articles, asks the duplicate decision, records a
// poll's articles with their outbox rows in one transaction, and relays the outbox to JetStream.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/feedd/feedd/dedupe"
	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/store"
)

// Feed is one feed to poll.
type Feed struct {
	ID       string
	URL      string
	Name     string
	Lang     string
	Interval time.Duration  // 0: Options.Interval
	Charset  string         // overrides the declared or detected charset when set
	Zone     *time.Location // zone of dates written without one; nil: UTC
}

// Fetcher fetches and parses one feed. The fetcher package implements it.
type Fetcher interface {
	Fetch(ctx context.Context, req fetcher.Request) (*fetcher.Result, error)
}

// Store is the durable state the pipeline records into. The store package implements it.
type Store interface {
	Outbox
	Feed(ctx context.Context, id string) (store.Feed, bool, error)
	PutFeed(ctx context.Context, f store.Feed) error
	KeyStore
	Begin(ctx context.Context) (*store.Batch, error)
	Fingerprints(ctx context.Context, since time.Time, fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error
	PruneFingerprints(ctx context.Context, before time.Time) (int64, error)
}

var (
	_ Fetcher = (*fetcher.Fetcher)(nil)
	_ Store   = (*store.Store)(nil)
)

// Options configure a Pipeline.
type Options struct {
	Feeds        []Feed
	Interval     time.Duration // default poll interval of a feed without its own
	Concurrency  int           // feeds fetched at once
	PerHost      int           // requests to one host at once
	HostGap      time.Duration // least time between the starts of two requests to one host
	Policy       Policy        // when to poll next
	DedupeWindow time.Duration // how old the original of a duplicate may be
	MaxPending   int64         // unsent outbox rows at which polling pauses; 0 means no bound
	MaxMessage   int           // largest message body; 0 means DefaultMaxMessage
	Logger       *slog.Logger
	Metrics      *Metrics
	// Clock is the source of time; nil means the real one. Tests set a fake one.
	Clock Clock
}

// Pipeline polls feeds and records their articles. Create it with New.
type Pipeline struct {
	opts    Options
	fetch   Fetcher
	store   Store
	relay   *Relay
	decider *dedupe.Decider
	asm     *assembler
	log     *slog.Logger
	m       *Metrics
	hosts   *hostLimiter

	// ingestMu serialises the duplicate decisions, so that two copies of a story fetched at the
	// same moment are not both published as new. It guards inflight, batches and lastPrune too.
	ingestMu  sync.Mutex
	inflight  *inflight
	batches   map[*batch]struct{} // the batches decided and not yet done
	lastPrune time.Time
}

// New returns a pipeline fetching with f, recording into s and publishing through relay.
func New(opts Options, f Fetcher, s Store, relay *Relay) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	opts.Concurrency = max(opts.Concurrency, 1)
	opts.PerHost = max(opts.PerHost, 1)
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Minute
	}
	fl := newInflight()
	return &Pipeline{
		opts:     opts,
		fetch:    f,
		store:    s,
		relay:    relay,
		decider:  dedupe.NewDecider(keys{inflightKeys{s, fl}}, opts.DedupeWindow),
		inflight: fl,
		batches:  map[*batch]struct{}{},
		asm:      newAssembler(),
		log:      opts.Logger,
		m:        opts.Metrics,
		hosts:    newHostLimiter(opts.PerHost, opts.HostGap, opts.Clock),
	}
}

// Restore rebuilds the duplicate index from the fingerprints recorded within the dedupe window
// and prunes older ones. Call it once before polling.
func (p *Pipeline) Restore(ctx context.Context) error {
	start := time.Now()
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	since := p.opts.Clock.Now().Add(-p.decider.Window())
	if n, err := p.store.PruneFingerprints(ctx, since); err != nil {
		return fmt.Errorf("prune fingerprints: %w", err)
	} else if n > 0 {
		p.log.Info("pruned fingerprints outside the dedupe window", "count", n)
	}
	// The index knows articles by outlet (the feed's name), the store by feed id.
	source := make(map[string]string, len(p.opts.Feeds))
	for _, f := range p.opts.Feeds {
		source[f.ID] = f.Name
	}
	err := p.decider.RestoreAll(func(restore dedupe.RestoreFunc) error {
		return p.store.Fingerprints(ctx, since, func(id, clusterID, feedID string, at time.Time, fp []byte) error {
			if s := source[feedID]; s != "" {
				feedID = s
			}
			return restore(id, clusterID, feedID, at, fp)
		})
	})
	if err != nil {
		return fmt.Errorf("rebuild the duplicate index: %w", err)
	}
	p.log.Info("duplicate index rebuilt", "articles", p.decider.Len(), "window", p.decider.Window(),
		"took", time.Since(start).Round(time.Millisecond))
	p.lastPrune = p.opts.Clock.Now()
	return nil
}

// pruneEvery is how often the duplicate index drops what left the window.
const pruneEvery = time.Hour

// maybePrune drops fingerprints older than the dedupe window from memory and the database, at
// most once an hour. The caller holds ingestMu.
func (p *Pipeline) maybePrune(ctx context.Context) {
	now := p.opts.Clock.Now()
	if now.Sub(p.lastPrune) < pruneEvery {
		return
	}
	p.lastPrune = now
	before := now.Add(-p.decider.Window())
	n := p.decider.Prune(before)
	if _, err := p.store.PruneFingerprints(ctx, before); err != nil {
		p.log.Warn("pruning fingerprints", "err", err)
	}
	if n > 0 {
		p.log.Debug("duplicate index pruned", "dropped", n, "indexed", p.decider.Len())
	}
}

// KeyStore is the part of the store the duplicate decision reads.
type KeyStore interface {
	HasURL(ctx context.Context, canonicalURL string) (bool, error)
	HasGUID(ctx context.Context, feedID, guid string) (bool, error)
	FindContent(ctx context.Context, key string, since time.Time) (store.Ref, bool, error)
}

// DedupeKeys adapts a store to the dedupe.Keys the decision reads.
func DedupeKeys(s KeyStore) dedupe.Keys { return keys{s} }

type keys struct{ s KeyStore }

func (k keys) HasURL(ctx context.Context, u string) (bool, error) { return k.s.HasURL(ctx, u) }
func (k keys) HasGUID(ctx context.Context, feedID, guid string) (bool, error) {
	return k.s.HasGUID(ctx, feedID, guid)
}
func (k keys) FindContent(ctx context.Context, key string, since time.Time) (dedupe.Match, bool, error) {
	ref, ok, err := k.s.FindContent(ctx, key, since)
	return dedupe.Match{ID: ref.ID, ClusterID: ref.ClusterID}, ok, err
}

// Counts tallies what polls did. The JSON names are those of the `feedd run --once` summary.
type Counts struct {
	Feeds       int `json:"feeds"`
	Fetched     int `json:"fetched"`
	NotModified int `json:"not_modified"`
	Failed      int `json:"failed"`
	Items       int `json:"items"`
	New         int `json:"new"`
	Duplicates  int `json:"duplicates"`
	Repeats     int `json:"repeats"`
}

func (c *Counts) add(o Counts) {
	c.Feeds += o.Feeds
	c.Fetched += o.Fetched
	c.NotModified += o.NotModified
	c.Failed += o.Failed
	c.Items += o.Items
	c.New += o.New
	c.Duplicates += o.Duplicates
	c.Repeats += o.Repeats
}

// pollResult is what one poll of one feed did.
type pollResult struct {
	counts Counts
	err    error         // the fetch or store error that failed the poll
	next   time.Duration // the wait before the next poll
	nextAt time.Time     // the time of the next poll, as stored
}

// poll fetches one feed, records its new articles and its state, and says when to poll it next.
// A failure is returned in the result, counted and logged; it never stops other feeds. held is
// the release of a host slot the caller already holds for the feed, or nil to wait for one.
func (p *Pipeline) poll(ctx context.Context, f Feed, held func()) pollResult {
	release := held
	defer func() {
		if release != nil {
			release()
		}
	}()
	res := pollResult{counts: Counts{Feeds: 1}}
	st, _, err := p.store.Feed(ctx, f.ID)
	if err != nil {
		p.m.StoreErrors.Inc()
		res.err = fmt.Errorf("read state of feed %s: %w", f.ID, err)
		res.counts.Failed = 1
		return res
	}
	if st.URL != f.URL { // new feed, or the operator changed its URL: start afresh
		st = store.Feed{ID: f.ID, URL: f.URL, Items: st.Items}
	}
	st.ID = f.ID

	if release == nil {
		if release, err = p.hosts.acquire(ctx, host(f.URL)); err != nil {
			res.err = err
			return res
		}
	}
	fetchURL := f.URL
	if st.FetchURL != "" {
		fetchURL = st.FetchURL // moved for good
	}
	start := time.Now()
	r, err := p.fetch.Fetch(ctx, fetcher.Request{URL: fetchURL, ETag: st.ETag, LastModified: st.LastModified,
		Charset: f.Charset, DefaultZone: f.Zone})
	release()
	release = nil
	p.m.FetchDuration.Observe(time.Since(start).Seconds())
	now := p.opts.Clock.Now()
	st.LastPollAt = now
	interval := f.Interval
	if interval <= 0 {
		interval = p.opts.Interval
	}

	if err != nil {
		if ctx.Err() != nil {
			res.err = ctx.Err()
			return res // shutting down: not the feed's fault, leave its state alone
		}
		class := fetcher.ClassOf(err)
		res.counts.Failed = 1
		res.err = err
		st.ConsecutiveFailures++
		st.LastError = err.Error()
		st.ErrorClass = string(class)
		var fe *fetcher.Error
		if errors.As(err, &fe) {
			st.LastStatus = fe.StatusCode
		}
		var retryAfter time.Duration
		if fe != nil {
			retryAfter = fe.RetryAfter
		}
		res.next = p.opts.Policy.afterFailure(interval, st.ConsecutiveFailures, retryAfter)
		p.m.Polls.WithLabelValues("error").Inc()
		p.m.FetchErrors.WithLabelValues(string(class)).Inc()
		p.m.FeedFailures.WithLabelValues(f.ID).Set(float64(st.ConsecutiveFailures))
		p.log.Warn("poll failed", "feed", f.ID, "url", f.URL, "class", class, "err", err,
			"failures", st.ConsecutiveFailures, "retry_in", res.next.Round(time.Second))
		p.saveState(ctx, &st, now.Add(res.next))
		res.nextAt = st.NextPollAt
		return res
	}

	res.counts.Fetched = 1
	st.LastStatus = r.StatusCode
	p.noteFallbacks(f, r)
	if r.MovedTo != "" && r.MovedTo != fetchURL {
		p.log.Info("feed moved permanently: polling its new address from now on", "feed", f.ID,
			"from", fetchURL, "to", r.MovedTo, "configured", f.URL)
		st.FetchURL = r.MovedTo
	}
	gap := st.PublishingGap // a 304 says nothing new about the rate: keep the last measure
	if r.NotModified {
		res.counts.NotModified = 1
		p.m.Polls.WithLabelValues("not_modified").Inc()
	} else {
		entries := p.asm.assemble(f, r.Feed, r.URL, r.FetchedAt)
		if g := publishingGap(entries); g > 0 {
			gap = g
			st.PublishingGap = g
		}
		res.counts.Items = len(entries)
		p.m.Items.Add(float64(len(entries)))
		c, err := p.ingest(ctx, entries)
		res.counts.add(c)
		if err != nil {
			res.counts.Fetched = 0
			if ctx.Err() != nil {
				// Shutting down: the feed's articles were not recorded; they come next time.
				res.err = ctx.Err()
				return res
			}
			// The validators are not saved: the next poll fetches the feed again in full, and
			// what was recorded is recognised as a repeat.
			p.m.StoreErrors.Inc()
			p.m.Polls.WithLabelValues("error").Inc()
			res.err = fmt.Errorf("record articles of feed %s: %w", f.ID, err)
			res.counts.Failed = 1
			st.ConsecutiveFailures++
			st.LastError, st.ErrorClass = res.err.Error(), "store"
			p.log.Error("recording articles failed", "feed", f.ID, "err", err, "failures", st.ConsecutiveFailures)
			res.next = p.opts.Policy.afterFailure(interval, st.ConsecutiveFailures, 0)
			p.saveState(ctx, &st, now.Add(res.next))
			res.nextAt = st.NextPollAt
			return res
		}
		st.ETag, st.LastModified = r.ETag, r.LastModified
		st.Items += int64(c.New + c.Duplicates)
		p.m.Polls.WithLabelValues("ok").Inc()
		p.relay.Notify()
	}
	st.ConsecutiveFailures = 0
	st.LastError, st.ErrorClass = "", ""
	st.LastSuccessAt = now
	p.m.FeedFailures.WithLabelValues(f.ID).Set(0)
	p.m.LastSuccess.WithLabelValues(f.ID).Set(float64(now.Unix()))
	res.next = p.opts.Policy.afterSuccess(interval, gap, r.CacheFor)
	p.log.Debug("polled", "feed", f.ID, "items", res.counts.Items, "new", res.counts.New,
		"duplicates", res.counts.Duplicates, "repeats", res.counts.Repeats,
		"not_modified", r.NotModified, "took", time.Since(start).Round(time.Millisecond))
	p.saveState(ctx, &st, now.Add(res.next))
	res.nextAt = st.NextPollAt
	return res
}

// noteFallbacks counts and logs what the fetcher had to guess or mend in a feed.
func (p *Pipeline) noteFallbacks(f Feed, r *fetcher.Result) {
	for kind, n := range map[string]int{"date": r.DateFallbacks, "xml_repair": r.Repaired, "invalid_bytes": r.Replaced} {
		if n > 0 {
			p.m.Fallbacks.WithLabelValues(kind).Add(float64(n))
		}
	}
	if len(r.Warnings) > 0 {
		p.log.Debug("feed needed fallbacks", "feed", f.ID, "charset", r.Charset, "warnings", r.Warnings,
			"date_fallbacks", r.DateFallbacks, "xml_repairs", r.Repaired, "invalid_bytes", r.Replaced)
	}
}

func (p *Pipeline) saveState(ctx context.Context, st *store.Feed, next time.Time) {
	st.NextPollAt = next.Truncate(time.Millisecond) // the store keeps milliseconds
	p.m.NextPoll.WithLabelValues(st.ID).Set(float64(st.NextPollAt.Unix()))
	if err := p.store.PutFeed(context.WithoutCancel(ctx), *st); err != nil {
		p.m.StoreErrors.Inc()
		p.log.Error("saving feed state failed", "feed", st.ID, "err", err)
	}
}

// ingest decides and records the entries of one poll in one transaction: either all of them
// are recorded or, on error, none, and the next poll brings them again.
//
// Only the decisions are serialised (under ingestMu); the messages are encoded and the batch
// written after it is released, while other polls decide. So that their decisions see this
// poll's articles meanwhile, each article is recorded in the duplicate index as it is decided
// and its keys are held in p.inflight until the batch is written; if the write fails, the index
// forgets them. A decision may thus rest on a batch not yet written (a duplicate of its article,
// a repeat of its URL), so each batch waits for the batches in flight when it was decided, and
// fails if any of them failed: batches are written in the order they were decided, and nothing
// recorded points at an article that was not.
func (p *Pipeline) ingest(ctx context.Context, entries []entry) (Counts, error) {
	decided, c, b, err := p.decide(ctx, entries)
	if err != nil {
		return Counts{}, err
	}
	exists, err := p.write(ctx, b, decided)

	p.ingestMu.Lock()
	var forget []string
	for i, d := range decided {
		p.inflight.remove(&d.rec)
		if d.rec.Fingerprint != nil && (err != nil || exists[i]) { // indexed, and not recorded
			forget = append(forget, d.rec.ID)
		}
	}
	p.decider.Forget(forget...)
	b.failed = err != nil
	b.after = nil // done with them: a chain of batches through after would never end
	delete(p.batches, b)
	close(b.done)
	p.ingestMu.Unlock()
	if err != nil {
		return Counts{}, err
	}

	for i, d := range decided {
		switch {
		case exists[i]:
			// Same id as an article recorded meanwhile (for example two items without a link
			// and with the same title and summary): a repeat.
			c.Repeats++
		case d.rec.DuplicateOf != "":
			c.Duplicates++
		default:
			c.New++
		}
	}
	p.m.Articles.WithLabelValues("new").Add(float64(c.New))
	p.m.Articles.WithLabelValues("duplicate").Add(float64(c.Duplicates))
	p.m.Articles.WithLabelValues("repeat").Add(float64(c.Repeats))
	return c, nil
}

// batch is one poll's decisions on their way to the store.
type batch struct {
	after  []*batch      // the batches in flight when this one was decided
	done   chan struct{} // closed once the batch is written or has failed, and cleaned up
	failed bool          // set before done is closed
}

// wait waits until the batches this one was decided after are done, and fails if one of them
// failed: a decision of this batch may rest on an article of theirs.
func (b *batch) wait(ctx context.Context) error {
	for _, a := range b.after {
		select {
		case <-a.done:
			if a.failed {
				return errEarlierBatchFailed
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

var errEarlierBatchFailed = errors.New("a batch decided before this one was not recorded; its articles come again at the next poll")

// decided is an entry that is new or a duplicate, with the record the store keeps of it.
type decided struct {
	e   *entry
	rec store.Article
}

// decide makes the duplicate decision for each entry, under ingestMu, and records the new and
// duplicate ones in the index and in p.inflight. It returns them, counts the repeats, and
// registers the batch they form among those in flight.
func (p *Pipeline) decide(ctx context.Context, entries []entry) (out []decided, c Counts, b *batch, err error) {
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	p.maybePrune(ctx)
	b = &batch{done: make(chan struct{})}
	for a := range p.batches {
		b.after = append(b.after, a)
	}
	for i := range entries {
		e := &entries[i]
		if p.inflight.ids[e.art.ID] { // an item of a batch not yet written, this one's included
			c.Repeats++
			continue
		}
		dec, err := p.decider.Decide(ctx, e.doc, e.art.FetchedAt)
		if err != nil {
			// Take back what this call recorded.
			var ids []string
			for i := range out {
				p.inflight.remove(&out[i].rec)
				if out[i].rec.Fingerprint != nil {
					ids = append(ids, out[i].rec.ID)
				}
			}
			p.decider.Forget(ids...)
			return nil, Counts{}, nil, err
		}
		if dec.Verdict == dedupe.Repeat {
			c.Repeats++
			continue
		}
		if dec.Verdict == dedupe.Duplicate {
			e.art.DuplicateOf = dec.DuplicateOf
			e.art.ClusterID = dec.ClusterID
			e.art.Similarity = dec.Similarity
		}
		rec := store.Article{
			ID:           e.art.ID,
			FeedID:       e.art.FeedID,
			CanonicalURL: e.art.CanonicalURL,
			GUID:         e.art.GUID,
			ContentKey:   dec.ContentKey,
			Fingerprint:  dec.Fingerprint,
			ClusterID:    e.art.ClusterID,
			DuplicateOf:  e.art.DuplicateOf,
			Title:        e.art.Title,
			PublishedAt:  e.art.PublishedAt,
			FetchedAt:    e.art.FetchedAt,
		}
		p.decider.Record(rec.ID, rec.ClusterID, dec) // indexes it when it has a fingerprint
		p.inflight.add(&rec)
		out = append(out, decided{e: e, rec: rec})
	}
	p.batches[b] = struct{}{}
	return out, c, b, nil
}

// write encodes the messages of the decided articles, waits for the batches decided before
// them, and records them with their messages in one transaction. exists[i] reports an article
// the store already held under its id.
func (p *Pipeline) write(ctx context.Context, b *batch, ds []decided) (exists []bool, err error) {
	exists = make([]bool, len(ds))
	msgs := make([]store.Message, len(ds))
	for i, d := range ds {
		data, err := p.encode(&d.e.art)
		if err != nil {
			return nil, err
		}
		msgs[i] = store.Message{
			MsgID:     d.e.art.ID,
			Subject:   d.e.art.Subject(),
			Header:    d.e.art.Headers(),
			Data:      data,
			CreatedAt: d.e.art.FetchedAt,
		}
	}
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return exists, nil
	}
	tx, err := p.store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // after Commit, a no-op
	for i, d := range ds {
		if _, err := tx.Insert(ctx, d.rec, msgs[i]); err != nil {
			if !errors.Is(err, store.ErrExists) {
				return nil, err
			}
			exists[i] = true
		}
	}
	return exists, tx.Commit()
}

// PollAll polls every feed once, with the configured concurrency, and returns the totals.
func (p *Pipeline) PollAll(ctx context.Context) Counts {
	var (
		mu    sync.Mutex
		total Counts
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, p.opts.Concurrency)
	for _, f := range p.opts.Feeds {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return total
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r := p.poll(ctx, f, nil)
			mu.Lock()
			total.add(r.counts)
			mu.Unlock()
		})
	}
	wg.Wait()
	return total
}

func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Hostname()
}
