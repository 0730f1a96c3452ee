package extract_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/feedd/feedd/extract"
)

func ExampleFetcher_Fetch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: feedd\nDisallow: /drafts/\n")
		case "/news/1":
			w.Header().Set("Content-Type", "text/html")
			// windows-1256 bytes of "خبر", declared only in the page.
			fmt.Fprint(w, "<html><head><meta charset=\"windows-1256\"></head><body><p>\xce\xc8\xd1</p></body></html>")
		default:
			w.Header().Set("Retry-After", "5")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	f := extract.NewFetcher(extract.FetchOptions{UserAgent: "feedd/1.0", RespectRobots: true})
	page, err := f.Fetch(context.Background(), srv.URL+"/news/1")
	if err != nil {
		panic(err)
	}
	body := string(page.Body)
	fmt.Println(page.Charset, body[strings.Index(body, "<p>"):])

	for _, path := range []string{"/drafts/2", "/news/3"} {
		_, err := f.Fetch(context.Background(), srv.URL+path)
		var e *extract.Error
		if !errors.As(err, &e) {
			panic(err)
		}
		fmt.Println(path, extract.ReasonOf(err), e.RetryAfter, e.Transient())
	}
	// Output:
	// windows-1256 <p>خبر</p></body></html>
	// /drafts/2 robots 0s false
	// /news/3 status_5xx 5s true
}
