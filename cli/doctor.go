package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// doctorOptions are `onramp doctor`'s flags.
type doctorOptions struct {
	JSON bool
}

func (a *App) newDoctorCmd() *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say what works and what does not, each with the fix",
		Long: `Check this machine's onramp and its store, read-only: the store (reachable,
its kind, its schema against this onramp's), its key (found, and where it
comes from — never the key), the store file's permissions, the workers alive
by their leases, syncs overdue or held by a dead process, connections that
need reconnecting or whose token expires within 14 days, PostgreSQL's
latency, and serve's host key. Each line that is not ✓ says what to do.

Exit 0 when nothing needs doing, 1 otherwise.`,
		Example: `  onramp doctor
  onramp doctor --json | jq '.checks[] | select(.status != "ok")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, o, func() error { return a.doctor(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

// Check is one line of `onramp doctor`.
type Check struct {
	Name    string `json:"check"`
	Status  string `json:"status"` // ok | info | warn | fail
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

const (
	checkOK   = "ok"
	checkInfo = "info" // nothing to do (serve's host key not made yet)
	checkWarn = "warn"
	checkFail = "fail"
)

// doctorReport is doctor's JSON.
type doctorReport struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// overdueAfter: a due sync no live worker has taken for this long is
// overdue (workers poll every second, and PostgreSQL ones are notified).
const overdueAfter = 2 * time.Minute

func (a *App) doctor(ctx context.Context, o *doctorOptions) error {
	checks := a.doctorChecks(ctx)
	report := doctorReport{OK: true, Checks: checks}
	for _, c := range checks {
		if c.Status == checkWarn || c.Status == checkFail {
			report.OK = false
		}
	}
	if o.JSON {
		if err := writeJSON(a.Out, report); err != nil {
			return err
		}
	} else {
		marks := map[string]string{checkOK: "✓", checkInfo: "·", checkWarn: "!", checkFail: "✗"}
		for _, c := range checks {
			fmt.Fprintf(a.Out, "%s %-12s %s\n", marks[c.Status], c.Name, textsafe.Line(c.Message))
			if c.Fix != "" {
				fmt.Fprintf(a.Out, "  %-12s fix: %s\n", "", textsafe.Line(c.Fix))
			}
		}
	}
	if !report.OK {
		return &exitError{code: ExitFailure, err: errors.New("something needs doing (see the lines above)"), answered: true}
	}
	return nil
}

// doctorChecks runs every check that can run: one that depends on the
// store being open is left out when it is not.
func (a *App) doctorChecks(ctx context.Context) []Check {
	var checks []Check
	add := func(c Check) { checks = append(checks, c) }
	opts, err := a.storeOptions()
	if err != nil {
		add(Check{Name: "store", Status: checkFail, Message: err.Error()})
		return checks
	}
	kind := "SQLite file"
	if store.IsPostgres(opts.Path) {
		kind = "PostgreSQL"
	}
	plan, err := store.PlanMigration(ctx, opts)
	if err != nil {
		add(Check{Name: "store", Status: checkFail, Message: fmt.Sprintf("the %s store cannot be read: %s", kind, rootCause(err)),
			Fix: unreachableFix(opts.Path)})
		return checks
	}
	switch {
	case plan.From == 0:
		add(Check{Name: "store", Status: checkFail, Message: fmt.Sprintf("%s %s holds no onramp store yet", kind, plan.Location),
			Fix: "`onramp store migrate` creates it (or `onramp connect` / the wizard, for a store file); check ONRAMP_STORE or --store if it should exist"})
		return checks
	case plan.From > plan.To:
		add(Check{Name: "store", Status: checkFail, Message: fmt.Sprintf("%s %s has schema %d, newer than this onramp's %d", kind, plan.Location, plan.From, plan.To),
			Fix: "upgrade this onramp binary to the one the rest of the team runs"})
		return checks
	case plan.Needed() && kind == "PostgreSQL":
		add(Check{Name: "store", Status: checkFail, Message: fmt.Sprintf("%s %s has schema %d and %s pending; this onramp needs %d", kind, plan.Location, plan.From,
			humanize.Count(len(plan.River), "River migration"), plan.To), Fix: "`onramp store migrate` (once, for the whole team)"})
		return checks
	case plan.Needed():
		add(Check{Name: "store", Status: checkOK, Message: fmt.Sprintf("%s %s, schema %d: this onramp upgrades it to %d when it opens it", kind, plan.Location, plan.From, plan.To)})
		return checks // opening it would change it: doctor only reads
	default:
		add(Check{Name: "store", Status: checkOK, Message: fmt.Sprintf("%s %s, schema %d (this onramp's)", kind, plan.Location, plan.To)})
	}

	if kind != "PostgreSQL" {
		// onramp refuses a store file others can read: say so first.
		perm := filePermissions("store file", opts.Path)
		add(perm)
		if perm.Status != checkOK {
			return checks
		}
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		// The store's own words say what to do (the key's source, the fix).
		c := Check{Name: "key", Status: checkFail, Message: err.Error()}
		if !errors.Is(err, store.ErrKeyMissing) && !errors.Is(err, store.ErrWrongKey) {
			c.Name = "store"
		}
		add(c)
		return checks
	}
	defer st.Close()
	began := time.Now()
	info, err := st.Info(ctx)
	latency := time.Since(began) / 2 // Info is two queries
	if err != nil {
		add(Check{Name: "store", Status: checkFail, Message: "the store opened but cannot be read: " + err.Error(), Fix: unreachableFix(opts.Path)})
		return checks
	}
	add(Check{Name: "key", Status: checkOK, Message: "from " + info.Key.Location + "; readable by " + info.Key.ReadableBy})
	if kind == "PostgreSQL" {
		add(latencyCheck(latency))
	} else if info.Key.Source == "file" {
		add(filePermissions("key file", info.Key.Location))
	}
	statuses, err := flows.Statuses(ctx, st, a.Catalog, a.Now(), "")
	if err != nil {
		add(Check{Name: "connections", Status: checkFail, Message: "cannot read the connections: " + err.Error()})
		return checks
	}
	procs, err := st.Processes(ctx)
	if err != nil {
		add(Check{Name: "workers", Status: checkFail, Message: "cannot read the workers' leases: " + err.Error()})
		return checks
	}
	add(workersCheck(procs, statuses))
	add(jobsCheck(statuses, len(procs) > 0, a.Now()))
	checks = append(checks, connectionChecks(statuses, a.Now())...)
	add(notifyCheck(ctx, st, a.Now()))
	add(a.hostKeyCheck(opts.Path))
	return checks
}

// notifyCheck: where events go, and whether they got there.
func notifyCheck(ctx context.Context, st store.Backend, now time.Time) Check {
	targets, err := st.NotifyTargets(ctx)
	if err != nil {
		return Check{Name: "notify", Status: checkFail, Message: "cannot read the notification targets: " + err.Error()}
	}
	if len(targets) == 0 {
		return Check{Name: "notify", Status: checkInfo, Message: "nobody is notified when a connection breaks: `onramp worker --notify @FILE` (a webhook) or --notify-command CMD"}
	}
	var labels []string
	for _, t := range targets {
		labels = append(labels, t.Label)
	}
	waiting, oldest, err := st.NotifyBacklog(ctx)
	switch {
	case err != nil:
		return Check{Name: "notify", Status: checkFail, Message: err.Error()}
	case waiting > 0 && now.Sub(oldest) > 10*time.Minute:
		return Check{Name: "notify", Status: checkWarn, Message: fmt.Sprintf("%s not delivered, the oldest for %s (targets: %s)",
			humanize.Count(waiting, "event"), humanize.Lifetime(now.Sub(oldest)), strings.Join(labels, ", ")),
			Fix: "check that the target answers; the workers' logs say what it answered (deliveries are retried for about two days)"}
	}
	return Check{Name: "notify", Status: checkOK, Message: "events go to " + strings.Join(labels, ", ")}
}

// rootCause is the innermost message of an error chain wrapped with
// "context: cause", once (pgx repeats its cause for each address tried).
func rootCause(err error) string {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": dial error: "); i >= 0 {
		msg = msg[i+len(": dial error: "):]
	}
	return strings.TrimSpace(msg)
}

// unreachableFix says what to look at when a store cannot be read.
func unreachableFix(location string) string {
	if store.IsPostgres(location) {
		return "check that PostgreSQL runs and that ONRAMP_STORE's host, port, user and database are right (`pg_isready -d \"$ONRAMP_STORE\"`); the password comes from ~/.pgpass or PGPASSWORD"
	}
	return "check that the file is there and readable by this user (`ls -l " + location + "`); `onramp store info` says where onramp looks"
}

func latencyCheck(perQuery time.Duration) Check {
	c := Check{Name: "latency", Status: checkOK, Message: fmt.Sprintf("PostgreSQL answers a query in %s", perQuery.Round(100*time.Microsecond))}
	if perQuery > 100*time.Millisecond {
		c.Status, c.Fix = checkWarn, "a sync makes a few queries per page and the wizard waits on each: run onramp near the database, or look at the database's load"
	}
	return c
}

// filePermissions: a store or key file open only to its owner, who is this
// user.
func filePermissions(name, path string) Check {
	fi, err := os.Stat(path)
	if err != nil {
		return Check{Name: "permissions", Status: checkFail, Message: name + ": " + err.Error()}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Check{Name: "permissions", Status: checkFail, Message: fmt.Sprintf("%s %s is %04o: others can read it", name, path, fi.Mode().Perm()),
			Fix: "chmod 600 " + path}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return Check{Name: "permissions", Status: checkWarn, Message: fmt.Sprintf("%s %s belongs to uid %d, not to this user", name, path, st.Uid),
			Fix: "run onramp as the store's user (`sudo -u onramp env … onramp`, README: Running onramp for a team)"}
	}
	return Check{Name: "permissions", Status: checkOK, Message: fmt.Sprintf("%s %s is %04o, this user's", name, path, fi.Mode().Perm())}
}

// workersCheck: the processes that run syncs, by their leases.
func workersCheck(procs []store.Process, statuses []flows.Status) Check {
	scheduled := 0
	for _, s := range statuses {
		if s.Every > 0 || s.Job != nil {
			scheduled++
		}
	}
	if len(procs) == 0 {
		if scheduled == 0 {
			return Check{Name: "workers", Status: checkOK, Message: "no worker runs, and no sync needs one"}
		}
		return Check{Name: "workers", Status: checkFail, Message: fmt.Sprintf("no worker runs: the syncs of %s wait", humanize.Count(scheduled, "connection")),
			Fix: "start one: `onramp worker` (systemctl start onramp-worker), `onramp serve`, or `onramp sync --all` now"}
	}
	var names []string
	for _, p := range procs {
		names = append(names, p.ID)
	}
	return Check{Name: "workers", Status: checkOK, Message: fmt.Sprintf("%s alive (leases renewed): %s", humanize.Count(len(procs), "worker"), strings.Join(names, ", "))}
}

// jobsCheck: syncs due that nobody runs, and syncs held by a dead process.
func jobsCheck(statuses []flows.Status, liveWorkers bool, now time.Time) Check {
	var overdue, orphaned []string
	var oldest time.Duration
	for _, s := range statuses {
		j := s.Job
		switch {
		case j == nil:
		case j.State == store.JobRunning && j.HolderGone:
			orphaned = append(orphaned, fmt.Sprintf("%s (on %s, which is gone)", s.Alias, j.Worker))
		case j.State != store.JobRunning && !j.At.After(now):
			late := now.Sub(j.At)
			if liveWorkers && late < overdueAfter {
				continue
			}
			overdue = append(overdue, s.Alias)
			oldest = max(oldest, late)
		}
	}
	switch {
	case len(orphaned) > 0 && !liveWorkers:
		return Check{Name: "jobs", Status: checkFail, Message: "syncs held by a dead process, and no worker to take them over: " + strings.Join(orphaned, ", "),
			Fix: "start a worker (it takes them over at once, from their checkpoints), or `onramp sync ALIAS`"}
	case len(orphaned) > 0:
		return Check{Name: "jobs", Status: checkWarn, Message: "syncs held by a dead process: " + strings.Join(orphaned, ", "),
			Fix: "the live workers take them over within seconds; if this stays, see their logs"}
	case len(overdue) > 0 && !liveWorkers:
		return Check{Name: "jobs", Status: checkFail, Message: fmt.Sprintf("%s due and no worker to run them (the oldest for %s): %s",
			humanize.Count(len(overdue), "sync"), humanize.Lifetime(oldest), strings.Join(overdue, ", ")),
			Fix: "start a worker: `onramp worker`, `onramp serve`, or `onramp sync --all` now"}
	case len(overdue) > 0:
		return Check{Name: "jobs", Status: checkWarn, Message: fmt.Sprintf("%s overdue by up to %s although workers run: %s",
			humanize.Count(len(overdue), "sync"), humanize.Lifetime(oldest), strings.Join(overdue, ", ")),
			Fix: "the workers may all be busy (raise --concurrency) or cannot reach the store; see their logs"}
	}
	return Check{Name: "jobs", Status: checkOK, Message: "no sync is overdue"}
}

// connectionChecks: what a person must do for a connection (reconnect,
// renew a token soon to expire, a failing sync).
func connectionChecks(statuses []flows.Status, now time.Time) []Check {
	var out []Check
	for _, s := range statuses {
		switch {
		case s.State == string(store.StateNeedsReconnect) || s.State == "expired":
			out = append(out, Check{Name: "connection", Status: checkFail, Message: s.Alias + ": " + s.Attention,
				Fix: "onramp reconnect " + s.Alias})
		case s.ExpiresAt != nil && connector.DaysLeft(*s.ExpiresAt, now) <= connector.ExpirySoonDays:
			out = append(out, Check{Name: "connection", Status: checkWarn,
				Message: fmt.Sprintf("%s: its token expires on %s (%s)", s.Alias, s.ExpiresAt.Format("2006-01-02"), humanize.Days(connector.DaysLeft(*s.ExpiresAt, now))),
				Fix:     "create a new token, then onramp reconnect " + s.Alias})
		case s.Attention != "":
			out = append(out, Check{Name: "connection", Status: checkWarn, Message: s.Alias + ": " + s.Attention})
		}
	}
	switch {
	case len(statuses) == 0:
		out = append(out, Check{Name: "connections", Status: checkOK, Message: "no connections yet"})
	case len(out) == 0:
		out = append(out, Check{Name: "connections", Status: checkOK, Message: humanize.Count(len(statuses), "connection") + ", none needs anything"})
	}
	return out
}

// hostKeyPath is where `onramp serve` keeps its host key by default: beside
// a store file; with a shared database, in this machine's config directory
// (each host keeps its own identity).
func hostKeyPath(getenv func(string) string, location string) string {
	if store.IsPostgres(location) {
		return filepath.Join(store.DefaultConfigDir(getenv), "ssh_host_ed25519")
	}
	return filepath.Join(filepath.Dir(location), "ssh_host_ed25519")
}

func (a *App) hostKeyCheck(location string) Check {
	path := hostKeyPath(a.Getenv, location)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Check{Name: "host key", Status: checkInfo, Message: "no host key at " + path + " yet: `onramp serve` makes it at its first start (unless given --host-key)"}
	}
	if err != nil {
		return Check{Name: "host key", Status: checkFail, Message: "serve's host key " + path + ": " + err.Error(), Fix: "run onramp as the user that runs `onramp serve`"}
	}
	signer, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return Check{Name: "host key", Status: checkFail, Message: "serve's host key " + path + " cannot be read as a private key", Fix: "restore it from a backup (operators' known_hosts name its fingerprint); a new one makes them confirm it again"}
	}
	if perm := filePermissions("host key", path); perm.Status == checkFail {
		perm.Name = "host key"
		return perm
	}
	return Check{Name: "host key", Status: checkOK, Message: "serve's host key " + path + " (" + gossh.FingerprintSHA256(signer.PublicKey()) + ")"}
}
