package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// syncOptions are `onramp sync`'s arguments and flags.
type syncOptions struct {
	Alias      string
	JSON, Stop bool
}

func (a *App) newSyncCmd() *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync ALIAS",
		Short: "Sync a connection now and follow it",
		Long: `Ask for a sync of the connection now and follow it to its end: a progress
line on a terminal, or NDJSON progress events with --json (the last one has
"status":"succeeded", "failed" or "stopped"). This process runs the sync
unless a worker takes it first. ctrl+c, or --stop from anywhere, stops it at
its next checkpoint; it resumes from there next time.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS`,
		Example: `  onramp sync prod
  onramp sync prod --json | jq -c 'select(.status != "running")'
  onramp sync prod --stop`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.syncCmd(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print progress events as NDJSON")
	cmd.Flags().BoolVar(&o.Stop, "stop", false, "stop the connection's running sync at its next checkpoint, whichever process runs it")
	return cmd
}

// syncCmd asks for a sync now and follows it to its end: a progress line on
// a terminal, NDJSON events with --json. This process runs it unless a
// worker takes it first (a laptop needs no daemon). ctrl+c, or --stop from
// anywhere, stops it at a checkpoint.
func (a *App) syncCmd(ctx context.Context, o *syncOptions) error {
	st, conn, err := a.openConnection(ctx, o.Alias)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.Stop {
		if err := st.StopSync(ctx, conn.ID); err != nil {
			return err
		}
		fmt.Fprintf(a.Err, "Stopping %s's sync: it stops at its next checkpoint and resumes from there next time.\n", conn.Alias)
		return nil
	}
	if conn.State == store.StateNeedsReconnect {
		return fmt.Errorf("%s needs to be reconnected before it can sync: %s (onramp reconnect %s)", conn.Alias, textsafe.Line(conn.StateReason), conn.Alias)
	}
	job, err := st.EnqueueSync(ctx, conn.ID)
	if err != nil {
		return err
	}
	out := &syncOutput{a: a, json: o.JSON, tty: isTerminal(a.Err) && !o.JSON}
	self := flows.WorkerID("sync")
	syncer := &flows.Syncer{Store: st, Catalog: a.Catalog, Now: a.Now, OnProgress: out.event}
	w, err := syncer.RunWorker(ctx, self, 1, 200*time.Millisecond, nil)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.Stop(sctx)
	}()
	interrupted, stopNotify := signal.NotifyContext(ctx, os.Interrupt)
	defer stopNotify()
	last, err := a.follow(interrupted, st, conn, job.ID, self, out)
	out.done()
	if interrupted.Err() != nil { // ctrl+c: stop it at a checkpoint, wherever it runs
		st.StopSync(ctx, conn.ID)
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		a.follow(waitCtx, st, conn, job.ID, self, out)
		fmt.Fprintln(a.Err, "onramp: the sync was stopped; it resumes from its checkpoint next time")
		return abortErr()
	}
	if err != nil {
		return err
	}
	return a.syncEnded(ctx, st, conn, last, o.JSON)
}

// follow watches the sync job jobID of conn in the store until it ends (or
// is put aside: retrying later, or snoozed for longer than a minute), and
// returns its state then (nil when it finished).
func (a *App) follow(ctx context.Context, st store.Backend, conn *store.Connection, jobID int64, self string, out *syncOutput) (*store.SyncJob, error) {
	for {
		jobs, err := st.SyncJobs(ctx)
		if err != nil {
			return nil, err
		}
		j, ok := jobs[conn.ID]
		if !ok || j.ID != jobID {
			return nil, nil // finished
		}
		switch {
		case j.State == store.JobRetrying:
			return &j, nil
		case j.State == store.JobSnoozed && time.Until(j.At) > time.Minute:
			return &j, nil
		case j.State == store.JobRunning && j.Worker != self:
			if runs, err := st.Runs(ctx, conn.ID, 1); err == nil && len(runs) == 1 { // another process runs it: its progress is in the store
				out.event(flows.Progress{ConnectionID: conn.ID, RunID: runs[0].ID, Status: runs[0].Status, Users: runs[0].Users,
					Pages: runs[0].Pages, Retries: runs[0].Retries, Total: runs[0].Total, View: runs[0].View, Worker: j.Worker})
			}
		}
		select {
		case <-ctx.Done():
			return &j, nil
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// syncEnded reports how the sync ended, from the store.
func (a *App) syncEnded(ctx context.Context, st store.Backend, conn *store.Connection, put *store.SyncJob, asJSON bool) error {
	if put != nil {
		reason := "retrying at " + put.At.Local().Format("15:04") + " because " + textsafe.Line(put.LastError)
		if put.State == store.JobSnoozed {
			reason = "snoozed until " + put.At.Local().Format("15:04") + " for a rate limit"
		}
		return fmt.Errorf("the sync of %s did not finish: %s; a worker (`onramp worker`, `onramp serve`) or the next `onramp sync` takes it up", conn.Alias, reason)
	}
	c, _ := st.Get(ctx, conn.ID)
	if c != nil && c.State == store.StateNeedsReconnect {
		return fmt.Errorf("%s needs to be reconnected: %s (onramp reconnect %s)", conn.Alias, textsafe.Line(c.StateReason), conn.Alias)
	}
	runs, err := st.Runs(ctx, conn.ID, 1)
	if err != nil || len(runs) == 0 {
		return cmp.Or(err, errors.New("the sync ended without a run"))
	}
	run := runs[0]
	switch run.Status {
	case store.RunSucceeded:
		if !asJSON {
			fmt.Fprintf(a.Out, "✓ Synced %s: %d users in %d pages (%d retries)\n", conn.Alias, run.Users, run.Pages, run.Retries)
			if run.Note != "" {
				fmt.Fprintln(a.Err, "! "+textsafe.Line(run.Note))
			}
		}
		return nil
	case store.RunStopped:
		return fmt.Errorf("the sync of %s was stopped at %d users; it resumes from its checkpoint next time", conn.Alias, run.Users)
	}
	return errors.New(textsafe.Line(run.Error))
}

// syncOutput prints a sync's progress: NDJSON events, or one line redrawn
// on a terminal. Events come from this process's worker or from the store.
type syncOutput struct {
	a         *App
	json, tty bool
	mu        sync.Mutex
	last      flows.Progress
	drawn     bool
}

func (o *syncOutput) event(p flows.Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.drawn && p.Status == o.last.Status && p.Users == o.last.Users && p.Pages == o.last.Pages && p.Seats == nil {
		return
	}
	o.last, o.drawn = p, true
	switch {
	case o.json:
		json.NewEncoder(o.a.Out).Encode(p)
	case o.tty:
		fmt.Fprintf(o.a.Err, "\r\x1b[K%s", progressLine(p, 40))
	}
}

func (o *syncOutput) done() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tty && o.drawn {
		fmt.Fprintln(o.a.Err)
	}
}

// progressLine is a one-line progress bar: determinate when the server says
// how many there are (it does not above 10,000), otherwise counts and rate.
func progressLine(p flows.Progress, width int) string {
	counts := fmt.Sprintf("%d users · %d pages · %.0f/s", p.Users, p.Pages, p.Rate)
	if p.Retries > 0 {
		counts += fmt.Sprintf(" · %d retries", p.Retries)
	}
	if f := p.Fraction(); f >= 0 {
		filled := int(f * float64(width))
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		eta := ""
		if p.ETA > 0 {
			eta = " · ETA " + p.ETA.Round(time.Second).String()
		}
		return fmt.Sprintf("%s %3.0f%%  %s of %d%s", bar, f*100, counts, *p.Total, eta)
	}
	return "syncing… " + counts
}

// inventoryOptions are `onramp inventory`'s arguments and flags.
type inventoryOptions struct {
	Alias string
	JSON  bool
}

func (a *App) newInventoryCmd() *cobra.Command {
	o := &inventoryOptions{}
	cmd := &cobra.Command{
		Use:   "inventory ALIAS",
		Short: "Print the latest inventory snapshot: users and seats",
		Long: `Print the connection's latest finished inventory: every user (id, username,
name, email, state, seat, bot, admin, last activity) and the seats. Exit 3
when no sync has finished yet. With --json: {"connection", "run", "seats",
"users"}, streamed, so memory stays flat however many users there are.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS`,
		Example: `  onramp inventory prod
  onramp inventory prod --json | jq '.users | length'`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.inventory(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: the connection, the run, seats and users")
	return cmd
}

// inventory prints the latest snapshot.
func (a *App) inventory(ctx context.Context, o *inventoryOptions) error {
	st, conn, err := a.openConnection(ctx, o.Alias)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := st.Runs(ctx, conn.ID, 20)
	if err != nil {
		return err
	}
	var run *store.SyncRun
	for i := range runs {
		if runs[i].Status == store.RunSucceeded {
			run = &runs[i]
			break
		}
	}
	if run == nil {
		return &exitError{code: ExitNotFound, err: fmt.Errorf("%s has no finished sync yet; run `onramp sync %s`", conn.Alias, conn.Alias)}
	}
	seats, err := st.Seats(ctx, run.ID)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeInventoryJSON(ctx, a.Out, st, a.connectionJSON(conn), run, seats)
	}
	fmt.Fprintf(a.Err, "%s: %d users, synced %s (%s view)\n", conn.Alias, run.Users, humanize.Ago(*run.FinishedAt, a.Now()), run.View)
	if run.Note != "" {
		fmt.Fprintln(a.Err, "! "+textsafe.Line(run.Note))
	}
	for _, s := range seats {
		fmt.Fprintf(a.Err, "Seats (%s, %s): %s used of %s, max %s%s\n", s.Scope, s.Plan, num(s.Used), numOr(s.Seats, "unlimited"), num(s.MaxUsed), expiresNote(s.ExpiresAt))
	}
	t := a.newTable("ID", "USERNAME", "NAME", "EMAIL", "STATE", "SEAT", "BOT", "ADMIN", "LAST ACTIVITY")
	roles := flows.ViewKnowsRoles(run.View)
	err = st.Users(ctx, run.ID, func(u store.InventoryUser) error {
		seat, bot, admin := "?", "?", "?"
		if u.Seat != nil {
			seat = yesNo(*u.Seat)
		}
		if roles {
			bot, admin = yesNo(u.Bot), yesNo(u.Admin)
		}
		return t.row(fmt.Sprint(u.ID), textsafe.Line(u.Username), textsafe.Line(u.Name),
			textsafe.Line(u.Email), textsafe.Line(u.State), seat, bot, admin, textsafe.Line(u.LastActivityOn))
	})
	if err != nil {
		return err
	}
	return t.flush()
}

// writeInventoryJSON streams the snapshot: memory stays flat however many
// users there are.
func writeInventoryJSON(ctx context.Context, w io.Writer, st store.Backend, conn Connection, run *store.SyncRun, seats []store.Seats) error {
	connJSON, _ := json.Marshal(conn)
	head, _ := json.Marshal(run)
	if seats == nil {
		seats = []store.Seats{}
	}
	seatsJSON, _ := json.Marshal(seats)
	fmt.Fprintf(w, "{\"connection\":%s,\"run\":%s,\"seats\":%s,\"users\":[", connJSON, head, seatsJSON)
	first := true
	err := st.Users(ctx, run.ID, func(u store.InventoryUser) error {
		b, _ := json.Marshal(u)
		if !first {
			w.Write([]byte(","))
		}
		first = false
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, "]}")
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func num(n *int) string { return numOr(n, "?") }

func numOr(n *int, none string) string {
	if n == nil {
		return none
	}
	return fmt.Sprint(*n)
}

func expiresNote(s string) string {
	if s == "" {
		return ""
	}
	return ", expires " + s
}

// statusOptions are `onramp status`'s arguments and flags.
type statusOptions struct {
	Alias string
	JSON  bool
}

func (a *App) newStatusCmd() *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [ALIAS]",
		Short: "The Integrations page in text; exit 1 when anything needs attention",
		Long: `Show every connection (or one) with its sync: state, last sync, who runs
the sync now or when it runs next, schedule and expiry. Connections that
need a person (a token expiring within 14 days or expired, a reconnect, a
failing sync) are listed on stderr and make the exit code 1, for monitoring.

Arguments:
  ALIAS   optional: only this connection (alias, or VENDOR/ALIAS)`,
		Example: `  onramp status
  onramp status prod --json | jq .[0].sync.text`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("unexpected argument %q", args[1]), usage: cmd}
			}
			return nil
		},
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Alias = args[0]
			}
			return a.exec(cmd, o, func() error { return a.status(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: an array of statuses")
	return cmd
}

// status is the Integrations page in text; non-zero when anything needs
// attention.
func (a *App) status(ctx context.Context, o *statusOptions) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := flows.Statuses(ctx, st, a.Catalog, a.Now(), "")
	if err != nil {
		return err
	}
	rows := all
	if o.Alias != "" {
		c, err := findArg(ctx, st, o.Alias)
		if err != nil {
			return err
		}
		rows = nil
		for _, r := range all {
			if r.ID == c.ID {
				rows = append(rows, r)
			}
		}
	}
	attention := 0
	for _, r := range rows {
		if r.Attention != "" {
			attention++
		}
	}
	if o.JSON {
		if err := a.writeStatuses(rows); err != nil {
			return err
		}
	} else {
		t := a.newTable("ALIAS", "VENDOR", "HOST", "STATE", "LAST SYNC", "SYNC", "SCHEDULE", "EXPIRES")
		for _, r := range rows {
			t.row(r.Alias, r.Vendor, r.Host, r.State, lastSync(r.LastRun, a.Now()), r.Sync, r.Schedule, r.Expires)
		}
		t.flush()
		for _, r := range rows {
			if r.Attention != "" {
				fmt.Fprintf(a.Err, "! %s: %s\n", r.Alias, r.Attention)
			}
		}
	}
	if attention > 0 {
		verb := "need"
		if attention == 1 {
			verb = "needs"
		}
		return &exitError{code: ExitFailure, err: fmt.Errorf("%s %s attention", humanize.Count(attention, "connection"), verb), answered: true}
	}
	return nil
}

func lastSync(r *store.SyncRun, now time.Time) string {
	if r == nil {
		return "never"
	}
	switch r.Status {
	case store.RunSucceeded:
		return fmt.Sprintf("%d users, %s", r.Users, humanize.Ago(*r.FinishedAt, now))
	case store.RunRunning:
		return fmt.Sprintf("syncing (%d users so far)", r.Users)
	case store.RunStopped:
		return fmt.Sprintf("stopped at %d users (resumes)", r.Users)
	}
	return "failed: " + r.Error
}
