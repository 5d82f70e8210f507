package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

func (a *App) list(args []string) error {
	fs := newFlagSet("list", a)
	asJSON := fs.Bool("json", false, "print JSON")
	ctx := context.Background()
	st, err := a.storeArg(ctx, fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := flows.Integrations(ctx, st, a.Catalog, a.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		if rows == nil {
			rows = []flows.Integration{}
		}
		return writeJSON(a.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.Err, "No connections yet. Run `onramp` to add one.")
		return nil
	}
	tw := tabwriter.NewWriter(a.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALIAS\tVENDOR\tHOST\tACCOUNT\tAUTH\tEXPIRES\tSTATE")
	for _, r := range rows {
		acct := r.Account
		if r.Admin {
			acct += " (admin)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Alias, r.Vendor, r.Host, acct, r.AuthMethod, r.Expires, r.State)
	}
	return tw.Flush()
}

// storeArg parses a command's flags and opens the store; the caller closes it.
func (a *App) storeArg(ctx context.Context, fs *flag.FlagSet, args []string) (store.Backend, error) {
	if err := parse(fs, reorder(fs, args)); err != nil {
		return nil, err
	}
	return a.openStore(ctx)
}

// connectionArg parses a command's flags and its one ALIAS argument, opens
// the store and finds the connection; the caller closes the store.
func (a *App) connectionArg(ctx context.Context, fs *flag.FlagSet, args []string, usage string) (store.Backend, *store.Connection, error) {
	if err := parse(fs, reorder(fs, args)); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != 1 {
		return nil, nil, usageErr("usage: %s", usage)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := findArg(ctx, st, fs.Arg(0))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, c, nil
}

// findArg resolves ALIAS or VENDOR/ALIAS.
func findArg(ctx context.Context, st store.Store, arg string) (*store.Connection, error) {
	vendor, alias := "", arg
	if v, al, ok := strings.Cut(arg, "/"); ok {
		vendor, alias = v, al
	}
	return st.Find(ctx, vendor, alias)
}

// shownConnection is `show`'s JSON: everything but secrets, which appear as
// fingerprints.
type shownConnection struct {
	*store.Connection
	CABundle string            `json:"ca_bundle,omitempty"`
	Secrets  map[string]string `json:"secrets"`
}

func (a *App) show(args []string) error {
	fs := newFlagSet("show", a)
	asJSON := fs.Bool("json", false, "print JSON")
	ctx := context.Background()
	st, c, err := a.connectionArg(ctx, fs, args, "onramp show ALIAS [--json]")
	if err != nil {
		return err
	}
	defer st.Close()
	fps := map[string]string{}
	for k, v := range c.Secrets {
		fps[k] = store.Fingerprint(v.Reveal())
	}
	ca := ""
	if c.CABundle != "" {
		ca = "custom CA bundle (" + fmt.Sprint(strings.Count(c.CABundle, "BEGIN CERTIFICATE")) + " certificate(s))"
	}
	if *asJSON {
		return writeJSON(a.Out, shownConnection{Connection: c, CABundle: ca, Secrets: fps})
	}
	row := flows.IntegrationOf(c, a.Catalog, a.Now())
	items := []flows.SummaryItem{
		{Label: "Alias", Value: row.Alias}, {Label: "Vendor", Value: row.Vendor}, {Label: "Server", Value: textsafe.Line(c.BaseURL)},
		{Label: "Account", Value: row.Account + adminNote(c.Account.Admin)}, {Label: "Auth", Value: row.AuthMethod},
		{Label: "Token", Value: textsafe.Line(c.TokenName)}, {Label: "Scopes", Value: strings.Join(c.Scopes, ", ")},
		{Label: "Expires", Value: row.Expires}, {Label: "Version", Value: strings.TrimSpace(c.ServerVersion + " " + c.ServerEdition)},
		{Label: "State", Value: row.State + reasonNote(row.Reason)},
		{Label: "Created", Value: c.CreatedAt.Local().Format("2006-01-02 15:04") + " by " + row.CreatedBy},
		{Label: "Updated", Value: c.UpdatedAt.Local().Format("2006-01-02 15:04") + " by " + textsafe.Line(c.UpdatedBy)},
	}
	if ca != "" {
		items = append(items, flows.SummaryItem{Label: "TLS", Value: ca})
	}
	for k, v := range fps {
		items = append(items, flows.SummaryItem{Label: "Secret " + k, Value: v})
	}
	printSummary(a.Out, items)
	return nil
}

func adminNote(admin bool) string {
	if admin {
		return " (administrator)"
	}
	return ""
}

func reasonNote(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

func (a *App) remove(args []string) error {
	fs := newFlagSet("remove", a)
	yes := fs.Bool("yes", false, "do not ask")
	doRevoke := fs.Bool("revoke", false, "revoke the credential at the vendor first")
	force := fs.Bool("force", false, "with --revoke: delete locally even if revoking fails")
	ctx := context.Background()
	st, c, err := a.connectionArg(ctx, fs, args, "onramp remove ALIAS [--yes] [--revoke [--force]]")
	if err != nil {
		return err
	}
	defer st.Close()
	if !*yes {
		if !isTerminal(a.In) {
			return usageErr("not a terminal: pass --yes to remove %s without asking", c.Alias)
		}
		fmt.Fprintf(a.Err, "Remove the %s connection %q (%s, @%s)? The stored token is deleted. [y/N] ",
			c.Vendor, textsafe.Line(c.Alias), textsafe.Line(c.BaseURL), textsafe.Line(c.Account.Username))
		if !confirmed(a.In) {
			return abortErr()
		}
	}
	if *doRevoke {
		if err := revoke(ctx, c); err != nil {
			if !*force {
				return revokeFailed(c, err)
			}
			fmt.Fprintf(a.Err, "! %v; deleting the local copy anyway (--force)\n", err)
		} else {
			fmt.Fprintf(a.Err, "Revoked the credential at %s.\n", textsafe.Line(c.BaseURL))
		}
	}
	if err := st.Delete(ctx, c.ID); err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "Removed %s.\n", textsafe.Line(c.Alias))
	return nil
}

func confirmed(r io.Reader) bool {
	line, _ := bufio.NewReader(r).ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes"
}

func (a *App) storeInfo(args []string) error {
	fs := newFlagSet("store info", a)
	asJSON := fs.Bool("json", false, "print JSON")
	ctx := context.Background()
	st, err := a.storeArg(ctx, fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.Out, info)
	}
	printSummary(a.Out, []flows.SummaryItem{
		{Label: "Store", Value: info.Path}, {Label: "Engine", Value: info.Engine},
		{Label: "Schema", Value: fmt.Sprintf("version %d", info.SchemaVersion)},
		{Label: "Connections", Value: fmt.Sprint(info.Connections)},
		{Label: "Key", Value: info.Key.Location}, {Label: "Protection", Value: info.Key.Protection},
		{Label: "Readable by", Value: info.Key.ReadableBy},
	})
	return nil
}

// reorder moves flags (with their values) before positional arguments, so
// `show prod --json` and `reconnect prod --flow device` work as people type
// them.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && i+1 < len(args) {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return append(flags, pos...)
}
