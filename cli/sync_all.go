package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// syncAll syncs every connection that does not need reconnecting, as
// `onramp sync ALIAS` does each (a live holder is followed, a dead one's
// sync taken over), o.Concurrency at a time in this process's own queue,
// and says how each ended.
func (a *App) syncAll(ctx context.Context, o *syncOptions) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	conns, err := st.List(ctx, store.ListOptions{})
	if err != nil {
		return fmt.Errorf("read the store: %w", err)
	}
	var todo []*store.Connection
	var skipped int
	for i := range conns {
		c := &conns[i]
		if c.State == store.StateNeedsReconnect {
			skipped++
			fmt.Fprintf(a.Err, "! skipped %s: it needs to be reconnected (onramp reconnect %s)\n", textsafe.Line(c.Alias), textsafe.Line(c.Alias))
			continue
		}
		todo = append(todo, c)
	}
	if len(todo) == 0 {
		if skipped > 0 {
			return errors.New("no connection can sync: every one needs reconnecting")
		}
		fmt.Fprintln(a.Err, "No connections yet: add one with `onramp connect` or `onramp`.")
		return nil
	}

	interrupted, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	defer stopSignals()
	out := &syncOutput{a: a, json: o.JSON, aliases: map[string]string{}}
	for _, c := range todo {
		out.aliases[c.ID] = c.Alias
	}
	self := flows.WorkerID("sync")
	syncer := &flows.Syncer{Store: st, Catalog: a.Catalog, Now: a.Now, OnProgress: out.event}
	w, err := syncer.RunWorker(ctx, store.WorkerConfig{ID: self, Concurrency: o.Concurrency, PollInterval: 200 * time.Millisecond, Private: true})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		w.Stop(sctx) // a sync still running here goes back to the queue
	}()
	if !o.JSON {
		fmt.Fprintf(a.Err, "Syncing %s, %d at a time …\n", humanize.Count(len(todo), "connection"), min(o.Concurrency, len(todo)))
	}

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for _, c := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &follower{a: a, st: st, conn: c, queue: w.Queue(), self: self, out: out}
			last, err := f.follow(interrupted)
			if interrupted.Err() != nil {
				return
			}
			if err == nil {
				if last == nil && !f.ranHere {
					f.storeEvent(ctx, f.holder)
				}
				err = a.syncEnded(ctx, st, c, last, o.JSON)
			}
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				fmt.Fprintf(a.Err, "✗ %s: %s\n", textsafe.Line(c.Alias), textsafe.Line(err.Error()))
			}
		}()
	}
	wg.Wait()
	if interrupted.Err() != nil && ctx.Err() == nil {
		fmt.Fprintln(a.Err, "onramp: stopped; the syncs run here go back to the queue and resume from their checkpoints")
		return abortErr()
	}
	if failed+skipped > 0 {
		return fmt.Errorf("%d of %s did not sync", failed+skipped, humanize.Count(len(conns), "connection"))
	}
	return nil
}
