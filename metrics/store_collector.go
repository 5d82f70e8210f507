package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onramp-dev/onramp/store"
)

// storeCollector reads the store at each scrape: one census (three
// statements whatever the number of connections).
type storeCollector struct{ src Source }

var (
	storeUp = prometheus.NewDesc("onramp_store_up", "1 when this scrape could read the store.", nil, nil)
	jobsBy  = prometheus.NewDesc("onramp_sync_jobs", "Sync jobs by state (queued, running, retrying, scheduled).", []string{"state"}, nil)
	oldest  = prometheus.NewDesc("onramp_sync_oldest_due_job_age_seconds", "How long the longest-waiting due sync job has waited (0: none is due).", nil, nil)
	connsBy = prometheus.NewDesc("onramp_connections", "Connections by vendor and state.", []string{"vendor", "state"}, nil)
	expiry  = prometheus.NewDesc("onramp_credential_expiry_timestamp_seconds", "When a connection's credential expires (Unix time).", []string{"vendor", "alias"}, nil)
	broken  = prometheus.NewDesc("onramp_connection_needs_reconnect", "1 for a connection that needs reconnecting.", []string{"vendor", "alias"}, nil)
	workers = prometheus.NewDesc("onramp_workers_alive", "Processes running syncs whose lease is alive (every machine of the store).", nil, nil)
	lease   = prometheus.NewDesc("onramp_lease_age_seconds", "Time since this process last renewed its lease (alive while below its lifetime).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeUp, jobsBy, oldest, connsBy, expiry, broken, workers, lease} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Lease != nil {
		if at, _ := c.src.Lease(); !at.IsZero() {
			ch <- prometheus.MustNewConstMetric(lease, prometheus.GaugeValue, time.Since(at).Seconds())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	census, err := c.src.Census(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeUp, prometheus.GaugeValue, 1)
	for _, state := range []string{store.JobQueued, store.JobRunning, store.JobRetrying, store.JobScheduled} {
		ch <- prometheus.MustNewConstMetric(jobsBy, prometheus.GaugeValue, float64(census.Jobs[state]), state)
	}
	ch <- prometheus.MustNewConstMetric(oldest, prometheus.GaugeValue, census.OldestDue.Seconds())
	for key, n := range census.Connections {
		ch <- prometheus.MustNewConstMetric(connsBy, prometheus.GaugeValue, float64(n), key[0], key[1])
	}
	for _, f := range census.Credentials {
		if f.ExpiresAt != nil {
			ch <- prometheus.MustNewConstMetric(expiry, prometheus.GaugeValue, float64(f.ExpiresAt.Unix()), f.Vendor, f.Alias)
		}
		if f.NeedsReconnect {
			ch <- prometheus.MustNewConstMetric(broken, prometheus.GaugeValue, 1, f.Vendor, f.Alias)
		}
	}
	ch <- prometheus.MustNewConstMetric(workers, prometheus.GaugeValue, float64(census.Workers))
}
