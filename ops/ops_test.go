package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "feedd_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var natsUp atomic.Bool
	checks := map[string]Check{
		"database": func(context.Context) error { return nil },
		"nats": func(context.Context) error {
			if !natsUp.Load() {
				return errors.New("not connected")
			}
			return nil
		},
		"feeds": func(context.Context) error { return Degraded(errors.New("every feed failing")) },
	}
	s, err := Listen("127.0.0.1:0", reg, checks, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name     string
		natsUp   bool
		path     string
		wantCode int
		wantBody string
	}{
		{"healthz while nats is down", false, "/healthz", 200, "ok"},
		{"readyz while nats is down", false, "/readyz", 503, `"nats":"not connected"`},
		{"readyz when everything is up", true, "/readyz", 200, `"ready":true`},
		{"readyz says what is degraded", true, "/readyz", 200, `"feeds":"every feed failing"`},
		{"readyz degraded and down", false, "/readyz", 503, `"feeds":"every feed failing"`},
		{"metrics", true, "/metrics", 200, "feedd_test_total 3"},
		{"unknown path", true, "/nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			natsUp.Store(tt.natsUp)
			code, body := get(tt.path)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestListenRefusesBusyAddress(t *testing.T) {
	s, err := Listen("127.0.0.1:0", prometheus.NewRegistry(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := Listen(s.Addr(), prometheus.NewRegistry(), nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("got %v, want an error naming %s", err, s.Addr())
	}
}

// TestReadyzInfo: what SetInfo gives joins the /readyz JSON, without replacing "ready" or
// "checks".
func TestReadyzInfo(t *testing.T) {
	s, err := Listen("127.0.0.1:0", prometheus.NewRegistry(), map[string]Check{"database": func(context.Context) error { return nil }},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.SetInfo(func(context.Context) map[string]string {
		return map[string]string{"role": "standby", "leader": "feedd-a", "ready": "overridden?"}
	})
	go s.Serve()
	defer s.Shutdown(context.Background())
	resp, err := http.Get("http://" + s.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["role"] != "standby" || got["leader"] != "feedd-a" || got["ready"] != true || got["checks"] == nil {
		t.Errorf("/readyz: got %v, want role standby, leader feedd-a, ready true and the checks", got)
	}
}
