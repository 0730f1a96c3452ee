// Package article defines the message feedd publishes to NATS JetStream: the Go type, its JSON
// encoding, the subjects it is published on and the headers that go with it.
//
// Consumers may import this package alone: it depends on nothing else in feedd.
package article

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// SchemaVersion is the version of the message body. It changes only when a field changes meaning
// or disappears; new fields may be added without a change.
const SchemaVersion = 1

// Kind says why an article was published. It is the second token of the subject.
type Kind string

const (
	// New is the first time a story is seen.
	New Kind = "new"
	// Duplicate is an article whose content duplicates one already published under another URL.
	Duplicate Kind = "duplicate"
	// Updated is a new version of a published article whose title or text changed materially.
	Updated Kind = "updated"
)

// The values of Article.ContentSource.
const (
	// ContentFromFeed: the feed carried the content.
	ContentFromFeed = "feed"
	// ContentFromPage: the content was extracted from the article's page.
	ContentFromPage = "page"
	// ContentNone: there is no content beyond the summary.
	ContentNone = "none"
)

// SubjectPrefix is the first token of every article subject.
const SubjectPrefix = "articles"

// Article is one published message. Every field is present in the JSON encoding, except
// duplicate_of and similarity, which only duplicate events carry, published_at_raw, which
// only articles with a guessed date carry, and same_story, which only new and duplicate events
// that match earlier articles carry.
type Article struct {
	SchemaVersion int    `json:"schema_version"`
	ID            string `json:"id"`
	URL           string `json:"url"`
	CanonicalURL  string `json:"canonical_url"`
	GUID          string `json:"guid"`
	FeedID        string `json:"feed_id"`
	FeedURL       string `json:"feed_url"`
	Source        string `json:"source"`
	Lang          string `json:"lang"`
	Title         string `json:"title"`
	Summary       string `json:"summary"`
	ContentText   string `json:"content_text"`
	ContentHTML   string `json:"content_html"`
	// ContentSource says where ContentText and ContentHTML came from: ContentFromFeed,
	// ContentFromPage or ContentNone.
	ContentSource      string    `json:"content_source"`
	Authors            []string  `json:"authors"`
	Categories         []string  `json:"categories"`
	ImageURL           string    `json:"image_url"`
	PublishedAt        time.Time `json:"published_at"`
	PublishedAtGuessed bool      `json:"published_at_guessed"`
	// PublishedAtRaw is the date as the feed wrote it, when published_at had to be guessed
	// because the feed's date could not be read (or was implausible).
	PublishedAtRaw string    `json:"published_at_raw,omitempty"`
	FetchedAt      time.Time `json:"fetched_at"`
	DuplicateOf    string    `json:"duplicate_of,omitempty"`
	Similarity     float64   `json:"similarity,omitempty"`
	ClusterID      string    `json:"cluster_id"`
	// SameStory, on a new or duplicate event, lists the ids of every earlier article (within
	// the duplicate window) that the duplicate decision judged the same story as this one, sorted,
	// whichever story each was grouped into. Unlike cluster_id, which follows the order in which
	// articles arrived, the pairs (this, each listed) do not depend on that order. Empty (and
	// omitted) when there is none.
	SameStory []string `json:"same_story,omitempty"`
	// UpdatedOf, on an updated event only, is the id of the article this is a new version of:
	// the article's own id, which does not change.
	UpdatedOf string `json:"updated_of,omitempty"`
	// Revision, on an updated event only, names this version: a hash of its normalised title and
	// text. The message id of an updated event is "<id>.<revision>".
	Revision string `json:"revision,omitempty"`
}

// Kind reports whether a is a new story, a duplicate of one already published, or a new version
// of one.
func (a *Article) Kind() Kind {
	if a.UpdatedOf != "" {
		return Updated
	}
	if a.DuplicateOf != "" {
		return Duplicate
	}
	return New
}

// Subject returns the subject a is published on: articles.<kind>.<lang>.<feed_id>.
func (a *Article) Subject() string {
	return Subject(a.Kind(), a.Lang, a.FeedID)
}

// Subject returns articles.<kind>.<lang>.<feed_id>. An empty lang becomes "und" (undetermined,
// as in BCP 47); characters that NATS does not allow in a token are replaced with '_'.
func Subject(kind Kind, lang, feedID string) string {
	if lang == "" {
		lang = "und"
	}
	return SubjectPrefix + "." + string(kind) + "." + token(lang) + "." + token(feedID)
}

// token makes s safe as one NATS subject token.
func token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f:
			return '_'
		}
		return r
	}, strings.ToLower(s))
}

// ID returns the stable id of an article: the hex SHA-256 of its canonical URL; without a link, of
// the feed id and GUID; without either, of the feed id and the normalised title and summary
// (fallback). The parts are separated by a NUL byte, which none of them can contain.
func ID(canonicalURL, feedID, guid, fallback string) string {
	var s string
	switch {
	case canonicalURL != "":
		s = canonicalURL
	case guid != "":
		s = feedID + "\x00" + guid
	default:
		s = feedID + "\x00" + fallback
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Header names of the published message, besides the CloudEvents ones.
const (
	HeaderMsgID       = "Nats-Msg-Id"
	HeaderContentType = "Content-Type"
	ContentType       = "application/json"
)

// CloudEvents binary-mode header names and values.
const (
	HeaderCESpecVersion = "ce-specversion"
	HeaderCEID          = "ce-id"
	HeaderCEType        = "ce-type"
	HeaderCESource      = "ce-source"
	HeaderCETime        = "ce-time"
	CESpecVersion       = "1.0"
)

// EventType returns the CloudEvents type of an article of the given kind, for example
// "feedd.article.new".
func EventType(kind Kind) string { return "feedd.article." + string(kind) }

// MsgID returns the message id of a: its id, followed for an updated event by "." and its
// revision, so that each version is published once and every version is published.
func (a *Article) MsgID() string {
	if a.UpdatedOf != "" && a.Revision != "" {
		return a.ID + "." + a.Revision
	}
	return a.ID
}

// Headers returns the headers published with a: the message id, the content type and the
// CloudEvents binary-mode attributes.
func (a *Article) Headers() map[string]string {
	return map[string]string{
		HeaderMsgID:         a.MsgID(),
		HeaderContentType:   ContentType,
		HeaderCESpecVersion: CESpecVersion,
		HeaderCEID:          a.MsgID(),
		HeaderCEType:        EventType(a.Kind()),
		HeaderCESource:      a.FeedURL,
		HeaderCETime:        a.FetchedAt.UTC().Format(time.RFC3339),
	}
}

// Marshal encodes a as the message body: UTF-8 JSON without HTML escaping (content_html stays
// readable and small), with absent authors and categories as [] rather than null.
func Marshal(a *Article) ([]byte, error) {
	size := 512 + len(a.Title) + len(a.Summary) + len(a.ContentText) + len(a.ContentHTML) + len(a.URL) +
		len(a.CanonicalURL) + len(a.GUID) + len(a.ImageURL)
	data, err := a.appendJSON(make([]byte, 0, size+size/16))
	if err != nil {
		return nil, fmt.Errorf("article: encode %s: %w", a.ID, err)
	}
	return data, nil
}

// Schema is the JSON Schema (draft 2020-12) of the message body.
//
//go:embed schema.json
var Schema []byte
