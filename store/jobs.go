package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Syncs are durable jobs in River, kept in the store's own database, so a
// connection and its first sync are committed together, and any process
// that opens the store (a worker, `onramp serve`, the wizard, `onramp
// sync`) can run them. One sync job per connection exists at a time: River's
// unique jobs, across processes and machines.

// SyncArgs is a sync job's arguments. Only the connection takes part in
// uniqueness.
type SyncArgs struct {
	ConnectionID string `json:"connection_id" river:"unique"`
	// Reason is why the sync was asked for: first, manual, periodic.
	Reason string `json:"reason,omitempty"`
	// Takeovers counts the holders that died running this sync; TakenFrom
	// names the last. Neither counts as the sync failing.
	Takeovers int    `json:"takeovers,omitempty"`
	TakenFrom string `json:"taken_over_from,omitempty"`
}

// Kind is River's name for the job.
func (SyncArgs) Kind() string { return "sync" }

// Sync reasons.
const (
	ReasonFirst    = "first"
	ReasonManual   = "manual"
	ReasonPeriodic = "periodic"
)

// SyncQueue is the River queue sync jobs run in.
const SyncQueue = "sync"

// DefaultSyncEvery is how often a connection is synced again unless its
// schedule says otherwise; a person may choose from MinSyncEvery to
// MaxSyncEvery (the store refuses more: a period that overflows a clock
// would sync without pause).
const (
	DefaultSyncEvery = 24 * time.Hour
	MinSyncEvery     = 5 * time.Minute
	MaxSyncEvery     = 30 * 24 * time.Hour
)

// syncMaxAttempts caps the retries of a failing sync: 1, 2, 4, 8, 16 then
// 30 minutes apart, about an hour and a half in all.
const syncMaxAttempts = 7

// syncInsertOpts: manual and first syncs go before periodic ones; one job
// per connection among those not finished (completed, cancelled and
// discarded ones do not count). queue is SyncQueue, or the own queue of an
// `onramp sync` process (its job and no other).
func syncInsertOpts(reason string, at time.Time, queue string) *river.InsertOpts {
	priority := 1
	if reason == ReasonPeriodic {
		priority = 2
	}
	return &river.InsertOpts{Queue: queue, Priority: priority, MaxAttempts: syncMaxAttempts, ScheduledAt: at,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
			rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// Job states as onramp says them.
const (
	JobQueued    = "queued"    // waiting for a worker
	JobRunning   = "running"   // a worker has it
	JobRetrying  = "retrying"  // failed; tried again at At
	JobSnoozed   = "snoozed"   // rate-limited; tried again at At
	JobScheduled = "scheduled" // the next periodic sync, at At
)

// SyncJob is a connection's unfinished sync job.
type SyncJob struct {
	ID           int64     `json:"id"`
	ConnectionID string    `json:"connection_id"`
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"`
	At           time.Time `json:"at"` // when it runs (or ran)
	Attempt      int       `json:"attempt"`
	MaxAttempts  int       `json:"max_attempts"`
	// Worker names the process that runs (or last ran) it: "worker@host:pid".
	Worker string `json:"worker,omitempty"`
	// LastError is the last attempt's error, for "retrying because …".
	LastError string `json:"last_error,omitempty"`
	// HolderGone: the job is running on a process whose lease lapsed (or
	// whose pid is gone, on this host); a live worker takes it over.
	HolderGone bool `json:"holder_gone,omitempty"`
	// Takeovers and TakenFrom: see SyncArgs.
	Takeovers int    `json:"takeovers,omitempty"`
	TakenFrom string `json:"taken_over_from,omitempty"`
	// Damaged says why the job's row cannot be read (its arguments); such a
	// row is shown on its connection and skipped by everyone else.
	Damaged string `json:"damaged,omitempty"`
	// Queue is the queue it waits in: SyncQueue, or an `onramp sync`
	// process's own.
	Queue string `json:"-"`
}

// SyncClaim is what ClaimSync did.
type SyncClaim struct {
	Job SyncJob
	// RunningOn names the live process that runs the sync (it was left to
	// it: follow it); "" when the job is now in the claimer's queue.
	RunningOn string
	// TookOverFrom names the process, gone, whose sync was taken over.
	TookOverFrom string
}

// Jobs is the store's durable job queue.
type Jobs interface {
	// EnqueueSync asks for a sync of the connection now: a new job, or its
	// waiting one (scheduled, snoozed, retrying) brought forward. A running
	// one stays as it is.
	EnqueueSync(ctx context.Context, connectionID string) (*SyncJob, error)
	// SyncJob is the connection's unfinished sync job, found by key; nil
	// when it has none.
	SyncJob(ctx context.Context, connectionID string) (*SyncJob, error)
	// SyncJobsOf gives the unfinished sync jobs of these connections (those
	// a page shows), by connection, found by key.
	SyncJobsOf(ctx context.Context, connectionIDs []string) (map[string]SyncJob, error)
	// ClaimSync makes the connection's sync this worker's (queue is its
	// Worker.Queue): a waiting job is moved to queue and made due, a
	// running one whose holder is gone is taken over into queue, one whose
	// holder lives is left to it (SyncClaim.RunningOn).
	ClaimSync(ctx context.Context, connectionID, queue string) (*SyncClaim, error)
	// StopSync stops the connection's sync: a running one at its next
	// checkpoint (whichever process runs it), a waiting one at once. Its
	// next periodic sync stays scheduled.
	StopSync(ctx context.Context, connectionID string) error
	// StopRequested reports whether StopSync asked the running sync to stop.
	StopRequested(ctx context.Context, connectionID string) (bool, error)
	// SetSchedule sets how often the connection is synced again (0: never)
	// and reschedules its next periodic sync.
	SetSchedule(ctx context.Context, connectionID string, every time.Duration) error
	// RunWorker starts working sync jobs in this process until Stop, and
	// holds the process's lease meanwhile.
	RunWorker(ctx context.Context, cfg WorkerConfig) (Worker, error)
	// Processes lists the processes that run jobs, with their leases.
	Processes(ctx context.Context) ([]Process, error)
	// Census counts connections and jobs for monitoring.
	Census(ctx context.Context) (*Census, error)
	Notifications
}

// WorkerConfig configures a process's sync worker.
type WorkerConfig struct {
	// ID names the process where syncs show who runs them: "worker@host:pid".
	ID string
	// Concurrency is how many syncs run at once; 4 by default.
	Concurrency int
	// Work runs one sync. Its error decides what happens next: nil or
	// ErrSyncStopped, done (the next periodic sync is scheduled); a
	// SnoozeError, tried again after its wait; a GiveUpError, no retry;
	// any other error, retried with backoff until the attempts run out
	// (then the failure is kept and the next periodic sync scheduled).
	Work func(ctx context.Context, job SyncJob) error
	// Deliver sends one notification to one target; nil leaves deliveries
	// to other workers (a private queue's process never delivers).
	Deliver func(ctx context.Context, d Delivery) error
	// Logger receives River's own warnings; nothing when nil.
	Logger *slog.Logger
	// PollInterval is how often an idle worker looks for due jobs (1 s by
	// default; dedicated workers poll faster, so a freed slot is filled at
	// once when other workers took the jobs its last fetch hoped for).
	PollInterval time.Duration
	// RescueAfter is how long a job may stay running on a live process
	// before River's rescuer takes it for stuck and runs it again; one hour
	// by default, well beyond a sync's slice. A dead process's jobs are
	// taken over much sooner, by its lease (Lease).
	RescueAfter time.Duration
	// Lease is how long this process's lease lasts without renewal (15 s by
	// default; renewed five times as often): past it, its running syncs are
	// taken over by any live worker.
	Lease time.Duration
	// Private gives the worker a queue of its own (Worker.Queue): it runs
	// the jobs ClaimSync puts there and no other (`onramp sync ALIAS`).
	Private bool
	// Host names the machine in the lease; this one's hostname when "". A
	// holder on this host whose pid is gone is taken for dead at once; one
	// on another host when its lease lapses.
	Host string
}

// Worker is a running sync worker.
type Worker interface {
	// Stop stops fetching and cancels running syncs, which stop at a
	// checkpoint and go back to the shared queue at once (not counted as an
	// attempt); it returns when they have, and gives up the lease.
	Stop(ctx context.Context) error
	// Queue is the queue the worker takes jobs from.
	Queue() string
	// LeaseRenewed is when this process's lease was last renewed, and how
	// long a lease lasts unrenewed (health checks: a lease older than that
	// means this process's syncs may be taken over).
	LeaseRenewed() (time.Time, time.Duration)
}

// Process is one process that runs jobs, as its lease says.
type Process struct {
	ID      string    `json:"id"` // "worker@host:pid", as jobs name it
	Kind    string    `json:"kind"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Until   time.Time `json:"until"`
}

// ErrSyncStopped: the sync stopped at a checkpoint because someone asked
// (StopSync).
var ErrSyncStopped = errors.New("the sync was stopped")

// SnoozeError asks for the sync to be tried again after Wait, without
// counting an attempt: a rate limit's Retry-After, or a slice ending.
type SnoozeError struct {
	Wait   time.Duration
	Reason string
}

func (e *SnoozeError) Error() string {
	return fmt.Sprintf("%s; tried again in %s", e.Reason, e.Wait.Round(time.Second))
}

// FinalError ends a sync as failed at once, with no retry (a misconfigured
// server: trying again changes nothing until someone fixes it); the next
// periodic sync stays scheduled.
type FinalError struct{ Err error }

func (e *FinalError) Error() string { return e.Err.Error() }
func (e *FinalError) Unwrap() error { return e.Err }

// GiveUpError ends a sync job with no retry: only a person can fix it (a
// revoked credential). The connection records why.
type GiveUpError struct{ Err error }

func (e *GiveUpError) Error() string { return e.Err.Error() }
func (e *GiveUpError) Unwrap() error { return e.Err }

// syncRetryPolicy: 1 minute doubling to 30, with ±10% jitter so failures of
// many connections do not retry in step.
type syncRetryPolicy struct{}

func (syncRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	wait := min(time.Minute<<max(job.Attempt-1, 0), 30*time.Minute)
	return time.Now().Add(jitter(wait, 0.1))
}

// jitter spreads d by ±frac.
func jitter(d time.Duration, frac float64) time.Duration {
	return d + time.Duration((rand.Float64()*2-1)*frac*float64(d))
}

// nextPeriodic is when a connection synced now is synced again: every plus
// up to a tenth of it, so a thousand connections made together do not all
// sync at the same moment every day.
func nextPeriodic(now time.Time, every time.Duration) time.Time {
	return now.Add(every + time.Duration(rand.Float64()*0.1*float64(every)))
}

// syncJobOf says a River job row of connection conn in onramp's words.
func syncJobOf(row *rivertype.JobRow, conn string) SyncJob {
	j := SyncJob{ID: row.ID, ConnectionID: conn, At: row.ScheduledAt, Attempt: row.Attempt, MaxAttempts: row.MaxAttempts, Queue: row.Queue}
	if args, err := argsOf(row); err != nil {
		j.Damaged = fmt.Sprintf("job %d's arguments cannot be read (%v)", row.ID, err)
	} else {
		j.Reason, j.Takeovers, j.TakenFrom = args.Reason, args.Takeovers, args.TakenFrom
	}
	j.Worker = holderOf(row)
	if n := len(row.Errors); n > 0 {
		j.LastError = row.Errors[n-1].Error
	}
	switch row.State {
	case rivertype.JobStateRunning:
		j.State = JobRunning
		if row.AttemptedAt != nil {
			j.At = *row.AttemptedAt
		}
	case rivertype.JobStateRetryable:
		j.State = JobRetrying
	case rivertype.JobStateScheduled:
		j.State = JobScheduled
		if snoozed(row) {
			j.State = JobSnoozed
		}
	default:
		j.State = JobQueued
	}
	return j
}

// snoozed: River counts a job's snoozes in its metadata.
func snoozed(row *rivertype.JobRow) bool {
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	return json.Unmarshal(row.Metadata, &meta) == nil && meta.Snoozes > 0
}
