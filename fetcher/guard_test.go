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
)

func TestDeniedAddr(t *testing.T) {
	tests := []struct {
		addr string
		want string // "" when allowed
	}{
		{addr: "127.0.0.1", want: "loopback"},
		{addr: "127.255.0.9", want: "loopback"},
		{addr: "::1", want: "loopback"},
		{addr: "10.1.2.3", want: "private"},
		{addr: "172.16.0.1", want: "private"},
		{addr: "172.31.255.255", want: "private"},
		{addr: "192.168.1.1", want: "private"},
		{addr: "fc00::1", want: "private"},
		{addr: "fd12:3456::1", want: "private"},
		{addr: "169.254.169.254", want: "link-local"}, // cloud metadata
		{addr: "fe80::1", want: "link-local"},
		{addr: "fe80::1%eth0", want: "link-local"},
		{addr: "fec0::1", want: "site-local"},
		{addr: "0.0.0.0", want: "unspecified"},
		{addr: "0.1.2.3", want: "unspecified"},
		{addr: "::", want: "unspecified"},
		{addr: "224.0.0.1", want: "multicast"},
		{addr: "239.255.255.250", want: "multicast"},
		{addr: "ff02::1", want: "multicast"},
		{addr: "100.64.0.1", want: "shared (carrier-grade NAT)"},
		{addr: "100.127.255.255", want: "shared (carrier-grade NAT)"},
		{addr: "255.255.255.255", want: "reserved"},
		{addr: "::ffff:127.0.0.1", want: "loopback"},
		{addr: "::ffff:10.0.0.1", want: "private"},
		{addr: "::ffff:169.254.169.254", want: "link-local"},
		{addr: "64:ff9b::7f00:1", want: "loopback"}, // NAT64 of 127.0.0.1
		{addr: "64:ff9b::a00:1", want: "private"},   // NAT64 of 10.0.0.1
		{addr: "::127.0.0.1", want: "loopback"},     // IPv4-compatible
		{addr: "8.8.8.8"},
		{addr: "172.32.0.1"},
		{addr: "100.128.0.1"},
		{addr: "192.169.0.1"},
		{addr: "2001:4860:4860::8888"},
		{addr: "::ffff:8.8.8.8"},
		{addr: "64:ff9b::808:808"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := deniedAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := deniedAddr(netip.Addr{}); got != "invalid" {
		t.Errorf("zero address: got %q, want invalid", got)
	}
}

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
		return deniedAddr(a)
	}
	if _, err := f.Fetch(t.Context(), Request{URL: public.URL + "/feed"}); err != nil {
		t.Fatalf("allowed host: %v", err)
	}
	_, err = f.Fetch(t.Context(), Request{URL: public.URL + "/moved"})
	e := wantClass(t, err, ClassForbidden)
	if _, ok := errors.AsType[*forbiddenError](e); !ok || !strings.Contains(e.Error(), "127.0.0.2") {
		t.Errorf("got %v, want a refusal naming 127.0.0.2", e)
	}
	// Without the guard the redirect is followed.
	if _, err := New(Options{}).Fetch(t.Context(), Request{URL: public.URL + "/moved"}); err != nil {
		t.Errorf("guard off: %v", err)
	}
}
