package cli

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// All syncs every connection, Concurrency of them at a time.
	All         bool
	Concurrency int
}

func (a *App) newSyncCmd() *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync {ALIAS | --all}",
		Short: "Sync a connection (or all of them) now and follow it",
		Long: `Ask for a sync of the connection now and follow it to its end: a progress
line on a terminal, or NDJSON progress events of this connection only with
--json (the last one has "status":"succeeded", "failed" or "stopped").
This process runs the sync, and no other, unless a live worker already
runs it: then it follows that one, saying which. A sync whose process died
is taken over at once, from its checkpoint.

ctrl+c, SIGTERM or a closed output (| head) stop a sync run here at its
next checkpoint and give it back to the queue, where a worker, the wizard
or the next 'onramp sync' resumes it; a follower just stops following.
--stop, from anywhere, stops the sync itself until its next schedule.

--all syncs every connection that does not need reconnecting, a few at a
time (--concurrency), printing a line as each ends; its --json events carry
each connection's alias. It exits 1 when any of them did not sync.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS`,
		Example: `  onramp sync prod
  onramp sync prod --json | jq -c 'select(.status != "running")'
  onramp sync prod --stop
  onramp sync --all`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.All {
				if len(args) > 0 {
					return &exitError{code: ExitUsage, err: errors.New("--all syncs every connection: give no alias with it"), usage: cmd}
				}
				return nil
			}
			return exactArgs("ALIAS")(cmd, args)
		},
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.All {
				if o.Stop {
					return &exitError{code: ExitUsage, err: errors.New("--stop stops one connection's sync: give its alias instead of --all"), usage: cmd}
				}
				if o.Concurrency < 1 {
					return &exitError{code: ExitUsage, err: fmt.Errorf("--concurrency must be at least 1, not %d", o.Concurrency), usage: cmd}
				}
				return a.exec(cmd, o, func() error { return a.syncAll(cmd.Context(), o) })
			}
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.syncCmd(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "sync every connection that does not need reconnecting")
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 4, "with --all, how many connections sync at once")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print progress events as NDJSON")
	cmd.Flags().BoolVar(&o.Stop, "stop", false, "stop the connection's sync at its next checkpoint, whichever process runs it (or at once, when that process is gone)")
	return cmd
}

// syncCmd asks for a sync of one connection now and follows it to its end.
// This process runs it in a queue of its own (its job and no other) unless
// a live process already runs it; a dead holder's sync is taken over.
func (a *App) syncCmd(ctx context.Context, o *syncOptions) error {
	st, conn, err := a.openConnection(ctx, o.Alias)
	if err != nil {
		return err
	}
	defer st.Close()
	alias := textsafe.Line(conn.Alias)
	if o.Stop {
		return a.stopSync(ctx, st, conn)
	}
	if conn.State == store.StateNeedsReconnect {
		return fmt.Errorf("%s needs to be reconnected before it can sync: %s (onramp reconnect %s)", alias, textsafe.Line(conn.StateReason), alias)
	}
	// ctrl+c, SIGTERM and a closed stdout (SIGPIPE: `| head -1`) end it
	// alike; with SIGPIPE asked for, a write to a closed pipe fails instead
	// of killing the process in the middle of a page.
	interrupted, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	defer stopSignals()
	out := &syncOutput{a: a, json: o.JSON, tty: isTerminal(a.Err) && !o.JSON}
	self := flows.WorkerID("sync")
	syncer := &flows.Syncer{Store: st, Catalog: a.Catalog, Now: a.Now, OnProgress: out.event}
	w, err := syncer.RunWorker(ctx, store.WorkerConfig{ID: self, Concurrency: 1, PollInterval: 200 * time.Millisecond, Private: true})
	if err != nil {
		return err
	}
	stopWorker := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		w.Stop(sctx)
	}
	defer stopWorker()
	f := &follower{a: a, st: st, conn: conn, queue: w.Queue(), self: self, out: out}
	last, err := f.follow(interrupted)
	out.done()
	if interrupted.Err() != nil && ctx.Err() == nil {
		if !f.ranHere {
			fmt.Fprintf(a.Err, "onramp: stopped following; the sync goes on on %s\n", textsafe.Line(f.holder))
			return abortErr()
		}
		stopWorker() // the sync stops at its checkpoint and goes back to the queue
		msg := "the sync goes back to the queue"
		if runs, err := st.Runs(context.WithoutCancel(ctx), conn.ID, 1); err == nil && len(runs) == 1 {
			msg = fmt.Sprintf("stopped at %d users; the sync goes back to the queue", runs[0].Users)
		}
		fmt.Fprintf(a.Err, "onramp: %s and resumes from its checkpoint on a worker, the wizard or the next `onramp sync %s`\n", msg, alias)
		return abortErr()
	}
	if err != nil {
		return err
	}
	if last == nil && !f.ranHere {
		f.storeEvent(ctx, f.holder) // a followed sync's last line is its outcome too
	}
	return a.syncEnded(ctx, st, conn, last, o.JSON)
}

// stopSync stops the connection's sync wherever it is, and says what it did.
func (a *App) stopSync(ctx context.Context, st store.Backend, conn *store.Connection) error {
	alias := textsafe.Line(conn.Alias)
	before, err := st.SyncJob(ctx, conn.ID)
	if err != nil {
		return err
	}
	if err := st.StopSync(ctx, conn.ID); err != nil {
		return err
	}
	switch {
	case before == nil || (before.State == store.JobScheduled && before.Reason == store.ReasonPeriodic):
		fmt.Fprintf(a.Err, "%s has no sync running or waiting; nothing to stop.\n", alias)
	case before.State == store.JobRunning && before.HolderGone:
		fmt.Fprintf(a.Err, "Stopped %s's sync: %s, which ran it, is gone. It resumes from its checkpoint at its next sync.\n", alias, textsafe.Line(before.Worker))
	case before.State == store.JobRunning:
		fmt.Fprintf(a.Err, "Stopping %s's sync on %s: it stops at its next checkpoint and resumes from there next time.\n", alias, textsafe.Line(before.Worker))
	default:
		fmt.Fprintf(a.Err, "Cancelled %s's waiting sync; its next periodic sync stays scheduled.\n", alias)
	}
	return nil
}

// follower watches one connection's sync until it ends (or is put aside:
// retrying later, or snoozed for longer than a minute): it claims the job
// for this process's queue whenever no live process runs it, and shows
// another live holder's progress from the store.
type follower struct {
	a     *App
	st    store.Backend
	conn  *store.Connection
	queue string
	self  string
	out   *syncOutput
	// ranHere: this process ran the sync at some point; holder: the other
	// process last seen running it.
	ranHere bool
	holder  string
	told    map[string]bool
}

func (f *follower) say(key, format string, args ...any) {
	if f.told == nil {
		f.told = map[string]bool{}
	}
	if !f.told[key] {
		f.told[key] = true
		fmt.Fprintf(f.a.Err, format+"\n", args...)
	}
}

func (f *follower) follow(ctx context.Context) (*store.SyncJob, error) {
	alias := textsafe.Line(f.conn.Alias)
	if err := f.claim(ctx); err != nil {
		return nil, err
	}
	for {
		j, err := f.st.SyncJob(ctx, f.conn.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, err
		}
		switch {
		case j == nil, j.State == store.JobScheduled && j.Reason == store.ReasonPeriodic:
			return nil, nil // finished: at most the next periodic sync waits
		case j.State == store.JobRetrying:
			return j, nil
		case j.State == store.JobSnoozed && time.Until(j.At) > time.Minute:
			return j, nil
		case j.State == store.JobRunning && j.Worker == f.self:
			f.ranHere = true // its events come from this process's worker
		case j.State == store.JobRunning && !j.HolderGone:
			f.holder = j.Worker
			f.say("follow:"+j.Worker, "%s's sync runs on %s: following it here (ctrl+c stops following, the sync goes on; --stop stops it).",
				alias, textsafe.Line(j.Worker))
			f.storeEvent(ctx, j.Worker)
		case j.State != store.JobRunning && j.Queue == f.queue:
			// waiting in this process's own queue: its worker takes it
		default:
			// Waiting in the shared queue, or its holder is gone: take it.
			if err := f.claim(ctx); err != nil {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			return j, nil
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// claim makes the sync this process's unless a live process runs it.
func (f *follower) claim(ctx context.Context) error {
	c, err := f.st.ClaimSync(ctx, f.conn.ID, f.queue)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if gone := cmp.Or(c.TookOverFrom, c.Job.TakenFrom); gone != "" && c.RunningOn == "" {
		f.say("took:"+gone, "%s, which ran %s's sync, is gone: taking the sync over here, from its checkpoint.", textsafe.Line(gone), textsafe.Line(f.conn.Alias))
	}
	return nil
}

// storeEvent shows the progress of a sync another process runs, as the
// store has it.
func (f *follower) storeEvent(ctx context.Context, worker string) {
	if runs, err := f.st.Runs(ctx, f.conn.ID, 1); err == nil && len(runs) == 1 {
		r := runs[0]
		f.out.event(flows.Progress{ConnectionID: f.conn.ID, RunID: r.ID, Status: r.Status, Users: r.Users,
			Pages: r.Pages, Retries: r.Retries, Total: r.Total, View: r.View, Note: r.Note, Error: r.Error, Worker: worker})
	}
}

// syncEnded reports how the sync ended, from the store.
func (a *App) syncEnded(ctx context.Context, st store.Backend, conn *store.Connection, put *store.SyncJob, asJSON bool) error {
	if put != nil {
		reason := "retrying at " + humanize.At(put.At, a.Now()) + " because " + textsafe.Line(put.LastError)
		if put.State == store.JobSnoozed {
			reason = "snoozed until " + humanize.At(put.At, a.Now()) + " for a rate limit"
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
			fmt.Fprintf(a.Out, "✓ Synced %s: %s in %s (%s)\n", conn.Alias, humanize.Count(run.Users, "user"), humanize.Count(run.Pages, "page"),
				humanize.Count(run.Retries, "retry"))
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
	last      map[string]flows.Progress // by connection
	drawn     bool
	// aliases name each connection's events (sync --all).
	aliases map[string]string
}

func (o *syncOutput) event(p flows.Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil {
		o.last = map[string]flows.Progress{}
	}
	last, seen := o.last[p.ConnectionID]
	if seen && p.Status == last.Status && p.Users == last.Users && p.Pages == last.Pages && p.Seats == nil {
		return
	}
	o.last[p.ConnectionID], o.drawn = p, true
	p.Alias = o.aliases[p.ConnectionID]
	switch {
	case o.json:
		writeJSONLine(o.a.Out, p)
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
	counts := fmt.Sprintf("%s · %s · %.0f/s", humanize.Count(p.Users, "user"), humanize.Count(p.Pages, "page"), p.Rate)
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
	CSV   bool
	// Filters an auditor asks for, and a limit.
	Admins, Seats bool
	Inactive      time.Duration
	Limit         int
}

// keep reports whether a user passes the filters, as of now.
func (o *inventoryOptions) keep(u store.InventoryUser, now time.Time) bool {
	switch {
	case o.Admins && !u.Admin:
		return false
	case o.Seats && (u.Seat == nil || !*u.Seat):
		return false
	case o.Inactive > 0:
		last := cmp.Or(u.LastActivityOn, u.LastSignInAt)
		t, err := time.Parse("2006-01-02", last[:min(len(last), 10)])
		return last == "" || err != nil || now.Sub(t) >= o.Inactive
	}
	return true
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
  onramp inventory prod --json | jq '.users | length'
  onramp inventory prod --admins
  onramp inventory prod --inactive 90d --seats --csv > unused-seats.csv`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.inventory(cmd.Context(), o) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.JSON, "json", false, "print JSON: the connection, the run, seats and users")
	f.BoolVar(&o.CSV, "csv", false, "print the users as CSV with a header (cells a spreadsheet would run as formulas are quoted)")
	f.BoolVar(&o.Admins, "admins", false, "only administrators (owners on GitHub)")
	f.BoolVar(&o.Seats, "seats", false, "only users holding a license seat")
	inactive := f.String("inactive", "", "only users with no activity for `DAYS` (90d), or none recorded")
	f.IntVar(&o.Limit, "limit", 0, "at most `N` users (0: all)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if *inactive == "" {
			return nil
		}
		days, err := strconv.Atoi(strings.TrimSuffix(*inactive, "d"))
		if err != nil || days <= 0 {
			return usageErr("--inactive takes a number of days, like 90d")
		}
		o.Inactive = time.Duration(days) * 24 * time.Hour
		return nil
	}
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
	now := a.Now()
	users := func(fn func(store.InventoryUser) error) error { // the snapshot's users through the filters, streamed
		n := 0
		err := st.Users(ctx, run.ID, func(u store.InventoryUser) error {
			if !o.keep(u, now) {
				return nil
			}
			if n++; o.Limit > 0 && n > o.Limit {
				return errEnough
			}
			return fn(u)
		})
		if errors.Is(err, errEnough) {
			return nil
		}
		return err
	}
	switch {
	case o.JSON:
		return writeInventoryJSON(a.Out, a.connectionJSON(conn), run, seats, users)
	case o.CSV:
		return writeInventoryCSV(a.Out, users)
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
	err = users(func(u store.InventoryUser) error {
		seat, bot, admin := t.unknown(), t.unknown(), t.unknown()
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

// errEnough ends a listing at its --limit.
var errEnough = errors.New("enough")

// writeInventoryCSV prints the users as CSV with a header, for a
// spreadsheet: every cell sanitized, and one a spreadsheet would run as a
// formula (=, +, -, @ first) quoted with a leading apostrophe.
func writeInventoryCSV(w io.Writer, users func(func(store.InventoryUser) error) error) error {
	out := csv.NewWriter(w)
	out.Write([]string{"id", "username", "name", "email", "state", "seat", "bot", "admin", "created_at", "last_sign_in_at", "last_activity_on"})
	cell := func(s string) string {
		s = textsafe.Line(s)
		if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
			return "'" + s
		}
		return s
	}
	err := users(func(u store.InventoryUser) error {
		seat := ""
		if u.Seat != nil {
			seat = yesNo(*u.Seat)
		}
		return out.Write([]string{fmt.Sprint(u.ID), cell(u.Username), cell(u.Name), cell(u.Email), cell(u.State), seat,
			yesNo(u.Bot), yesNo(u.Admin), cell(u.CreatedAt), cell(u.LastSignInAt), cell(u.LastActivityOn)})
	})
	out.Flush()
	return cmp.Or(err, out.Error())
}

// writeInventoryJSON streams the snapshot: memory stays flat however many
// users there are.
func writeInventoryJSON(w io.Writer, conn Connection, run *store.SyncRun, seats []store.Seats, users func(func(store.InventoryUser) error) error) error {
	safe := func(v any) []byte { b, _ := json.Marshal(v); return textsafe.JSON(b) }
	connJSON, head := safe(conn), safe(run)
	if seats == nil {
		seats = []store.Seats{}
	}
	seatsJSON := safe(seats)
	fmt.Fprintf(w, "{\"connection\":%s,\"run\":%s,\"seats\":%s,\"users\":[", connJSON, head, seatsJSON)
	first := true
	err := users(func(u store.InventoryUser) error {
		b := safe(u)
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
	// Watch, when set, prints the page again at this interval until
	// ctrl+c (a terminal is redrawn in place).
	Watch time.Duration
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
  onramp status prod --json | jq .[0].sync.text
  onramp status --watch
  onramp status --watch=10s`,
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
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: an array of statuses (with --watch, one a refresh)")
	cmd.Flags().DurationVar(&o.Watch, "watch", 0, "print it again every `INTERVAL` (2s) until ctrl+c")
	cmd.Flags().Lookup("watch").NoOptDefVal = "2s"
	return cmd
}

// status is the Integrations page in text; non-zero when anything needs
// attention. With --watch it prints again until ctrl+c.
func (a *App) status(ctx context.Context, o *statusOptions) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.Watch <= 0 {
		return a.statusOnce(ctx, st, o)
	}
	if o.Watch < 500*time.Millisecond {
		return usageErr("--watch refreshes at most twice a second")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	redraw := isTerminal(a.Out) && !o.JSON
	for {
		if redraw {
			fmt.Fprint(a.Out, "\x1b[H\x1b[2J") // home, clear: the page redrawn in place
		}
		err := a.statusOnce(ctx, st, o)
		var ee *exitError
		if err != nil && !(errors.As(err, &ee) && ee.answered) {
			return err
		}
		select {
		case <-ctx.Done():
			return abortErr()
		case <-time.After(o.Watch):
		}
	}
}

// statusOnce prints the page once.
func (a *App) statusOnce(ctx context.Context, st store.Backend, o *statusOptions) error {
	var rows []flows.Status
	var err error
	if o.Alias == "" {
		rows, err = flows.Statuses(ctx, st, a.Catalog, a.Now(), "")
	} else {
		var c *store.Connection
		if c, err = findArg(ctx, st, o.Alias); err != nil {
			return err
		}
		c.Secrets = nil // a status row, as List gives it
		rows, err = flows.StatusesOf(ctx, st, a.Catalog, a.Now(), "", []store.Connection{*c})
	}
	if err != nil {
		return err
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
				told := ""
				if n := r.Notified; n != nil {
					told = fmt.Sprintf(" (notified %s: %s)", humanize.At(n.At, a.Now()), n.Kind)
				}
				fmt.Fprintf(a.Err, "! %s: %s%s\n", r.Alias, r.Attention, told)
			}
			// What the last inventory left out (organizations withheld for
			// SSO, seats not readable) is said, not only stored.
			if r.LastRun != nil && r.LastRun.Note != "" {
				fmt.Fprintf(a.Err, "  %s: %s\n", r.Alias, textsafe.Line(r.LastRun.Note))
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
