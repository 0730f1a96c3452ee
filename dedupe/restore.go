package dedupe

import (
	"fmt"
	"time"
)

// RestoreFunc adds one persisted article to a Decider's index: its id, the id of the first
// article of its story, its feed, its time (publication, else fetch) and the
// Decision.Fingerprint stored with it. It has the signature of [Decider.Restore] and of the
// store's fingerprint loader callback.
type RestoreFunc func(id, clusterID, feedID string, at time.Time, fp []byte) error

// RestoreAll rebuilds the index from many persisted articles at once, several times faster than
// calling Restore for each. load calls restore once per article, oldest first; restore takes
// what Restore takes, treats it the same way (a fingerprint of another version is skipped, a
// corrupt one is an error naming the article) and copies what it keeps, so fp may be reused
// once it returns. The articles' LSH keys are entered in the index in one pass when load
// returns, whether or not it fails: the index then holds every article restore accepted.
// RestoreAll returns load's error as it is. For example:
//
//	err := dd.RestoreAll(func(restore dedupe.RestoreFunc) error {
//		return st.Fingerprints(ctx, now.Add(-dd.Window()), restore)
//	})
//
// The index is locked until RestoreAll returns: load must not use the Decider, and restore must
// not be called after load returns.
func (dd *Decider) RestoreAll(load func(restore RestoreFunc) error) error {
	dd.mu.Lock()
	defer dd.mu.Unlock()
	// Even if load panics, what was pushed gets its keys: the index stays whole. Into an
	// empty index, the keys go in on every processor.
	from := dd.idx.n
	defer func() {
		if from == 0 {
			dd.idx.buildParallel()
		} else {
			dd.idx.build(from)
		}
	}()
	done := false
	var f fingerprint
	err := load(func(id, clusterID, feedID string, at time.Time, fp []byte) error {
		if done {
			return fmt.Errorf("dedupe: restore article %s after RestoreAll returned", id)
		}
		if ok, err := decodeRestored(&f, id, fp); !ok {
			return err
		}
		if clusterID == "" {
			clusterID = id
		}
		dd.idx.push(id, clusterID, feedID, at, &f)
		return nil
	})
	done = true
	return err
}
