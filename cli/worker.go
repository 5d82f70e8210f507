package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"charm.land/log/v2"
	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// workerOptions are `onramp worker`'s flags.
type workerOptions struct {
	Concurrency               int
	RescueAfter, Slice, Lease time.Duration
	Metrics                   string
	Notify                    notifyOptions
}

func (a *App) newWorkerCmd() *cobra.Command {
	o := &workerOptions{}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run syncs in the background until SIGTERM",
		Long: `Run due syncs (first syncs, periodic syncs, retries) from the store's job
queue until SIGTERM or SIGINT, which stop running syncs at a checkpoint:
they go back to the queue for the next worker. Any number of workers may
share a store; a sync runs in one at a time. Logs go to stderr.`,
		Example: `  onramp worker
  onramp worker --store postgres://onramp@db/onramp --concurrency 8`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, o, func() error { return a.worker(o) })
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Concurrency, "concurrency", 4, "syncs run at once")
	f.DurationVar(&o.RescueAfter, "rescue-after", time.Hour, "run a sync again when a live worker has not finished it after this long (it is stuck)")
	f.DurationVar(&o.Lease, "lease", 15*time.Second, "this process's syncs are taken over when it has not renewed its lease for this long (it died or froze)")
	f.DurationVar(&o.Slice, "slice", 20*time.Minute, "a longer sync goes back to the queue at a checkpoint after this long, to go on at once")
	f.StringVar(&o.Metrics, "metrics", "", "serve Prometheus metrics, /healthz and /readyz on `ADDR` (a bare port listens on 127.0.0.1 only)")
	o.Notify.flags(f)
	return cmd
}

// worker runs sync jobs until SIGTERM or SIGINT, which stop the running ones
// at a checkpoint (they go back to the queue for the next worker).
func (a *App) worker(o *workerOptions) error {
	if o.RescueAfter <= o.Slice {
		return usageErr("--rescue-after (%s) must be longer than --slice (%s), or running syncs would be taken for dead", o.RescueAfter, o.Slice)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	logger := log.NewWithOptions(a.Err, log.Options{ReportTimestamp: true, Prefix: "onramp worker"})
	id := flows.WorkerID("worker")
	if err := a.registerNotify(ctx, &o.Notify, st, logger); err != nil {
		return err
	}
	mon, err := startMonitor(ctx, o.Metrics, st, logger)
	if err != nil {
		return err
	}
	syncer := &flows.Syncer{Store: st, Catalog: a.Catalog, Now: a.Now, Slice: o.Slice, RescueAfter: o.RescueAfter, Lease: o.Lease, Log: slog.New(logger)}
	if obs := mon.observer(); obs != nil {
		syncer.Observer = obs
	}
	w, err := syncer.RunWorker(context.Background(), store.WorkerConfig{ID: id, Concurrency: o.Concurrency,
		PollInterval: 200 * time.Millisecond, Logger: slog.New(logger.WithPrefix("river"))})
	if err != nil {
		return err
	}
	mon.started(w)
	logger.Info("working", "id", id, "store", st.Location(), "concurrency", o.Concurrency)
	<-ctx.Done()
	logger.Info("stopping: running syncs stop at their checkpoints and go back to the queue")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(sctx); err != nil {
		return fmt.Errorf("stop the worker: %w", err)
	}
	logger.Info("stopped cleanly: no sync left behind")
	return nil
}

// scheduleOptions are `onramp schedule`'s arguments.
type scheduleOptions struct {
	Alias string
	Every time.Duration
	JSON  bool
}

func (a *App) newScheduleCmd() *cobra.Command {
	o := &scheduleOptions{}
	cmd := &cobra.Command{
		Use:   "schedule ALIAS EVERY",
		Short: "Set how often a connection is synced again (24h by default)",
		Long: `Set how often the connection is synced again after each sync: a period
(6h, 24h, 30m) or off. The next sync runs up to a tenth of the period
later, so connections added together do not all sync at once.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS
  EVERY   a period like 6h, 24h or 30m, or off`,
		Example: `  onramp schedule prod 6h
  onramp schedule staging off`,
		Args: exactArgs("ALIAS", "EVERY"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return []string{"6h", "24h", "off"}, cobra.ShellCompDirectiveNoFileComp
			}
			return a.completeAliases(cmd, args, s)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			every, err := parseEvery(args[1])
			if err != nil {
				return err
			}
			o.Alias, o.Every = args[0], every
			return a.exec(cmd, o, func() error { return a.schedule(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: the connection, with its new schedule")
	return cmd
}

// schedule sets how often a connection is synced again.
func (a *App) schedule(ctx context.Context, o *scheduleOptions) error {
	every := o.Every
	st, c, err := a.openConnection(ctx, o.Alias)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetSchedule(ctx, c.ID, every); err != nil {
		return err
	}
	if o.JSON {
		c, err := st.Get(ctx, c.ID)
		if err != nil {
			return err
		}
		return writeJSON(a.Out, a.connectionJSON(c))
	}
	if every == 0 {
		fmt.Fprintf(a.Err, "%s is no longer synced periodically (onramp sync %s still syncs it now).\n", textsafe.Line(c.Alias), textsafe.Line(c.Alias))
		return nil
	}
	fmt.Fprintf(a.Err, "%s is synced %s (up to a tenth later, so connections do not all sync at once).\n", textsafe.Line(c.Alias), flows.ScheduleText(every))
	return nil
}

// parseEvery reads a schedule: a period from store.MinSyncEvery to
// store.MaxSyncEvery (Go's units, or whole days: 7d), or off.
func parseEvery(s string) (time.Duration, error) {
	if strings.EqualFold(s, "off") || s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if days, found := strings.CutSuffix(s, "d"); found {
		var n int
		if n, err = strconv.Atoi(days); err == nil && n > 0 && n <= 366 {
			d = time.Duration(n) * 24 * time.Hour
		}
	}
	if err != nil || d < store.MinSyncEvery || d > store.MaxSyncEvery {
		return 0, usageErr("the schedule is a period like 6h, 24h or 30m, from %s to %s (30d), or off",
			flows.ScheduleText(store.MinSyncEvery)[len("every "):], flows.ScheduleText(store.MaxSyncEvery)[len("every "):])
	}
	return d, nil
}
