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
	return ReadBodyInto(nil, r, contentEncoding, maxBody, -1)
}

// unknownSizeGuess is the first buffer of a body of unknown size: most feeds are larger, and a
// buffer that starts small is copied at every doubling.
const unknownSizeGuess = 32 << 10

// ReadBodyInto is ReadBody for a body of the given size on the wire (the Content-Length, or -1
// when unknown), read into buf's array when it is large enough, so that a caller can reuse one
// buffer for many bodies: an uncompressed body of known size is read into one buffer, without a
// copy. The body returned may share buf's array.
func ReadBodyInto(buf []byte, r io.Reader, contentEncoding string, maxBody, size int64) ([]byte, error) {
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

	guess := int64(unknownSizeGuess)
	if size >= 0 && src == br {
		guess = size + 512 // room to read the end of the body without growing
	}
	// The first maxBody bytes are kept on error: a reader of robots.txt uses them.
	return readAll(http.MaxBytesReader(nil, readCloser{src}, maxBody), buf, int(min(guess, maxBody+512)))
}

// readAll is io.ReadAll into buf, or into a new buffer of the given first capacity when buf's
// is smaller.
func readAll(r io.Reader, buf []byte, capacity int) ([]byte, error) {
	b := buf[:0]
	if cap(b) < capacity {
		b = make([]byte, 0, max(capacity, 512))
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the next size
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readCloser adds a no-op Close, for http.MaxBytesReader.
type readCloser struct{ io.Reader }

func (readCloser) Close() error { return nil }
