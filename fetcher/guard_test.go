package fetcher

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feedd/feedd/internal/httpget"
)

func TestFetchDenyPrivateNetworks(t *testing.T) {
	srv := serve(t, feedHandler("application/rss+xml", rssFeed("", arabicTitle)))

	t.Run("off by default", func(t *testing.T) {
		if _, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("loopback refused", func(t *testing.T) {
		_, err := New(Options{DenyPrivateNetworks: true}).Fetch(t.Context(), Request{URL: srv.URL})
		e := wantClass(t, err, ClassForbidden)
		if !strings.Contains(e.Error(), "loopback") {
			t.Errorf("got %q, want it to say loopback", e.Error())
		}
	})
	t.Run("name resolving to loopback refused", func(t *testing.T) {
		// The check is on the address dialled, after DNS resolution.
		u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
		_, err := New(Options{DenyPrivateNetworks: true}).Fetch(t.Context(), Request{URL: u})
		wantClass(t, err, ClassForbidden)
	})
	t.Run("file url refused", func(t *testing.T) {
		_, err := New(Options{DenyPrivateNetworks: true}).Fetch(t.Context(), Request{URL: "file://" + filepath.Join(t.TempDir(), "x.xml")})
		wantClass(t, err, ClassForbidden)
	})
	t.Run("given http.Transport guarded", func(t *testing.T) {
		tlsSrv := httptest.NewTLSServer(feedHandler("application/rss+xml", rssFeed("", arabicTitle)))
		t.Cleanup(tlsSrv.Close)
		tr := tlsSrv.Client().Transport
		if _, err := New(Options{Transport: tr}).Fetch(t.Context(), Request{URL: tlsSrv.URL}); err != nil {
			t.Fatalf("guard off: %v", err)
		}
		_, err := New(Options{Transport: tr, DenyPrivateNetworks: true}).Fetch(t.Context(), Request{URL: tlsSrv.URL})
		wantClass(t, err, ClassForbidden)
	})
	t.Run("other round tripper refused", func(t *testing.T) {
		_, err := New(Options{Transport: roundTripperFunc(http.DefaultTransport.RoundTrip), DenyPrivateNetworks: true}).
			Fetch(t.Context(), Request{URL: srv.URL})
		wantClass(t, err, ClassRequest)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFetchDenyPrivateNetworksRedirect shows that redirects are checked too. No public host
// can be had in tests, so the policy is narrowed: 127.0.0.1 stands for an allowed public host
// and 127.0.0.2, on the same loopback interface, for a private one.
func TestFetchDenyPrivateNetworksRedirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	private := httptest.NewUnstartedServer(feedHandler("application/rss+xml", rssFeed("", arabicTitle)))
	private.Listener.Close()
	private.Listener = ln
	private.Start()
	t.Cleanup(private.Close)
	public := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, private.URL+"/feed", http.StatusMovedPermanently)
		default:
			feedHandler("application/rss+xml", rssFeed("", arabicTitle))(w, r)
		}
	})

	f := New(Options{DenyPrivateNetworks: true})
	f.denied = func(a netip.Addr) string {
		if a == netip.MustParseAddr("127.0.0.1") {
			return ""
		}
		return httpget.DeniedAddr(a)
	}
	if _, err := f.Fetch(t.Context(), Request{URL: public.URL + "/feed"}); err != nil {
		t.Fatalf("allowed host: %v", err)
	}
	_, err = f.Fetch(t.Context(), Request{URL: public.URL + "/moved"})
	e := wantClass(t, err, ClassForbidden)
	if _, ok := errors.AsType[*httpget.ForbiddenError](e); !ok || !strings.Contains(e.Error(), "127.0.0.2") {
		t.Errorf("got %v, want a refusal naming 127.0.0.2", e)
	}
	// Without the guard the redirect is followed.
	if _, err := New(Options{}).Fetch(t.Context(), Request{URL: public.URL + "/moved"}); err != nil {
		t.Errorf("guard off: %v", err)
	}
}
