package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/store"
)

// BenchmarkScrape10k: one /metrics scrape when the store holds 10,000
// connections, each with an expiring credential (a sample each), the store
// read aside (BenchmarkJobsAtScale/census in store measures it).
func BenchmarkScrape10k(b *testing.B) {
	census := &store.Census{Connections: map[[2]string]int{{"gitlab", "connected"}: 9990, {"gitlab", "needs_reconnect"}: 10},
		Jobs: map[string]int{store.JobScheduled: 9990, store.JobQueued: 10}, OldestDue: time.Minute, Workers: 4}
	exp := time.Now().Add(30 * 24 * time.Hour)
	for i := range 10000 {
		census.Credentials = append(census.Credentials, store.CredentialFact{Vendor: "gitlab", Alias: fmt.Sprintf("conn-%05d", i), ExpiresAt: &exp, NeedsReconnect: i < 10})
	}
	m := New(Source{Census: func(context.Context) (*store.Census, error) { return census, nil }})
	h := m.Handler(Health{Ping: func(context.Context) error { return nil }})
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
