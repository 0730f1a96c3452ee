package fetcher

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// proxyServer is a local forward proxy: it answers every proxied request itself with the feed,
// and records the absolute URLs it was asked for.
type proxyServer struct {
	mu   sync.Mutex
	urls []string
}

func (p *proxyServer) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.urls...)
}

func startProxy(t *testing.T) (*proxyServer, string) {
	t.Helper()
	p := &proxyServer{}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.urls = append(p.urls, r.URL.String())
		p.mu.Unlock()
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		feedHandler("application/rss+xml", rssFeed("", arabicTitle))(w, r)
	})
	return p, srv.URL
}

// TestFetchThroughProxy: feeds are fetched through HTTP_PROXY, except the hosts of NO_PROXY.
func TestFetchThroughProxy(t *testing.T) {
	p, proxyURL := startProxy(t)
	t.Setenv("HTTP_PROXY", proxyURL)
	t.Setenv("NO_PROXY", "example.invalid")
	const feed = "http://www.aljazeera.net/aljazeerarss/a7c186be-1baa-4bd4-9d80-a84db769f779/73d0e1b4-532f-45ef-b135-bfdff8b8cab9"

	res, err := New(Options{}).Fetch(t.Context(), Request{URL: feed})
	if err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if got := titles(res); len(got) != 1 || got[0] != arabicTitle {
		t.Errorf("got titles %q, want [%q]", got, arabicTitle)
	}
	if got := p.seen(); len(got) != 1 || got[0] != feed {
		t.Errorf("the proxy saw %q, want [%q]", got, feed)
	}

	// NO_PROXY: direct, so the name must resolve here, and .invalid never does.
	_, err = New(Options{}).Fetch(t.Context(), Request{URL: "http://feeds.example.invalid/rss"})
	wantClass(t, err, ClassDNS)
	if got := p.seen(); len(got) != 1 {
		t.Errorf("the proxy saw %q, want only the first feed", got)
	}
}

// TestFetchThroughProxyDenyPrivate: with deny_private_networks the proxy, on loopback here, is
// still used, and a private target is refused before anything is sent to it.
func TestFetchThroughProxyDenyPrivate(t *testing.T) {
	p, proxyURL := startProxy(t)
	t.Setenv("HTTP_PROXY", proxyURL)
	t.Setenv("NO_PROXY", "")
	f := New(Options{DenyPrivateNetworks: true})

	// 203.0.113.0/24 (TEST-NET-3) is not a private range: no name to resolve, so no DNS needed.
	public := "http://203.0.113.10/rss"
	if _, err := f.Fetch(t.Context(), Request{URL: public}); err != nil {
		t.Fatalf("public address through a loopback proxy: %v", err)
	}
	for _, target := range []string{
		"http://169.254.169.254/latest/meta-data/", // cloud metadata
		"http://10.0.0.7/rss",
		"http://[::ffff:127.0.0.1]:8080/admin",
	} {
		_, err := f.Fetch(t.Context(), Request{URL: target})
		e := wantClass(t, err, ClassForbidden)
		if !strings.Contains(e.Error(), "deny_private_networks") {
			t.Errorf("%s: got %q, want it to name deny_private_networks", target, e.Error())
		}
	}
	if got := p.seen(); len(got) != 1 || got[0] != public {
		t.Errorf("the proxy saw %q, want only [%q]", got, public)
	}
}
