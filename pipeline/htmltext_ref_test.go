package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// collapseRef is collapse as first written, rune by rune: the reference the faster one must
// match exactly.
func collapseRef(s string) string {
	var b strings.Builder
	space, newlines := false, 0
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			newlines++
			space = false
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r):
		default:
			if b.Len() > 0 {
				switch {
				case newlines >= 2:
					b.WriteString("\n\n")
				case newlines == 1:
					b.WriteByte('\n')
				case space:
					b.WriteByte(' ')
				}
			}
			space, newlines = false, 0
			b.WriteRune(r)
		}
	}
	return b.String()
}

var collapseSeeds = []string{
	"", " ", "\r\n", "a\r\nb", "a\rb", "a\r\r\nb", "a\n\n\n\nb", "  كلمة  \t أخرى \u00a0 ثالثة ",
	"سطر\u2028سطر\u2029سطر", "\x00a\x1fb\x7fc\u0085d\u200be\u3000f", "a\xffb", "\xff", "\xe2\x80",
	"النص\u0640العربي\u200f!", "x\u1680y\u2000z\u202fw\u205fv", "\t\n a \n\t b \n\n\n",
}

func TestCollapseMatchesReference(t *testing.T) {
	inputs := append([]string(nil), collapseSeeds...)
	// Real article text from the corpus, when it is there.
	dir := filepath.Join("..", "..", "shared", "corpus", "seed")
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				inputs = append(inputs, string(b))
			}
		}
	}
	for _, in := range inputs {
		if got, want := collapse(in), collapseRef(in); got != want {
			t.Errorf("collapse(%q):\n got %q\nwant %q", in, got, want)
		}
	}
}

func FuzzCollapse(f *testing.F) {
	for _, s := range collapseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := collapse(s), collapseRef(s); got != want {
			t.Errorf("collapse(%q):\n got %q\nwant %q", s, got, want)
		}
	})
}
