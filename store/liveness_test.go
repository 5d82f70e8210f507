package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// A holder that lost its run (the run was resumed by another, under a new
// generation) finds every write refused: no page, no seats, no finish.
func TestFencedWritesAreRefused(t *testing.T) { forEachBackend(t, testFencedWritesAreRefused) }

func testFencedWritesAreRefused(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	old, _, err := s.BeginRun(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePage(ctx, old.ID, PageUpdate{Users: users(1, 2), Checkpoint: "2", Gen: old.Gen}); err != nil {
		t.Fatal(err)
	}
	taken, resumed, _ := s.BeginRun(ctx, c.ID) // another holder takes the run over
	if !resumed || taken.ID != old.ID || taken.Gen == old.Gen {
		t.Fatalf("takeover: %+v resumed %v", taken, resumed)
	}
	if _, err := s.SavePage(ctx, old.ID, PageUpdate{Users: users(3, 4), Checkpoint: "3", Gen: old.Gen}); !errors.Is(err, ErrFenced) {
		t.Fatalf("old holder's page: %v", err)
	}
	if err := s.SaveSeats(ctx, old.ID, old.Gen, []Seats{{Scope: "license"}}); !errors.Is(err, ErrFenced) {
		t.Fatalf("old holder's seats: %v", err)
	}
	if _, err := s.FinishRun(ctx, old.ID, old.Gen, RunStopped, ""); !errors.Is(err, ErrFenced) {
		t.Fatalf("old holder's finish: %v", err)
	}
	run, err := s.SavePage(ctx, taken.ID, PageUpdate{Users: users(3), Checkpoint: "", Gen: taken.Gen, From: "2"})
	if err != nil || run.Users != 3 || run.Checkpoint != "" {
		t.Fatalf("new holder's page: %+v %v", run, err)
	}
	if done, err := s.FinishRun(ctx, taken.ID, taken.Gen, RunSucceeded, ""); err != nil || done.Status != RunSucceeded {
		t.Fatalf("finish: %+v %v", done, err)
	}
	if _, err := s.SavePage(ctx, 999999, PageUpdate{Gen: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a run that does not exist: %v", err)
	}
}

// A damaged job row (arguments that do not decode, or a connection that is
// gone) is shown on its own connection and skipped by everyone else; a sync
// asked for replaces it.
func TestDamagedJobRowAffectsOnlyItsConnection(t *testing.T) {
	forEachBackend(t, testDamagedJobRowAffectsOnlyItsConnection)
}

func testDamagedJobRowAffectsOnlyItsConnection(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	a, b := sample("a"), sample("b")
	s.Create(ctx, a)
	s.Create(ctx, b)
	ja := onlyJob(t, s, a.ID)
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE river_job SET args = `+jsonArg(s)+` WHERE id = ?`),
		`{"connection_id": "`+a.ID+`", "reason": 5}`, ja.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Insert(ctx, SyncArgs{ConnectionID: "c_gone"}, syncInsertOpts(ReasonManual, time.Time{}, SyncQueue)); err != nil {
		t.Fatal(err)
	}
	jobs := allJobs(t, s)
	if jobs[a.ID].Damaged == "" || jobs[b.ID].Damaged != "" || jobs[b.ID].State != JobQueued || len(jobs) != 2 {
		t.Fatalf("jobs: %+v", jobs)
	}
	if err := s.StopSync(ctx, b.ID); err != nil {
		t.Fatalf("stop b beside a damaged row: %v", err)
	}
	if _, err := s.EnqueueSync(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	j, err := s.EnqueueSync(ctx, a.ID)
	if err != nil || j.Damaged != "" || j.ID == ja.ID {
		t.Fatalf("a sync asked for replaces the damaged row: %+v %v", j, err)
	}
	if s.d.name == "sqlite" { // only SQLite can hold arguments that are not JSON at all
		s.db.ExecContext(ctx, `UPDATE river_job SET args = 'not json' WHERE id = ?`, j.ID)
		if jobs := allJobs(t, s); len(jobs) != 1 || jobs[b.ID].State != JobQueued {
			t.Fatalf("beside unreadable JSON: %+v", jobs)
		}
	}
}

func jsonArg(s *sqlStore) string {
	if s.d.name == "sqlite" {
		return `jsonb(?)`
	}
	return `?::jsonb`
}

// A connection whose job was lost (River discarded it after its last
// attempt) gets one back: resumed when its last run did not finish; one
// whose schedule is off does not.
func TestReconcileGivesLostJobsBack(t *testing.T) { forEachBackend(t, testReconcileGivesLostJobsBack) }

func testReconcileGivesLostJobsBack(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	a, off := sample("a"), sample("off")
	s.Create(ctx, a)
	s.Create(ctx, off)
	s.SetSchedule(ctx, off.ID, 0)
	run, _, _ := s.BeginRun(ctx, a.ID) // a sync that died part-way
	s.SavePage(ctx, run.ID, PageUpdate{Users: users(1), Checkpoint: "2", Gen: run.Gen})
	for _, id := range []string{a.ID, off.ID} {
		j := onlyJob(t, s, id)
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE river_job SET state = 'discarded', finalized_at = `+s.d.riverNow+` WHERE id = ?`), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(allJobs(t, s)) != 0 {
		t.Fatal("jobs left")
	}
	k := newKeeper(s.riverQueue, WorkerConfig{ID: "worker@test:1", Lease: time.Minute}, SyncQueue, slog.New(slog.DiscardHandler))
	n, err := k.reconcile(ctx)
	if err != nil || n != 1 {
		t.Fatalf("reconciled %d: %v", n, err)
	}
	j := onlyJob(t, s, a.ID)
	if j == nil || j.Reason != ReasonResume || j.State != JobQueued {
		t.Fatalf("a's job: %+v", j)
	}
	if onlyJob(t, s, off.ID) != nil {
		t.Fatal("a connection whose schedule is off got a job")
	}
	if n, _ := k.reconcile(ctx); n != 0 {
		t.Fatalf("reconciled again: %d", n)
	}
}

// Whether a job's holder still lives, from its lease.
func TestLeaseAlive(t *testing.T) {
	now := time.Now()
	began := now.Add(-time.Minute)
	host := hostName()
	leases := leaseSet{
		"worker@far:1":   {Host: "far", PID: 1, Started: now.Add(-time.Hour), Until: now.Add(10 * time.Second)},
		"worker@far:2":   {Host: "far", PID: 2, Started: now.Add(-time.Hour), Until: now.Add(-time.Second)},
		"worker@far:3":   {Host: "far", PID: 3, Started: now.Add(-time.Second), Until: now.Add(10 * time.Second)},
		"worker@here:me": {Host: host, PID: os.Getpid(), Started: now.Add(-time.Hour), Until: now.Add(10 * time.Second)},
		"worker@here:x":  {Host: host, PID: 1 << 30, Started: now.Add(-time.Hour), Until: now.Add(10 * time.Second)},
	}
	for holder, want := range map[string]bool{
		"worker@far:1":   true,  // renewed, on another host
		"worker@far:2":   false, // lapsed
		"worker@far:3":   false, // a newer process took the name after the job began
		"worker@here:me": true,  // this process
		"worker@here:x":  false, // on this host, and its pid is gone
		"worker@none:9":  false, // no lease at all
	} {
		if got := leases.alive(holder, &began, now); got != want {
			t.Errorf("%s: alive %v, want %v", holder, got, want)
		}
	}
}

// A lease that lapsed while its process was away (frozen) is noticed at
// the next renewal, and written anew.
func TestLapsedLeaseIsRenewedAnew(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, testOpts(t))
	var log strings.Builder
	k := newKeeper(s.riverQueue, WorkerConfig{ID: "worker@test:1", Lease: time.Minute}, SyncQueue, slog.New(slog.NewTextHandler(&log, nil)))
	if err := k.register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.renew(ctx); err != nil || log.Len() != 0 {
		t.Fatalf("renew: %v %s", err, log.String())
	}
	s.db.ExecContext(ctx, `UPDATE process_leases SET until_ms = 1`)
	if err := k.renew(ctx); err != nil || !strings.Contains(log.String(), "lease had lapsed") {
		t.Fatalf("lapsed: %v %s", err, log.String())
	}
	procs, _ := s.Processes(ctx)
	if len(procs) != 1 || procs[0].ID != "worker@test:1" {
		t.Fatalf("processes: %+v", procs)
	}
}

// Leases are written and judged by the database's clock: a worker whose
// own clock is an hour behind is still seen alive by the others.
func TestLeasesUseTheDatabaseClock(t *testing.T) { forEachBackend(t, testLeasesUseTheDatabaseClock) }

func testLeasesUseTheDatabaseClock(t *testing.T, opts Options) {
	ctx := context.Background()
	behind := opts
	behind.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	skewed := mustOpen(t, behind)
	k := newKeeper(skewed.riverQueue, WorkerConfig{ID: "worker@skewed:1", Lease: 15 * time.Second}, SyncQueue, slog.New(slog.DiscardHandler))
	if err := k.register(ctx); err != nil {
		t.Fatal(err)
	}
	other := mustOpen(t, opts)
	procs, err := other.Processes(ctx)
	if err != nil || len(procs) != 1 || procs[0].ID != "worker@skewed:1" {
		t.Fatalf("processes seen by a worker with the right time: %+v %v", procs, err)
	}
	if alive, _ := other.holderAlive(ctx, other.db, "worker@skewed:1", nil); !alive {
		t.Fatal("the skewed worker taken for dead")
	}
}
