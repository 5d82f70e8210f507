package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// riverQueue is the store's River side, on either database (both reach
// River through database/sql): an insert-only client that enqueues inside
// the store's own transactions, and worker clients on demand. The store
// keeps the two columns River does not (a connection's schedule and its
// stop request).
type riverQueue struct {
	s      *sqlStore
	driver riverdriver.Driver[*sql.Tx]
	client *river.Client[*sql.Tx]
}

func newRiverQueue(s *sqlStore, driver riverdriver.Driver[*sql.Tx]) (*riverQueue, error) {
	c, err := river.NewClient(driver, &river.Config{Logger: discardLogger()})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &riverQueue{s: s, driver: driver, client: c}, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// enqueueTx asks for a sync inside the caller's transaction: a new job, or
// the connection's waiting one brought forward (a running one stays).
func (q *riverQueue) enqueueTx(ctx context.Context, tx *sql.Tx, id, reason string) (*SyncJob, error) {
	res, err := q.client.InsertTx(ctx, tx, SyncArgs{ConnectionID: id, Reason: reason}, syncInsertOpts(reason, time.Time{}))
	if err != nil {
		return nil, fmt.Errorf("enqueue sync: %w", err)
	}
	row := res.Job
	if res.UniqueSkippedAsDuplicate && (row.State == rivertype.JobStateScheduled || row.State == rivertype.JobStateRetryable) {
		if row, err = q.client.JobRetryTx(ctx, tx, row.ID); err != nil {
			return nil, fmt.Errorf("bring the sync forward: %w", err)
		}
	}
	if err := q.s.setSyncTx(ctx, tx, id, nil, ptr(false)); err != nil {
		return nil, err
	}
	j := syncJobOf(row, SyncArgs{ConnectionID: id, Reason: reason})
	return &j, nil
}

// EnqueueSync implements Jobs.
func (q *riverQueue) EnqueueSync(ctx context.Context, id string) (*SyncJob, error) {
	var j *SyncJob
	err := q.s.write(ctx, func(tx *sql.Tx) error {
		if _, found, err := q.s.scheduleTx(ctx, tx, id); err != nil || !found {
			return cmpErr(err, fmt.Errorf("%w: id %s", ErrNotFound, id))
		}
		var err error
		j, err = q.enqueueTx(ctx, tx, id, ReasonManual)
		return err
	})
	return j, err
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

func ptr[T any](v T) *T { return &v }

// SyncJobs implements Jobs.
func (q *riverQueue) SyncJobs(ctx context.Context) (map[string]SyncJob, error) {
	out := map[string]SyncJob{}
	params := river.NewJobListParams().Kinds(SyncArgs{}.Kind()).States(unfinished...).First(10000)
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list sync jobs: %w", err)
	}
	for _, row := range res.Jobs {
		args, err := argsOf(row)
		if err != nil {
			continue
		}
		if cur, ok := out[args.ConnectionID]; !ok || cur.State != JobRunning {
			out[args.ConnectionID] = syncJobOf(row, args)
		}
	}
	return out, nil
}

func argsOf(row *rivertype.JobRow) (SyncArgs, error) {
	var a SyncArgs
	err := json.Unmarshal(row.EncodedArgs, &a)
	return a, err
}

// jobTx finds the connection's unfinished job inside tx; nil when none.
func (q *riverQueue) jobTx(ctx context.Context, tx *sql.Tx, id string) (*rivertype.JobRow, error) {
	params := river.NewJobListParams().Kinds(SyncArgs{}.Kind()).States(unfinished...).First(10000)
	res, err := q.client.JobListTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("list sync jobs: %w", err)
	}
	for _, row := range res.Jobs {
		if a, err := argsOf(row); err == nil && a.ConnectionID == id {
			return row, nil
		}
	}
	return nil, nil
}

// StopSync implements Jobs.
func (q *riverQueue) StopSync(ctx context.Context, id string) error {
	return q.s.write(ctx, func(tx *sql.Tx) error {
		every, found, err := q.s.scheduleTx(ctx, tx, id)
		if err != nil || !found {
			return cmpErr(err, fmt.Errorf("%w: id %s", ErrNotFound, id))
		}
		row, err := q.jobTx(ctx, tx, id)
		if err != nil || row == nil {
			return err
		}
		if row.State == rivertype.JobStateRunning {
			// Its worker, in whatever process, reads this between pages.
			return q.s.setSyncTx(ctx, tx, id, nil, ptr(true))
		}
		if args, _ := argsOf(row); args.Reason == ReasonPeriodic && row.State == rivertype.JobStateScheduled && !snoozed(row) {
			return nil // only the next periodic sync is waiting: nothing runs
		}
		if _, err := q.client.JobCancelTx(ctx, tx, row.ID); err != nil {
			return fmt.Errorf("cancel the sync: %w", err)
		}
		return q.schedulePeriodicTx(ctx, tx, id, every)
	})
}

// cancelTx cancels the connection's unfinished sync job (it is being
// removed); a running sync then fails to find it and ends.
func (q *riverQueue) cancelTx(ctx context.Context, tx *sql.Tx, id string) error {
	row, err := q.jobTx(ctx, tx, id)
	if err != nil || row == nil {
		return err
	}
	if _, err := q.client.JobCancelTx(ctx, tx, row.ID); err != nil {
		return fmt.Errorf("cancel the sync: %w", err)
	}
	return nil
}

// schedulePeriodicTx inserts the connection's next periodic sync.
func (q *riverQueue) schedulePeriodicTx(ctx context.Context, tx *sql.Tx, id string, every time.Duration) error {
	if every <= 0 {
		return nil
	}
	_, err := q.client.InsertTx(ctx, tx, SyncArgs{ConnectionID: id, Reason: ReasonPeriodic}, syncInsertOpts(ReasonPeriodic, nextPeriodic(time.Now(), every)))
	if err != nil {
		return fmt.Errorf("schedule the next sync: %w", err)
	}
	return nil
}

// SetSchedule implements Jobs.
func (q *riverQueue) SetSchedule(ctx context.Context, id string, every time.Duration) error {
	if every < 0 {
		return errors.New("a schedule is a positive period, or off")
	}
	return q.s.write(ctx, func(tx *sql.Tx) error {
		if _, found, err := q.s.scheduleTx(ctx, tx, id); err != nil || !found {
			return cmpErr(err, fmt.Errorf("%w: id %s", ErrNotFound, id))
		}
		if err := q.s.setSyncTx(ctx, tx, id, &every, nil); err != nil {
			return err
		}
		row, err := q.jobTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if row != nil {
			args, _ := argsOf(row)
			if args.Reason != ReasonPeriodic || row.State != rivertype.JobStateScheduled || snoozed(row) {
				return nil // a sync is due or running: it schedules the next one when it ends
			}
			if _, err := q.client.JobCancelTx(ctx, tx, row.ID); err != nil {
				return fmt.Errorf("cancel the old schedule: %w", err)
			}
		}
		return q.schedulePeriodicTx(ctx, tx, id, every)
	})
}

// RunWorker implements Jobs.
func (q *riverQueue) RunWorker(ctx context.Context, cfg WorkerConfig) (Worker, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = time.Hour
	}
	logger := cfg.Logger
	if logger == nil {
		logger = discardLogger()
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{q: q, work: cfg.Work, rescueAfter: cfg.RescueAfter})
	client, err := river.NewClient(q.driver, &river.Config{
		ID:      cfg.ID,
		Queues:  map[string]river.QueueConfig{SyncQueue: {MaxWorkers: cfg.Concurrency}},
		Workers: workers,
		// A sync runs in slices, each ending at a checkpoint well within
		// RescueAfter; a job running longer than that has lost its worker
		// (River's rescuer only looks at jobs past their timeout), and is
		// run again at once, from its checkpoint, by another.
		JobTimeout: cfg.RescueAfter, RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy: syncRetryPolicy{}, MaxAttempts: syncMaxAttempts,
		// Poll for jobs: neither driver has cheap notifications (SQLite
		// polls a table for them; database/sql has no LISTEN).
		Logger: logger, PollOnly: true, FetchPollInterval: cmp.Or(cfg.PollInterval, time.Second),
		// River waits 100 ms between fetches by default: at most ten
		// fetches a second caps a worker near 40 short jobs a second.
		FetchCooldown: 10 * time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("sync worker: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start the sync worker: %w", err)
	}
	return riverWorker{client}, nil
}

type riverWorker struct{ c *river.Client[*sql.Tx] }

func (w riverWorker) Stop(ctx context.Context) error { return w.c.StopAndCancel(ctx) }

// syncWorker runs sync jobs with the work function, and turns its outcome
// into River's: done (and the next periodic sync scheduled in the same
// transaction), snoozed, given up, or retried.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	q           *riverQueue
	work        func(ctx context.Context, job SyncJob) error
	rescueAfter time.Duration
}

// NextRetry: a job rescued from a dead worker goes on at once (it failed
// nothing: its worker is gone); a failed one waits as the policy says.
func (w *syncWorker) NextRetry(job *river.Job[SyncArgs]) time.Time {
	if job.AttemptedAt != nil && time.Since(*job.AttemptedAt) >= w.rescueAfter {
		return time.Now()
	}
	return time.Time{}
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	err := w.work(ctx, syncJobOf(job.JobRow, job.Args))
	var snooze *SnoozeError
	var giveUp *GiveUpError
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // the worker is stopping: River puts the job back at once
	case errors.As(err, &snooze):
		return river.JobSnooze(max(snooze.Wait, time.Second))
	case errors.As(err, &giveUp):
		return river.JobCancel(giveUp)
	case err != nil && !errors.Is(err, ErrSyncStopped) && job.Attempt < job.MaxAttempts:
		return err // retried with backoff
	}
	// Done, stopped, or failed for the last time: the job ends here and the
	// connection's next periodic sync is scheduled with it.
	return w.q.s.write(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		if _, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
			return fmt.Errorf("complete the sync: %w", err)
		}
		if err := w.q.s.setSyncTx(ctx, tx, job.Args.ConnectionID, nil, ptr(false)); err != nil {
			return err
		}
		every, found, err := w.q.s.scheduleTx(ctx, tx, job.Args.ConnectionID)
		if err != nil || !found {
			return err
		}
		return w.q.schedulePeriodicTx(ctx, tx, job.Args.ConnectionID, every)
	})
}
