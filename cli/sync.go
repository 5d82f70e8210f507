package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// syncCmd runs or resumes a sync in the foreground: a progress line on a
// terminal, NDJSON events with --json. ctrl+c stops it at a checkpoint.
func (a *App) syncCmd(args []string) error {
	fs := newFlagSet("sync", a)
	asJSON := fs.Bool("json", false, "print progress events as NDJSON")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, conn, err := a.connectionArg(ctx, fs, args, "onramp sync ALIAS [--json]")
	if err != nil {
		return err
	}
	defer st.Close()
	s := &flows.Syncer{Store: st, Catalog: a.Catalog, Now: a.Now}
	enc := json.NewEncoder(a.Out)
	tty := isTerminal(a.Err)
	run, err := s.Sync(ctx, conn.ID, func(p flows.Progress) {
		switch {
		case *asJSON:
			enc.Encode(p)
		case tty:
			fmt.Fprintf(a.Err, "\r\x1b[K%s", progressLine(p, 40))
		}
	})
	if tty && !*asJSON {
		fmt.Fprintln(a.Err)
	}
	if err != nil {
		if flows.IsSyncRunning(err) {
			return fmt.Errorf("%s is already being synced by another onramp; watch it with `onramp status %s`", conn.Alias, conn.Alias)
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(a.Err, "onramp: "+err.Error())
			return abortErr()
		}
		return err
	}
	if !*asJSON {
		fmt.Fprintf(a.Out, "✓ Synced %s: %d users in %d pages (%d retries)\n", conn.Alias, run.Users, run.Pages, run.Retries)
		if run.Note != "" {
			fmt.Fprintln(a.Err, "! "+run.Note)
		}
	}
	return nil
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

// inventory prints the latest snapshot.
func (a *App) inventory(args []string) error {
	fs := newFlagSet("inventory", a)
	asJSON := fs.Bool("json", false, "print JSON")
	ctx := context.Background()
	st, conn, err := a.connectionArg(ctx, fs, args, "onramp inventory ALIAS [--json]")
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
		return &exitError{ExitNotFound, fmt.Errorf("%s has no finished sync yet; run `onramp sync %s`", conn.Alias, conn.Alias)}
	}
	seats, err := st.Seats(ctx, run.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeInventoryJSON(ctx, a.Out, st, run, seats)
	}
	fmt.Fprintf(a.Err, "%s: %d users, synced %s (%s view)\n", conn.Alias, run.Users, humanize.Ago(*run.FinishedAt, a.Now()), run.View)
	if run.Note != "" {
		fmt.Fprintln(a.Err, "! "+textsafe.Line(run.Note))
	}
	for _, s := range seats {
		fmt.Fprintf(a.Err, "Seats (%s, %s): %s used of %s, max %s%s\n", s.Scope, s.Plan, num(s.Used), numOr(s.Seats, "unlimited"), num(s.MaxUsed), expiresNote(s.ExpiresAt))
	}
	tw := tabwriter.NewWriter(a.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tEMAIL\tSTATE\tSEAT\tBOT\tADMIN\tLAST ACTIVITY")
	// Only the admin view says who is a bot or an administrator; elsewhere
	// the answer is unknown, not "no".
	roles := run.View == "admin"
	err = st.Users(ctx, run.ID, func(u store.InventoryUser) error {
		seat, bot, admin := "?", "?", "?"
		if u.Seat != nil {
			seat = yesNo(*u.Seat)
		}
		if roles {
			bot, admin = yesNo(u.Bot), yesNo(u.Admin)
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, textsafe.Line(u.Username), textsafe.Line(u.Name),
			textsafe.Line(u.Email), textsafe.Line(u.State), seat, bot, admin, textsafe.Line(u.LastActivityOn))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// writeInventoryJSON streams the snapshot: memory stays flat however many
// users there are.
func writeInventoryJSON(ctx context.Context, w io.Writer, st *store.SQLite, run *store.SyncRun, seats []store.Seats) error {
	head, _ := json.Marshal(run)
	seatsJSON, _ := json.Marshal(seats)
	fmt.Fprintf(w, "{\"run\":%s,\"seats\":%s,\"users\":[", head, seatsJSON)
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

// status is the Integrations page in text; non-zero when anything needs
// attention.
func (a *App) status(args []string) error {
	fs := newFlagSet("status", a)
	asJSON := fs.Bool("json", false, "print JSON")
	ctx := context.Background()
	st, err := a.storeArg(ctx, fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := flows.Statuses(ctx, st, a.Catalog, a.Now())
	if err != nil {
		return err
	}
	rows := all
	if fs.NArg() == 1 {
		c, err := findArg(ctx, st, fs.Arg(0))
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
	if *asJSON {
		if rows == nil {
			rows = []flows.Status{}
		}
		if err := writeJSON(a.Out, rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ALIAS\tVENDOR\tHOST\tSTATE\tLAST SYNC\tEXPIRES")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Alias, r.Vendor, r.Host, r.State, lastSync(r.LastRun, a.Now()), r.Expires)
		}
		tw.Flush()
		for _, r := range rows {
			if r.Attention != "" {
				fmt.Fprintf(a.Err, "! %s: %s\n", r.Alias, r.Attention)
			}
		}
	}
	if attention > 0 {
		return &exitError{ExitFailure, fmt.Errorf("%d connection(s) need attention", attention)}
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
