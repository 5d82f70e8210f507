package store

import (
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

// riverQueue is the store's River side, on either database: an insert-only
// client on database/sql that enqueues inside the store's own transactions,
// and worker clients on demand (PostgreSQL's on River's pgx driver, which
// listens for new jobs). The store keeps what River does not: a
// connection's schedule and stop request, the leases of the processes that
// run jobs, and the index that finds a connection's job by key.
type riverQueue struct {
	s      *sqlStore
	driver riverdriver.Driver[*sql.Tx]
	client *river.Client[*sql.Tx]
	// newWorkerClient makes a client that works jobs (per database) with
	// room for conns jobs at once, and what closes it after its stop.
	newWorkerClient func(cfg *river.Config, conns int) (workerClient, func(), error)
}

// workerClient is what RunWorker needs of a River client, whichever its
// driver's transaction type.
type workerClient interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

func newRiverQueue(s *sqlStore, driver riverdriver.Driver[*sql.Tx]) (*riverQueue, error) {
	c, err := river.NewClient(driver, &river.Config{Logger: discardLogger()})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q := &riverQueue{s: s, driver: driver, client: c}
	q.newWorkerClient = func(cfg *river.Config, _ int) (workerClient, func(), error) {
		// SQLite has no notifications worth their cost: workers poll.
		cfg.PollOnly = true
		c, err := river.NewClient(driver, cfg)
		return c, func() {}, err
	}
	return q, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// unfinishedSQL are the states of a job not yet ended (River's unique
// states for a sync: syncInsertOpts).
const unfinishedSQL = `('available', 'pending', 'running', 'retryable', 'scheduled')`

// waitingSQL are the states of a job that no process runs yet.
const waitingSQL = `('available', 'pending', 'retryable', 'scheduled')`

// jobIDsOf finds the unfinished sync jobs of the connections, by key (the
// index on the connection id), oldest first.
func (q *riverQueue) jobIDsOf(ctx context.Context, db querier, ids []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	err := inChunks(ids, func(marks string, args []any) error {
		rows, err := q.s.query(ctx, db, `SELECT id, `+q.s.d.jobConnection+` FROM river_job WHERE kind = 'sync' AND `+
			q.s.d.jobConnection+` IN (`+marks+`) AND state IN `+unfinishedSQL+` ORDER BY id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var conn string
			if err := rows.Scan(&id, &conn); err != nil {
				return err
			}
			out[conn] = append(out[conn], id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, q.s.wrap("find sync jobs", err)
	}
	return out, nil
}

// jobsByID reads job rows through River (its decoding of each database's
// columns), in tx when given, a thousand at a time (River lists at most
// 10,000 in one call).
func (q *riverQueue) jobsByID(ctx context.Context, tx *sql.Tx, ids []int64) ([]*rivertype.JobRow, error) {
	var out []*rivertype.JobRow
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 1000)]
		ids = ids[len(chunk):]
		params := river.NewJobListParams().IDs(chunk...).First(len(chunk))
		var res *river.JobListResult
		var err error
		if tx != nil {
			res, err = q.client.JobListTx(ctx, tx, params)
		} else {
			res, err = q.client.JobList(ctx, params)
		}
		if err != nil {
			return nil, fmt.Errorf("read sync jobs: %w", err)
		}
		out = append(out, res.Jobs...)
	}
	return out, nil
}

// jobTx finds the connection's unfinished job inside tx; nil when none.
// Were there several (a damaged table), the running one, else the newest.
func (q *riverQueue) jobTx(ctx context.Context, tx *sql.Tx, id string) (*rivertype.JobRow, error) {
	found, err := q.jobIDsOf(ctx, tx, []string{id})
	if err != nil || len(found[id]) == 0 {
		return nil, err
	}
	rows, err := q.jobsByID(ctx, tx, found[id])
	if err != nil {
		return nil, err
	}
	return pickJob(rows), nil
}

// pickJob chooses a connection's job among its unfinished rows: the running
// one, else the newest.
func pickJob(rows []*rivertype.JobRow) *rivertype.JobRow {
	var pick *rivertype.JobRow
	for _, r := range rows {
		if pick == nil || r.State == rivertype.JobStateRunning || (pick.State != rivertype.JobStateRunning && r.ID > pick.ID) {
			pick = r
		}
	}
	return pick
}

// SyncJobsOf implements Jobs.
func (q *riverQueue) SyncJobsOf(ctx context.Context, connectionIDs []string) (map[string]SyncJob, error) {
	found, err := q.jobIDsOf(ctx, q.s.db, connectionIDs)
	if err != nil {
		return nil, err
	}
	var ids []int64
	connOf := map[int64]string{}
	for conn, list := range found {
		for _, id := range list {
			ids, connOf[id] = append(ids, id), conn
		}
	}
	rows, err := q.jobsByID(ctx, nil, ids)
	if err != nil {
		return nil, err
	}
	byConn := map[string][]*rivertype.JobRow{}
	for _, r := range rows {
		byConn[connOf[r.ID]] = append(byConn[connOf[r.ID]], r)
	}
	leases, err := q.s.leasesOf(ctx, q.s.db, holders(rows))
	if err != nil {
		return nil, err
	}
	now, err := q.s.dbNow(ctx, q.s.db)
	if err != nil {
		return nil, err
	}
	out := make(map[string]SyncJob, len(byConn))
	for conn, list := range byConn {
		row := pickJob(list)
		j := syncJobOf(row, conn)
		if row.State == rivertype.JobStateRunning {
			j.HolderGone = !leases.alive(j.Worker, row.AttemptedAt, now)
		}
		out[conn] = j
	}
	return out, nil
}

// SyncJob implements Jobs.
func (q *riverQueue) SyncJob(ctx context.Context, connectionID string) (*SyncJob, error) {
	jobs, err := q.SyncJobsOf(ctx, []string{connectionID})
	if j, ok := jobs[connectionID]; ok && err == nil {
		return &j, nil
	}
	return nil, err
}

func holders(rows []*rivertype.JobRow) []string {
	var out []string
	for _, r := range rows {
		if r.State == rivertype.JobStateRunning {
			out = append(out, holderOf(r))
		}
	}
	return out
}

// holderOf names the process that runs (or last ran) a job: River's client
// id, "kind@host:pid".
func holderOf(row *rivertype.JobRow) string {
	if n := len(row.AttemptedBy); n > 0 {
		return row.AttemptedBy[n-1]
	}
	return ""
}

// enqueueTx asks for a sync inside the caller's transaction: a new job, or
// the connection's waiting one brought forward (a running one stays), in
// queue (SyncQueue, or an `onramp sync` process's own).
func (q *riverQueue) enqueueTx(ctx context.Context, tx *sql.Tx, id, reason, queue string) (*rivertype.JobRow, error) {
	row, err := q.jobTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if row != nil && row.State != rivertype.JobStateRunning {
		if _, damaged := argsOf(row); damaged != nil {
			// A row whose arguments cannot be read: it is replaced.
			if _, err := q.client.JobCancelTx(ctx, tx, row.ID); err != nil {
				return nil, fmt.Errorf("cancel a damaged sync job: %w", err)
			}
			row = nil
		}
	}
	switch {
	case row == nil:
		res, err := q.client.InsertTx(ctx, tx, SyncArgs{ConnectionID: id, Reason: reason}, syncInsertOpts(reason, time.Time{}, queue))
		if err != nil {
			return nil, fmt.Errorf("enqueue sync: %w", err)
		}
		row = res.Job
	case row.State != rivertype.JobStateRunning:
		if err := q.moveTx(ctx, tx, row.ID, queue, true); err != nil {
			return nil, err
		}
		if row, err = q.client.JobGetTx(ctx, tx, row.ID); err != nil {
			return nil, fmt.Errorf("bring the sync forward: %w", err)
		}
	}
	if err := q.s.setSyncTx(ctx, tx, id, nil, ptr(false)); err != nil {
		return nil, err
	}
	return row, nil
}

// moveTx puts a waiting job in queue, due now when now is set. River has no
// call for either; the columns are River's documented ones.
func (q *riverQueue) moveTx(ctx context.Context, tx *sql.Tx, jobID int64, queue string, now bool) error {
	set := `queue = ?`
	if now {
		set += `, state = 'available', scheduled_at = ` + q.s.d.riverNow
	}
	if _, err := q.s.exec(ctx, tx, `UPDATE river_job SET `+set+` WHERE id = ? AND state IN `+waitingSQL, queue, jobID); err != nil {
		return q.s.wrap("move the sync job", err)
	}
	return nil
}

// EnqueueSync implements Jobs.
func (q *riverQueue) EnqueueSync(ctx context.Context, id string) (*SyncJob, error) {
	var j *SyncJob
	err := q.s.write(ctx, func(tx *sql.Tx) error {
		if _, found, err := q.s.scheduleTx(ctx, tx, id); err != nil || !found {
			return cmpErr(err, fmt.Errorf("%w: id %s", ErrNotFound, id))
		}
		row, err := q.enqueueTx(ctx, tx, id, ReasonManual, SyncQueue)
		if err == nil {
			sj := syncJobOf(row, id)
			j = &sj
		}
		return err
	})
	return j, err
}

// ClaimSync implements Jobs.
func (q *riverQueue) ClaimSync(ctx context.Context, id, queue string) (*SyncClaim, error) {
	var claim *SyncClaim
	err := q.s.write(ctx, func(tx *sql.Tx) error {
		if _, found, err := q.s.scheduleTx(ctx, tx, id); err != nil || !found {
			return cmpErr(err, fmt.Errorf("%w: id %s", ErrNotFound, id))
		}
		row, err := q.jobTx(ctx, tx, id)
		if err != nil {
			return err
		}
		claim = &SyncClaim{}
		if row != nil && row.State == rivertype.JobStateRunning {
			j := syncJobOf(row, id)
			alive, err := q.s.holderAlive(ctx, tx, j.Worker, row.AttemptedAt)
			if err != nil {
				return err
			}
			if alive {
				claim.RunningOn = j.Worker // followed, not taken
				claim.Job = j
				return nil
			}
			claim.TookOverFrom = j.Worker
			if _, err := q.takeOverTx(ctx, tx, row, queue); err != nil {
				return err
			}
		}
		row, err = q.enqueueTx(ctx, tx, id, ReasonManual, queue)
		if err == nil {
			claim.Job = syncJobOf(row, id)
		}
		return err
	})
	return claim, err
}

// takeOverTx ends the job row of a holder that is gone and gives its
// connection a new job, due now in queue, resuming from the checkpoint. A
// new row rather than the same one made available: the old holder, should
// it wake, finds its row finished and changes nothing (River's completer
// only touches running rows), and its run writes are fenced (the run's
// generation moves on here). The attempt is not counted as a failure.
func (q *riverQueue) takeOverTx(ctx context.Context, tx *sql.Tx, row *rivertype.JobRow, queue string) (bool, error) {
	res, err := q.s.exec(ctx, tx, `UPDATE river_job SET state = 'cancelled', finalized_at = `+q.s.d.riverNow+
		` WHERE id = ? AND state = 'running'`, row.ID)
	if err != nil {
		return false, q.s.wrap("take over a sync", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil // another process took it over first, or it ended
	}
	var args SyncArgs
	if err := json.Unmarshal(row.EncodedArgs, &args); err != nil || args.ConnectionID == "" {
		return true, nil // a damaged row: ended, nothing to resume
	}
	if _, err := q.s.exec(ctx, tx, `UPDATE sync_runs SET gen = gen + 1 WHERE connection_id = ? AND status = ?`, args.ConnectionID, RunRunning); err != nil {
		return false, q.s.wrap("fence the sync run", err)
	}
	args.Takeovers++
	args.TakenFrom = holderOf(row)
	if _, err := q.client.InsertTx(ctx, tx, args, syncInsertOpts(ReasonManual, time.Time{}, queue)); err != nil {
		return false, fmt.Errorf("resume the sync taken over: %w", err)
	}
	return true, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

func ptr[T any](v T) *T { return &v }

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
			alive, err := q.s.holderAlive(ctx, tx, syncJobOf(row, id).Worker, row.AttemptedAt)
			if err != nil {
				return err
			}
			if alive {
				// Its worker, in whatever process, reads this between pages.
				return q.s.setSyncTx(ctx, tx, id, nil, ptr(true))
			}
			// Its holder is gone: the sync stops here, at its checkpoint.
			if _, err := q.s.exec(ctx, tx, `UPDATE river_job SET state = 'cancelled', finalized_at = `+q.s.d.riverNow+
				` WHERE id = ? AND state = 'running'`, row.ID); err != nil {
				return q.s.wrap("stop the sync", err)
			}
			if _, err := q.s.exec(ctx, tx, `UPDATE sync_runs SET status = ?, gen = gen + 1 WHERE connection_id = ? AND status = ?`,
				RunStopped, id, RunRunning); err != nil {
				return q.s.wrap("stop the sync run", err)
			}
			if err := q.s.setSyncTx(ctx, tx, id, nil, ptr(false)); err != nil {
				return err
			}
			return q.schedulePeriodicTx(ctx, tx, id, every)
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

func argsOf(row *rivertype.JobRow) (SyncArgs, error) {
	var a SyncArgs
	err := json.Unmarshal(row.EncodedArgs, &a)
	return a, err
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
	_, err := q.client.InsertTx(ctx, tx, SyncArgs{ConnectionID: id, Reason: ReasonPeriodic}, syncInsertOpts(ReasonPeriodic, nextPeriodic(time.Now(), every), SyncQueue))
	if err != nil {
		return fmt.Errorf("schedule the next sync: %w", err)
	}
	return nil
}

// SetSchedule implements Jobs.
func (q *riverQueue) SetSchedule(ctx context.Context, id string, every time.Duration) error {
	if every < 0 || every > MaxSyncEvery {
		return fmt.Errorf("a schedule is a positive period of at most %s, or off", MaxSyncEvery)
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

// finishJobTx completes a running job in the caller's transaction (River's
// JobCompleteTx, which needs the client of the same transaction type; the
// worker client may be pgx's). River's completer, after Work returns, then
// finds the row finished and leaves it. false when the row was no longer
// running (taken over, cancelled).
func (q *riverQueue) finishJobTx(ctx context.Context, tx *sql.Tx, jobID int64) (bool, error) {
	res, err := q.s.exec(ctx, tx, `UPDATE river_job SET state = 'completed', finalized_at = `+q.s.d.riverNow+
		` WHERE id = ? AND state = 'running'`, jobID)
	if err != nil {
		return false, q.s.wrap("complete the sync", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// syncWorker runs sync jobs with the work function, and turns its outcome
// into River's: done (and the next periodic sync scheduled in the same
// transaction), snoozed, given up, released (the process stops), or retried.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	q    *riverQueue
	k    *keeper
	work func(ctx context.Context, job SyncJob) error
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	err := w.work(withLeaseGuard(ctx, w.k), syncJobOf(job.JobRow, job.Args.ConnectionID))
	var snooze *SnoozeError
	var giveUp *GiveUpError
	var final *FinalError
	switch {
	case errors.Is(err, ErrFenced):
		// Another process holds the run now: this row is stale (already
		// ended by the takeover, or a duplicate); it ends without a trace.
		return river.JobCancel(err)
	case ctx.Err() != nil:
		// The process is stopping: River makes the job available again at
		// once without counting the attempt (its soft-stop path).
		return ctx.Err()
	case errors.As(err, &snooze):
		return river.JobSnooze(max(snooze.Wait, time.Second))
	case errors.As(err, &giveUp):
		return river.JobCancel(giveUp)
	case err != nil && !errors.Is(err, ErrSyncStopped) && !errors.As(err, &final) && job.Attempt < job.MaxAttempts:
		return err // retried with backoff
	}
	// Done, stopped, or failed for the last time: the job ends here and the
	// connection's next periodic sync is scheduled with it.
	return w.q.s.write(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		if ok, err := w.q.finishJobTx(ctx, tx, job.ID); err != nil || !ok {
			return err // not ours any more: whoever holds it schedules the next
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
