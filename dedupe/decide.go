package dedupe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
	FeedID       string
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
	Similarity  float64 // for Duplicate: 1 for identical normalised content
}

// Decider makes the duplicate decision. Callers serialise decide-then-record, so that two copies
// of one story arriving together are not both published as new.
type Decider struct {
	keys   Keys
	window time.Duration
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
	return &Decider{keys: keys, window: window}
}

// Decide classifies d as a repeat, a duplicate or a new story. now is the time of the decision
// (the fetch time), which bounds the duplicate window.
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
	key := ContentKey(d.Title, d.Text)
	dec := Decision{Verdict: New, ContentKey: key}
	if key == "" {
		return dec, nil
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
	return dec, nil
}

// ContentKey returns the hex SHA-256 of the normalised title and text, or "" when both normalise
// to nothing. Two articles with the same key say the same thing in the same words, up to the
// spelling variants, marks and punctuation that Normalize folds.
func ContentKey(title, text string) string {
	t, b := Normalize(title), Normalize(text)
	if t == "" && b == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(t))
	h.Write([]byte{0})
	h.Write([]byte(b))
	return hex.EncodeToString(h.Sum(nil))
}
