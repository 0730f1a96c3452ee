package fetcher_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/feedd/feedd/fetcher"
)

func ExampleFetcher_Fetch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=900")
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		fmt.Fprint(w, `<rss version="2.0"><channel><title>أخبار</title>`+
			`<item><title>خبر عاجل</title><link>https://example.com/1</link>`+
			`<pubDate>الأحد، 12 أكتوبر 2025 10:30 +0300</pubDate></item></channel></rss>`)
	}))
	defer srv.Close()

	f := fetcher.New(fetcher.Options{Timeout: 10 * time.Second})
	ctx := context.Background()

	res, err := f.Fetch(ctx, fetcher.Request{URL: srv.URL})
	if err != nil {
		fmt.Println(fetcher.ClassOf(err), err)
		return
	}
	it := res.Feed.Items[0]
	fmt.Println(res.Feed.Title, len(res.Feed.Items), it.Title, res.Charset)
	fmt.Println(it.PublishedParsed.UTC().Format(time.RFC3339), "poll again in", res.CacheFor)

	// The next poll sends the validators back.
	res, err = f.Fetch(ctx, fetcher.Request{URL: srv.URL, ETag: res.ETag, LastModified: res.LastModified})
	if err != nil {
		fmt.Println(fetcher.ClassOf(err), err)
		return
	}
	fmt.Println("not modified:", res.NotModified)
	// Output:
	// أخبار 1 خبر عاجل utf-8
	// 2025-10-12T07:30:00Z poll again in 15m0s
	// not modified: true
}
