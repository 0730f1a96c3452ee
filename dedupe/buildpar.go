package dedupe

import (
	"runtime"
	"sync"
)

// buildParallel is build(0) for an index whose table is empty (a loaded snapshot, a restore),
// on every processor, and without build's search along runs of full cells: the same cells
// under each key, in slot order. Each worker computes the band keys of a range of slots and
// counts them by region of the table; the counts place every key, in slot order within its
// region, as build's counting sort does; then each worker fills the table for a contiguous run
// of regions. A cell that would run past the end of its worker's run (into cells another
// worker is filling) is set aside and placed after them all, from its home cell on, as linear
// probing wants: every cell between its home and where it lands is then full.
func (x *index) buildParallel() {
	if x.table.used != 0 {
		x.build(0)
		return
	}
	workers := min(runtime.GOMAXPROCS(0), 8, max(1, x.n>>14))
	per := (x.n + workers - 1) / workers
	span := func(w int) (int, int) { return w * per, min((w+1)*per, x.n) }

	totals := make([]int, workers)
	parallel(workers, func(w int) {
		lo, hi := span(w)
		t := 0
		for s := lo; s < hi; s++ {
			t += keyCount(&x.slot(uint32(s)).fp)
		}
		totals[w] = t
	})
	total := 0
	for _, t := range totals {
		total += t
	}
	x.table.reserve(total)
	// Few regions (at most 1,024): the scatter below writes to one place per region, and more
	// places than the processor's TLB and caches track make every write a miss (with build's
	// 16,384 regions at a million articles, the scatter was most of the build, about 3 s of
	// CPU on the shared machine; with 256 to 1,024, about 1 s). Each region's keys are then
	// put in order by a counting sort on their home cell, within the region's cells.
	bits := 0
	for bits < 10 && len(x.table.cells)>>bits > buildRegionCells {
		bits++
	}
	regions := 1 << bits
	shift := 32 - bits
	region := func(k uint32) uint32 { return uint32(uint64(k) >> shift) } // 0 when bits is 0

	// counts[w][r]: keys of worker w's slots in region r; then where they go in sorted.
	counts := make([][]int, workers)
	parallel(workers, func(w int) {
		var keys [bandsPerDoc + maxRareKeys]uint32
		c := make([]int, regions)
		lo, hi := span(w)
		for s := lo; s < hi; s++ {
			for _, k := range bandKeys(&keys, &x.slot(uint32(s)).fp, rareKeys) {
				c[region(k)]++
			}
		}
		counts[w] = c
	})
	starts := make([]int, regions+1) // where each region begins in sorted
	pos := 0
	for r := range regions {
		starts[r] = pos
		for w := range workers {
			n := counts[w][r]
			counts[w][r] = pos
			pos += n
		}
	}
	starts[regions] = pos
	sorted := make([]bandCell, total)
	parallel(workers, func(w int) {
		var keys [bandsPerDoc + maxRareKeys]uint32
		next := counts[w]
		lo, hi := span(w)
		for s := lo; s < hi; s++ {
			for _, k := range bandKeys(&keys, &x.slot(uint32(s)).fp, rareKeys) {
				r := region(k)
				sorted[next[r]] = bandCell{key: k, slot: uint32(s)}
				next[r]++
			}
		}
	})

	// Each worker fills the cells of a run of regions: region r's keys have their home cells
	// in [r*len>>bits, (r+1)*len>>bits] (the end only by rounding). Within a region, the keys
	// are put in the order of their home cells (a counting sort, stable, so that a key's cells
	// stay in slot order) and each goes in the first free cell from its home: as the homes
	// only grow, that is the cell after the last one filled, or its home if that is further.
	// No run of full cells is searched, however many cells a key has.
	t := &x.table
	n := len(t.cells)
	cellOf := func(r int) int { return int(uint64(r) * uint64(n) >> bits) }
	spill := make([][]bandCell, workers)
	used := make([]int, workers)
	parallel(workers, func(w int) {
		r0, r1 := w*regions/workers, (w+1)*regions/workers
		end := cellOf(r1)
		if r1 == regions {
			end = n
		}
		next := cellOf(r0) // no cell before it is free
		var count []int32
		var byHome []bandCell
		for r := r0; r < r1; r++ {
			cs := sorted[starts[r]:starts[r+1]]
			if len(cs) == 0 {
				continue
			}
			base := cellOf(r)
			count = append(count[:0], make([]int32, cellOf(r+1)-base+2)...)
			for _, c := range cs {
				count[t.home(c.key)-base+1]++
			}
			for i := 1; i < len(count); i++ {
				count[i] += count[i-1]
			}
			byHome = append(byHome[:0], cs...)
			for _, c := range cs {
				h := t.home(c.key) - base
				byHome[count[h]] = c
				count[h]++
			}
			for _, c := range byHome {
				j := max(t.home(c.key), next)
				if j >= end {
					spill[w] = append(spill[w], c)
					continue
				}
				t.cells[j] = bandCell{key: c.key, slot: c.slot + 1}
				used[w]++
				next = j + 1
			}
		}
	})
	for w := range workers {
		t.used += used[w]
	}
	// What ran past a worker's cells goes in now, from its home, past the next worker's.
	for _, cs := range spill {
		for _, c := range cs {
			t.insert(c.key, c.slot)
		}
	}
}

// parallel runs fn(0) to fn(workers-1) at once and waits for them.
func parallel(workers int, fn func(w int)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { fn(w) })
	}
	wg.Wait()
}
