package fetcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/feedd/feedd/internal/httpget"
)

// fetchFile reads a file URL: file:///abs/path, file://localhost/abs/path, or file:rel/path
// (relative to the working directory). The file's size and modification time make its ETag, so
// an unchanged file comes back NotModified; gzip files are decompressed.
func (f *Fetcher) fetchFile(ctx context.Context, u *url.URL, req Request) (*Result, error) {
	fail := func(class Class, err error) (*Result, error) {
		return nil, &Error{Class: class, URL: req.URL, Err: err}
	}
	path := u.Path
	if u.Opaque != "" {
		p, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return fail(ClassRequest, fmt.Errorf("file url path: %w", err))
		}
		path = p
	}
	if u.Host != "" && u.Host != "localhost" {
		return fail(ClassRequest, fmt.Errorf("file url with remote host %q", u.Host))
	}
	if path == "" {
		return fail(ClassRequest, errors.New("file url has no path"))
	}
	if err := ctx.Err(); err != nil {
		return fail(classify(ctx, err), err)
	}

	file, err := os.Open(path)
	if err != nil {
		return fail(ClassIO, err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fail(ClassIO, err)
	}
	if !info.Mode().IsRegular() {
		return fail(ClassIO, fmt.Errorf("%s is not a regular file", path))
	}

	res := &Result{
		ETag:         fmt.Sprintf(`"%x-%x"`, info.ModTime().UnixNano(), info.Size()),
		LastModified: info.ModTime().UTC().Format(http.TimeFormat),
		URL:          req.URL,
		FetchedAt:    time.Now().UTC(),
	}
	if req.ETag != "" && req.ETag == res.ETag {
		res.NotModified = true
		return res, nil
	}
	body, err := httpget.ReadBody(file, "", f.opts.MaxBody)
	if err != nil {
		return fail(classify(ctx, err), fmt.Errorf("read %s: %w", path, err))
	}
	return f.finish(res, body, "", req)
}
