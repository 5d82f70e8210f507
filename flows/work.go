package flows

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/store"
)

// A sync as a job of the store's queue: Work runs one and says, by the
// error's type, what the queue does next. The decision is made here, from
// typed errors, for every process that runs syncs (a worker, `onramp
// serve`, the wizard, `onramp sync`).

// sliceLength bounds one run of a sync job: a longer sync stops at a
// checkpoint and goes back to the queue, to go on at once, so a worker that
// dies is noticed (River rescues jobs running much longer than this) and no
// sync holds a worker for ever.
const sliceLength = 20 * time.Minute

// Work runs the sync job for one connection.
func (s *Syncer) Work(ctx context.Context, job store.SyncJob) error {
	slice := s.Slice
	if slice <= 0 {
		slice = sliceLength
	}
	sliceCtx, cancel := context.WithTimeout(ctx, slice)
	defer cancel()
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("sync started", "connection", job.ConnectionID, "reason", job.Reason, "attempt", job.Attempt)
	began, progress, vendor := time.Now(), s.OnProgress, ""
	if s.Observer != nil {
		if conn, err := s.Store.Get(ctx, job.ConnectionID); err == nil {
			vendor = conn.Vendor
		}
		s.Observer.SyncStarted(vendor)
		progress = s.observed(vendor)
	}
	run, err := s.Sync(sliceCtx, job.ConnectionID, progress)
	out := Outcome(ctx, sliceCtx, err)
	outcome, kind, reason := outcomeOf(out, job)
	if s.Observer != nil {
		s.Observer.SyncEnded(vendor, outcome, time.Since(began))
		if kind != "" {
			s.Observer.Requeued(vendor, kind, reason)
		}
	}
	s.tell(ctx, job.ConnectionID, outcome)
	switch {
	case out == nil:
		log.Info("sync done", "connection", job.ConnectionID, "users", run.Users, "pages", run.Pages, "retries", run.Retries)
	case errors.Is(out, store.ErrSyncStopped), errors.Is(out, context.Canceled):
		log.Info("sync stopped at a checkpoint", "connection", job.ConnectionID)
	case errors.Is(out, store.ErrFenced):
		log.Warn("sync taken over by another process while this one was away; this one stops without writing", "connection", job.ConnectionID)
	default:
		log.Warn("sync did not finish", "connection", job.ConnectionID, "err", out)
	}
	return out
}

// sliceReason is why a long sync is snoozed at a slice's end.
const sliceReason = "a long sync goes on in its next slice"

// observed passes a sync's events on to OnProgress and counts what each
// saved: its first event is where the run stood (a resumed run's earlier
// slices are not counted again).
func (s *Syncer) observed(vendor string) func(Progress) {
	var users, pages int
	started := false
	return func(p Progress) {
		if started && (p.Users > users || p.Pages > pages) {
			s.Observer.Fetched(vendor, max(p.Users-users, 0), max(p.Pages-pages, 0))
		}
		started, users, pages = true, max(users, p.Users), max(pages, p.Pages)
		if s.OnProgress != nil {
			s.OnProgress(p)
		}
	}
}

// Outcome classifies a sync's result for the queue.
func Outcome(jobCtx, sliceCtx context.Context, err error) error {
	var throttled Throttled
	var rejected CredentialRejected
	var misconfigured connector.Misconfigured
	wait, snooze := serverWait(err)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrSyncStopped):
		return store.ErrSyncStopped
	case jobCtx.Err() != nil:
		return jobCtx.Err() // the process is stopping: the job goes back to the queue
	case sliceCtx.Err() != nil:
		return &store.SnoozeError{Wait: time.Second, Reason: sliceReason}
	case errors.Is(err, ErrNeedsReconnect), errors.Is(err, errCannotSync), errors.Is(err, store.ErrNotFound),
		errors.As(err, &rejected) && rejected.CredentialRejected():
		return &store.GiveUpError{Err: err}
	case errors.As(err, &misconfigured) && misconfigured.Misconfigured():
		return &store.FinalError{Err: err} // not retried: the next periodic sync tries again
	case snooze:
		return &store.SnoozeError{Wait: wait, Reason: "the server is rate-limiting requests"}
	case errors.As(err, &throttled) && throttled.RetryAfter() > httpx.MaxServerWait:
		return fmt.Errorf("the server asks to wait more than %s, the longest onramp waits for a server, so it counts as a failed attempt: %w",
			humanize.Count(int(httpx.MaxServerWait.Hours()), "hour"), err)
	}
	return err // a server or network failure: retried with backoff
}

// serverWait is how long a throttled sync is put aside: the server's wait,
// when it gave one within httpx.MaxServerWait.
func serverWait(err error) (time.Duration, bool) {
	var throttled Throttled
	if !errors.As(err, &throttled) {
		return 0, false
	}
	w := throttled.RetryAfter()
	return w, w > 0 && w <= httpx.MaxServerWait
}

// errCannotSync: the connection cannot be synced by this onramp at all.
var errCannotSync = errors.New("cannot be synced")

// WorkerID names this process where syncs show who runs them:
// "worker@host:pid".
func WorkerID(kind string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s:%d", kind, host, os.Getpid())
}

// RunWorker starts this process's sync worker: it runs due syncs (first,
// manual, periodic, retries, takeovers) until stopped, and holds the
// process's lease meanwhile. cfg.Work is the Syncer's; RescueAfter and
// Lease default to the Syncer's.
func (s *Syncer) RunWorker(ctx context.Context, cfg store.WorkerConfig) (store.Worker, error) {
	cfg.Work = s.Work
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, s.RescueAfter)
	cfg.Lease = cmp.Or(cfg.Lease, s.Lease)
	if cfg.Private { // `onramp sync`: its own job, nothing else
		return s.Store.RunWorker(ctx, cfg)
	}
	cfg.Deliver = Deliver
	w, err := s.Store.RunWorker(ctx, cfg)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go s.watchExpiry(wctx, cmp.Or(s.ExpiryEvery, 10*time.Minute))
	return &watchingWorker{Worker: w, cancel: cancel}, nil
}

// watchingWorker is a worker that also watches credentials' expiry.
type watchingWorker struct {
	store.Worker
	cancel context.CancelFunc
}

func (w *watchingWorker) Stop(ctx context.Context) error {
	w.cancel()
	return w.Worker.Stop(ctx)
}
