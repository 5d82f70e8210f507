package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Liveness, beside River. River's rescuer takes a running job back only
// after a fixed time (RescueStuckJobsAfter), the same for a dead process
// and a slow one. Here every process that runs jobs holds a lease in the
// store, renewed every few seconds; a running job whose holder's lease
// lapsed (or, on this host, whose pid is gone) is taken over by any live
// process within seconds, from its checkpoint. What is River's: fetching,
// retries, snoozes, uniqueness, soft stop, and the rescuer kept as the
// backstop for a live process stuck on one job. What is onramp's: the
// leases, the takeover (a new job row and a new run generation, so the old
// holder can change nothing should it wake), the return of a dead `onramp
// sync` process's own queue, and the reconciliation that gives every
// scheduled connection a job.

// Liveness defaults.
const (
	defaultLease   = 15 * time.Second
	sweepEvery     = time.Second      // look for dead holders
	reconcileEvery = 30 * time.Second // look for connections without a job
)

// ReasonResume: a sync given back its job by reconciliation (its job was
// lost: discarded by River, or a process died before the takeover existed).
const ReasonResume = "resume"

// leaseSet is the leases of some holders, read at one moment.
type leaseSet map[string]Process

// alive reports whether holder still runs a job it began at attemptedAt.
func (ls leaseSet) alive(holder string, attemptedAt *time.Time, now time.Time) bool {
	l, ok := ls[holder]
	switch {
	case !ok, now.After(l.Until):
		return false // no lease, or lapsed: dead, frozen or cut off
	case attemptedAt != nil && l.Started.After(*attemptedAt):
		return false // a newer process took the name (the pid came round again)
	case l.Host == hostName() && l.PID != os.Getpid() && !pidAlive(l.PID):
		return false // on this host, and its pid is gone: no need to wait
	}
	return true
}

// dbNow is the database's clock, which every lease is written and judged by.
func (s *sqlStore) dbNow(ctx context.Context, q querier) (time.Time, error) {
	var ms int64
	if err := s.queryRow(ctx, q, `SELECT `+s.d.nowMs).Scan(&ms); err != nil {
		return time.Time{}, s.wrap("read the database's clock", err)
	}
	return time.UnixMilli(ms), nil
}

// leasesOf reads the leases of the holders named.
func (s *sqlStore) leasesOf(ctx context.Context, q querier, ids []string) (leaseSet, error) {
	out := leaseSet{}
	if len(ids) == 0 {
		return out, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return out, s.scanLeases(ctx, q, `WHERE id IN (`+marks+`)`, args, func(p Process, _ string) { out[p.ID] = p })
}

func (s *sqlStore) scanLeases(ctx context.Context, q querier, where string, args []any, fn func(p Process, queue string)) error {
	rows, err := s.query(ctx, q, `SELECT id, kind, host, pid, queue, started_ms, until_ms FROM process_leases `+where, args...)
	if err != nil {
		return s.wrap("read process leases", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Process
		var queue string
		var started, until int64
		if err := rows.Scan(&p.ID, &p.Kind, &p.Host, &p.PID, &queue, &started, &until); err != nil {
			return s.wrap("read process leases", err)
		}
		p.Started, p.Until = time.UnixMilli(started), time.UnixMilli(until)
		fn(p, queue)
	}
	return rows.Err()
}

// holderAlive reports whether holder still runs a job it began at
// attemptedAt, by its lease and the database's clock.
func (s *sqlStore) holderAlive(ctx context.Context, q querier, holder string, attemptedAt *time.Time) (bool, error) {
	leases, err := s.leasesOf(ctx, q, []string{holder})
	if err != nil {
		return false, err
	}
	now, err := s.dbNow(ctx, q)
	if err != nil {
		return false, err
	}
	return leases.alive(holder, attemptedAt, now), nil
}

// Processes implements Jobs: the processes alive by their leases.
func (s *sqlStore) Processes(ctx context.Context) ([]Process, error) {
	now, err := s.dbNow(ctx, s.db)
	if err != nil {
		return nil, err
	}
	var out []Process
	err = s.scanLeases(ctx, s.db, `WHERE until_ms >= `+s.d.nowMs+` ORDER BY started_ms`, nil, func(p Process, _ string) {
		if (leaseSet{p.ID: p}).alive(p.ID, nil, now) { // not lapsed; on this host, its pid still there
			out = append(out, p)
		}
	})
	return out, err
}

var hostName = sync.OnceValue(func() string { h, _ := os.Hostname(); return h })

// privateQueue is the queue of an `onramp sync` process: its own job only.
func privateQueue(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return fmt.Sprintf("sync-own-%016x", h.Sum64())
}

// keeper holds this process's lease and does the liveness work beside
// River: renew, take over dead holders' syncs, reconcile.
type keeper struct {
	q     *riverQueue
	self  Process
	queue string
	ttl   time.Duration
	log   *slog.Logger
	// renewed is when the lease was last written (unix ns), for health.
	renewed atomic.Int64
	// epoch counts the leases this process lost: a job begun under an
	// earlier one may have been taken over (LeaseHeld).
	epoch atomic.Int64
}

func newKeeper(q *riverQueue, cfg WorkerConfig, queue string, log *slog.Logger) *keeper {
	kind, _, _ := strings.Cut(cfg.ID, "@")
	return &keeper{q: q, queue: queue, ttl: cfg.Lease, log: log,
		self: Process{ID: cfg.ID, Kind: kind, Host: cmp.Or(cfg.Host, hostName()), PID: os.Getpid()}}
}

// register writes this process's lease, started now by the database's
// clock (replacing an older process's of the same name, whose jobs, begun
// before, are then taken over).
func (k *keeper) register(ctx context.Context) error {
	s := k.q.s
	return s.write(ctx, func(tx *sql.Tx) error {
		var started int64
		err := s.queryRow(ctx, tx, `INSERT INTO process_leases (id, kind, host, pid, queue, started_ms, until_ms)
			VALUES (?, ?, ?, ?, ?, `+s.d.nowMs+`, `+s.d.nowMs+` + ?)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, host = excluded.host, pid = excluded.pid, queue = excluded.queue,
			started_ms = excluded.started_ms, until_ms = excluded.until_ms RETURNING started_ms`,
			k.self.ID, k.self.Kind, k.self.Host, k.self.PID, k.queue, k.ttl.Milliseconds()).Scan(&started)
		if err != nil {
			return s.wrap("write this process's lease", err)
		}
		k.self.Started = time.UnixMilli(started)
		k.renewed.Store(time.Now().UnixNano())
		return nil
	})
}

// renew moves the lease on. A lease that lapsed meanwhile (the process was
// frozen, or cut off from the store) may already have had its syncs taken
// over: those are fenced, and the process goes on under a renewed lease.
func (k *keeper) renew(ctx context.Context) error {
	s := k.q.s
	var lapsed bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE process_leases SET until_ms = `+s.d.nowMs+` + ? WHERE id = ? AND started_ms = ? AND until_ms >= `+s.d.nowMs,
			k.ttl.Milliseconds(), k.self.ID, k.self.Started.UnixMilli())
		if err != nil {
			return s.wrap("renew this process's lease", err)
		}
		n, _ := res.RowsAffected()
		lapsed = n == 0
		return nil
	})
	if err == nil && !lapsed {
		k.renewed.Store(time.Now().UnixNano())
	}
	if err != nil || !lapsed {
		return err
	}
	k.epoch.Add(1)
	k.log.Warn("this process's lease had lapsed (was it frozen, or cut off from the store?): syncs it ran may have been taken over by other processes, and this one writes nothing more to them", "id", k.self.ID)
	return k.register(ctx)
}

// drop gives the lease up (the process stops).
func (k *keeper) drop(ctx context.Context) {
	s := k.q.s
	s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `DELETE FROM process_leases WHERE id = ? AND started_ms = ?`, k.self.ID, k.self.Started.UnixMilli())
		return err
	})
}

// sweep gives back the queues of dead `onramp sync` processes and takes
// over the running syncs of dead holders; it returns how many it took over.
func (k *keeper) sweep(ctx context.Context) (int, error) {
	s, q := k.q.s, k.q
	now, err := s.dbNow(ctx, s.db)
	if err != nil {
		return 0, err
	}
	var dead []Process
	deadQueue := map[string]string{}
	all := leaseSet{}
	err = s.scanLeases(ctx, s.db, ``, nil, func(p Process, queue string) {
		all[p.ID] = p
		if !all.alive(p.ID, nil, now) {
			dead, deadQueue[p.ID] = append(dead, p), queue
		}
	})
	if err != nil {
		return 0, err
	}
	running, err := q.runningJobs(ctx)
	if err != nil {
		return 0, err
	}
	// A job is orphaned when its holder is dead: this process too, for
	// jobs begun under its name before it started (the pid came round).
	var orphans []*rivertype.JobRow
	for _, row := range running {
		if !all.alive(holderOf(row), row.AttemptedAt, now) {
			orphans = append(orphans, row)
		}
	}
	if len(orphans) == 0 && len(dead) == 0 {
		return 0, nil
	}
	taken := 0
	err = s.write(ctx, func(tx *sql.Tx) error {
		taken = 0
		for _, p := range dead { // its own queue back to everyone, then its lease gone
			if queue := deadQueue[p.ID]; queue != "" {
				if _, err := s.exec(ctx, tx, `UPDATE river_job SET queue = ? WHERE kind = 'sync' AND queue = ? AND state IN `+waitingSQL, SyncQueue, queue); err != nil {
					return s.wrap("give back a dead process's queue", err)
				}
			}
			if _, err := s.exec(ctx, tx, `DELETE FROM process_leases WHERE id = ? AND until_ms = ?`, p.ID, p.Until.UnixMilli()); err != nil {
				return s.wrap("remove a dead process's lease", err)
			}
		}
		for _, row := range orphans {
			ok, err := q.takeOverTx(ctx, tx, row, SyncQueue)
			if err != nil {
				return err
			}
			if ok {
				taken++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, row := range orphans {
		args, _ := argsOf(row)
		k.log.Info("took over a sync whose process is gone; it resumes from its checkpoint", "connection", args.ConnectionID, "from", holderOf(row), "job", row.ID)
	}
	return taken, nil
}

// runningJobs reads the running sync jobs (a handful: one per busy worker
// slot), through River.
func (q *riverQueue) runningJobs(ctx context.Context) ([]*rivertype.JobRow, error) {
	rows, err := q.s.query(ctx, q.s.db, `SELECT id FROM river_job WHERE state = 'running' AND kind = 'sync'`)
	if err != nil {
		return nil, q.s.wrap("find running syncs", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, q.s.wrap("find running syncs", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return q.jobsByID(ctx, nil, ids)
}

// reconcile gives a job back to every connection that should have one and
// has none (River discarded it, or it was lost before takeovers existed): a
// resumed sync when its last run did not finish or is older than its
// period, else its next periodic sync. It returns how many it gave.
func (k *keeper) reconcile(ctx context.Context) (int, error) {
	s, q := k.q.s, k.q
	// NOT IN over the set of connections that have a job: one pass over
	// the index (a correlated NOT EXISTS is a scan per connection on SQLite).
	rows, err := s.query(ctx, s.db, `SELECT id, sync_every_s FROM connections
		WHERE sync_every_s > 0 AND state <> ? AND id NOT IN (SELECT `+s.d.jobConnection+` FROM river_job
			WHERE kind = 'sync' AND state IN `+unfinishedSQL+` AND `+s.d.jobConnection+` IS NOT NULL)
		LIMIT 500`, string(StateNeedsReconnect))
	if err != nil {
		return 0, s.wrap("find connections without a sync", err)
	}
	type lost struct {
		id    string
		every time.Duration
	}
	var found []lost
	for rows.Next() {
		var l lost
		var secs int64
		if err := rows.Scan(&l.id, &secs); err != nil {
			rows.Close()
			return 0, s.wrap("find connections without a sync", err)
		}
		l.every = time.Duration(secs) * time.Second
		found = append(found, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(found) == 0 {
		return 0, err
	}
	given := 0
	for _, l := range found {
		err := s.write(ctx, func(tx *sql.Tx) error {
			if row, err := q.jobTx(ctx, tx, l.id); err != nil || row != nil {
				return err // it got one meanwhile
			}
			var status, finished string
			err := s.queryRow(ctx, tx, `SELECT status, COALESCE(finished_at, '') FROM sync_runs WHERE connection_id = ? ORDER BY id DESC LIMIT 1`, l.id).Scan(&status, &finished)
			if err != nil && err != sql.ErrNoRows {
				return s.wrap("read the last sync", err)
			}
			last := parseNullTime(sql.NullString{String: finished, Valid: finished != ""})
			reason, at := ReasonResume, time.Time{}
			if status == RunSucceeded && last != nil && s.now().Sub(*last) < l.every {
				reason, at = ReasonPeriodic, nextPeriodic(*last, l.every)
			}
			if _, err := q.client.InsertTx(ctx, tx, SyncArgs{ConnectionID: l.id, Reason: reason}, syncInsertOpts(reason, at, SyncQueue)); err != nil {
				return fmt.Errorf("give a connection its sync back: %w", err)
			}
			given++
			return nil
		})
		if err != nil {
			return given, err
		}
	}
	k.log.Info("gave connections without a sync job their next sync", "count", given)
	return given, nil
}

// run renews, sweeps and reconciles until ctx ends.
func (k *keeper) run(ctx context.Context) {
	renew := time.NewTicker(k.ttl / 5)
	sweep := time.NewTicker(sweepEvery)
	reconcile := time.NewTicker(reconcileEvery)
	defer renew.Stop()
	defer sweep.Stop()
	defer reconcile.Stop()
	warn := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			k.log.Warn(what, "err", err)
		}
	}
	_, err := k.reconcile(ctx)
	warn("could not look for connections without a sync", err)
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			warn("could not renew this process's lease", k.renew(ctx))
		case <-sweep.C:
			_, err := k.sweep(ctx)
			warn("could not look for syncs whose process is gone", err)
		case <-reconcile.C:
			_, err := k.reconcile(ctx)
			warn("could not look for connections without a sync", err)
		}
	}
}

// RunWorker implements Jobs.
func (q *riverQueue) RunWorker(ctx context.Context, cfg WorkerConfig) (Worker, error) {
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, time.Hour)
	cfg.Lease = cmp.Or(cfg.Lease, defaultLease)
	logger := cfg.Logger
	if logger == nil {
		logger = discardLogger()
	}
	queue := SyncQueue
	if cfg.Private {
		queue = privateQueue(cfg.ID)
	}
	k := newKeeper(q, cfg, queue, logger)
	// The lease first: no process may take this one's new jobs for dead.
	if err := k.register(ctx); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{q: q, k: k, work: cfg.Work})
	queues := map[string]river.QueueConfig{queue: {MaxWorkers: cfg.Concurrency}}
	if cfg.Deliver != nil && !cfg.Private {
		river.AddWorker(workers, &notifyWorker{s: q.s, deliver: cfg.Deliver})
		queues[NotifyQueue] = river.QueueConfig{MaxWorkers: 2}
	}
	client, closeClient, err := q.newWorkerClient(&river.Config{
		ID:      cfg.ID,
		Queues:  queues,
		Workers: workers,
		// River's rescuer stays as the backstop for a live process stuck on
		// one job; a dead process's jobs are taken over by its lease.
		JobTimeout: cfg.RescueAfter, RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy: syncRetryPolicy{}, MaxAttempts: syncMaxAttempts,
		Logger:            slog.New(riverLogHandler{logger.Handler()}),
		FetchPollInterval: cmp.Or(cfg.PollInterval, time.Second),
		// River waits 100 ms between fetches by default: at most ten
		// fetches a second caps a worker near 40 short jobs a second.
		FetchCooldown: 10 * time.Millisecond,
	}, cfg.Concurrency)
	if err != nil {
		k.drop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sync worker: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		closeClient()
		k.drop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("start the sync worker: %w", err)
	}
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.run(kctx)
	}()
	return &riverWorker{c: client, closeClient: closeClient, k: k, stopKeeper: cancel, keeperDone: done}, nil
}

type riverWorker struct {
	c           workerClient
	closeClient func()
	k           *keeper
	stopKeeper  context.CancelFunc
	keeperDone  chan struct{}
	once        sync.Once
	err         error
}

func (w *riverWorker) Queue() string { return w.k.queue }

// LeaseRenewed implements Worker.
func (w *riverWorker) LeaseRenewed() (time.Time, time.Duration) {
	return time.Unix(0, w.k.renewed.Load()), w.k.ttl
}

// Stop implements Worker: River's soft stop makes running jobs available
// again without counting the attempt; an own queue's jobs go back to the
// shared one, for any worker; the lease is given up last.
func (w *riverWorker) Stop(ctx context.Context) error {
	w.once.Do(func() {
		w.err = w.c.StopAndCancel(ctx)
		w.closeClient()
		w.stopKeeper()
		<-w.keeperDone
		s := w.k.q.s
		if w.k.queue != SyncQueue {
			err := s.write(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
				if _, err := s.exec(ctx, tx, `UPDATE river_job SET queue = ? WHERE kind = 'sync' AND queue = ? AND state IN `+waitingSQL, SyncQueue, w.k.queue); err != nil {
					return s.wrap("give the sync back to the queue", err)
				}
				return nil
			})
			w.err = cmp.Or(w.err, err)
		}
		w.k.drop(context.WithoutCancel(ctx))
	})
	return w.err
}

// riverLogHandler passes River's log on, less the lines that read like a
// failure in a clean stop ("Hard stop started; cancelling all work": River
// cancels running syncs, which stop at their checkpoint and are made
// available again; the worker says so in its own words).
type riverLogHandler struct{ slog.Handler }

func (h riverLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "Hard stop started") || strings.Contains(r.Message, "Job stopped due to client shutdown") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h riverLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return riverLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h riverLogHandler) WithGroup(name string) slog.Handler {
	return riverLogHandler{h.Handler.WithGroup(name)}
}
