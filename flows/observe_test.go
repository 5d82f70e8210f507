package flows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
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
