package flows

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/metrics"
	"github.com/onramp-dev/onramp/store"
)

// recorder is a SyncObserver that keeps what it is told.
type recorder struct {
	mu           sync.Mutex
	started      int
	ended        []string
	users, pages int
	requeues     []string
	durations    []time.Duration
}

func (r *recorder) SyncStarted(string) { r.mu.Lock(); r.started++; r.mu.Unlock() }
func (r *recorder) SyncEnded(_, outcome string, took time.Duration) {
	r.mu.Lock()
	r.ended, r.durations = append(r.ended, outcome), append(r.durations, took)
	r.mu.Unlock()
}
func (r *recorder) Fetched(_ string, users, pages int) {
	r.mu.Lock()
	r.users, r.pages = r.users+users, r.pages+pages
	r.mu.Unlock()
}
func (r *recorder) Requeued(_, kind, reason string) {
	r.mu.Lock()
	r.requeues = append(r.requeues, kind+":"+reason)
	r.mu.Unlock()
}

// The observer is told of a sync's start and outcome, and of exactly the
// users and pages it saved.
func TestObserverCountsWhatASyncSaved(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 250}, gitlabtest.DemoTokens.Admin, "")
	rec := &recorder{}
	e.s.Observer = rec
	if err := e.s.Work(context.Background(), store.SyncJob{ConnectionID: e.id, Attempt: 1, MaxAttempts: 10}); err != nil {
		t.Fatal(err)
	}
	runs, err := e.st.Runs(context.Background(), e.id, 1)
	if err != nil || len(runs) != 1 {
		t.Fatal(err)
	}
	if rec.started != 1 || len(rec.ended) != 1 || rec.ended[0] != OutcomeSucceeded || rec.users != runs[0].Users || rec.pages != runs[0].Pages {
		t.Fatalf("observed %+v; the run saved %d users in %d pages", rec, runs[0].Users, runs[0].Pages)
	}
}

// BenchmarkSyncObserved: one sync of 2,500 users against the sandbox,
// without an observer and with onramp's Prometheus metrics (issue 23: the
// metrics must cost < 2 % of a sync).
func BenchmarkSyncObserved(b *testing.B) {
	for _, observed := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", observed), func(b *testing.B) {
			e := newSyncEnv(b, gitlabtest.Options{Users: 2500}, gitlabtest.DemoTokens.Admin, "")
			if observed {
				e.s.Observer = metrics.New(metrics.Source{Census: e.st.Census})
			}
			for b.Loop() {
				if err := e.s.Work(context.Background(), store.SyncJob{ConnectionID: e.id, Attempt: 1, MaxAttempts: 10}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// countingStore counts the events recorded for the first time.
type countingStore struct {
	store.Backend
	mu    sync.Mutex
	fresh []string
}

func (c *countingStore) Notify(ctx context.Context, n store.Notification) (bool, error) {
	fresh, err := c.Backend.Notify(ctx, n)
	if fresh {
		c.mu.Lock()
		c.fresh = append(c.fresh, n.Kind+" "+n.Occasion)
		c.mu.Unlock()
	}
	return fresh, err
}

// Expiry warnings fire once per threshold (14, 3, 1 days), the smallest
// reached only, however often the check runs.
func TestExpiryWarningsFireOnceEach(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 5}, gitlabtest.DemoTokens.Admin, "")
	cs := &countingStore{Backend: e.st}
	exp := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := e.st.Update(context.Background(), e.id, func(c *store.Connection) error { c.ExpiresAt = &exp; return nil }); err != nil {
		t.Fatal(err)
	}
	now := exp.Add(-20 * 24 * time.Hour)
	s := &Syncer{Store: cs, Catalog: e.s.Catalog, Now: func() time.Time { return now }}
	steps := []struct {
		daysBefore int
		fresh      int
	}{{20, 0}, {10, 1}, {9, 1}, {2, 2}, {2, 2}, {0, 3}, {-1, 3}}
	for _, st := range steps {
		now = exp.Add(-time.Duration(st.daysBefore) * 24 * time.Hour)
		s.checkExpiry(context.Background())
		s.checkExpiry(context.Background())
		if len(cs.fresh) != st.fresh {
			t.Fatalf("%d days before: %d events %v, want %d", st.daysBefore, len(cs.fresh), cs.fresh, st.fresh)
		}
	}
}
