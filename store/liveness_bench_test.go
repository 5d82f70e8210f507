package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
)

// holdSyncs is the "holder" helper process: a worker (default settings; on
// the host ONRAMP_HOLDER_HOST names, so it can stand for another machine)
// whose syncs write a page every 100 ms until the process is killed.
func holdSyncs() {
	ctx := context.Background()
	s, err := Open(ctx, helperOpts())
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder open:", err)
		os.Exit(1)
	}
	host := os.Getenv("ONRAMP_HOLDER_HOST")
	_, err = s.RunWorker(ctx, WorkerConfig{ID: fmt.Sprintf("holder@%s:%d", host, os.Getpid()), Host: host, Concurrency: 1,
		PollInterval: 100 * time.Millisecond, Work: slowSync(s)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder worker:", err)
		os.Exit(1)
	}
	select {}
}

// slowSync writes a page every 100 ms until its context ends.
func slowSync(s Backend) func(ctx context.Context, j SyncJob) error {
	return func(ctx context.Context, j SyncJob) error {
		run, _, err := s.BeginRun(ctx, j.ConnectionID)
		if err != nil {
			return err
		}
		for i := 0; ; i++ {
			if run, err = s.SavePage(ctx, run.ID, PageUpdate{Users: users(int64(i)), Checkpoint: strconv.Itoa(i), Gen: run.Gen, From: run.Checkpoint}); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// BenchmarkTakeoverAfterKill: a worker SIGKILLed mid-sync, with default
// settings (15 s lease, 1 s poll); the time until a live worker in this
// process runs the sync again. On this host the dead pid is seen at once;
// on another host ("remote") the lease must lapse. Median and worst of the
// iterations (run with -benchtime=10x).
func BenchmarkTakeoverAfterKill(b *testing.B) {
	for _, where := range []string{"same-host", "remote"} {
		b.Run(where, func(b *testing.B) {
			forEachBackendB(b, func(b *testing.B, opts Options) { benchTakeover(b, opts, where) })
		})
	}
}

func benchTakeover(b *testing.B, opts Options, where string) {
	ctx := context.Background()
	s := mustOpen(b, opts)
	took := make(chan string, 16)
	live := WorkerConfig{ID: "bench@live:1", Concurrency: 1, Logger: slog.New(slog.DiscardHandler),
		Work: func(ctx context.Context, j SyncJob) error {
			if j.TakenFrom != "" {
				took <- j.ConnectionID
			}
			return nil
		}}
	host := hostName()
	if where == "remote" {
		host = "elsewhere"
	}
	var times []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		// The holder first, with the job queued, so it (not this process)
		// takes it.
		holder := helperCmd(b, "holder", opts, "ONRAMP_HOLDER_HOST="+host)
		if err := holder.Start(); err != nil {
			b.Fatal(err)
		}
		c := sample(fmt.Sprintf("t%d", i))
		i++
		if err := s.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if j, _ := s.SyncJob(ctx, c.ID); j != nil && j.State == JobRunning && j.Worker != "bench@live:1" {
				break
			}
			if time.Now().After(deadline) {
				j, err := s.SyncJob(ctx, c.ID)
				b.Fatalf("the holder never ran the sync: %+v %v", j, err)
			}
		}
		// The live worker, started now (it would have taken the job first),
		// and up before the kill.
		w, err := s.RunWorker(ctx, live)
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
		b.StartTimer()
		killed := time.Now()
		holder.Process.Signal(syscall.SIGKILL)
		holder.Wait()
		select {
		case id := <-took:
			if id != c.ID {
				b.Fatalf("took over %s, not %s", id, c.ID)
			}
		case <-time.After(time.Minute):
			b.Fatal("not taken over within a minute")
		}
		times = append(times, time.Since(killed))
		b.StopTimer()
		// Its sync done before the worker stops (else a stop would hand it
		// back to the queue, for the next holder to take).
		for j, _ := s.SyncJob(ctx, c.ID); j == nil || j.State != JobScheduled; j, _ = s.SyncJob(ctx, c.ID) {
			time.Sleep(20 * time.Millisecond)
		}
		w.Stop(ctx)
		b.StartTimer()
	}
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2].Seconds(), "s-median")
	b.ReportMetric(times[len(times)-1].Seconds(), "s-worst")
}

// BenchmarkJobsAtScale: 100,000 connections on PostgreSQL and 20,000 on
// SQLite, each with its periodic job: the lookups by key a person waits on
// (status of one connection, the page's refresh of the rows in view, stop,
// bring-forward) and the liveness loop's own work (sweep every second,
// reconcile every 30 s).
func BenchmarkJobsAtScale(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchJobsAtScale(b, testOpts(b), scaleN(20000)) })
	b.Run("postgres", func(b *testing.B) { benchJobsAtScale(b, pgOpts(b), scaleN(100000)) })
}

func benchJobsAtScale(b *testing.B, opts Options, n int) {
	ctx := context.Background()
	s := mustOpen(b, opts)
	ids := seedConnections(b, s, n)
	timed := func(name string, fn func(i int) error) {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := fn(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	timed("status-one", func(i int) error {
		one := []string{ids[(i*7919)%n]}
		if _, err := s.SyncJobsOf(ctx, one); err != nil {
			return err
		}
		if _, err := s.LatestRunsOf(ctx, one); err != nil {
			return err
		}
		_, err := s.Processes(ctx)
		return err
	})
	timed("page-refresh-10-rows", func(i int) error {
		start := (i * 10) % (n - 10)
		jobs, err := s.SyncJobsOf(ctx, ids[start:start+10])
		if err == nil && len(jobs) != 10 {
			err = fmt.Errorf("%d jobs for 10 rows", len(jobs))
		}
		if err != nil {
			return err
		}
		if _, err := s.LatestRunsOf(ctx, ids[start:start+10]); err != nil {
			return err
		}
		_, err = s.Processes(ctx)
		return err
	})
	timed("bring-forward", func(i int) error {
		_, err := s.EnqueueSync(ctx, ids[(i*7919)%n])
		return err
	})
	timed("stop", func(i int) error { return s.StopSync(ctx, ids[(i*7919)%n]) })
	k := newKeeper(s.riverQueue, WorkerConfig{ID: "bench@here:1", Lease: defaultLease}, SyncQueue, slog.New(slog.DiscardHandler))
	timed("census", func(int) error { _, err := s.Census(ctx); return err }) // a metrics scrape's store read
	timed("sweep", func(int) error { _, err := k.sweep(ctx); return err })
	timed("reconcile", func(int) error { _, err := k.reconcile(ctx); return err })
}

// seedConnections writes n connections, each with its periodic job, in
// bulk (River's InsertManyTx), and returns their ids.
func seedConnections(b testing.TB, s *sqlStore, n int) []string {
	ctx := context.Background()
	ids := make([]string, 0, n)
	now := formatTime(s.now())
	for start := 0; start < n; start += 1000 {
		err := s.write(ctx, func(tx *sql.Tx) error {
			var jobs []river.InsertManyParams
			for i := start; i < min(start+1000, n); i++ {
				id := fmt.Sprintf("c_bench_%06d", i)
				if _, err := s.exec(ctx, tx, `INSERT INTO connections (id, vendor, alias, alias_key, base_url, auth_method, state,
					created_at, created_by, updated_at, updated_by, revision) VALUES (?, 'gitlab', ?, ?, 'https://gitlab.example.com', 'token',
					'connected', ?, 'bench', ?, 'bench', 1)`, id, id[2:], id[2:], now, now); err != nil {
					return err
				}
				jobs = append(jobs, river.InsertManyParams{Args: SyncArgs{ConnectionID: id, Reason: ReasonPeriodic},
					InsertOpts: syncInsertOpts(ReasonPeriodic, nextPeriodic(time.Now(), DefaultSyncEvery), SyncQueue)})
				ids = append(ids, id)
			}
			_, err := s.client.InsertManyTx(ctx, tx, jobs)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	s.db.ExecContext(ctx, `ANALYZE`)
	return ids
}

// BenchmarkPickUp: from a sync asked for to its worker running it, on
// PostgreSQL: River's pgx driver (LISTEN/NOTIFY, what workers use) against
// polling through database/sql (what they did), both with the default 1 s
// poll.
func BenchmarkPickUp(b *testing.B) {
	for _, mode := range []string{"listen", "poll"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			s := mustOpen(b, pgOpts(b))
			if mode == "poll" {
				driver := riverdatabasesql.New(s.db)
				s.riverQueue.newWorkerClient = func(rc *river.Config, _ int) (workerClient, func(), error) {
					rc.PollOnly = true
					c, err := river.NewClient(driver, rc)
					return c, func() {}, err
				}
			}
			started := make(chan string, 1)
			w, err := s.RunWorker(ctx, WorkerConfig{ID: "bench@here:1", Concurrency: 1, Logger: slog.New(slog.DiscardHandler),
				Work: func(_ context.Context, j SyncJob) error { started <- j.ConnectionID; return nil }})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Stop(ctx)
			time.Sleep(2 * time.Second) // the listener and the first poll
			var times []time.Duration
			i := 0
			for b.Loop() {
				c := sample(fmt.Sprintf("p%d", i))
				i++
				asked := time.Now()
				if err := s.Create(ctx, c); err != nil { // the first sync, enqueued with it
					b.Fatal(err)
				}
				if id := <-started; id != c.ID {
					b.Fatalf("ran %s", id)
				}
				times = append(times, time.Since(asked))
				b.StopTimer()
				time.Sleep(time.Duration(i%10) * 97 * time.Millisecond) // spread over the poll's phase
				b.StartTimer()
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "ms-worst")
		})
	}
}

// scaleN is n, or ONRAMP_BENCH_SCALE connections when set (a quick run).
func scaleN(n int) int {
	if v, err := strconv.Atoi(os.Getenv("ONRAMP_BENCH_SCALE")); err == nil && v > 10 {
		return v
	}
	return n
}
