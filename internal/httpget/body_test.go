package httpget

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestReadBodyIntoSize: whatever size the caller announces, right, wrong or unknown, the whole body
// is read, gzip is inflated, and the limit holds with the first maxBody bytes kept.
func TestReadBodyIntoSize(t *testing.T) {
	plain := []byte(strings.Repeat("<item>نص الخبر</item>\n", 5000)) // about 120 KB
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	tests := []struct {
		name     string
		body     []byte
		encoding string
		size     int64
		maxBody  int64
		want     []byte
		wantErr  bool
	}{
		{"known size", plain, "", int64(len(plain)), 1 << 20, plain, false},
		{"unknown size", plain, "", -1, 1 << 20, plain, false},
		{"size too small", plain, "", 100, 1 << 20, plain, false},
		{"size too large", plain, "", 10 << 20, 1 << 20, plain, false},
		{"empty", nil, "", 0, 1 << 20, []byte{}, false},
		{"gzip", gz.Bytes(), "gzip", int64(gz.Len()), 1 << 20, plain, false},
		{"gzip undeclared", gz.Bytes(), "", int64(gz.Len()), 1 << 20, plain, false},
		{"over the limit", plain, "", int64(len(plain)), 1000, plain[:1000], true},
		{"gzip over the limit", gz.Bytes(), "gzip", int64(gz.Len()), 1000, plain[:1000], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBodyInto(nil, bytes.NewReader(tt.body), tt.encoding, tt.maxBody, tt.size)
			var tooLarge *http.MaxBytesError
			if tt.wantErr != errors.As(err, &tooLarge) {
				t.Fatalf("got error %v, want a MaxBytesError: %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}
