package pipeline

import (
	"context"
	"slices"
	"strconv"
)

// reload replaces the scheduler's feed list with feeds, which the caller has validated (ids
// unique). A feed whose id is new is added and first polled within the start spread, or at the
// next poll stored for it (a feed removed and added back keeps its schedule). A feed whose id is
// gone is no longer polled; a poll of it in flight ends normally. A feed that stays keeps its
// next poll and its state (validators, failures, moved URL); a change of its name, interval,
// charset or zone applies from its next poll. A changed URL makes it a new feed, as at a
// restart: polled soon, without the old URL's validators. Reload logs what changed.
func (s *scheduler) reload(ctx context.Context, feeds []Feed) {
	s.p.SetFeeds(feeds)
	now := s.clock.Now()
	want := make(map[string]Feed, len(feeds))
	for _, f := range feeds {
		want[f.ID] = f
	}
	var added, removed, changed []string
	for id, sf := range s.feeds {
		if _, ok := want[id]; ok {
			continue
		}
		removed = append(removed, id)
		delete(s.feeds, id)
		if sf.inFlight {
			sf.removed = true // dropped when its poll ends
			continue
		}
		s.dequeue(sf)
		s.forgetMetrics(id)
	}
	for _, f := range feeds {
		sf, ok := s.feeds[f.ID]
		if !ok {
			added = append(added, f.ID)
			s.addFeed(ctx, f, now)
			continue
		}
		if sf.update != nil && sameFeed(f, *sf.update) || sf.update == nil && sameFeed(f, sf.feed) {
			continue
		}
		changed = append(changed, f.ID)
		if sf.inFlight {
			sf.update = &f
			continue
		}
		if f.URL != sf.feed.URL {
			s.dequeue(sf)
			sf.feed = f
			sf.at = s.firstPoll(ctx, f, now)
			s.enqueue(sf)
			continue
		}
		sf.feed = f // same URL, so same host and queue; the next poll stays
	}

	s.roundMu.Lock()
	for _, id := range removed {
		delete(s.polled, id)
	}
	s.roundMu.Unlock()

	slices.Sort(removed)
	slices.Sort(changed)
	if len(added)+len(removed)+len(changed) == 0 {
		s.p.log.Info("feed list reloaded: no change", "feeds", len(s.feeds))
		return
	}
	s.p.log.Info("feed list reloaded", "feeds", len(s.feeds),
		"added", len(added), "removed", len(removed), "changed", len(changed),
		"added_ids", idList(added), "removed_ids", idList(removed), "changed_ids", idList(changed))
}

// idList shortens a list of feed ids for a log line: the first 50, then how many more.
func idList(ids []string) []string {
	const most = 50
	if len(ids) <= most {
		return ids
	}
	return append(slices.Clip(ids[:most]), "… "+strconv.Itoa(len(ids)-most)+" more")
}

// sameFeed reports whether a and b define a feed alike. Zones compare by name: a reloaded
// config loads them again.
func sameFeed(a, b Feed) bool {
	za, zb := a.Zone, b.Zone
	a.Zone, b.Zone = nil, nil
	return a == b && za.String() == zb.String()
}
