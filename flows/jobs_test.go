package flows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// startWorker runs a sync worker in this test process until the test ends.
func (e *syncEnv) startWorker(t *testing.T, id string) {
	t.Helper()
	w, err := e.s.RunWorker(context.Background(), store.WorkerConfig{ID: id, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.Stop(ctx)
	})
}

// waitJob waits until the connection's job satisfies ok (nil: no unfinished job).
func (e *syncEnv) waitJob(t *testing.T, what string, ok func(*store.SyncJob) bool) *store.SyncJob {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j, err := e.st.SyncJob(context.Background(), e.id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: job %+v", what, j)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func lastRun(t *testing.T, e *syncEnv) store.SyncRun {
	t.Helper()
	runs, err := e.st.Runs(context.Background(), e.id, 1)
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs: %v", err)
	}
	return runs[0]
}

// The connection's first sync was enqueued with it; a worker runs it to the
// end and schedules the next one a day later.
func TestWorkerRunsTheFirstSyncAndSchedulesTheNext(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 300}, gitlabtest.DemoTokens.Admin, "")
	if j := e.waitJob(t, "first sync", func(j *store.SyncJob) bool { return j != nil }); j.State != store.JobQueued || j.Reason != store.ReasonFirst {
		t.Fatalf("first sync not queued: %+v", j)
	}
	e.startWorker(t, "worker@test:1")
	j := e.waitJob(t, "next periodic sync", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobScheduled })
	if d := time.Until(j.At); j.Reason != store.ReasonPeriodic || d < 23*time.Hour || d > 27*time.Hour {
		t.Fatalf("next sync %+v in %s", j, d)
	}
	run := lastRun(t, e)
	sameIDs(t, e.snapshot(t, run.ID), e.srv.Sandbox.People(0))
}

// A 429 with a long Retry-After puts the sync aside (snoozed), not failed.
func TestRateLimitedSyncIsSnoozed(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 300}, gitlabtest.DemoTokens.Admin, "")
	e.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 429, RetryAfter: 120, Times: 100})
	e.startWorker(t, "worker@test:1")
	j := e.waitJob(t, "snoozed", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobSnoozed })
	if d := time.Until(j.At); d < 100*time.Second || d > 125*time.Second {
		t.Fatalf("snoozed for %s", d)
	}
	if run := lastRun(t, e); run.Status == store.RunFailed {
		t.Fatalf("a rate limit failed the sync: %+v", run)
	}
	rows, _ := Statuses(context.Background(), e.st, catalog.Default(), time.Now(), "")
	if rows[0].Attention != "" || rows[0].Job == nil || rows[0].Job.State != store.JobSnoozed {
		t.Fatalf("status: %+v", rows[0])
	}
}

// A Retry-After of a year is a server fault, not a snooze: the attempt
// fails with the server's refusal and is retried with backoff, and the
// retry's time reads with its date when it is not today.
func TestYearLongRetryAfterCountsAsAFailure(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 300}, gitlabtest.DemoTokens.Admin, "")
	e.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 429, RetryAfter: 365 * 24 * 3600, Times: 100})
	e.startWorker(t, "worker@test:1")
	j := e.waitJob(t, "retrying", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobRetrying })
	if d := time.Until(j.At); d > 2*time.Minute || !strings.Contains(j.LastError, "more than 24 hours") {
		t.Fatalf("retry in %s because %q", d, j.LastError)
	}
	if run := lastRun(t, e); run.Status != store.RunFailed {
		t.Fatalf("run: %+v", run)
	}
}

// An expired token: one try, then needs reconnect; no retry loop.
func TestRejectedCredentialIsNotRetried(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 50}, gitlabtest.DemoTokens.Expired, "")
	e.startWorker(t, "worker@test:1")
	e.waitJob(t, "job gone", func(j *store.SyncJob) bool { return j == nil })
	c, _ := e.st.Get(context.Background(), e.id)
	if c.State != store.StateNeedsReconnect {
		t.Fatalf("state %s", c.State)
	}
	runs, _ := e.st.Runs(context.Background(), e.id, 10)
	if len(runs) != 1 || runs[0].Status != store.RunFailed {
		t.Fatalf("%d runs: %+v", len(runs), runs)
	}
	time.Sleep(1500 * time.Millisecond) // a retry would have begun by now
	if runs, _ := e.st.Runs(context.Background(), e.id, 10); len(runs) != 1 {
		t.Fatalf("retried: %d runs", len(runs))
	}
}

// A server failure is retried by the queue, saying when and why.
func TestFailedSyncIsRetriedLater(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 50}, gitlabtest.DemoTokens.Admin, "")
	e.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 404, Times: 1})
	e.startWorker(t, "worker@test:1")
	j := e.waitJob(t, "retrying", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobRetrying })
	if d := time.Until(j.At); d < 50*time.Second || d > 70*time.Second || j.LastError == "" || j.Attempt != 1 {
		t.Fatalf("retry %+v in %s", j, d)
	}
	// Sync now brings the retry forward, and it succeeds.
	if _, err := e.st.EnqueueSync(context.Background(), e.id); err != nil {
		t.Fatal(err)
	}
	e.waitJob(t, "succeeded", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobScheduled })
	if run := lastRun(t, e); run.Status != store.RunSucceeded {
		t.Fatalf("after sync now: %+v", run)
	}
}

// Stop from "another process" (the store, not the worker): the running sync
// stops at its next checkpoint, the next periodic sync stays scheduled, and
// the next sync resumes from that checkpoint.
func TestStopARunningSyncFromAnywhere(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 2000, Latency: 60 * time.Millisecond}, gitlabtest.DemoTokens.Admin, "")
	e.startWorker(t, "worker@test:1")
	e.waitJob(t, "running", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobRunning })
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if runs, _ := e.st.Runs(context.Background(), e.id, 1); len(runs) == 1 && runs[0].Pages >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync saved no 3 pages in 15 s")
		}
	}
	if err := e.st.StopSync(context.Background(), e.id); err != nil {
		t.Fatal(err)
	}
	e.waitJob(t, "stopped, next scheduled", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobScheduled })
	stopped := lastRun(t, e)
	if stopped.Status != store.RunStopped || stopped.Pages >= 20 {
		t.Fatalf("not stopped at a checkpoint: %+v", stopped)
	}
	if _, err := e.st.EnqueueSync(context.Background(), e.id); err != nil {
		t.Fatal(err)
	}
	e.waitJob(t, "resumed to the end", func(j *store.SyncJob) bool {
		return j != nil && j.State == store.JobScheduled && lastRun(t, e).Status == store.RunSucceeded
	})
	done := lastRun(t, e)
	if done.ID != stopped.ID {
		t.Fatalf("a new run instead of resuming: %d then %d", stopped.ID, done.ID)
	}
	sameIDs(t, e.snapshot(t, done.ID), e.srv.Sandbox.People(0))
}

// The schedule: a short period syncs again by itself; off stops it.
func TestScheduleSyncsAgainAndOff(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 30}, gitlabtest.DemoTokens.Admin, "")
	if err := e.st.SetSchedule(context.Background(), e.id, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, "worker@test:1")
	deadline := time.Now().Add(15 * time.Second)
	for {
		runs, _ := e.st.Runs(context.Background(), e.id, 10)
		if len(runs) >= 3 {
			for i := 0; i+1 < len(runs); i++ { // newest first: never two at once, at least a period apart
				if gap := runs[i].StartedAt.Sub(*runs[i+1].FinishedAt); gap < 2*time.Second {
					t.Fatalf("runs %d and %d only %s apart", runs[i+1].ID, runs[i].ID, gap)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs in 15 s with a 2 s schedule", len(runs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := e.st.SetSchedule(context.Background(), e.id, 0); err != nil {
		t.Fatal(err)
	}
	e.waitJob(t, "no periodic sync", func(j *store.SyncJob) bool { return j == nil })
}
