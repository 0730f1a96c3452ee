package httpget

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestHTTPSProxyConnect: https URLs go through HTTPS_PROXY with CONNECT, and with DenyPrivate a
// private target is refused before the CONNECT is sent.
func TestHTTPSProxyConnect(t *testing.T) {
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "page of "+r.Host)
	}))
	t.Cleanup(target.Close)
	var mu sync.Mutex
	var connects []string
	var tunnels sync.WaitGroup
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		connects = append(connects, r.Host)
		mu.Unlock()
		// Every host is served by the one test server.
		dst, err := net.Dial("tcp", target.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			dst.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		tunnels.Add(1)
		go func() {
			defer tunnels.Done()
			_, _ = io.Copy(dst, buf)
			dst.Close()
		}()
		_, _ = io.Copy(conn, dst)
		conn.Close()
	}))
	t.Cleanup(func() { target.CloseClientConnections(); proxy.Close(); tunnels.Wait() })
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")

	get := func(c *http.Client, url string) (string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	for _, deny := range []bool{false, true} {
		// The test server's certificate is not www.aljazeera.net's: skip verification, and
		// take the proxy from the environment as the default transport does.
		tr := &http.Transport{Proxy: envProxy(), TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		c, err := NewClient(Config{Timeout: 5 * time.Second, MaxRedirects: 5, Transport: tr, DenyPrivate: deny})
		if err != nil {
			t.Fatal(err)
		}
		url := "https://www.aljazeera.net/news/1"
		if deny {
			url = "https://203.0.113.10/news/1" // public, and no DNS needed
		}
		body, err := get(c, url)
		if err != nil {
			t.Fatalf("deny %v: %v", deny, err)
		}
		if want := "page of " + url[len("https://"):len(url)-len("/news/1")]; body != want {
			t.Errorf("deny %v: got %q, want %q", deny, body, want)
		}
		if deny {
			_, err := get(c, "https://169.254.169.254/latest/meta-data/")
			if !IsForbidden(err) {
				t.Errorf("private target through the proxy: got %v, want it refused", err)
			}
		}
		c.CloseIdleConnections()
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"www.aljazeera.net:443", "203.0.113.10:443"}; !slices.Equal(connects, want) {
		t.Errorf("the proxy was asked to CONNECT to %q, want %q", connects, want)
	}
}
