// Package ops serves feedd's operational endpoints: /healthz (the process is alive), /readyz (it
// can do its job: NATS connected, database usable) and /metrics (Prometheus).
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is ready; a non-nil error says why not. An error made with
// Degraded is shown in /readyz without making it fail.
type Check func(ctx context.Context) error

// Degraded marks a check's error as worth saying in /readyz but not a reason to be unready: the
// daemon still does its job, and restarting it or routing around it would not help.
func Degraded(err error) error { return &degradedError{err} }

type degradedError struct{ err error }

func (e *degradedError) Error() string { return e.err.Error() }
func (e *degradedError) Unwrap() error { return e.err }

// Server is the ops HTTP listener.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	log    *slog.Logger
	mux    *http.ServeMux
	checks map[string]Check
	info   func(ctx context.Context) map[string]string // nil: nothing beyond the checks
}

// Listen binds addr and prepares the handlers; Serve starts answering. checks are run, each with a
// short timeout, on every /readyz request.
func Listen(addr string, gatherer prometheus.Gatherer, checks map[string]Check, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	srv := &Server{log: log, mux: mux, checks: checks, ln: ln}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status := map[string]string{}
		ready := true
		for name, check := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			err := check(ctx)
			cancel()
			var dg *degradedError
			if errors.As(err, &dg) {
				status[name] = err.Error() // said, but not a reason to be unready
				continue
			}
			if err != nil {
				ready = false
				status[name] = err.Error()
			} else {
				status[name] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		body := map[string]any{"ready": ready, "checks": status}
		if srv.info != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			for k, v := range srv.info(ctx) {
				if _, taken := body[k]; !taken {
					body[k] = v
				}
			}
			cancel()
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	srv.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	return srv, nil
}

// SetInfo adds what info returns to the /readyz JSON (beside "ready" and "checks", which it
// cannot replace) and to the status page, on each request: in cluster mode, the replica's role
// and who leads. Call it before Serve.
func (s *Server) SetInfo(info func(ctx context.Context) map[string]string) { s.info = info }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers requests until Shutdown.
func (s *Server) Serve() {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("ops server stopped", "err", err)
	}
}

// Shutdown stops the server, waiting for requests in progress until ctx ends. It also releases
// the address of a server that never served.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if cerr := s.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
		err = cerr
	}
	return err
}
