package dedupe

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"strings"
	"sync"
)

// stopWords are the 150 most common words of three days of Saudi news (SaudiNewsNet, 2015-08-01
// to -03, 3,942 articles; each is in at least 10% of them), in normalised form: function words,
// titles and names so common that sharing them says nothing about two articles being one story.
// They take no part in the rare-word keys, the title comparison or the document frequencies.
var stopWords = newWordSet(stopWordList)

// stopWordList is the list stopWords is made of.
const stopWordList = `
	في من علي ان الي التي عن الذي مع خلال ما بعد هذه هذا حيث كما بين لا انه اليوم ذلك قبل كل او العام
	بن كان وقال حتي عدد تم وفي قد اكثر لم عام رئيس امس اي محمد الماضي له بها الله ومن فيما هو وهو منذ
	وذلك الاول بعض اخري العامه منطقه العمل لها السعوديه فيها غير كانت المملكه بشكل احد واضاف وان فيه
	الا وقد الذين بان وكان انها منها عبر تلك المنطقه هي مثل جميع اداره هناك الاولي عليه وهي به واوضح
	مجلس قال عليها العربيه دون ولا يوم حول مدينه يكون امام ايضا نحو ثم اخر فان الرئيس الدكتور وزاره
	ضمن عبدالله عبدالعزيز بما عند مدير العالم الوقت داخل اضافه الامير لكن الملك والتي كبير الثاني وزير
	خاصه مليون اول الامر بسبب يمكن تحت وعلي السعودي يتم المتحده الف مشيرا مما عدم الدولي عاما الرياض
	ال اكبر مستوي كبيره تكون فقط الفتره لدي الان`

// wordSet is a set of word hashes, built once and only read afterwards: open addressing in a
// table at most a quarter full, where no word is more than wordSetProbes-1 cells from its home
// (the table grows until that holds; it repeats its first cells at its end, so that a probe
// never wraps). A lookup reads those few cells and takes no branch that depends on the word.
type wordSet struct {
	cells []uint64
	mask  uint64
}

// wordSetProbes is how many cells a lookup reads.
const wordSetProbes = 4

func newWordSet(list string) *wordSet {
	words := strings.Fields(list)
	for size := 64; ; size <<= 1 {
		if size < 4*len(words) {
			continue
		}
		if s, ok := fillWordSet(words, size); ok {
			return s
		}
	}
}

// fillWordSet builds a wordSet of size cells, unless a word lands too far from its home.
func fillWordSet(words []string, size int) (*wordSet, bool) {
	s := &wordSet{cells: make([]uint64, size), mask: uint64(size - 1)}
	for _, w := range words {
		h := wordHash(Normalize(w)) | 1 // never zero: zero marks an empty cell
		for j, d := h&s.mask, 0; ; j, d = (j+1)&s.mask, d+1 {
			if d == wordSetProbes {
				return nil, false
			}
			if s.cells[j] == 0 || s.cells[j] == h {
				s.cells[j] = h
				break
			}
		}
	}
	s.cells = append(s.cells, s.cells[:wordSetProbes-1]...)
	return s, true
}

func (s *wordSet) has(h uint64) bool {
	h |= 1
	c := s.cells[h&s.mask:]
	c = c[:wordSetProbes]
	return b2i(c[0] == h)|b2i(c[1] == h)|b2i(c[2] == h)|b2i(c[3] == h) != 0
}

// b2i is 1 for true and 0 for false, without a branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// docFreq counts, for each word (by hash), how many articles contain it: the measure of how rare a
// word is. It is a fixed table of 2^18 saturating 8-bit counters (256 KiB whatever the
// number of articles, small enough to stay in the processor's cache: it is read for every word
// of every article); words that share a counter look a little more common than they are, and
// only the rare end of the scale matters.
//
// The decision reads one fixed table, builtinDocFreq, and never counts what it records: a word's
// rank must not depend on which articles arrived before, or the same two articles would be judged
// with different rare words depending on the order of the polls (issue 13).
type docFreq struct {
	counts []uint8
}

const docFreqBits = 18

func newDocFreq() *docFreq { return &docFreq{counts: make([]uint8, 1<<docFreqBits)} }

func (d *docFreq) slot(h uint64) uint32 { return uint32(h >> (64 - docFreqBits)) }

func (d *docFreq) get(h uint64) uint8 { return d.counts[d.slot(h)] }

func (d *docFreq) add(h uint64) {
	if c := &d.counts[d.slot(h)]; *c < 0xFF {
		*c++
	}
}

// docFreqTable is the gzipped builtin table: the counts of the 2^18 counters over the 3,942
// articles of the development days (SaudiNewsNet 2015-08-01 to -03), made by
// TestBuiltinDocFreq with -update. It holds counts of hashed words, no text.
//
//go:embed docfreq.gz
var docFreqTable []byte

// builtinDocFreq is the fixed document-frequency table the decision ranks words by.
var builtinDocFreq = sync.OnceValue(func() *docFreq {
	d, err := decodeDocFreq(docFreqTable)
	if err != nil {
		panic("dedupe: builtin document frequencies: " + err.Error())
	}
	return d
})

// decodeDocFreq decodes a gzipped table of 2^docFreqBits counters.
func decodeDocFreq(gz []byte) (*docFreq, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	d := newDocFreq()
	if _, err := io.ReadFull(zr, d.counts); err != nil {
		return nil, err
	}
	if n, _ := io.Copy(io.Discard, zr); n != 0 {
		return nil, io.ErrShortBuffer
	}
	return d, zr.Close()
}

// encodeDocFreq gzips a table for decodeDocFreq.
func encodeDocFreq(d *docFreq) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(d.counts)
	zw.Close()
	return b.Bytes()
}
