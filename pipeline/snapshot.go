package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/feedd/feedd/store"
)

// snapshotTag is what an index snapshot covers: the store's mark when it was written, and what
// else shapes the index (the window, the names the index knows feeds by). A snapshot is loaded
// only when all of it still holds; the fingerprints recorded after the mark are then read from
// the store.
type snapshotTag struct {
	Store      string `json:"store"`
	Generation int64  `json:"generation"`
	Seq        int64  `json:"seq"`
	WindowSec  int64  `json:"window_s"`
	Names      string `json:"names"` // digest of the feed names (see namesDigest)
}

// feedNames maps each feed id to the name its articles are indexed by, where that is not the id.
func feedNames(feeds []Feed) map[string]string {
	m := make(map[string]string, len(feeds))
	for _, f := range feeds {
		if f.Name != "" && f.Name != f.ID {
			m[f.ID] = f.Name
		}
	}
	return m
}

// namesDigest is a digest of a feedNames map.
func namesDigest(m map[string]string) string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := sha256.New()
	for _, id := range ids {
		fmt.Fprintf(h, "%s\x00%s\x00", id, m[id])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// noteFeeds follows a reloaded feed list: when a feed the index may hold articles of is renamed
// or removed, the index no longer holds what a restart would rebuild (the earlier articles carry
// the old name), and no snapshot is written until the next start rebuilds it.
func (p *Pipeline) noteFeeds(feeds []Feed) {
	next := feedNames(feeds)
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	for _, m := range []map[string]string{p.names, next} {
		for id := range m {
			if p.names[id] != next[id] && p.knownFeeds[id] && p.snapshotOff == "" {
				p.snapshotOff = fmt.Sprintf("feed %s was renamed or removed since the start", id)
			}
		}
	}
	p.names = next
	if p.knownFeeds == nil {
		p.knownFeeds = make(map[string]bool, len(feeds))
	}
	for _, f := range feeds {
		p.knownFeeds[f.ID] = true
	}
}

// loadSnapshot loads the index snapshot, if there is one that matches the store, and returns
// the mark after which the store holds fingerprints it lacks. A snapshot that does not match is
// removed, and why is logged. Called by Restore, under ingestMu, with an empty index.
func (p *Pipeline) loadSnapshot(ctx context.Context, since time.Time) (after int64, loaded int, ok bool) {
	path := p.opts.IndexSnapshot
	if path == "" {
		return 0, 0, false
	}
	mark, err := p.store.IndexMark(ctx)
	if err != nil {
		p.log.Warn("index snapshot not used: rebuilding the duplicate index from the database", "path", path, "err", err)
		return 0, 0, false
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		p.log.Info("no index snapshot: rebuilding the duplicate index from the database", "path", path)
		return 0, 0, false
	}
	if err == nil {
		var tag snapshotTag
		loaded, err = p.decider.LoadSnapshot(f, since, func(b []byte) error {
			if err := json.Unmarshal(b, &tag); err != nil {
				return fmt.Errorf("unreadable mark: %w", err)
			}
			switch {
			case tag.Store != mark.Store:
				return errors.New("it belongs to another database file")
			case tag.Generation != mark.Generation || tag.Seq > mark.Seq:
				return errors.New("the database's fingerprints were pruned, deleted or changed since it was written")
			case tag.WindowSec != int64(p.decider.Window()/time.Second):
				return fmt.Errorf("it was written with dedupe window %v", time.Duration(tag.WindowSec)*time.Second)
			case tag.Names != namesDigest(p.names):
				return errors.New("feed names changed since it was written")
			}
			return nil
		})
		f.Close()
		if err == nil {
			if tag.Seq == mark.Seq {
				p.written = mark // nothing to write until something changes
			}
			return tag.Seq, loaded, true
		}
	}
	p.log.Warn("index snapshot not used: rebuilding the duplicate index from the database", "path", path, "reason", err)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Warn("removing the unused index snapshot", "path", path, "err", err)
	}
	return 0, 0, false
}

// WriteIndexSnapshot writes the duplicate index to Options.IndexSnapshot, for the next start to
// load instead of rebuilding it from the database: to a temporary file, synced, then renamed
// over the last one, so that a crash leaves the last whole snapshot. It writes nothing when
// IndexSnapshot is empty, when nothing was recorded or pruned since the last snapshot, or when
// the index no longer matches what a restart would rebuild (it then says why). Polls wait while
// the index is copied out, but not while the file is synced.
func (p *Pipeline) WriteIndexSnapshot(ctx context.Context) error {
	path := p.opts.IndexSnapshot
	if path == "" {
		return nil
	}
	p.snapshotMu.Lock()
	defer p.snapshotMu.Unlock()
	start := time.Now()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("index snapshot: %w", err)
	}
	written := false
	defer func() {
		if !written {
			f.Close()
			os.Remove(tmp)
		}
	}()
	mark, n, err := p.writeSnapshot(ctx, f)
	if err != nil || n < 0 {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("index snapshot: %w", err)
	}
	size, _ := f.Seek(0, 1)
	if err := f.Close(); err != nil {
		return fmt.Errorf("index snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("index snapshot: %w", err)
	}
	written = true
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the rename, durable
		d.Close()
	}
	p.ingestMu.Lock()
	p.written = mark
	p.ingestMu.Unlock()
	p.log.Info("index snapshot written", "path", path, "articles", n, "bytes", size,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// writeSnapshot writes the index to f under ingestMu, so that no poll records meanwhile and
// the store's mark covers exactly what the index holds. It returns n -1 when there is nothing
// to write.
func (p *Pipeline) writeSnapshot(ctx context.Context, f *os.File) (store.IndexMark, int, error) {
	p.ingestMu.Lock()
	defer p.ingestMu.Unlock()
	switch {
	case !p.restored:
		return store.IndexMark{}, -1, errors.New("index snapshot not written: the duplicate index was not restored")
	case p.snapshotOff != "":
		return store.IndexMark{}, -1, fmt.Errorf("index snapshot not written: %s; the next start rebuilds the index", p.snapshotOff)
	}
	mark, err := p.store.IndexMark(ctx)
	if err != nil {
		return mark, -1, fmt.Errorf("index snapshot: %w", err)
	}
	if mark == p.written {
		return mark, -1, nil
	}
	tag, _ := json.Marshal(snapshotTag{Store: mark.Store, Generation: mark.Generation, Seq: mark.Seq,
		WindowSec: int64(p.decider.Window() / time.Second), Names: namesDigest(p.names)})
	n, err := p.decider.WriteSnapshot(f, tag)
	if err != nil {
		return mark, -1, fmt.Errorf("index snapshot: %w", err)
	}
	return mark, n, nil
}
