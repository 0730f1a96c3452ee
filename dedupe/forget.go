package dedupe

// Forget removes from the index the articles with the given ids, each the newest article
// recorded under its id, and returns how many it removed. A caller that records articles before
// their transaction commits, so that the decisions made meanwhile see them, forgets them when
// the transaction fails: the index then never holds an article the store does not. Pass only
// ids that Record indexed (a decision with a fingerprint): an id is looked for from the newest
// article back, and one that was never recorded costs a scan of the whole index.
//
// When the newest article with an id was pruned already, nothing is removed for it: an older
// article with the same id is the store's, not the caller's. Nothing else needs taking back: the
// word frequencies the decision ranks by are a fixed table, not counted from what is recorded.
func (dd *Decider) Forget(ids ...string) int {
	if len(ids) == 0 {
		return 0
	}
	hexIDs := make(map[[32]byte]bool, len(ids)) // the usual ids, compared decoded
	odd := make(map[string]bool)
	for _, id := range ids {
		var b [32]byte
		if decodeID(&b, id) {
			hexIDs[b] = true
		} else {
			odd[id] = true
		}
	}
	dd.mu.Lock()
	defer dd.mu.Unlock()
	x := dd.idx
	forgotten := 0
	for s := x.n - 1; s >= 0 && len(hexIDs)+len(odd) > 0; s-- {
		e := x.slot(uint32(s))
		found := false
		if e.flags&itemOddID != 0 {
			id := x.odd[uint32(s)][0]
			if found = odd[id]; found {
				delete(odd, id)
			}
		} else if found = hexIDs[e.id]; found {
			delete(hexIDs, e.id)
		}
		if found && e.flags&itemDead == 0 {
			e.flags |= itemDead
			forgotten++
		}
	}
	x.live -= forgotten
	return forgotten
}
