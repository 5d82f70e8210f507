package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// listOptions are `onramp list`'s flags.
type listOptions struct {
	JSON  bool
	Limit int
}

func (a *App) newListCmd() *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List every stored connection",
		Long: `List every stored connection: alias, vendor, host, account, auth method,
expiry and state. On a terminal it is a table; piped, tab-separated values
with a header line; with --json, an array of connection objects.`,
		Example: `  onramp list
  onramp list --json | jq -r '.[] | select(.state != "connected") | .alias'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, o, func() error { return a.list(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: an array of connections")
	cmd.Flags().IntVar(&o.Limit, "limit", 0, "at most `N` connections, by vendor then alias (0: all)")
	return cmd
}

func (a *App) list(ctx context.Context, o *listOptions) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.JSON {
		return a.writeConnections(ctx, st, o.Limit)
	}
	rows, err := flows.Integrations(ctx, st, a.Catalog, a.Now(), o.Limit)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.Err, "No connections yet. Run `onramp` to add one.")
		return nil
	}
	t := a.newTable("ALIAS", "VENDOR", "HOST", "ACCOUNT", "AUTH", "EXPIRES", "STATE")
	for _, r := range rows {
		acct := r.Account
		if r.Admin {
			acct += " (admin)"
		}
		t.row(r.Alias, r.Vendor, r.Host, acct, r.AuthMethod, r.Expires, r.State)
	}
	return t.flush()
}

// openConnection opens the store and finds the connection named by arg
// (ALIAS or VENDOR/ALIAS); the caller closes the store.
func (a *App) openConnection(ctx context.Context, arg string) (store.Backend, *store.Connection, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := findArg(ctx, st, arg)
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

// showOptions are `onramp show`'s arguments and flags.
type showOptions struct {
	Alias string
	JSON  bool
}

func (a *App) newShowCmd() *cobra.Command {
	o := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show ALIAS",
		Short: "Show one connection (secrets as fingerprints only)",
		Long: `Show one stored connection: server, account, auth method, scopes, expiry,
state, who added and changed it. Secrets are shown only as fingerprints.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS when two vendors share it`,
		Example: `  onramp show gitlab-prod
  onramp show gitlab/prod --json`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.show(cmd.Context(), o) })
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: the connection")
	return cmd
}

func (a *App) show(ctx context.Context, o *showOptions) error {
	st, c, err := a.openConnection(ctx, o.Alias)
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
	if o.JSON {
		j := a.connectionJSON(c)
		j.Secrets, j.CABundle = fps, ca
		return writeJSON(a.Out, j)
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

// removeOptions are `onramp remove`'s arguments and flags.
type removeOptions struct {
	Alias                    string
	Yes, Revoke, Force, JSON bool
}

func (a *App) newRemoveCmd() *cobra.Command {
	o := &removeOptions{}
	cmd := &cobra.Command{
		Use:     "remove ALIAS",
		Aliases: []string{"rm"},
		Short:   "Delete a connection (--revoke: at the vendor first)",
		Long: `Delete a stored connection: its credentials, inventory and sync job. It
asks first on a terminal; elsewhere --yes is required. With --revoke the
credential is revoked at the vendor first, and nothing is deleted if that
fails (unless --force).

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS`,
		Example: `  onramp remove staging
  onramp remove staging --yes --revoke --json`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.remove(cmd.Context(), o) })
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask")
	f.BoolVar(&o.Revoke, "revoke", false, "revoke the credential at the vendor first")
	f.BoolVar(&o.Force, "force", false, "with --revoke: delete locally even if revoking fails")
	f.BoolVar(&o.JSON, "json", false, "print JSON: the removed connection")
	return cmd
}

func (a *App) remove(ctx context.Context, o *removeOptions) error {
	st, c, err := a.openConnection(ctx, o.Alias)
	if err != nil {
		return err
	}
	defer st.Close()
	if !o.Yes {
		if !isTerminal(a.In) {
			return usageErr("not a terminal: pass --yes to remove %s without asking", c.Alias)
		}
		fmt.Fprintf(a.Err, "Remove the %s connection %q (%s, @%s)? The stored token is deleted. [y/N] ",
			c.Vendor, textsafe.Line(c.Alias), textsafe.Line(c.BaseURL), textsafe.Line(c.Account.Username))
		if !confirmed(a.In) {
			return abortErr()
		}
	}
	revoked := false
	if o.Revoke {
		if err := flows.Revoke(ctx, a.Catalog, c); err != nil {
			if !o.Force {
				return revokeFailed(c, err)
			}
			fmt.Fprintf(a.Err, "! %v; deleting the local copy anyway (--force)\n", err)
		} else {
			revoked = true
			fmt.Fprintf(a.Err, "Revoked the credential at %s.\n", textsafe.Line(c.BaseURL))
		}
	}
	if err := st.Delete(ctx, c.ID); err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "Removed %s.\n", textsafe.Line(c.Alias))
	if o.JSON {
		return writeJSON(a.Out, Removed{Connection: a.connectionJSON(c), Removed: true, Revoked: revoked})
	}
	return nil
}

func confirmed(r io.Reader) bool {
	line, _ := bufio.NewReader(r).ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes"
}

func (a *App) storeInfo(ctx context.Context, asJSON bool) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	if asJSON {
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
