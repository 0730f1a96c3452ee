package dedupe

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// features are the measurements the decision takes of a candidate pair. They are taken from the
// two fingerprints alone, the shorter text S against the longer L (see measure), so that they are
// a function of the unordered pair: which article arrived first changes no feature, and so no
// judgement (issue 13).
type features struct {
	// jaccard estimates the Jaccard similarity of the two shingle sets: the share of signature
	// buckets, among those not empty in both, where the two smallest members are the same.
	jaccard float64
	// contained estimates S's containment in L from jaccard and the two sizes.
	contained float64
	// prefix is the share of L's samples from L's first len(S) shingles that S has too: near 1
	// when S is L cut to its lead. prefixSamples is how many samples it was measured on.
	prefix        float64
	prefixSamples int
	// matched is the number of buckets where both samples are the same; firstL and lastL are
	// where in L (0..1) the first and last of them sit.
	matched       int
	firstL, lastL float64
	// lead is the share of lead-signature buckets that agree; leadCoverS the share of S that
	// its lead covers, times lead: a lower bound of S's containment in L when both begin alike.
	lead, leadCoverS float64
	// nS and nL are the shingle counts.
	nS, nL int
	// Numbers, compared where both samples are complete: shared, only in S, only in L.
	numShared, numOnlyS, numOnlyL int
	// Title words, compared the same way: shared, and the sizes of the two lists compared.
	titleShared, titleS, titleL int
	// rareShared is how many rare words the two lists have in common; top how many of the 3
	// rarest of one are among the rare words of the other (the larger of the two counts).
	rareShared, top int
	// sharedMinDF is the builtin document frequency of the rarest word the two rare lists share
	// (255 when they share none); ownS and ownL count the names each text has and the other
	// provably lacks: words in at most ownDF articles of the builtin table, ranked where the
	// other's list is complete, and absent from it.
	sharedMinDF, ownS, ownL int
	// sharedNames is how many of the rare words the two lists share are names: in at most ownDF
	// articles of the table.
	sharedNames int
	// hours is the time between the two articles.
	hours float64
	// sameOutlet reports two texts from one outlet.
	sameOutlet bool
}

// measure computes the features of the pair (a, b); dt is the time between them. It is
// symmetric: measure(a, b, dt) and measure(b, a, -dt) are equal. The rare words are judged by the
// document frequencies each fingerprint carries, those of the table its words were ranked by.
func measure(a, b *fingerprint, dt time.Duration) features {
	var f features
	s, l := a, b
	if shorter(b, a) {
		s, l = b, a
	}
	f.nS, f.nL = int(s.shingles), int(l.shingles)
	f.hours = dt.Abs().Hours()

	// Jaccard over the signature buckets, and where the shared samples sit in L (see
	// compareBuckets). A position p is in the prefix when float64(p) <= prefixLimit, that is when
	// p is at most its integer part.
	prefixLimit := float64(f.nS) / float64(max(f.nL, 1)) * (emptyPos - 1)
	total, matched, prefixTotal, prefixFound, first, last := compareBuckets(s, l, int(prefixLimit))
	f.matched = matched
	if total > 0 {
		f.jaccard = float64(f.matched) / float64(total)
	}
	// |S∩L| = J(|S|+|L|)/(1+J).
	f.contained = min(1, f.jaccard*float64(f.nS+f.nL)/(1+f.jaccard)/float64(max(f.nS, 1)))
	f.prefixSamples = prefixTotal
	if prefixTotal > 0 {
		f.prefix = float64(prefixFound) / float64(prefixTotal)
	}
	if f.matched > 0 {
		f.firstL, f.lastL = float64(first)/(emptyPos-1), float64(last)/(emptyPos-1)
	}

	// Leads.
	lm := 0
	for i := range leadSize {
		lm += b2i(s.lead[i] == l.lead[i])
	}
	f.lead = float64(lm) / leadSize
	f.leadCoverS = f.lead * min(1, float64(s.leadShingles)/float64(max(f.nS, 1)))

	// Numbers and title words: each list is the smallest hashes of its set, so below the last
	// value of the fuller list both are complete.
	f.numShared, f.numOnlyS, f.numOnlyL = compareSamples(s.numberList(), l.numberList(),
		int(s.nNums) < int(s.numbers), int(l.nNums) < int(l.numbers))
	f.titleShared, f.titleS, f.titleL = compareSamples(s.titleList(), l.titleList(),
		s.nTitle == maxTitleWords, l.nTitle == maxTitleWords)
	f.titleS += f.titleShared
	f.titleL += f.titleShared

	inL, inS := rareOverlap(s, l)
	f.rareShared, f.top = rareCounts(inL, inS)
	f.sharedMinDF, f.sharedNames, f.ownS, f.ownL = namesOf(s, l, inL, inS)
	return f
}

// shorter reports whether a is the shorter of the pair, ties broken by the fingerprints' content,
// so that measure orders any pair the same way.
func shorter(a, b *fingerprint) bool {
	if a.shingles != b.shingles {
		return a.shingles < b.shingles
	}
	for i := range a.sig {
		if a.sig[i] != b.sig[i] {
			return a.sig[i] < b.sig[i]
		}
	}
	return false
}

// compareBuckets compares the signature buckets of s and l: it returns how many are not empty
// in both (total), how many hold the same sample in both (matched), how many of l's non-empty
// ones have a position of at most inPrefix and how many of those are matched, and the least and
// greatest position in l of a matched bucket (emptyPos and -1 when none is).
//
// It looks at eight buckets at a time, as the bytes of a 64-bit word (SWAR), and takes no branch
// on the samples: whether two buckets agree is as good as random, and a mispredicted branch a
// bucket cost more than all the rest. Each test leaves the top bit of a bucket's byte (or of its
// 16-bit value) set or clear, with no carry between buckets; movemask gathers those bits into one
// bit a bucket.
func compareBuckets(s, l *fingerprint, inPrefix int) (total, matched, prefixTotal, prefixFound, first, last int) {
	const (
		ones8  = 0x0101010101010101
		low7   = 0x7F7F7F7F7F7F7F7F
		high8  = 0x8080808080808080
		low15  = 0x7FFF7FFF7FFF7FFF
		high16 = 0x8000800080008000
	)
	// x <= inPrefix for a byte x when x + (255-inPrefix) does not carry out of the byte.
	k := uint64(255-min(max(inPrefix, 0), 255)) * ones8
	var fullS, fullL, same, prefix uint64
	for g := range sigSize / 8 {
		ps := binary.LittleEndian.Uint64(s.pos[8*g:])
		pl := binary.LittleEndian.Uint64(l.pos[8*g:])
		// A byte is emptyPos (0xFF) when its low seven bits plus one reach its top bit and
		// that bit is set.
		fs := ^(ps & ((ps & low7) + ones8)) & high8
		fl := ^(pl & ((pl & low7) + ones8)) & high8
		sum := (pl & low7) + (k & low7)
		le := ^(pl&k | (pl|k)&sum) & high8
		// A 16-bit value is zero when neither its low fifteen bits plus 0x7FFF nor itself
		// reach its top bit.
		eq := uint64(0)
		for h := range 2 {
			o := 8*g + 4*h
			d := sig64(&s.sig, o) ^ sig64(&l.sig, o)
			z := ^((d & low15) + low15 | d) & high16
			eq |= (z>>15 | z>>30 | z>>45 | z>>60) & 0xF << (4 * h)
		}
		fullS |= movemask(fs) << (8 * g)
		fullL |= movemask(fl) << (8 * g)
		same |= eq << (8 * g)
		prefix |= movemask(le&fl) << (8 * g)
	}
	same &= fullS & fullL
	total = bits.OnesCount64(fullS | fullL)
	matched = bits.OnesCount64(same)
	prefixTotal = bits.OnesCount64(prefix)
	prefixFound = bits.OnesCount64(prefix & same)
	first, last = emptyPos, -1
	for m := same; m != 0; m &= m - 1 {
		p := int(l.pos[bits.TrailingZeros64(m)])
		first, last = min(first, p), max(last, p)
	}
	return total, matched, prefixTotal, prefixFound, first, last
}

// sig64 reads the four signature values from o on as a word: value i is bits 16i to 16i+15.
func sig64(sig *[sigSize]uint16, o int) uint64 {
	v := sig[o : o+4 : o+4]
	return uint64(v[0]) | uint64(v[1])<<16 | uint64(v[2])<<32 | uint64(v[3])<<48
}

// movemask gathers the top bit of each byte of x, whose other bits are clear, into the low
// eight bits: byte i's into bit i.
func movemask(x uint64) uint64 { return (x >> 7) * 0x0102040810204080 >> 56 }

// compareSamples compares two sorted samples of sets, each the smallest values of its set, full
// when the set had more: below the last value of a full sample, both are complete. It returns the
// values in both, only in a and only in b, counted there.
func compareSamples(a, b []uint16, fullA, fullB bool) (both, onlyA, onlyB int) {
	limit := uint16(0xFFFF)
	if fullA && len(a) > 0 {
		limit = min(limit, a[len(a)-1])
	}
	if fullB && len(b) > 0 {
		limit = min(limit, b[len(b)-1])
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) && a[i] <= limit && b[j] <= limit {
		switch {
		case a[i] == b[j]:
			both++
			i++
			j++
		case a[i] < b[j]:
			onlyA++
			i++
		default:
			onlyB++
			j++
		}
	}
	for ; i < len(a) && a[i] <= limit; i++ {
		onlyA++
	}
	for ; j < len(b) && b[j] <= limit; j++ {
		onlyB++
	}
	return both, onlyA, onlyB
}

// compareRare compares the rare word lists of two fingerprints (each the rarest words of its
// text by the builtin document frequencies, ties broken by hash): it returns how many words the
// lists share, and top, how many of the 3 rarest words of one are in the other's list (the larger
// of the two counts).
func compareRare(a, b *fingerprint) (shared, top int) {
	return rareCounts(rareOverlap(a, b))
}

// rareCounts is compareRare from the masks of rareOverlap.
func rareCounts(inB, inA uint16) (shared, top int) {
	const top3 = 1<<3 - 1
	return bits.OnesCount16(inB), max(bits.OnesCount16(inB&top3), bits.OnesCount16(inA&top3))
}

// rareOverlap returns which of a's rare words are in b's list (bit i for a.rare[i]) and which of
// b's are in a's. Two masks of b's words, by two sets of their low bits, rule out nearly all of
// a's words that b lacks without a scan.
func rareOverlap(a, b *fingerprint) (inB, inA uint16) {
	ra, rb := a.rareList(), b.rareList()
	var m1, m2 uint64
	for _, q := range rb {
		m1 |= 1 << (q & 63)
		m2 |= 1 << (q >> 6 & 63)
	}
	for i, r := range ra {
		if (m1>>(r&63))&(m2>>(r>>6&63))&1 == 0 {
			continue
		}
		for j, q := range rb {
			if q == r {
				inB |= 1 << i
				inA |= 1 << j
				break
			}
		}
	}
	return inB, inA
}

// ownDF is the most articles of the builtin table a word may be in to count as a name: a
// person, place or body that identifies a story (see compareNames).
const ownDF = 8

// compareNames compares the rarest words of two fingerprints. Each rare list holds the words of
// lowest rank (builtin document frequency, then hash) of its text; below the highest rank of a
// full list, the list holds every word of its text, so a word of the other text ranked there and
// missing from it is missing from the text. It returns the frequency of the rarest shared word
// and how many names (words in at most ownDF articles) each text has that the other lacks. The
// frequencies are those each fingerprint carries for its rare words (rareDF), from the table
// its words were ranked by.
func compareNames(a, b *fingerprint) (sharedMinDF, sharedNames, ownA, ownB int) {
	inB, inA := rareOverlap(a, b)
	return namesOf(a, b, inB, inA)
}

// namesOf is compareNames from the masks of rareOverlap.
func namesOf(a, b *fingerprint, inB, inA uint16) (sharedMinDF, sharedNames, ownA, ownB int) {
	limit := func(f *fingerprint) uint64 {
		if f.nRare < maxRare {
			return ^uint64(0)
		}
		return rankedWord(f.rareDF[maxRare-1], f.rare[maxRare-1])
	}
	limA, limB := limit(a), limit(b)
	sharedMinDF = 255
	for i, r := range a.rareList() {
		d := a.rareDF[i]
		if inB>>i&1 != 0 {
			sharedMinDF = min(sharedMinDF, int(d))
			sharedNames += b2i(d <= ownDF)
		} else if d <= ownDF && rankedWord(d, r) <= limB {
			ownA++
		}
	}
	for j, r := range b.rareList() {
		if d := b.rareDF[j]; d <= ownDF && inA>>j&1 == 0 && rankedWord(d, r) <= limA {
			ownB++
		}
	}
	return sharedMinDF, sharedNames, ownA, ownB
}

// judge decides whether the measured pair is one story, and with what similarity: the estimate
// of the measure that accepted it (Jaccard, or for a lead the containment of the shorter text).
// It sees only the pair's features, so the judgement of two articles depends on nothing else:
// not on their order, nor on what else was recorded.
//
// The rules come from the labelled development set (testdata/devset.tsv, 571 pairs of
// 2015-08-01 to -03, 400 same-story and 171 different-story); no single similarity threshold
// separates the two (rewrites share 0% to 40% of their shingles, weather bulletins of two days
// 71%). A pair is the same story when one of these holds:
//
//  1. Near-verbatim: Jaccard at least nearVerbatim (0.85).
//  2. Light edit: Jaccard at least 0.5, lengths within a factor of 1.5 (or 2, when the leads
//     agree in three quarters: the same text with a paragraph more), and a title word in
//     common, or the shorter text wholly (95%) inside the longer with Jaccard 0.7, or 8 shared
//     rare words one of which is a name and leads that agree in a quarter (without a title word
//     in common, texts that begin apart are two items: the Sisi call item that carries the
//     Hollande call, and the Hollande call).
//  3. Lead: the shorter text is at least 70% contained in the longer, sits at its start (see
//     atStart), the titles agree and the numbers agree; or, under titles that do not agree (a
//     condensed version, retitled), 60% contained, leads agreeing in 30% and 7 shared names.
//  4. Rewrite, by rare words: Jaccard at least 0.08, 5 shared rare words, two title words (or
//     one, with Jaccard 0.15, two of the three rarest words of one in the other and 8 shared
//     names), lengths within a factor of 2.5, at most 36 hours apart, numbers agreeing, both
//     texts at least summaryShingles (40) long.
//  5. Rewrite, by title: four title words, three shared rare words of which one is a name, and
//     the bounds of rule 4.
//  6. Rewrite, by names: Jaccard at least 0.3 and 8 shared names, lengths within a factor of
//     2.5, at most 48 hours apart (a next-day print edition), both texts at least
//     summaryShingles long, and a title word in common or leads that agree in a quarter (as in
//     rule 2: the Sisi call item that carries the Hollande call is another item); guarded as
//     rule 4.
//  7. Reprint by one outlet (online, then in print the next day, often retitled and with its
//     figures updated, or in full after a brief): at most 36 hours apart, 6 shared names, and
//     Jaccard at least 0.4 with leads agreeing in 40%, or the shorter text 60% inside the
//     longer at its start, leads agreeing in 75%. Two texts of one outlet are judged by rules
//     1, 2 (with three title words) and 7 only: its daily templates share its house wording
//     (two days' weather bulletins share 3 names or fewer, two royal cables begin alike but
//     are two days apart or more, two signings of one club share names but not their leads).
//
// A name is a word in at most ownDF articles of the table: on a day the table has not seen,
// the people, places and bodies of the day's stories. The guards count the names two texts
// share, not how rare the rarest is: any two texts of a new day may share one unseen word, a
// template's two issues share its formula and a few, a story's two tellings share many.
//
// Guards refuse a merge, whatever the rule (see guard): a text too short to tell a story of
// its own (under minStoryShingles) is only merged when near-verbatim; two texts of one outlet
// only by rules 1, 2 and 7; and the failure classes of issue 13 (round-ups, recurring
// templates, one actor with two counterparts).
func judge(f *features) (float64, bool) { return judgeWith(f, &shippedParams) }

// judgeParams are the thresholds of judge that were tuned on the development set: the evaluation
// tunes them on two days and scores the third (see TestDevSet).
type judgeParams struct {
	minStory     int     // minStoryShingles
	recurNames   int     // the template guard (rules 2 and 3): at most this many shared names
	counterNames int     // rule 3's counterpart guard: likewise
	formulaNames int     // rule 4's formula guard: likewise
	topNames     int     // rule 4 with one title word: at least this many shared names
	ownSum       int     // rule 4's other-event guard: at least this many names the other lacks
	namesJ       float64 // rule 6: at least this Jaccard similarity
	outletNames  int     // rule 7: at least this many shared names
}

// shippedParams are judge's thresholds, tuned on the three development days.
var shippedParams = judgeParams{minStory: minStoryShingles, recurNames: 4, counterNames: 2, formulaNames: 0, topNames: 8, ownSum: 16, namesJ: 0.3, outletNames: 6}

// judgeWith is judge with thresholds p.
func judgeWith(f *features, p *judgeParams) (float64, bool) {
	sim, rule := judgeRule(f, p)
	if rule == 0 || rule == 1 {
		return sim, rule == 1
	}
	if f.guard(rule, p) {
		return 0, false
	}
	return sim, true
}

// judgeRule returns the similarity and the number of the first rule of judge that accepts the
// pair (1 for near-verbatim), or 0.
func judgeRule(f *features, p *judgeParams) (float64, int) {
	shorterIn := max(f.contained, f.leadCoverS) // S's containment in L
	if f.prefixSamples >= 4 || f.prefixSamples >= 2 && f.lead >= 0.75 {
		shorterIn = max(shorterIn, f.prefix)
	}
	numbersAgree := f.numbersAgree()
	ratio := float64(f.nL) / float64(max(f.nS, 1))
	if f.jaccard >= nearVerbatim {
		return f.jaccard, 1
	}
	if f.nS < p.minStory {
		return 0, 0
	}
	if f.sameOutlet {
		// An outlet republishes its own story (online, then in print the next day) with light
		// edits; two of its texts that merely share its house formula are two stories.
		if f.jaccard >= 0.5 && f.titleShared >= 3 && numbersAgree {
			return f.jaccard, 2
		}
		// The print edition often retitles the story and updates its figures, or runs in full
		// what was a brief online: it still begins as the other text does and names its people
		// (rule 7).
		if f.hours < 36 && f.sharedNames >= p.outletNames {
			if f.jaccard >= 0.4 && f.lead >= 0.4 {
				return f.jaccard, 7
			}
			if f.lead >= 0.75 && shorterIn >= 0.6 && f.atStart() {
				return shorterIn, 7
			}
		}
		return 0, 0
	}
	// A rewrite shares few shingles by nature: its evidence (title and rare words) only means
	// something in texts long enough to tell a story of their own, not in a title and a sentence
	// (a feed's summary), where one formula and one name make a match.
	story := f.nS >= summaryShingles
	rewrite := story && ratio <= 2.5 && f.hours < 36 && numbersAgree
	name := story && f.sharedMinDF <= ownDF
	switch {
	case f.jaccard >= 0.5 && (ratio <= 1.5 || ratio <= 2 && f.lead >= 0.75) && (f.titleShared >= 1 || f.jaccard >= 0.7 && shorterIn >= 0.95 ||
		f.rareShared >= 8 && name && f.lead >= 0.25):
		return f.jaccard, 2
	case f.atStart() && numbersAgree && (shorterIn >= 0.7 && f.titlesAgree() ||
		shorterIn >= 0.6 && f.lead >= 0.3 && f.sharedNames >= 7):
		return shorterIn, 3
	case rewrite && f.jaccard >= 0.08 && f.rareShared >= 5 &&
		(f.titleShared >= 2 || f.titleShared >= 1 && f.top >= 2 && f.jaccard >= 0.15 && f.sharedNames >= p.topNames):
		return f.jaccard, 4
	case rewrite && f.titleShared >= 4 && f.rareShared >= 3 && f.sharedNames >= 1:
		return f.jaccard, 5
	case story && ratio <= 2.5 && f.hours < 48 && f.jaccard >= p.namesJ && f.sharedNames >= 8 &&
		(f.titleShared >= 1 || f.lead >= 0.25):
		return f.jaccard, 6
	}
	return 0, 0
}

// summaryShingles is the fewest shingles a text needs for the rewrite rules: a title and a
// first sentence, what a feed's summary holds, have fewer.
const summaryShingles = 40

// minStoryShingles is the fewest shingles a text needs for anything but a near-verbatim match:
// shorter ones are captions, headlines and one-line notices, whose few words say too little.
const minStoryShingles = 15

// numbersAgree reports whether the numbers the shorter text states and the longer does not are
// few: a rewrite or a lead may add a date, a figure or two; another issue of a template (a
// market close) states different ones.
func (f *features) numbersAgree() bool {
	return f.numOnlyS <= 3 || 3*f.numOnlyS <= f.numShared
}

// guard reports whether a pair that rule accepted is one of the failure classes of issue 13,
// designed from the development set. Each costs some recall: the costs in the comments are the
// same-story pairs of the development set (of 400) that the pairwise judgement, held out, merges
// without the guard and not with it, with the shipped thresholds.
func (f *features) guard(rule int, p *judgeParams) bool {
	// A recurring template: texts a day apart or more, not beginning alike, sharing fewer than
	// four title words and few names (the formula's words are in many articles): two days'
	// weather bulletins (Jaccard 0.71, 3 shared names, where a next-day reprint shares 7 or more).
	// With rule 3, a summary of one day's bulletin is the lead of the next day's. Cost: none.
	template := f.hours >= 12 && f.lead < 0.5 && f.titleShared < 4 && f.sharedNames <= p.recurNames
	switch rule {
	case 2, 7:
		return template
	case 3:
		// One actor, two counterparts: a short text that would be the other's lead, but each
		// names someone the other does not (the shorter two: one may be a word the longer
		// spells otherwise) and they share few names: the King's cables to Niger and to
		// Jamaica. Not under the same headline (see sameHeadline): the cables' headlines name
		// their countries. Cost: 1 pair.
		return template || f.ownS >= 2 && f.ownL >= 1 && f.sharedNames <= p.counterNames && !f.sameHeadline()
	case 4, 6:
		// A round-up: the shorter text is inside the longer (60%), but not at its start and
		// under another lead: the Hollande call carried at the end of the Sisi call item. Not
		// under the same headline: a text that appends its story to another item and keeps its
		// headline tells that story (Abha's fog corniche after the festival nights). Cost: 1
		// pair.
		if f.contained >= 0.6 && !f.atStart() && f.lead < 0.5 && !f.sameHeadline() {
			return true
		}
		// Another event of the same people: titles sharing at most two words, leads apart, and
		// many names in each that the other lacks: the inspection contract and the interview on
		// inspections, the ministry's roads and the emir's tour of them. Cost: 1 pair.
		if f.titleShared <= 2 && f.lead < 0.5 && f.ownS+f.ownL >= p.ownSum {
			return true
		}
		// A template or an actor with another counterpart: the rare words they share are the
		// formula's, no name among them. Cost: 1 pair.
		return f.sharedNames <= p.formulaNames
	}
	return false
}

// isLeadOf reports whether the shorter text is the longer one's start, cut short: their leads
// agree and the shorter holds (90%) what the longer says up to its length.
func (f *features) isLeadOf() bool {
	return f.lead >= 0.75 && (f.prefixSamples >= 4 && f.prefix >= 0.9 || f.contained >= 0.9)
}

// sameHeadline reports whether the shorter title, of four words or more, is wholly in the other:
// a longer text under the same headline tells the same story, whatever it appends.
func (f *features) sameHeadline() bool {
	return f.titleShared >= 4 && f.titleShared == min(f.titleS, f.titleL)
}

// titlesAgree reports whether the titles share two words, or every word of the shorter title
// (of one or more).
func (f *features) titlesAgree() bool {
	return f.titleShared >= 2 || f.titleShared >= 1 && f.titleShared == min(f.titleS, f.titleL)
}

// atStart reports whether the shorter text is the start of the longer: their leads (first
// leadWords words) agree; or the samples they share all lie in L's first part (as long as S, with
// some slack); or L's samples from its first len(S) shingles are mostly in S.
func (f *features) atStart() bool {
	if f.lead >= 0.75 {
		return true // the first leadWords words agree
	}
	if f.matched >= 3 && f.lastL <= 1.5*float64(f.nS)/float64(max(f.nL, 1))+0.15 {
		return true
	}
	return f.prefixSamples >= 8 && f.prefix >= 0.6
}
