package dedupe

// Forget removes from the index the articles with the given ids and returns how many it
// removed. A caller that records articles before their transaction commits, so that the
// decisions made meanwhile see them, forgets them when the transaction fails: the index then
// never holds an article the store does not. The document frequencies keep their words: they
// are estimates, and a few extra counts change no decision that matters.
//
// The search runs from the newest article back, where articles just recorded are: Forget is
// cheap for them and linear in the index for others.
func (dd *Decider) Forget(ids ...string) int {
	if len(ids) == 0 {
		return 0
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	dd.mu.Lock()
	defer dd.mu.Unlock()
	x := dd.idx
	forgotten := 0
	for s := x.n - 1; s >= 0 && forgotten < len(want); s-- {
		e := x.slot(uint32(s))
		if e.flags&itemDead != 0 {
			continue
		}
		if id, _ := x.ids(uint32(s)); want[id] {
			e.flags |= itemDead
			delete(want, id)
			forgotten++
		}
	}
	x.live -= forgotten
	return forgotten
}
