package fetcher

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEveryClass makes each error class happen for real, once, and checks that the table
// covers every class there is.
func TestEveryClass(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewUnstartedServer(feedHandler("application/rss+xml", rssFeed("", arabicTitle)))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/feed", feedHandler("application/rss+xml", rssFeed("", arabicTitle)))
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	mux.HandleFunc("/big", feedHandler("application/rss+xml", rssFeed("", strings.Repeat("كلمة ", 1000))))
	mux.HandleFunc("/html", feedHandler("text/html", "<!DOCTYPE html><html><body>صفحة</body></html>"))
	mux.HandleFunc("/truncated", feedHandler("application/rss+xml", `<rss version="2.0"><channel><title>x</title><item><title>a`))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/brotli", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		_, _ = w.Write([]byte{0x0b, 0x02, 0x80})
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := serve(t, mux.ServeHTTP)
	noDNS := &http.Transport{DialContext: (&net.Dialer{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			return nil, errors.New("no dns server in tests")
		},
	}}).DialContext}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		class Class
		opts  Options
		ctx   context.Context
		url   string
	}{
		{class: ClassDNS, opts: Options{Transport: noDNS}, url: "http://feed.example.test/rss"},
		{class: ClassConnect, url: "http://" + closedAddr + "/feed"},
		{class: ClassTLS, url: tlsSrv.URL},
		{class: ClassTimeout, opts: Options{Timeout: 200 * time.Millisecond}, url: srv.URL + "/slow"},
		{class: ClassHTTPStatus, url: srv.URL + "/500"},
		{class: ClassTooLarge, opts: Options{MaxBody: 1024}, url: srv.URL + "/big"},
		{class: ClassNotFeed, url: srv.URL + "/html"},
		{class: ClassParse, url: srv.URL + "/truncated"},
		{class: ClassRedirect, url: srv.URL + "/loop"},
		{class: ClassIO, url: srv.URL + "/brotli"},
		{class: ClassRequest, url: "gopher://example.com/feed"},
		{class: ClassCanceled, ctx: canceled, url: srv.URL + "/feed"},
		{class: ClassForbidden, opts: Options{DenyPrivateNetworks: true}, url: srv.URL + "/feed"},
	}
	covered := map[Class]bool{}
	for _, tt := range tests {
		t.Run(string(tt.class), func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			_, err := New(tt.opts).Fetch(ctx, Request{URL: tt.url})
			e := wantClass(t, err, tt.class)
			if e.URL != tt.url {
				t.Errorf("got URL %q, want %q", e.URL, tt.url)
			}
			covered[tt.class] = true
		})
	}
	all := []Class{ClassDNS, ClassConnect, ClassTLS, ClassTimeout, ClassHTTPStatus, ClassTooLarge, ClassNotFeed,
		ClassParse, ClassRedirect, ClassIO, ClassRequest, ClassCanceled, ClassForbidden}
	for _, c := range all {
		if !covered[c] {
			t.Errorf("class %q not produced", c)
		}
	}
}
