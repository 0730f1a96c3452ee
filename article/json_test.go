package article

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// marshalRef is the reference encoding: encoding/json with HTML escaping off, nil lists as [].
func marshalRef(a *Article) ([]byte, error) {
	c := *a
	if c.Authors == nil {
		c.Authors = []string{}
	}
	if c.Categories == nil {
		c.Categories = []string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// filled returns an article with every field set to a value that is not zero, found by
// reflection: a field added to Article shows up in the reference encoding and must show up in
// appendJSON's too.
func filled() Article {
	var a Article
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + ` «نص» "quoted" \ <b>&</b>`)
		case reflect.Int:
			f.SetInt(7)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Float64:
			f.SetFloat(0.8734)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"أ", "b\"c"}))
		case reflect.Struct: // time.Time
			f.Set(reflect.ValueOf(time.Date(2015, 8, 1, 9, 30, 0, 123456789, time.UTC)))
		default:
			panic("filled: no value for field " + v.Type().Field(i).Name)
		}
	}
	return a
}

var hardStrings = []string{
	"", "plain", `"\`, "\x00\x01\b\f\n\r\t\x1f\x7f", "<script>&amp;</script>", "\u2028\u2029",
	"a\xffb", "\xd8", "\xd8\x41", "\xe2\x80", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
	"الرِّياض ـــ مصراتة #مصراتة \u200f\u200c\ufefb 😀", strings.Repeat("خبر ", 100),
}

func TestMarshalMatchesEncodingJSON(t *testing.T) {
	cases := map[string]Article{"filled": filled(), "zero": {}}
	for i, s := range hardStrings {
		a := filled()
		a.Title, a.ContentText, a.ContentHTML, a.Authors = s, s+s, "<p>"+s+"</p>", []string{s}
		cases[fmt.Sprintf("string %d", i)] = a
	}
	for _, f := range []float64{1, 0.5, 1e-7, 5e-324, 1e21, 123456789, 1.0 / 3, -0.25} {
		a := filled()
		a.Similarity = f
		cases[fmt.Sprintf("similarity %g", f)] = a
	}
	for name, tm := range map[string]time.Time{
		"zero":    {},
		"nanos":   time.Date(2015, 8, 1, 0, 0, 0, 1, time.UTC),
		"riyadh":  time.Date(2015, 8, 1, 23, 59, 59, 0, time.FixedZone("AST", 3*3600)),
		"seconds": time.Date(2015, 8, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3*3600+30)),
	} {
		a := filled()
		a.PublishedAt = tm
		cases["time "+name] = a
	}
	nils := filled()
	nils.Authors, nils.Categories, nils.DuplicateOf, nils.PublishedAtRaw, nils.Similarity = nil, []string{}, "", "", 0
	nils.SameStory = nil
	cases["omitted"] = nils
	empty := filled()
	empty.SameStory = []string{}
	cases["empty same_story"] = empty
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := marshalRef(&a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(&a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestMarshalRefusesWhatJSONCannotHold(t *testing.T) {
	for name, mutate := range map[string]func(*Article){
		"year 10000": func(a *Article) { a.FetchedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"year -1":    func(a *Article) { a.PublishedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
		"offset 24h": func(a *Article) { a.PublishedAt = time.Date(2015, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 24*3600)) },
		"NaN":        func(a *Article) { a.Similarity = math.NaN() },
		"+Inf":       func(a *Article) { a.Similarity = math.Inf(1) },
	} {
		t.Run(name, func(t *testing.T) {
			a := filled()
			mutate(&a)
			if _, err := marshalRef(&a); err == nil {
				t.Fatal("the reference encodes it: the case is wrong")
			}
			if got, err := Marshal(&a); err == nil {
				t.Errorf("Marshal: got %s, want an error", got)
			}
		})
	}
}

func FuzzMarshal(f *testing.F) {
	for _, s := range hardStrings {
		f.Add(s, 0.5, int64(0))
	}
	f.Fuzz(func(t *testing.T, s string, sim float64, nanos int64) {
		a := filled()
		a.Title, a.Summary, a.Categories, a.Similarity = s, s, []string{s, s}, sim
		a.PublishedAt = time.Unix(0, nanos).UTC()
		want, werr := marshalRef(&a)
		got, gerr := Marshal(&a)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("errors differ: reference %v, Marshal %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Errorf("Marshal:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkMarshal(b *testing.B) {
	a := filled()
	text := strings.Repeat("أعلنت وزارة الصحة السعودية اليوم تسجيل 12 حالة إصابة جديدة بفيروس كورونا. ", 40)
	a.ContentText, a.ContentHTML, a.Summary = text, "<p>"+text+"</p>", text[:600]
	for _, bm := range []struct {
		name    string
		marshal func(*Article) ([]byte, error)
	}{{"feedd", Marshal}, {"encoding_json", marshalRef}} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bm.marshal(&a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
