package extract

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// startProxy runs a local forward proxy that answers every proxied request itself, robots.txt
// included, and records the absolute URLs it was asked for.
func startProxy(t *testing.T) (seen func() []string, proxyURL string) {
	t.Helper()
	var mu sync.Mutex
	var urls []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		switch {
		case !r.URL.IsAbs():
			http.Error(w, "not a proxy request", http.StatusBadRequest)
		case r.URL.Path == "/robots.txt":
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
		default:
			htmlHandler(arabicPage)(w, r)
		}
	})
	return func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(urls) }, srv.URL
}

// TestFetchPageThroughProxy: pages and their robots.txt go through HTTP_PROXY.
func TestFetchPageThroughProxy(t *testing.T) {
	seen, proxyURL := startProxy(t)
	t.Setenv("HTTP_PROXY", proxyURL)
	t.Setenv("NO_PROXY", "example.invalid")
	const page = "http://www.aljazeera.net/news/2026/2/15/%D8%BA%D8%A7%D8%B1%D8%A7%D8%AA"
	f := NewFetcher(FetchOptions{RespectRobots: true})
	p, err := f.Fetch(t.Context(), page)
	if err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if string(p.Body) != arabicPage || p.URL != page {
		t.Errorf("got %q from %s, want the page", p.Body, p.URL)
	}
	_, err = f.Fetch(t.Context(), "http://www.aljazeera.net/private/1")
	wantReason(t, err, ReasonRobots)
	want := []string{"http://www.aljazeera.net/robots.txt", page}
	if got := seen(); !slices.Equal(got, want) {
		t.Errorf("the proxy saw %q, want %q", got, want)
	}
	// NO_PROXY: direct, and a .invalid name never resolves.
	_, err = NewFetcher(FetchOptions{}).Fetch(t.Context(), "http://news.example.invalid/1")
	wantReason(t, err, ReasonNetwork)
	if got := seen(); len(got) != 2 {
		t.Errorf("the proxy saw %q, want nothing more", got)
	}
}

// TestFetchPageThroughProxyDenyPrivate: deny_private_networks keeps the proxy (on loopback
// here: the operator's choice, trusted) and refuses private targets before sending them to it.
func TestFetchPageThroughProxyDenyPrivate(t *testing.T) {
	seen, proxyURL := startProxy(t)
	t.Setenv("HTTP_PROXY", proxyURL)
	t.Setenv("NO_PROXY", "")
	f := NewFetcher(FetchOptions{DenyPrivate: true})
	public := "http://203.0.113.10/news/1" // TEST-NET-3: public, and no DNS needed
	if _, err := f.Fetch(t.Context(), public); err != nil {
		t.Fatalf("public address through a loopback proxy: %v", err)
	}
	for _, target := range []string{"http://169.254.169.254/latest/meta-data/", "http://192.168.1.1/admin", "http://[fd00::1]/"} {
		_, err := f.Fetch(t.Context(), target)
		e := wantReason(t, err, ReasonPrivateNetwork)
		if !strings.Contains(e.Error(), "deny_private_networks") {
			t.Errorf("%s: got %q, want it to name deny_private_networks", target, e.Error())
		}
	}
	// NO_PROXY'd straight to the proxy's own address: refused too.
	t.Setenv("NO_PROXY", "127.0.0.1")
	g := NewFetcher(FetchOptions{DenyPrivate: true})
	if _, err := g.Fetch(t.Context(), public); err != nil {
		t.Fatalf("public address: %v", err)
	}
	_, err := g.Fetch(t.Context(), proxyURL+"/anything")
	wantReason(t, err, ReasonPrivateNetwork)
	if got := seen(); len(got) != 2 {
		t.Errorf("the proxy saw %q, want only the two public pages", got)
	}
}
