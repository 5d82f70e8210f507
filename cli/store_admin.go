package cli

import (
	"cmp"
	"context"
	"fmt"

	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/store"
)

// storeMigrate upgrades a store's schema and River's, or says what it would.
func (a *App) storeMigrate(args []string) error {
	fs := newFlagSet("store migrate", a)
	dryRun := fs.Bool("dry-run", false, "say what would be migrated, change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	opts, err := a.storeOptions()
	if err != nil {
		return err
	}
	plan, err := store.PlanMigration(ctx, opts)
	if err != nil {
		return err
	}
	switch {
	case plan.From == 0:
		fmt.Fprintf(a.Out, "%s: no store yet; onramp makes it (schema %d, and River's %d migrations) when it is first opened\n", plan.Location, plan.To, len(plan.River))
		if *dryRun {
			return nil
		}
	case !plan.Needed():
		fmt.Fprintf(a.Out, "%s is up to date (schema %d, River's migrations all applied)\n", plan.Location, plan.To)
		return nil
	default:
		fmt.Fprintf(a.Out, "%s: schema %d → %d; River's migrations to apply: %v\n", plan.Location, plan.From, plan.To, plan.River)
		if *dryRun {
			return nil
		}
	}
	if err := store.Migrate(ctx, opts); err != nil {
		return err
	}
	fmt.Fprintln(a.Out, "migrated")
	return nil
}

// storeCopy copies this store's connections into another store (a
// laptop's into the team's), secrets sealed again under the destination's
// key, each with its first sync queued there.
func (a *App) storeCopy(args []string) error {
	fs := newFlagSet("store copy", a)
	to := fs.String("to", "", "the destination store: a postgres:// URL or a file")
	toKey := fs.String("to-key-command", "", "the destination's key command (else ONRAMP_TO_KEY_COMMAND)")
	toPass := fs.String("to-passphrase-command", "", "the destination's passphrase command (else ONRAMP_TO_PASSPHRASE_COMMAND)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 {
		return usageErr("usage: onramp store copy --to URL [--to-key-command CMD | --to-passphrase-command CMD]")
	}
	ctx := context.Background()
	from, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer from.Close()
	dstOpts, err := a.storeOptions()
	if err != nil {
		return err
	}
	dstOpts.Path = *to
	dstOpts.KeyCommand = cmp.Or(*toKey, a.Getenv("ONRAMP_TO_KEY_COMMAND"))
	dstOpts.PassphraseCommand, dstOpts.PassphraseFrom = cmp.Or(*toPass, a.Getenv("ONRAMP_TO_PASSPHRASE_COMMAND")), "--to-passphrase-command"
	if dstOpts.Path == from.Location() {
		return usageErr("--to names the store being copied")
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
	if *asJSON {
		return writeJSON(a.Out, res)
	}
	fmt.Fprintf(a.Out, "✓ Copied %s into %s, verified: %v\n", humanize.Count(res.Connections, "connection"), dst.Location(), res.Aliases)
	fmt.Fprintln(a.Err, "Their first syncs are queued there; this store is unchanged (remove it when you no longer need it).")
	return nil
}
