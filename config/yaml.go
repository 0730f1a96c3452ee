package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeYAML applies the YAML document in data (read from the file name) to cfg and returns
// every problem found. Keys not in the tables are problems, as with yaml.v3's KnownFields(true);
// the document is walked as a yaml.Node tree instead of being decoded into the struct so that
// each problem names its YAML path and all of them are reported, not the first only.
func decodeYAML(cfg *Config, name string, data []byte) Problems {
	w := &walker{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: defaults
		}
		w.ps.add("config", "", name+": "+yamlMessage(err))
		return w.ps
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		w.ps.add("config", "", name+": "+yamlMessage(err))
	default:
		w.ps.add("config", "", fmt.Sprintf("%s: line %d: a second YAML document; the configuration is one document", name, next.Line))
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = resolve(root.Content[0])
	}
	switch {
	case isNull(root):
	case root.Kind == yaml.MappingNode:
		w.section(cfg, "", root)
	default:
		w.ps.add("config", "", fmt.Sprintf("%s: line %d: the configuration must be a mapping of keys, not %s", name, root.Line, kindName(root)))
	}
	return w.ps
}

// yamlMessage drops the "yaml: " prefix of a yaml.v3 error and makes sure the line is given:
// yaml.v3 leaves it out for errors on the first line.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if !strings.HasPrefix(msg, "line ") {
		msg = "line 1: " + msg
	}
	return msg
}

type walker struct {
	ps     Problems
	merges int // merge keys expanded so far, against maxMerges
}

// maxMerges bounds the merge keys (<<: *anchor) expanded in one document, so that merges of
// lists of merges cannot blow up.
const maxMerges = 256

// isExtension reports whether a top-level key is an extension field, ignored as in Docker
// Compose files: a place to put YAML anchors for feeds to merge ("x-feed-defaults: &d {…}").
func isExtension(path, key string) bool {
	return path == "" && strings.HasPrefix(key, "x-")
}

// section applies the keys of the mapping n found at path (the empty path for the top level).
func (w *walker) section(cfg *Config, path string, n *yaml.Node) {
	for _, p := range w.pairs(path, n, 0) {
		if isExtension(path, p.key.Value) {
			continue
		}
		key := join(path, p.key.Value)
		if f, ok := lookup(configFields, key); ok {
			if s, ok := w.scalar(key, p.value); ok {
				if err := f.set(cfg, s); err != nil {
					w.ps.add(key, s, err.Error())
				}
			}
			continue
		}
		switch {
		case key == feedsKey:
			w.feeds(cfg, p.value)
		case isSection(key):
			switch {
			case isNull(p.value):
			case p.value.Kind == yaml.MappingNode:
				w.section(cfg, key, p.value)
			default:
				w.ps.add(key, scalarText(p.value), "must be a mapping of keys, not "+kindName(p.value))
			}
		default:
			w.ps.add(key, "", "unknown key"+suggest(key, knownKeys(path)))
		}
	}
}

// feeds replaces cfg.Feeds with the list n. An entry that is not a mapping is reported and kept
// as an empty Feed, so that later entries keep their index in problems.
func (w *walker) feeds(cfg *Config, n *yaml.Node) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		w.ps.add(feedsKey, scalarText(n), "must be a list of feeds, not "+kindName(n))
		return
	}
	feeds := make([]Feed, 0, len(n.Content))
	for i, item := range n.Content {
		item = resolve(item)
		path := feedsKey + "[" + strconv.Itoa(i) + "]"
		var f Feed
		if item.Kind != yaml.MappingNode {
			w.ps.add(path, scalarText(item), "must be a mapping with at least id and url, not "+kindName(item))
			feeds = append(feeds, f)
			continue
		}
		for _, p := range w.pairs(path, item, 0) {
			key := path + "." + p.key.Value
			if p.key.Value == feedExtractKey {
				w.feedExtract(&f, key, p.value)
				continue
			}
			ff, ok := lookup(feedFields, p.key.Value)
			if !ok {
				w.ps.add(key, "", "unknown key"+suggest(p.key.Value, fieldKeys(feedFields)))
				continue
			}
			if s, ok := w.scalar(key, p.value); ok {
				if err := ff.set(&f, s); err != nil {
					w.ps.add(key, s, err.Error())
				}
			}
		}
		if f.Name == "" {
			f.Name = f.ID
		}
		if f.Language == "" {
			f.Language = DefaultLanguage
		}
		feeds = append(feeds, f)
	}
	cfg.Feeds = feeds
}

// feedExtract applies a feed's extract mapping n, found at path: body, a CSS selector, and
// strip, a list of them.
func (w *walker) feedExtract(f *Feed, path string, n *yaml.Node) {
	switch {
	case isNull(n):
		return
	case n.Kind != yaml.MappingNode:
		w.ps.add(path, scalarText(n), "must be a mapping of body and strip, not "+kindName(n))
		return
	}
	for _, p := range w.pairs(path, n, 0) {
		key := path + "." + p.key.Value
		if p.key.Value == extractStripKey {
			v := p.value
			switch {
			case isNull(v):
			case v.Kind != yaml.SequenceNode:
				w.ps.add(key, scalarText(v), "must be a list of CSS selectors, not "+kindName(v))
			default:
				f.Extract.Strip = nil
				for i, item := range v.Content {
					if s, ok := w.scalar(key+"["+strconv.Itoa(i)+"]", resolve(item)); ok {
						f.Extract.Strip = append(f.Extract.Strip, s)
					}
				}
			}
			continue
		}
		ff, ok := lookup(feedFields, feedExtractKey+"."+p.key.Value)
		if !ok {
			w.ps.add(key, "", "unknown key"+suggest(p.key.Value, []string{"body", extractStripKey}))
			continue
		}
		if s, ok := w.scalar(key, p.value); ok {
			if err := ff.set(f, s); err != nil {
				w.ps.add(key, s, err.Error())
			}
		}
	}
}

// scalar returns the text of the scalar n. A null keeps the default (ok is false, no problem);
// a list or a mapping is a problem.
func (w *walker) scalar(key string, n *yaml.Node) (string, bool) {
	switch {
	case isNull(n):
		return "", false
	case n.Kind == yaml.ScalarNode:
		return n.Value, true
	default:
		w.ps.add(key, "", "must be a single value, not "+kindName(n))
		return "", false
	}
}

type pair struct {
	key, value *yaml.Node
}

// maxMergeDepth bounds nested merge keys (<<: *anchor).
const maxMergeDepth = 8

// pairs returns the key/value pairs of the mapping n with merge keys (<<) expanded: the
// mapping's own keys win over merged ones, and earlier merged mappings over later ones. A
// repeated key is a problem.
func (w *walker) pairs(path string, n *yaml.Node, depth int) []pair {
	var own, merged []pair
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			w.ps.add(join(path, "?"), "", fmt.Sprintf("line %d: a key must be plain text, not %s", k.Line, kindName(k)))
			continue
		}
		if k.ShortTag() == "!!merge" {
			if w.merges++; depth >= maxMergeDepth || w.merges > maxMerges {
				w.ps.add(join(path, "<<"), "", "too many or too deeply nested merge keys")
				return nil
			}
			merged = append(merged, w.merge(path, v, depth)...)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			w.ps.add(join(path, k.Value), "", fmt.Sprintf("line %d: duplicate key (first on line %d)", k.Line, line))
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key.Value]; !dup {
			seen[p.key.Value] = p.key.Line
			own = append(own, p)
		}
	}
	return own
}

// merge returns the pairs a merge key brings in: one mapping or a list of mappings.
func (w *walker) merge(path string, v *yaml.Node, depth int) []pair {
	switch v.Kind {
	case yaml.MappingNode:
		return w.pairs(path, v, depth+1)
	case yaml.SequenceNode:
		var out []pair
		for _, m := range v.Content {
			if m = resolve(m); m.Kind == yaml.MappingNode {
				out = append(out, w.pairs(path, m, depth+1)...)
			} else {
				w.ps.add(join(path, "<<"), "", "a merge key takes a mapping or a list of mappings, not a list of "+kindName(m))
			}
		}
		return out
	default:
		w.ps.add(join(path, "<<"), "", "a merge key takes a mapping or a list of mappings, not "+kindName(v))
		return nil
	}
}

// maxAliasHops bounds a chain of aliases (an alias of an alias…).
const maxAliasHops = 16

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for range maxAliasHops {
		if n.Kind != yaml.AliasNode || n.Alias == nil {
			return n
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return "a single value"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a document"
	}
}

// scalarText is n's value when it is a scalar, for Problem.Value.
func scalarText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func lookup[T any](fields []field[T], key string) (field[T], bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field[T]{}, false
}

// isSection reports whether path is a mapping of Config, such as "poll".
func isSection(path string) bool {
	for _, f := range configFields {
		if strings.HasPrefix(f.key, path+".") {
			return true
		}
	}
	return false
}

// knownKeys lists the full paths of the keys one level under path.
func knownKeys(path string) []string {
	var out []string
	prefix := path + "."
	if path == "" {
		prefix = ""
		out = append(out, feedsKey)
	}
	for _, f := range configFields {
		rest, ok := strings.CutPrefix(f.key, prefix)
		if !ok {
			continue
		}
		if head, _, nested := strings.Cut(rest, "."); nested {
			out = append(out, prefix+head)
		} else {
			out = append(out, f.key)
		}
	}
	return out
}

func fieldKeys[T any](fields []field[T]) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.key
	}
	return out
}

// suggest returns " (did you mean X?)" when one of known is a likely typo or abbreviation of got.
func suggest(got string, known []string) string {
	got = strings.ToLower(got)
	best, bestDist := "", 3 // at most two edits, or an abbreviation
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(got, lk)
		if len(got) >= 3 && strings.HasPrefix(lk, got) {
			d = min(d, 2)
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
