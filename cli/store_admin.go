package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

func (a *App) newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Where the store lives; upgrade or copy it",
		Long:  "Inspect, upgrade and copy the credential store.",
		Example: `  onramp store info
  onramp store migrate --dry-run
  onramp store copy --to postgres://onramp@db/onramp`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return &exitError{code: ExitUsage, err: errors.New("onramp store needs a command: info, migrate or copy"), usage: cmd}
		},
	}
	var infoJSON bool
	info := &cobra.Command{
		Use:   "info",
		Short: "Where the store and its key live, and who can read the key",
		Args:  noArgs,
		Example: `  onramp store info
  onramp store info --store postgres://onramp@db/onramp --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, &infoJSON, func() error { return a.storeInfo(cmd.Context(), infoJSON) })
		},
	}
	info.Flags().BoolVar(&infoJSON, "json", false, "print JSON")
	var dryRun bool
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Upgrade a shared store (and its job queue) to this onramp",
		Long: `Upgrade a shared (PostgreSQL) store's schema and River's job queue to this
onramp's. A newer onramp refuses an older shared store until this is run;
store files upgrade themselves when opened.`,
		Example: `  onramp store migrate --store postgres://onramp@db/onramp --dry-run`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, &dryRun, func() error { return a.storeMigrate(cmd.Context(), dryRun) })
		},
	}
	migrate.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be migrated, change nothing")
	co := &copyOptions{}
	cp := &cobra.Command{
		Use:   "copy --to URL",
		Short: "Copy this store's connections into another (the team's) store",
		Long: `Copy every connection into another store (a laptop's into the team's),
secrets sealed again under the destination's key, each with its first sync
queued there; then read back and compared. If the destination has any of
the aliases, nothing is copied.`,
		Example: `  onramp store copy --to postgres://onramp@db/onramp --to-key-command 'vault kv get -field=key secret/onramp'`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, co, func() error { return a.storeCopy(cmd.Context(), co) })
		},
	}
	f := cp.Flags()
	f.StringVar(&co.To, "to", "", "the destination store: a postgres:// `URL` or a file (required)")
	f.StringVar(&co.ToKeyCommand, "to-key-command", "", "the destination's key `CMD` (else ONRAMP_TO_KEY_COMMAND)")
	f.StringVar(&co.ToPassphraseCommand, "to-passphrase-command", "", "the destination's passphrase `CMD` (else ONRAMP_TO_PASSPHRASE_COMMAND)")
	f.BoolVar(&co.JSON, "json", false, "print JSON")
	cp.MarkFlagRequired("to")
	cmd.AddCommand(info, migrate, cp)
	return cmd
}

// copyOptions are `onramp store copy`'s flags.
type copyOptions struct {
	To, ToKeyCommand, ToPassphraseCommand string
	JSON                                  bool
}

// storeMigrate upgrades a store's schema and River's, or says what it would.
func (a *App) storeMigrate(ctx context.Context, dryRun bool) error {
	opts, err := a.storeOptions()
	if err != nil {
		return err
	}
	plan, err := store.PlanMigration(ctx, opts)
	if err != nil {
		return err
	}
	river := humanize.Count(len(plan.River), "River migration")
	switch {
	case !plan.Needed() && plan.From != 0:
		fmt.Fprintf(a.Out, "%s is up to date (schema %d, River's migrations all applied)\n", plan.Location, plan.To)
		return nil
	case dryRun && plan.From == 0:
		fmt.Fprintf(a.Out, "%s holds no onramp store yet: `onramp store migrate` creates schema %d and applies %s (nothing was changed)\n", plan.Location, plan.To, river)
		return nil
	case dryRun:
		fmt.Fprintf(a.Out, "%s: `onramp store migrate` upgrades schema %d to %d and applies %s (nothing was changed)\n", plan.Location, plan.From, plan.To, river)
		return nil
	}
	if err := store.Migrate(ctx, opts); err != nil {
		return err
	}
	if plan.From == 0 {
		fmt.Fprintf(a.Out, "✓ Created the onramp store in %s: schema %d, %s applied\n", plan.Location, plan.To, river)
	} else {
		fmt.Fprintf(a.Out, "✓ Upgraded %s from schema %d to %d, %s applied\n", plan.Location, plan.From, plan.To, river)
	}
	return nil
}

// sameStore reports whether two store locations name one store: the same
// file, or the same database however the URL spells it (postgresql://,
// the default port, options).
func sameStore(a, b string) bool {
	key := func(loc string) string {
		if store.IsPostgres(loc) {
			u, err := url.Parse(loc)
			if err != nil {
				return loc
			}
			return u.User.Username() + "@" + u.Hostname() + ":" + cmp.Or(u.Port(), "5432") + u.Path
		}
		if abs, err := filepath.Abs(loc); err == nil {
			return abs
		}
		return loc
	}
	return key(a) == key(b)
}

// storeSource says where this command's store comes from.
func (a *App) storeSource() string {
	switch {
	case a.storeFlag:
		return "--store"
	case a.Getenv("ONRAMP_STORE") != "":
		return "ONRAMP_STORE"
	}
	return "the default location"
}

// storeCopy copies this store's connections into another store (a
// laptop's into the team's), secrets sealed again under the destination's
// key, each with its first sync queued there.
func (a *App) storeCopy(ctx context.Context, o *copyOptions) error {
	from, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer from.Close()
	dstOpts, err := a.storeOptions()
	if err != nil {
		return err
	}
	if err := passwordInArgs("--to", o.To); err != nil {
		return err
	}
	dstOpts.Path = o.To
	dstOpts.KeyCommand, dstOpts.KeyFrom = cmp.Or(o.ToKeyCommand, a.Getenv("ONRAMP_TO_KEY_COMMAND")), "--to-key-command or ONRAMP_TO_KEY_COMMAND"
	dstOpts.PassphraseCommand, dstOpts.PassphraseFrom = cmp.Or(o.ToPassphraseCommand, a.Getenv("ONRAMP_TO_PASSPHRASE_COMMAND")), "--to-passphrase-command or ONRAMP_TO_PASSPHRASE_COMMAND"
	if sameStore(dstOpts.Path, from.Location()) {
		return usageErr("--to names the store being copied (%s, from %s): run the copy with the store to bring along as the source, e.g. on the laptop that holds it: onramp store copy --store ~/.local/share/onramp/onramp.db --to %s --to-key-command CMD",
			from.Location(), a.storeSource(), o.To)
	}
	dst, err := store.Open(ctx, dstOpts)
	if err != nil {
		return fmt.Errorf("the destination store: %w", err)
	}
	defer dst.Close()
	res, err := store.Copy(ctx, from, dst)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(a.Out, res)
	}
	fmt.Fprintf(a.Out, "✓ Copied %s into %s, verified: %s\n", humanize.Count(res.Connections, "connection"), dst.Location(), textsafe.Line(strings.Join(res.Aliases, ", ")))
	fmt.Fprintln(a.Err, "Their first syncs are queued there; this store is unchanged (remove it when you no longer need it).")
	return nil
}
