package dedupe

// Mark is a point in the history of a Decider's index: [Decider.Rollback] removes what was
// recorded after it. A caller that records articles before their transaction commits takes a
// Mark first, and rolls back to it when the transaction fails, so that the index never holds an
// article the store does not.
type Mark struct{ n int }

// Mark returns the current point of the index. Between Mark and Rollback the caller must not
// Prune, which renumbers the index.
func (dd *Decider) Mark() Mark {
	dd.mu.RLock()
	defer dd.mu.RUnlock()
	return Mark{n: dd.idx.n}
}

// Rollback removes from the index every article recorded since m and returns how many. The
// document frequencies keep the words of those articles: they are estimates, and a few extra
// counts change no decision that matters.
func (dd *Decider) Rollback(m Mark) int {
	dd.mu.Lock()
	defer dd.mu.Unlock()
	return dd.idx.dropFrom(m.n)
}

// dropFrom marks dead the live items at slots from n on.
func (x *index) dropFrom(n int) int {
	dropped := 0
	for s := n; s < x.n; s++ {
		e := x.slot(uint32(s))
		if e.flags&itemDead == 0 {
			e.flags |= itemDead
			dropped++
		}
	}
	x.live -= dropped
	return dropped
}
