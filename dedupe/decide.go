package dedupe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Verdict is the outcome of a duplicate decision.
type Verdict int

const (
	// New: the first time this story is seen; publish it as new.
	New Verdict = iota
	// Duplicate: the content duplicates a recent article published under another URL; publish it
	// as a duplicate pointing at that article.
	Duplicate
	// Repeat: this very item was seen before (same canonical URL, or same GUID in the same feed);
	// drop it silently.
	Repeat
)

// String returns "new", "duplicate" or "repeat".
func (v Verdict) String() string {
	switch v {
	case New:
		return "new"
	case Duplicate:
		return "duplicate"
	case Repeat:
		return "repeat"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Doc is what the decision looks at: an article's identity and its text.
type Doc struct {
	FeedID string
	// Source names the outlet ("" means FeedID): one outlet may have several feeds. Two texts
	// from one outlet are duplicates only when near-verbatim or a reprint of one story (see
	// judge's rules 2 and 7).
	Source       string
	CanonicalURL string // "" when the item has no usable link
	GUID         string
	Title        string // plain text
	Text         string // plain text: the full content when the feed carries it, else the summary
	PublishedAt  time.Time
}

// Match is an earlier article that a Doc duplicates.
type Match struct {
	ID        string // the earlier article's id
	ClusterID string // the id of the first article of its story
}

// Keys is the persistent state the decision reads. The store implements it; the caller records the
// decision (the article with its keys) after Decide, in the same transaction as its outbox row, so
// a crash between the two loses nothing: the item is decided again on the next poll.
type Keys interface {
	// HasURL reports whether an article with this canonical URL was recorded, in any feed.
	HasURL(ctx context.Context, canonicalURL string) (bool, error)
	// HasGUID reports whether an article with this GUID was recorded in this feed.
	HasGUID(ctx context.Context, feedID, guid string) (bool, error)
	// FindContent returns the first article recorded since the given time whose content key is key.
	FindContent(ctx context.Context, key string, since time.Time) (Match, bool, error)
}

// Decision is the result of Decide.
type Decision struct {
	Verdict     Verdict
	ContentKey  string  // hash of the normalised title and text; "" when both are empty
	DuplicateOf string  // for Duplicate: the id of the article this one duplicates
	ClusterID   string  // for Duplicate: the id of the first article of the story
	Similarity  float64 // for Duplicate: 1 for identical normalised content, else the estimate
	// Fingerprint is the encoded near-duplicate fingerprint of the article, for the store to
	// persist with it (see [Decider.Restore]); nil for a repeat and for an article without words.
	Fingerprint []byte
	// SameStory lists, sorted, the ids of every indexed article within the window judged the
	// same story as this one, whichever story each was grouped into, whether this one is new or
	// a duplicate: the pairs it makes do not depend on the order in which articles arrive (see
	// Order in [Decider]). It holds DuplicateOf. An exact copy of a text too short to fingerprint
	// (no shingle) lists only the first article recorded with the same text. Nil for a repeat and
	// when there is none.
	SameStory []string

	fp   *fingerprint // the decoded Fingerprint, for Record
	at   time.Time    // the article's time in the index
	feed string       // the article's feed
}

// Decider makes the duplicate decision. Callers serialise decide-then-record, so that two copies
// of one story arriving together are not both published as new: Decide, then store the article
// with its Decision.Fingerprint, then Record it. Its methods are safe for concurrent use.
//
// # Near duplicates
//
// Besides the repeat and exact-content keys (read through Keys), a Decider holds an in-memory
// index of the articles of the window. Each article is summarised by a fingerprint made from
// its normalised title and text:
//
//   - a one-permutation MinHash of the body's word 3-shingles (64 buckets of 16 bits), with the
//     position in the text of each bucket's shingle;
//   - a MinHash of its lead (the first 40 words, 16 buckets);
//   - a sample of the numbers it states, its title words, and its 16 rarest words (by how many
//     articles of the development days contain them, a table built into the package; stop words
//     and numbers left out).
//
// Candidates come from an LSH table: 21 bands of 3 body buckets, 4 bands of 4 lead buckets, and
// every pair of the article's 6 rarest words (each in at most 32 articles of the builtin
// table), the same keys whether the article is indexed or looked up, and every article is kept
// under every key: no bucket is capped, and a pair of rare words, unlike one, does not gather a
// week of news about one name. Each candidate within the window is measured against the new article, fingerprint against
// fingerprint (Jaccard and containment estimates, where in the longer text the shared part lies,
// leads, numbers, title and rare words), and judge decides (see judge for its rules and guards).
//
// # Order
//
// Whether two articles are judged one story depends on nothing but the two: their fingerprints,
// measured shorter against longer, and the time between them. Rare words are ranked by a fixed
// table (builtinDocFreq), not by what was recorded before; no LSH bucket is capped, and an article
// is looked up under the keys it is indexed under, so a pair meets whichever arrives first; no
// third article vetoes a match. Decision.SameStory lists every indexed article the new one is
// judged one story with, and the pipeline publishes it (same_story), so the set of pairs judged
// one story is the same whatever the order in which the articles arrive
// (TestDecisionIgnoresArrivalOrder; TestOrderCauses counts what does change). That is what is
// order-free. Clusters are not and cannot be: the judgement is not transitive (A like B, B like C,
// A unlike C), a story is published as it arrives and never regrouped, so which article is the
// original follows arrival, and with it duplicate_of and cluster_id: in one order B roots a
// story that A and C join, in another A and C root two.
//
// # Stories
//
// A story (a cluster) is its first article, published as new, whose id is the cluster id, and
// the duplicates that joined it. A new article joins a story when it is judged the same story as
// the story's first article, or when it is a copy of one of the story's members: near-verbatim,
// or the member's start cut short. A chain (A like B, B like C, A unlike C) never makes A and C
// one story: C joins B's story only if C matches A, or is a copy of B. When the article may join
// several stories it joins the one whose member is closest to it (highest estimated Jaccard
// similarity, then similarity, then smallest id); DuplicateOf is that member and ClusterID the
// story's first article. An exact-content duplicate (same ContentKey) joins the story of the
// first article recorded with that key.
//
// Memory: about 923 bytes per indexed article at a million articles (the item: fingerprint,
// time, ids, feed, 456 bytes; the LSH table: 25 to 40 cells of 8 bytes, kept between 53% and 80%
// full), plus the builtin table of 256 KiB. BenchmarkDecide1M measures it. Pruned articles keep
// their memory until the next compaction, which runs when they are as many as the live ones, so a
// steady window holds at most twice its articles.
//
// Persistence: the store keeps Decision.Fingerprint with the article; Restore and RestoreAll
// reload the index at start. Fingerprints of another version are skipped.
type Decider struct {
	keys   Keys
	window time.Duration

	mu  sync.RWMutex
	idx *index
	df  *docFreq // builtinDocFreq: fixed, so that a word's rank never depends on what arrived

	scratch sync.Pool // *analysis
}

// DefaultWindow is how far back a duplicate's original may be: a story seen again after a week is
// treated as new.
const DefaultWindow = 7 * 24 * time.Hour

// NewDecider returns a Decider reading state from keys. window bounds how old the original of a
// duplicate may be, measured on the time it was recorded; 0 means DefaultWindow.
func NewDecider(keys Keys, window time.Duration) *Decider {
	if window <= 0 {
		window = DefaultWindow
	}
	return &Decider{keys: keys, window: window, idx: newIndex(), df: builtinDocFreq()}
}

// Decide classifies d as a repeat, a duplicate or a new story. now is the time of the decision
// (the fetch time), which bounds the exact-content window; the near-duplicate window is measured
// between the articles' times: d.PublishedAt, or now when it is zero.
//
// In order: a repeat (same canonical URL, or same GUID in the feed); an exact-content duplicate
// (same ContentKey within the window); a near duplicate of an indexed article (see [judge]); else
// new. Decide does not change the index: Record the article once it is stored.
func (dd *Decider) Decide(ctx context.Context, d Doc, now time.Time) (Decision, error) {
	if d.CanonicalURL != "" {
		seen, err := dd.keys.HasURL(ctx, d.CanonicalURL)
		if err != nil {
			return Decision{}, fmt.Errorf("dedupe: look up url %q: %w", d.CanonicalURL, err)
		}
		if seen {
			return Decision{Verdict: Repeat}, nil
		}
	}
	if d.GUID != "" {
		seen, err := dd.keys.HasGUID(ctx, d.FeedID, d.GUID)
		if err != nil {
			return Decision{}, fmt.Errorf("dedupe: look up guid %q in feed %s: %w", d.GUID, d.FeedID, err)
		}
		if seen {
			return Decision{Verdict: Repeat}, nil
		}
	}
	a, _ := dd.scratch.Get().(*analysis)
	if a == nil {
		a = new(analysis)
	}
	defer dd.scratch.Put(a)
	// One pass normalises the title and text and hashes their words; the content key hashes
	// the normalised bytes as they are.
	n := a.analyzeText(d.Title, d.Text)
	key := contentKeyOf(a.norm, n)
	dec := Decision{Verdict: New, ContentKey: key}
	if key == "" {
		return dec, nil
	}
	if a.ok {
		dec.feed = d.Source
		if dec.feed == "" {
			dec.feed = d.FeedID
		}
		dec.at = d.PublishedAt
		if dec.at.IsZero() {
			dec.at = now
		}
	}
	m, ok, err := dd.keys.FindContent(ctx, key, now.Add(-dd.window))
	if err != nil {
		return Decision{}, fmt.Errorf("dedupe: look up content key: %w", err)
	}
	if ok {
		dec.Verdict = Duplicate
		dec.DuplicateOf = m.ID
		dec.ClusterID = m.ClusterID
		if dec.ClusterID == "" {
			dec.ClusterID = m.ID
		}
		dec.Similarity = 1
	}
	if a.ok {
		dd.near(a, &dec)
		fp := a.fp
		dec.fp = &fp
		dec.Fingerprint = fp.appendBinary(make([]byte, 0, maxEncodedLen))
	}
	if ok {
		// The article it duplicates is judged the same story, whether the index holds it or not
		// (a text too short to fingerprint; an article older than the window by its own time).
		if i, found := slices.BinarySearch(dec.SameStory, m.ID); !found {
			dec.SameStory = slices.Insert(dec.SameStory, i, m.ID)
		}
	}
	return dec, nil
}

// near completes the analysed article's fingerprint with its rare words and looks it up in the
// index: when judge accepts candidates and dec is not an exact-content duplicate already, dec
// becomes a duplicate (see chooseCluster). An exact-content duplicate is looked up too, so that
// the articles judged the same story (dec.SameStory) do not depend on whether its twin came first.
func (dd *Decider) near(a *analysis, dec *Decision) {
	dd.mu.RLock()
	defer dd.mu.RUnlock()
	a.pickRare(dd.df)
	a.cands = dd.idx.candidates(a.cands[:0], &a.fp, &a.sink)
	a.accepted = a.accepted[:0]
	at, window := dec.at.Unix(), int64(dd.window/time.Second)
	for _, s := range a.cands {
		e := dd.idx.slot(s)
		dt := at - e.at
		if dt > window || -dt > window {
			continue
		}
		f := measure(&a.fp, &e.fp, time.Duration(dt)*time.Second)
		f.sameOutlet = dd.idx.sameFeed(s, dec.feed)
		if sim, ok := judge(&f); ok {
			// A copy of an indexed article, or its start cut short, tells what that article
			// tells: it may join the article's story through it (see chooseCluster).
			copyOf := f.jaccard >= nearVerbatim || a.fp.shingles <= e.fp.shingles && f.isLeadOf()
			a.accepted = append(a.accepted, match{s, sim, f.jaccard, copyOf})
		}
	}
	if len(a.accepted) == 0 {
		return
	}
	dec.SameStory = make([]string, len(a.accepted))
	for i, m := range a.accepted {
		dec.SameStory[i], _ = dd.idx.ids(m.slot)
	}
	slices.Sort(dec.SameStory)
	if dec.Verdict != New {
		return
	}
	best, ok := dd.chooseCluster(a.accepted)
	if !ok {
		return
	}
	id, cluster := dd.idx.ids(best.slot)
	dec.Verdict = Duplicate
	dec.DuplicateOf = id
	dec.ClusterID = cluster
	if cluster == "" {
		dec.ClusterID = id
	}
	dec.Similarity = best.sim
}

// chooseCluster picks, among the accepted candidates, the article a new one duplicates. A story
// (a cluster) is its first article, the root, published as new, and the duplicates that joined it.
// A new article joins a story when it is judged the same story as its root, or when it is a
// copy of one of its members: near-verbatim (estimated Jaccard similarity at least nearVerbatim),
// or the member's start cut short (see isLeadOf). A copy of a member tells what that member
// tells. A match of another kind with a member only (a rewrite of a duplicate, or a longer text
// that a duplicate is the lead of) is not enough: so a chain (A like B, B like C) cannot put an
// unrelated A and C in one story. Of the stories it may join, it joins the one whose member is
// closest to it (highest estimated Jaccard similarity, then highest similarity, then smallest id,
// so that the choice depends on nothing but the matches); duplicate_of is that member. When it
// may join none, it is new.
func (dd *Decider) chooseCluster(accepted []match) (match, bool) {
	joinable := make(map[string]bool, len(accepted))
	for _, m := range accepted {
		if id, cluster := dd.idx.ids(m.slot); id == cluster || cluster == "" {
			joinable[id] = true
		} else if m.copyOf {
			joinable[cluster] = true
		}
	}
	var best match
	var bestID string
	found := false
	for _, m := range accepted {
		id, cluster := dd.idx.ids(m.slot)
		if cluster == "" {
			cluster = id
		}
		if !joinable[cluster] {
			continue
		}
		if !found || m.jaccard > best.jaccard || m.jaccard == best.jaccard &&
			(m.sim > best.sim || m.sim == best.sim && id < bestID) {
			best, bestID, found = m, id, true
		}
	}
	return best, found
}

// nearVerbatim is the estimated Jaccard similarity from which two texts are copies of one text:
// every different-story pair of the development set is below 0.72.
const nearVerbatim = 0.85

// Record adds a stored article to the near-duplicate index: id is its id, clusterID the id of the
// first article of its story (its own id when it is new), dec what Decide returned for it. A
// decision without a fingerprint (a repeat, an article without words) adds nothing.
func (dd *Decider) Record(id, clusterID string, dec Decision) {
	if dec.fp == nil {
		return
	}
	if clusterID == "" {
		clusterID = id
	}
	dd.mu.Lock()
	defer dd.mu.Unlock()
	dd.idx.add(id, clusterID, dec.feed, dec.at, dec.fp)
}

// Restore adds a persisted article to the index when the process starts: its id, the id of the
// first article of its story, its time (publication, else fetch) and the Decision.Fingerprint
// stored with it. Its signature is that of the store's fingerprint loader, so that
//
//	err := st.Fingerprints(ctx, now.Add(-window), dd.Restore)
//
// rebuilds the index. A fingerprint of another version of the package is skipped (the article
// then takes no part in near-duplicate decisions); a corrupt one is an error wrapping
// ErrCorruptFingerprint.
func (dd *Decider) Restore(id, clusterID, feedID string, at time.Time, fp []byte) error {
	var f fingerprint
	if ok, err := decodeRestored(&f, id, fp); !ok {
		return err
	}
	if clusterID == "" {
		clusterID = id
	}
	dd.mu.Lock()
	defer dd.mu.Unlock()
	dd.idx.add(id, clusterID, feedID, at, &f)
	return nil
}

// decodeRestored decodes the persisted fingerprint of article id into f. It reports false for a
// fingerprint of another version of the package, which is skipped (the article then takes no
// part in near-duplicate decisions), and for a corrupt one, with an error.
func decodeRestored(f *fingerprint, id string, fp []byte) (bool, error) {
	err := f.UnmarshalBinary(fp)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errFingerprintVersion):
		return false, nil
	}
	return false, fmt.Errorf("dedupe: restore article %s: %w: %w", id, ErrCorruptFingerprint, err)
}

// ErrCorruptFingerprint is wrapped by Restore's error for a persisted fingerprint that cannot be
// decoded. A caller may skip that article (it then takes no part in near-duplicate decisions)
// and go on restoring the others.
var ErrCorruptFingerprint = errors.New("corrupt fingerprint")

// Prune removes from the index the articles older than before (typically now minus the window):
// they can no longer be the original of a duplicate. It returns how many were removed. Memory is
// given back once the removed articles are as many as those left.
func (dd *Decider) Prune(before time.Time) int {
	dd.mu.Lock()
	defer dd.mu.Unlock()
	n, _ := dd.idx.prune(before)
	return n
}

// Len returns the number of articles in the near-duplicate index.
func (dd *Decider) Len() int {
	dd.mu.RLock()
	defer dd.mu.RUnlock()
	return dd.idx.live
}

// Window returns the duplicate window.
func (dd *Decider) Window() time.Duration { return dd.window }

// ContentKey returns the hex SHA-256 of the normalised title and text, or "" when both normalise
// to nothing. Two articles with the same key say the same thing in the same words, up to the
// spelling variants, marks and punctuation that Normalize folds.
func ContentKey(title, text string) string {
	b, _, _ := appendNormalized(nil, title, nil)
	n := len(b)
	b = append(b, 0)
	b, _, _ = appendNormalized(b, text, nil)
	return contentKeyOf(b, n)
}

// contentKeyOf is the ContentKey of norm, the normalised title (its first titleLen bytes), a
// zero byte and the normalised text.
func contentKeyOf(norm []byte, titleLen int) string {
	if titleLen == 0 && len(norm) == 1 {
		return ""
	}
	sum := sha256.Sum256(norm)
	return hex.EncodeToString(sum[:])
}
