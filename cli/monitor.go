package cli

import (
	"context"
	"sync/atomic"
	"time"

	"charm.land/log/v2"

	"github.com/onramp-dev/onramp/metrics"
	"github.com/onramp-dev/onramp/store"
)

// monitor is a process's --metrics endpoint: Prometheus metrics, /healthz
// and /readyz. Its worker's lease is given once the worker runs.
type monitor struct {
	m      *metrics.Metrics
	worker atomic.Pointer[store.Worker]
	ready  atomic.Bool
}

// startMonitor serves /metrics, /healthz and /readyz on addr ("" for none:
// then it returns a nil *monitor, whose methods do nothing).
func startMonitor(ctx context.Context, addr string, st store.Backend, logger *log.Logger) (*monitor, error) {
	if addr == "" {
		return nil, nil
	}
	mon := &monitor{}
	lease := func() (time.Time, time.Duration) {
		if w := mon.worker.Load(); w != nil {
			return (*w).LeaseRenewed()
		}
		return time.Time{}, 0
	}
	mon.m = metrics.New(metrics.Source{Census: st.Census, Lease: lease})
	health := metrics.Health{Lease: lease, Ready: mon.ready.Load,
		Ping: func(ctx context.Context) error { _, err := st.Processes(ctx); return err }}
	at, err := metrics.Serve(ctx, addr, mon.m.Handler(health))
	if err != nil {
		return nil, err
	}
	logger.Info("metrics", "address", "http://"+at+"/metrics", "health", "/healthz", "ready", "/readyz")
	return mon, nil
}

// observer is the syncs' observer (nil without --metrics).
func (mon *monitor) observer() *metrics.Metrics {
	if mon == nil {
		return nil
	}
	return mon.m
}

// started records the worker (its lease is health) and readiness.
func (mon *monitor) started(w store.Worker) {
	if mon == nil {
		return
	}
	if w != nil {
		mon.worker.Store(&w)
	}
	mon.ready.Store(true)
}
