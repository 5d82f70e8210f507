// Package metrics is what a worker or `onramp serve` tells Prometheus
// (`--metrics ADDR`): what its syncs do, as they happen, and the store's
// state, read at each scrape — plus /healthz and /readyz for systemd, a
// load balancer or Kubernetes. Labels are of small cardinality (vendor,
// outcome, state, reason); a connection's alias appears only where an
// operator alerts per connection (its credential's expiry, needs-reconnect).
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/onramp-dev/onramp/store"
)

// Metrics holds this process's collectors. It is a flows.SyncObserver.
type Metrics struct {
	reg *prometheus.Registry

	syncsStarted  *prometheus.CounterVec
	syncsFinished *prometheus.CounterVec
	syncDuration  *prometheus.HistogramVec
	users, pages  *prometheus.CounterVec
	requeues      *prometheus.CounterVec
	sessions      prometheus.Gauge
	refused       *prometheus.CounterVec
}

// Source is what a scrape reads from the store and this process.
type Source struct {
	// Census reads the store's counts (one scrape, one census).
	Census func(context.Context) (*store.Census, error)
	// Lease says when this process's lease was last renewed and how long
	// one lasts; nil (or a zero time) when this process runs no worker.
	Lease func() (time.Time, time.Duration)
}

// New registers onramp's collectors, Go's and the process's.
func New(src Source) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.syncsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onramp_syncs_started_total",
		Help: "Sync job runs started by this process (a long sync runs in several slices)."}, []string{"vendor"})
	m.syncsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onramp_syncs_finished_total",
		Help: "Sync job runs ended by this process, by outcome (succeeded, failed, needs_reconnect, retrying, snoozed, stopped, fenced)."}, []string{"vendor", "outcome"})
	m.syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onramp_sync_duration_seconds",
		Help:    "How long a sync job run took, by outcome.",
		Buckets: prometheus.ExponentialBuckets(0.1, 4, 9)}, []string{"vendor", "outcome"})
	m.users = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onramp_synced_users_total",
		Help: "Users saved by this process's syncs."}, []string{"vendor"})
	m.pages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onramp_fetched_pages_total",
		Help: "Pages fetched and saved by this process's syncs."}, []string{"vendor"})
	m.requeues = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onramp_sync_requeues_total",
		Help: "Sync jobs put back in the queue: kind retry (an attempt counted) or snooze (not counted), by reason."}, []string{"vendor", "kind", "reason"})
	m.sessions = prometheus.NewGauge(prometheus.GaugeOpts{Name: "onramp_ssh_sessions", Help: "Open wizard sessions over SSH (onramp serve)."})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onramp_ssh_logins_refused_total",
		Help: "SSH logins refused, by reason (key, session_limit, address_cap, login_timeout)."}, []string{"reason"})
	m.reg.MustRegister(m.syncsStarted, m.syncsFinished, m.syncDuration, m.users, m.pages, m.requeues, m.sessions, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{src: src})
	return m
}

// SyncStarted implements flows.SyncObserver.
func (m *Metrics) SyncStarted(vendor string) { m.syncsStarted.WithLabelValues(vendor).Inc() }

// SyncEnded implements flows.SyncObserver.
func (m *Metrics) SyncEnded(vendor, outcome string, took time.Duration) {
	m.syncsFinished.WithLabelValues(vendor, outcome).Inc()
	m.syncDuration.WithLabelValues(vendor, outcome).Observe(took.Seconds())
}

// Fetched implements flows.SyncObserver.
func (m *Metrics) Fetched(vendor string, users, pages int) {
	m.users.WithLabelValues(vendor).Add(float64(users))
	m.pages.WithLabelValues(vendor).Add(float64(pages))
}

// Requeued implements flows.SyncObserver.
func (m *Metrics) Requeued(vendor, kind, reason string) {
	m.requeues.WithLabelValues(vendor, kind, reason).Inc()
}

// SessionOpened and SessionClosed count serve's sessions.
func (m *Metrics) SessionOpened() { m.sessions.Inc() }
func (m *Metrics) SessionClosed() { m.sessions.Dec() }

// LoginRefused counts a refused SSH login.
func (m *Metrics) LoginRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }
