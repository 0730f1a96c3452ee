package httpget

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
)

var gzipMagic = []byte{0x1F, 0x8B}

// ReadBody reads a whole body, decompressing it as contentEncoding says (or as its first bytes
// show: gzip sent without, or with a wrong, Content-Encoding). At most maxBody decompressed bytes
// are read: past that it stops, without inflating further, with an *http.MaxBytesError and the
// bytes read so far.
func ReadBody(r io.Reader, contentEncoding string, maxBody int64) ([]byte, error) {
	// Compressed input is never meaningfully larger than its output; bound it too, so a stream
	// of empty deflate blocks cannot run on until the deadline.
	wire := http.MaxBytesReader(nil, readCloser{r}, maxBody+maxBody/8+4096)
	br := bufio.NewReader(wire)
	magic, _ := br.Peek(2)
	isGzip := bytes.Equal(magic, gzipMagic)

	var src io.Reader = br
	switch enc := strings.ToLower(strings.TrimSpace(contentEncoding)); enc {
	case "", "identity", "gzip", "x-gzip":
		// Servers that say gzip but send plain text exist, and so do the opposite.
		if isGzip {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("read gzip header: %w", err)
			}
			defer zr.Close()
			src = zr
		}
	case "deflate":
		// "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
		if len(magic) == 2 && magic[0]&0x0F == 8 && (uint16(magic[0])<<8|uint16(magic[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("read zlib header: %w", err)
			}
			defer zr.Close()
			src = zr
		} else {
			fr := flate.NewReader(br)
			defer fr.Close()
			src = fr
		}
	default:
		return nil, fmt.Errorf("unsupported content encoding %q", contentEncoding)
	}

	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, readCloser{src}, maxBody))
	if err != nil {
		// The first maxBody bytes are kept: a reader of robots.txt uses them.
		return buf.Bytes(), err
	}
	return buf.Bytes(), nil
}

// readCloser adds a no-op Close, for http.MaxBytesReader.
type readCloser struct{ io.Reader }

func (readCloser) Close() error { return nil }
