package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

func onlyJob(t *testing.T, s *sqlStore, id string) *SyncJob {
	t.Helper()
	j, err := s.SyncJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// allJobs gives the unfinished sync job of every connection, by key.
func allJobs(t testing.TB, s Backend) map[string]SyncJob {
	t.Helper()
	ctx := context.Background()
	conns, err := s.List(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(conns))
	for i := range conns {
		ids[i] = conns[i].ID
	}
	jobs, err := s.SyncJobsOf(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// A connection and its first sync are one commit: a connection that fails
// to be created leaves no job, and one that is created has exactly one.
func TestCreateEnqueuesTheFirstSyncInItsTransaction(t *testing.T) {
	forEachBackend(t, testCreateEnqueuesTheFirstSyncInItsTransaction)
}

func testCreateEnqueuesTheFirstSyncInItsTransaction(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	j := onlyJob(t, s, c.ID)
	if j == nil || j.State != JobQueued || j.Reason != ReasonFirst {
		t.Fatalf("first sync: %+v", j)
	}
	if c.SyncEvery != DefaultSyncEvery {
		t.Fatalf("schedule %s", c.SyncEvery)
	}
	dup := sample("PROD")
	if err := s.Create(ctx, dup); !errors.Is(err, ErrAliasTaken) {
		t.Fatal(err)
	}
	if jobs := allJobs(t, s); len(jobs) != 1 {
		t.Fatalf("%d jobs after a failed create", len(jobs))
	}
}

// One unfinished job per connection: asking again while one waits or runs
// adds none; a scheduled one is brought forward.
func TestEnqueueSyncIsUniquePerConnection(t *testing.T) {
	forEachBackend(t, testEnqueueSyncIsUniquePerConnection)
}

func testEnqueueSyncIsUniquePerConnection(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	first := onlyJob(t, s, c.ID)
	again, err := s.EnqueueSync(ctx, c.ID)
	if err != nil || again.ID != first.ID {
		t.Fatalf("a second job: %+v %v", again, err)
	}
	// Schedule only (the queued one stays), then bring a scheduled one forward.
	if err := s.SetSchedule(ctx, c.ID, 6*time.Hour); err != nil {
		t.Fatal(err)
	}
	if j := onlyJob(t, s, c.ID); j.ID != first.ID || j.State != JobQueued {
		t.Fatalf("a schedule change replaced a due sync: %+v", j)
	}
	s.riverQueue.client.JobCancel(ctx, first.ID)
	s.write(ctx, func(tx *sql.Tx) error { return s.riverQueue.schedulePeriodicTx(ctx, tx, c.ID, 6*time.Hour) })
	sched := onlyJob(t, s, c.ID)
	if sched == nil || sched.State != JobScheduled || time.Until(sched.At) < 6*time.Hour {
		t.Fatalf("periodic: %+v", sched)
	}
	now, err := s.EnqueueSync(ctx, c.ID)
	if err != nil || now.ID != sched.ID || now.State != JobQueued || time.Until(now.At) > time.Second {
		t.Fatalf("not brought forward: %+v %v", now, err)
	}
}

func TestSetScheduleReschedulesAndOff(t *testing.T) {
	forEachBackend(t, testSetScheduleReschedulesAndOff)
}

func testSetScheduleReschedulesAndOff(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	s.riverQueue.client.JobCancel(ctx, onlyJob(t, s, c.ID).ID)
	if err := s.SetSchedule(ctx, c.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	j := onlyJob(t, s, c.ID)
	if d := time.Until(j.At); j.State != JobScheduled || d < time.Hour || d > 67*time.Minute {
		t.Fatalf("every hour: %+v in %s", j, d)
	}
	if got, _ := s.Get(ctx, c.ID); got.SyncEvery != time.Hour {
		t.Fatalf("stored %s", got.SyncEvery)
	}
	if err := s.SetSchedule(ctx, c.ID, 0); err != nil {
		t.Fatal(err)
	}
	if j := onlyJob(t, s, c.ID); j != nil {
		t.Fatalf("off left %+v", j)
	}
}

func TestDeleteCancelsTheSync(t *testing.T) { forEachBackend(t, testDeleteCancelsTheSync) }

func testDeleteCancelsTheSync(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	if err := s.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if j := onlyJob(t, s, c.ID); j != nil {
		t.Fatalf("a removed connection's sync stays: %+v", j)
	}
	if _, err := s.EnqueueSync(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sync of a removed connection: %v", err)
	}
}

// More connections than River lists in one call: every one's job is found
// (the page's full reload, `onramp status`), by key.
func TestSyncJobsOfManyConnections(t *testing.T) {
	s := mustOpen(t, testOpts(t))
	ids := seedConnections(t, s, 10_050)
	jobs, err := s.SyncJobsOf(context.Background(), ids)
	if err != nil || len(jobs) != len(ids) {
		t.Fatalf("%d jobs for %d connections: %v", len(jobs), len(ids), err)
	}
	if j := jobs[ids[10_049]]; j.ConnectionID != ids[10_049] || j.State != JobScheduled {
		t.Fatalf("the last connection's job: %+v", j)
	}
}
