// Package pipeline runs feedd's work: it schedules polls, fetches feeds with a bounded worker
// pool and a per-host limit, turns items into articles, asks the duplicate decision, records a
// poll's articles with their outbox rows in one transaction, and relays the outbox to JetStream.
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/feedd/feedd/article"
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
	FullText FullText       // when to fetch an item's page; "": Options.FullText
	Rule     *PageRule      // how to find the article in its pages; nil: the reader's own
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
	Priors(ctx context.Context, feedID string, keys []store.PriorKey) ([]store.Prior, error)
	Begin(ctx context.Context) (*store.Batch, error)
	Fingerprints(ctx context.Context, since time.Time, fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error
	PruneFingerprints(ctx context.Context, before time.Time) (int64, error)
	IndexMark(ctx context.Context) (store.IndexMark, error)
	FingerprintsAfter(ctx context.Context, seq int64, since time.Time, fn func(id, clusterID, feedID string, at time.Time, fp []byte) error) error
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
	// Pages reads article pages for their full text; nil: the feeds' text only.
	Pages           PageReader
	FullText        FullText // when to fetch an item's page; "": FullTextAuto
	MinWords        int      // with FullTextAuto, a feed text shorter than this is a summary; 0: 120
	PageConcurrency int      // pages fetched at once; 0: 8
	Logger          *slog.Logger
	Metrics         *Metrics
	// Clock is the source of time; nil means the real one. Tests set a fake one.
	Clock Clock
	// IndexSnapshot is the file that Restore loads the duplicate index from, when it matches the
	// database, and that WriteIndexSnapshot writes; "": none, Restore reads the database.
	IndexSnapshot string
}

// Pipeline polls feeds and records their articles. Create it with New.
type Pipeline struct {
	opts      Options
	fetch     Fetcher
	store     Store
	relay     *Relay
	decider   *dedupe.Decider
	asm       *assembler
	log       *slog.Logger
	m         *Metrics
	hosts     *hostLimiter
	pages     PageReader
	pageSlots chan struct{} // a token per page being read, of Options.PageConcurrency

	// begin starts a poll's write transaction: the store's Begin; tests wrap it.
	begin func(ctx context.Context) (Tx, error)

	// ingestMu serialises the polls' decide-and-record, so that two copies of a story fetched
	// at the same moment are not both published as new. It guards tx.
	ingestMu sync.Mutex
	tx       Tx // the transaction of the poll being recorded; nil between polls

	pruneMu   sync.Mutex // guards lastPrune; never held with ingestMu
	lastPrune time.Time

	// The index snapshot's state, under ingestMu: whether Restore ran, the names the index
	// knows feeds by, the feeds it may hold articles of, why the index no longer matches what
	// a restart rebuilds ("" while it does), and the store's mark at the last snapshot.
	restored    bool
	restoreErr  error // why the restore failed: no decision is made after it
	names       map[string]string
	knownFeeds  map[string]bool
	snapshotOff string
	written     store.IndexMark
	snapshotMu  sync.Mutex // one WriteIndexSnapshot at a time

	feedsMu sync.Mutex // guards opts.Feeds, which a reload replaces
}

// feeds returns the feed list: the configured one, or the last reloaded.
func (p *Pipeline) feeds() []Feed {
	p.feedsMu.Lock()
	defer p.feedsMu.Unlock()
	return p.opts.Feeds
}

// SetFeeds replaces the feed list that the next Run starts with: in cluster mode, a list
// reloaded while the replica stands by. A running Run takes a new list from its reload
// channel instead (which calls it too). A renamed or removed feed stops the index snapshots
// until the next start (see noteFeeds).
func (p *Pipeline) SetFeeds(feeds []Feed) {
	p.feedsMu.Lock()
	p.opts.Feeds = feeds
	p.feedsMu.Unlock()
	p.noteFeeds(feeds)
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
	if opts.FullText == "" {
		opts.FullText = FullTextAuto
	}
	if opts.MinWords <= 0 {
		opts.MinWords = 120
	}
	if opts.PageConcurrency <= 0 {
		opts.PageConcurrency = 8
	}
	opts.Concurrency = max(opts.Concurrency, 1)
	opts.PerHost = max(opts.PerHost, 1)
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Minute
	}
	p := &Pipeline{
		opts:      opts,
		fetch:     f,
		store:     s,
		relay:     relay,
		asm:       newAssembler(),
		log:       opts.Logger,
		m:         opts.Metrics,
		hosts:     newHostLimiter(opts.PerHost, opts.HostGap, opts.Clock),
		pages:     opts.Pages,
		pageSlots: make(chan struct{}, opts.PageConcurrency),
	}
	if s != nil {
		p.begin = func(ctx context.Context) (Tx, error) { return s.Begin(ctx) }
	}
	p.decider = dedupe.NewDecider(keys{txKeys{p}}, opts.DedupeWindow)
	return p
}

// txKeys answers the decision's lookups inside the transaction of the poll being recorded, so
// that they see its own articles, and from the store otherwise. Decisions run under ingestMu.
type txKeys struct{ p *Pipeline }

func (k txKeys) ks() KeyStore {
	if k.p.tx != nil {
		return k.p.tx
	}
	return k.p.store
}

func (k txKeys) HasURL(ctx context.Context, u string) (bool, error) { return k.ks().HasURL(ctx, u) }
func (k txKeys) HasGUID(ctx context.Context, feedID, guid string) (bool, error) {
	return k.ks().HasGUID(ctx, feedID, guid)
}
func (k txKeys) FindContent(ctx context.Context, key string, since time.Time) (store.Ref, bool, error) {
	return k.ks().FindContent(ctx, key, since)
}

// Restore rebuilds the duplicate index from the fingerprints recorded within the dedupe window
// and prunes older ones. Call it once before polling, or use StartRestore. With
// Options.IndexSnapshot, it loads the snapshot when it matches the database and reads only the
// fingerprints recorded after it; otherwise (none, another version, corrupt, stale) it logs why
// and reads them all.
func (p *Pipeline) Restore(ctx context.Context) error { return p.StartRestore(ctx)() }

// StartRestore runs Restore in the background and returns a function that waits for it to end
// and returns its error. Polls may start at once: they fetch and parse their feeds and drop their
// repeats meanwhile (a repeat is looked up in the store, not in the index), and wait for the
// restore only to decide their other items, as the restore holds the decision's lock from before
// StartRestore returns. If the restore fails, every decision after it fails with its error, so
// nothing is recorded against a partial index; the caller stops polling. The hourly prune waits
// an hour from the start: the restore prunes.
func (p *Pipeline) StartRestore(ctx context.Context) (wait func() error) {
	p.ingestMu.Lock()
	p.pruneMu.Lock()
	p.lastPrune = p.opts.Clock.Now()
	p.pruneMu.Unlock()
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		defer p.ingestMu.Unlock()
		if err = p.restore(ctx); err != nil {
			p.restoreErr = err
		}
	}()
	return func() error {
		<-done
		return err
	}
}

// restore is Restore, under ingestMu.
func (p *Pipeline) restore(ctx context.Context) error {
	start := time.Now()
	since := p.opts.Clock.Now().Add(-p.decider.Window())
	// The index knows articles by outlet (the feed's name), the store by feed id.
	feeds := p.feeds()
	p.names = feedNames(feeds)
	p.knownFeeds = make(map[string]bool, len(feeds))
	for _, f := range feeds {
		p.knownFeeds[f.ID] = true
	}
	// The snapshot is checked against the store's mark before anything changes it.
	after, fromSnapshot, loaded := p.loadSnapshot(ctx, since)
	fromDB := 0
	var corrupt int
	var corruptErr error
	err := p.decider.RestoreAll(func(restore dedupe.RestoreFunc) error {
		fn := func(id, clusterID, feedID string, at time.Time, fp []byte) error {
			if s := p.names[feedID]; s != "" {
				feedID = s
			}
			fromDB++
			err := restore(id, clusterID, feedID, at, fp)
			if errors.Is(err, dedupe.ErrCorruptFingerprint) {
				// One damaged row costs its article its part in near-duplicate decisions, not
				// the daemon its start.
				if corrupt++; corruptErr == nil {
					corruptErr = err
				}
				return nil
			}
			return err
		}
		if loaded {
			return p.store.FingerprintsAfter(ctx, after, since, fn)
		}
		return p.store.Fingerprints(ctx, since, fn)
	})
	if err != nil {
		return fmt.Errorf("rebuild the duplicate index: %w", err)
	}
	if corrupt > 0 {
		p.log.Warn("corrupt fingerprints skipped: those articles take no part in near-duplicate decisions",
			"count", corrupt, "first", corruptErr)
	}
	if n, err := p.store.PruneFingerprints(ctx, since); err != nil {
		return fmt.Errorf("prune fingerprints: %w", err)
	} else if n > 0 {
		p.log.Info("pruned fingerprints outside the dedupe window", "count", n)
	}
	p.restored = true
	if loaded {
		p.log.Info("duplicate index loaded", "articles", p.decider.Len(), "from_snapshot", fromSnapshot,
			"from_database", fromDB, "window", p.decider.Window(), "took", time.Since(start).Round(time.Millisecond))
	} else {
		p.log.Info("duplicate index rebuilt", "articles", p.decider.Len(), "window", p.decider.Window(),
			"took", time.Since(start).Round(time.Millisecond))
	}
	p.pruneMu.Lock()
	p.lastPrune = p.opts.Clock.Now()
	p.pruneMu.Unlock()
	return nil
}

// pruneEvery is how often the duplicate index drops what left the window.
const pruneEvery = time.Hour

// maybePrune drops fingerprints older than the dedupe window from memory and the database, at
// most once an hour. It runs beside the decisions, not under ingestMu: the index is safe for
// concurrent use, and a decision that still sees an article about to leave the window is as
// right as one that does not. A poll that finds another pruning goes on without waiting.
func (p *Pipeline) maybePrune(ctx context.Context) {
	if !p.pruneMu.TryLock() {
		return
	}
	defer p.pruneMu.Unlock()
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
	Updates     int `json:"updates"`
	// PagesRead counts the articles whose text came from their page; PagesFailed, by reason,
	// those whose page was wanted but could not be used.
	PagesRead   int            `json:"pages_read"`
	PagesFailed map[string]int `json:"pages_failed,omitempty"`
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
	c.Updates += o.Updates
	c.PagesRead += o.PagesRead
	for reason, n := range o.PagesFailed {
		if c.PagesFailed == nil {
			c.PagesFailed = map[string]int{}
		}
		c.PagesFailed[reason] += n
	}
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
		entries, repeats := p.asm.assembleUnseen(f, r.Feed, r.URL, r.FetchedAt, p.seen(ctx, f.ID))
		if g := itemsGap(r.Feed.Items, r.FetchedAt); g > 0 {
			gap = g
			st.PublishingGap = g
		}
		res.counts.Items = len(entries) + repeats
		p.m.Items.Add(float64(res.counts.Items))
		p.m.Articles.WithLabelValues("repeat").Add(float64(repeats))
		res.counts.add(p.fullText(ctx, f, entries))
		p.maybePrune(ctx)
		c, err := p.ingest(ctx, entries)
		c.Repeats += repeats
		res.counts.add(c)
		if err != nil {
			res.counts.Fetched = 0
			if ctx.Err() != nil || errors.Is(err, errNoIndex) {
				// Shutting down, or the duplicate index could not be restored (the daemon then
				// stops): the feed's articles were not recorded; they come next time, and the
				// feed's state is left as it was.
				res.err = cmp.Or(ctx.Err(), err)
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
		// The relay keeps the gauge while it runs; while NATS or the stream is away it does not,
		// and the outbox grows: the store's count costs no query.
		p.m.OutboxDepth.Set(float64(p.store.Unsent()))
		st.PagesRead += int64(res.counts.PagesRead)
		for reason, n := range res.counts.PagesFailed {
			if st.PagesFailed == nil {
				st.PagesFailed = map[string]int64{}
			}
			st.PagesFailed[reason] += int64(n)
		}
		p.m.Polls.WithLabelValues("ok").Inc()
		if c.New+c.Duplicates+c.Updates > 0 { // rows were queued: a poll of repeats queues none
			p.relay.Notify()
		}
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

// errNoIndex is the error of a poll that found new articles when the duplicate index could not be
// restored: nothing can be decided, and the daemon stops.
var errNoIndex = errors.New("no duplicate index")

// seen looks up the items of feed feedID in the store, outside the decision's lock, in one
// store.Priors for the feed: an item recorded before is a repeat, dropped before its text is
// processed, unless its feed text changed since (its item hash differs) within the dedupe window,
// when it may be a correction of the article and is assembled and passed on with its prior
// record. A lookup error says unseen, and the decision, which looks again under the lock, has the
// last word.
func (p *Pipeline) seen(ctx context.Context, feedID string) seenFunc {
	since := p.opts.Clock.Now().Add(-p.decider.Window())
	return func(items []seenItem) ([]*store.Prior, []bool) {
		prior, repeat := make([]*store.Prior, len(items)), make([]bool, len(items))
		keys := make([]store.PriorKey, len(items))
		for i, it := range items {
			keys[i] = store.PriorKey{CanonicalURL: it.canonical, GUID: it.guid}
		}
		found, err := p.store.Priors(ctx, feedID, keys)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("looking up a feed's items: each is taken as new, and the decision looks again",
					"feed", feedID, "err", err)
			}
			return prior, repeat
		}
		for i := range found {
			switch pr := &found[i]; {
			case pr.ID == "":
			case pr.ItemHash == "" || pr.ItemHash == items[i].hash || pr.FetchedAt.Before(since):
				repeat[i] = true
			default:
				prior[i] = pr
			}
		}
		return prior, repeat
	}
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

// Tx is one poll's write transaction: its lookups see its own inserts, and nothing of it is
// recorded until Commit. The store's Batch implements it.
type Tx interface {
	KeyStore
	Prior(ctx context.Context, feedID, canonicalURL, guid string) (store.Prior, bool, error)
	Insert(ctx context.Context, a store.Article, m store.Message) (int64, error)
	Revise(ctx context.Context, id, itemHash, contentKey string, m *store.Message) error
	Commit() error
	Rollback() error
}

// ingest decides and records the entries of one poll in one transaction: either all of them
// are recorded or, on error, none, and the next poll brings them again.
//
// The decisions and the write happen together under ingestMu, inside the transaction: the
// decision's repeat and content lookups read through it, so they see the poll's own articles,
// and each article enters the duplicate index as it is decided, so that a near copy later in
// the same poll is caught. No other poll decides before the transaction ends; if it fails, the
// index forgets this poll's articles, so index and store never disagree outside the lock, and
// a failed poll fails alone.
func (p *Pipeline) ingest(ctx context.Context, entries []entry) (c Counts, err error) {
	if len(entries) == 0 { // a poll of repeats: no transaction, no wait for the lock
		return Counts{}, nil
	}
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	if p.restoreErr != nil {
		return Counts{}, fmt.Errorf("%w: %w", errNoIndex, p.restoreErr)
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return Counts{}, err
	}
	p.tx = tx
	var indexed []string // the ids this poll put in the duplicate index
	defer func() {
		p.tx = nil
		if err != nil {
			_ = tx.Rollback()
			p.decider.Forget(indexed...)
		}
	}()
	revised := map[string]bool{} // an article is updated at most once per poll
	for i := range entries {
		e := &entries[i]
		if e.prior != nil {
			updated, err := p.revise(ctx, tx, e, revised)
			if err != nil {
				return Counts{}, err
			}
			if updated {
				c.Updates++
			} else {
				c.Repeats++
			}
			continue
		}
		dec, err := p.decider.Decide(ctx, e.doc, e.art.FetchedAt)
		if err != nil {
			return Counts{}, err
		}
		if dec.Verdict == dedupe.Repeat {
			c.Repeats++
			continue
		}
		e.art.SameStory = dec.SameStory
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
			ItemHash:     e.itemHash,
		}
		data, err := p.encode(&e.art)
		if err != nil {
			return Counts{}, err
		}
		msg := store.Message{
			MsgID:     e.art.ID,
			Subject:   e.art.Subject(),
			Header:    e.art.Headers(),
			Data:      data,
			CreatedAt: e.art.FetchedAt,
		}
		if _, err := tx.Insert(ctx, rec, msg); err != nil {
			if !errors.Is(err, store.ErrExists) {
				return Counts{}, err
			}
			// Same id as an article recorded before (for example two items without a link and
			// with the same title and summary): a repeat.
			c.Repeats++
			continue
		}
		if rec.Fingerprint != nil {
			p.decider.Record(rec.ID, rec.ClusterID, dec)
			indexed = append(indexed, rec.ID)
		}
		if rec.DuplicateOf != "" {
			c.Duplicates++
		} else {
			c.New++
		}
	}
	if err := tx.Commit(); err != nil {
		return Counts{}, err
	}
	p.m.Articles.WithLabelValues("new").Add(float64(c.New))
	p.m.Articles.WithLabelValues("duplicate").Add(float64(c.Duplicates))
	p.m.Articles.WithLabelValues("repeat").Add(float64(c.Repeats))
	p.m.Articles.WithLabelValues("updated").Add(float64(c.Updates))
	return c, nil
}

// revise records e, a recorded item whose feed text changed, within tx: as a new version of
// its article when its title or text changed materially (their normalised content key differs:
// whitespace, punctuation, diacritics and tracking parameters in links do not count), else by
// remembering its new item hash. It reports whether it queued an updated event.
func (p *Pipeline) revise(ctx context.Context, tx Tx, e *entry, revised map[string]bool) (bool, error) {
	a := &e.art
	// Look again under the lock: another poll may have recorded this version meanwhile.
	pr, ok, err := tx.Prior(ctx, a.FeedID, a.CanonicalURL, a.GUID)
	if err != nil {
		return false, err
	}
	if !ok || pr.ItemHash == e.itemHash || revised[pr.ID] {
		return false, nil
	}
	key := dedupe.ContentKey(a.Title, e.doc.Text)
	if key == "" || key == pr.ContentKey {
		return false, tx.Revise(ctx, pr.ID, e.itemHash, pr.ContentKey, nil)
	}
	if a.ContentSource != article.ContentFromPage && p.wantsPage(e) {
		// The page that gave the published text could not be had this time: a shorter feed
		// text is no correction. The item hash stays, so the next poll tries again.
		return false, nil
	}
	a.ID, a.UpdatedOf, a.Revision = pr.ID, pr.ID, key[:16]
	a.ClusterID, a.DuplicateOf, a.Similarity = pr.ClusterID, "", 0
	data, err := p.encode(a)
	if err != nil {
		return false, err
	}
	msg := store.Message{MsgID: a.MsgID(), Subject: a.Subject(), Header: a.Headers(), Data: data, CreatedAt: a.FetchedAt}
	if err := tx.Revise(ctx, pr.ID, e.itemHash, key, &msg); err != nil {
		return false, err
	}
	revised[pr.ID] = true
	p.log.Info("article updated", "id", pr.ID, "feed", a.FeedID, "url", a.URL, "title", a.Title)
	return true, nil
}

// PollAll polls every feed once, with the configured concurrency, and returns the totals.
func (p *Pipeline) PollAll(ctx context.Context) Counts {
	var (
		mu    sync.Mutex
		total Counts
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, p.opts.Concurrency)
	paused := false
	for _, f := range p.feeds() {
		// At outbox.max_pending, wait for the relay as Run does: nothing is dropped.
		for p.outboxFull(ctx, &paused) {
			select {
			case <-p.opts.Clock.After(time.Second):
			case <-ctx.Done():
				wg.Wait()
				return total
			}
		}
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
