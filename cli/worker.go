package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"charm.land/log/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// worker runs sync jobs until SIGTERM or SIGINT, which stop the running ones
// at a checkpoint (they go back to the queue for the next worker).
func (a *App) worker(args []string) error {
	fs := newFlagSet("worker", a)
	concurrency := fs.Int("concurrency", 4, "syncs run at once")
	rescueAfter := fs.Duration("rescue-after", time.Hour, "run a sync again when its worker has not finished it after this long (it died)")
	slice := fs.Duration("slice", 20*time.Minute, "a longer sync goes back to the queue at a checkpoint after this long, to go on at once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("usage: onramp worker [--concurrency N]")
	}
	if *rescueAfter <= *slice {
		return usageErr("--rescue-after (%s) must be longer than --slice (%s), or running syncs would be taken for dead", *rescueAfter, *slice)
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
	syncer := &flows.Syncer{Store: st, Catalog: a.Catalog, Now: a.Now, Slice: *slice, RescueAfter: *rescueAfter, Log: slog.New(logger)}
	w, err := syncer.RunWorker(context.Background(), id, *concurrency, 200*time.Millisecond, slog.New(logger.WithPrefix("river")))
	if err != nil {
		return err
	}
	logger.Info("working", "id", id, "store", st.Location(), "concurrency", *concurrency)
	<-ctx.Done()
	logger.Info("stopping: running syncs stop at their checkpoints")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(sctx); err != nil {
		return fmt.Errorf("stop the worker: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// schedule sets how often a connection is synced again.
func (a *App) schedule(args []string) error {
	fs := newFlagSet("schedule", a)
	ctx := context.Background()
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErr("usage: onramp schedule ALIAS 6h|24h|off")
	}
	every, err := parseEvery(fs.Arg(1))
	if err != nil {
		return err
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findArg(ctx, st, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := st.SetSchedule(ctx, c.ID, every); err != nil {
		return err
	}
	if every == 0 {
		fmt.Fprintf(a.Err, "%s is no longer synced periodically (onramp sync %s still syncs it now).\n", textsafe.Line(c.Alias), textsafe.Line(c.Alias))
		return nil
	}
	fmt.Fprintf(a.Err, "%s is synced %s (up to a tenth later, so connections do not all sync at once).\n", textsafe.Line(c.Alias), flows.ScheduleText(every))
	return nil
}

// parseEvery reads a schedule: a duration of at least a second, or off.
func parseEvery(s string) (time.Duration, error) {
	if strings.EqualFold(s, "off") || s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, usageErr("the schedule is a period like 6h, 24h or 30m, or off")
	}
	return d, nil
}
