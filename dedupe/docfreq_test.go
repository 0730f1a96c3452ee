package dedupe

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docfreq.gz from the development days")

// devDocFreq counts, over the articles of the development days, how many contain each content
// word: the table builtinDocFreq ships.
func devDocFreq(tb testing.TB) *docFreq {
	arts := loadDevCorpus(tb)
	df := newDocFreq()
	var a analysis
	for i := range arts {
		a.analyzeText(arts[i].Title, arts[i].Content)
		if !a.ok {
			continue
		}
		for _, w := range a.content32 {
			df.add(uint64(w) << 32)
		}
	}
	return df
}

// TestBuiltinDocFreq checks that docfreq.gz is the table the development days give (rewrite it
// with -update after changing the analysis), and that it decodes.
func TestBuiltinDocFreq(t *testing.T) {
	want := devDocFreq(t)
	if *update {
		if err := os.WriteFile("docfreq.gz", encodeDocFreq(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := builtinDocFreq()
	if got.get(wordHash(Normalize("جدة"))) < 10 {
		t.Errorf("builtin table: جدة in %d articles, want at least 10", got.get(wordHash(Normalize("جدة"))))
	}
	if !bytes.Equal(got.counts, want.counts) {
		t.Error("docfreq.gz is not the development days' table: run go test ./dedupe -run TestBuiltinDocFreq -update")
	}
}

func TestDecodeDocFreqRejects(t *testing.T) {
	good := encodeDocFreq(newDocFreq())
	for name, b := range map[string][]byte{"empty": nil, "truncated": good[:len(good)/2], "not gzip": []byte("abc")} {
		if _, err := decodeDocFreq(b); err == nil {
			t.Errorf("%s: decodeDocFreq succeeded, want an error", name)
		}
	}
}

func FuzzDecodeDocFreq(f *testing.F) {
	f.Add(encodeDocFreq(newDocFreq()))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDocFreq(b)
		if err != nil {
			return
		}
		// What decodes is a whole table that encodes back to one that decodes the same.
		if len(d.counts) != 1<<docFreqBits {
			t.Fatalf("decoded %d counters, want %d", len(d.counts), 1<<docFreqBits)
		}
		again, err := decodeDocFreq(encodeDocFreq(d))
		if err != nil || !bytes.Equal(again.counts, d.counts) {
			t.Fatalf("re-encoding changed the table: %v", err)
		}
	})
}
