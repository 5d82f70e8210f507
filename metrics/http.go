package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health says whether this process can do its work: it reaches the store,
// and (when it runs syncs) renews its lease.
type Health struct {
	// Ping reads the store.
	Ping func(context.Context) error
	// Lease: see Source.
	Lease func() (time.Time, time.Duration)
	// Ready reports whether the process has started its work (serve:
	// listening; a worker: its worker running).
	Ready func() bool
}

func (h Health) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := h.Ping(ctx); err != nil {
		return fmt.Errorf("the store cannot be read: %w", err)
	}
	if h.Lease != nil {
		if at, ttl := h.Lease(); !at.IsZero() && time.Since(at) > ttl {
			return fmt.Errorf("this process's lease was last renewed %s ago (it lasts %s): its syncs may be taken over", time.Since(at).Round(time.Second), ttl)
		}
	}
	return nil
}

// Handler serves /metrics, /healthz and /readyz.
func (m *Metrics) Handler(h Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := h.check(r.Context()); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if h.Ready != nil && !h.Ready() {
			http.Error(w, "not ready: starting", http.StatusServiceUnavailable)
			return
		}
		if err := h.check(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// ListenAddr is ADDR as --metrics takes it: a bare port (9464 or :9464)
// listens on loopback only; an address with a host listens there.
func ListenAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		return net.JoinHostPort("127.0.0.1", addr)
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// Serve listens on addr and serves handler until ctx ends; it returns the
// address listened on (a port 0 picks one).
func Serve(ctx context.Context, addr string, handler http.Handler) (string, error) {
	l, err := net.Listen("tcp", ListenAddr(addr))
	if err != nil {
		return "", fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go srv.Serve(l)
	return l.Addr().String(), nil
}
