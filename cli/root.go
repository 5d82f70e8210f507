package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/internal/version"
	"github.com/onramp-dev/onramp/store"
)

// Command groups, in the order help lists them.
var groups = []*cobra.Group{
	{ID: "wizard", Title: "Onboard (interactive)"},
	{ID: "connections", Title: "Connections (scriptable)"},
	{ID: "sync", Title: "Syncs and inventory"},
	{ID: "team", Title: "Running for a team"},
}

// NewRoot builds onramp's command tree on a's dependencies. Every command
// parses its flags into an options struct and hands it to a.RunF when set
// (tests check parsing without running anything), else runs it.
func NewRoot(a *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "onramp",
		Short: "Connect managed apps, verify them and keep their credentials safe",
		Long: `onramp connects managed apps (GitLab and GitHub today): it walks you from "I want our
GitLab connected" to a verified, safely stored connection whose inventory
syncs in the background.

Without a command it opens the wizard. UI and messages go to stderr, data
to stdout; with --json, data and errors are JSON on stdout.

Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 130 aborted.`,
		Example: `  onramp                     # the wizard
  onramp demo                # the wizard against the built-in sandboxes (GitLab, GitHub)
  onramp list --json         # every connection, for scripts`,
		Args:          noArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.current = cmd
			a.resolveGlobals(cmd)
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, &wizardOptions{}, func() error { return a.wizard(false) })
		},
	}
	root.SetIn(a.In)
	root.SetOut(a.Out)
	root.SetErr(a.Err)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err, usage: cmd}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.StorePath, "store", "", "the store: a `PATH`, or a postgres://… URL for a team's shared store (env ONRAMP_STORE)")
	pf.StringVar(&a.PassphraseCommand, "passphrase-command", "", "derive the store's key from the output of `CMD` (env ONRAMP_PASSPHRASE_COMMAND)")
	pf.StringVar(&a.KeyCommand, "key-command", "", "`CMD` prints the store's key, e.g. from a secrets manager (env ONRAMP_KEY_COMMAND)")
	root.AddGroup(groups...)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("wizard", a.newDemoCmd(), a.newIntegrationsCmd())
	add("connections", a.newConnectCmd(), a.newReconnectCmd(), a.newListCmd(), a.newShowCmd(), a.newRemoveCmd())
	add("sync", a.newSyncCmd(), a.newScheduleCmd(), a.newRotateCmd(), a.newInventoryCmd(), a.newStatusCmd())
	add("team", a.newServeCmd(), a.newWorkerCmd(), a.newStoreCmd(), a.newDoctorCmd())
	root.AddCommand(a.newVersionCmd(), a.newManCmd())
	// cobra adds these when it executes; added now, they are in the
	// generated reference and the help tests too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	refuseUnknownHelpTopics(root)
	return root
}

// refuseUnknownHelpTopics makes `onramp help nope` a usage error (exit 2)
// rather than the root's help with exit 0, as for an unknown command.
func refuseUnknownHelpTopics(root *cobra.Command) {
	help, _, err := root.Find([]string{"help"})
	if err != nil || help == root || help.Run == nil {
		return
	}
	show := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		if target, _, err := root.Find(args); len(args) > 0 && (err != nil || target == root) {
			return &exitError{code: ExitUsage, err: fmt.Errorf("no help topic %q", strings.Join(args, " ")), usage: root}
		}
		show(c, args)
		return nil
	}
}

// execute runs args through the command tree; a failure is printed here
// (printError) and returned for its exit code. Help is cobra's own, in
// gh's layout: plain text on stdout, flags with their value names and
// defaults, global flags apart. (fang's styled help pads every line to 120
// columns with spaces when piped and drops flag values and defaults.)
func (a *App) execute(args []string) error {
	root := NewRoot(a)
	root.SetArgs(args)
	root.Version = version.String()
	cmd, err := root.ExecuteC()
	if err != nil {
		if a.current == nil {
			a.current = cmd
		}
		a.printError(a.Err, err)
	}
	return err
}

// exec hands the parsed options to RunF when a test set it, else runs.
func (a *App) exec(cmd *cobra.Command, opts any, run func() error) error {
	if a.RunF != nil {
		return a.RunF(cmd, opts)
	}
	return run()
}

// resolveGlobals fills the global flags not given from the environment.
func (a *App) resolveGlobals(cmd *cobra.Command) {
	flags := cmd.Flags()
	if flags.Changed("store") {
		a.storeFlag = true
	} else {
		a.StorePath = a.Getenv("ONRAMP_STORE")
	}
	if !flags.Changed("key-command") {
		a.KeyCommand = a.Getenv("ONRAMP_KEY_COMMAND")
	}
	if flags.Changed("passphrase-command") {
		a.passphraseFrom = "--passphrase-command"
	} else if a.PassphraseCommand = a.Getenv("ONRAMP_PASSPHRASE_COMMAND"); a.PassphraseCommand != "" {
		a.passphraseFrom = "ONRAMP_PASSPHRASE_COMMAND"
	}
}

// noArgs refuses arguments: an unknown command is a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return &exitError{code: ExitUsage, err: fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()), usage: cmd}
		}
		return &exitError{code: ExitUsage, err: fmt.Errorf("%s takes no arguments (got %q)", cmd.CommandPath(), args[0]), usage: cmd}
	}
	return nil
}

// exactArgs wants the named positional arguments, in order.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return &exitError{code: ExitUsage, err: fmt.Errorf("%s needs %s", cmd.CommandPath(), strings.Join(names[len(args):], " and ")), usage: cmd}
		case len(args) > len(names):
			return &exitError{code: ExitUsage, err: fmt.Errorf("unexpected argument %q", args[len(names)]), usage: cmd}
		}
		return nil
	}
}

// completeAliases offers the stored connections' aliases: read from the
// store read-only, with no key loaded and nothing unsealed.
func (a *App) completeAliases(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	a.resolveGlobals(cmd)
	o, _ := a.storeOptions()
	rows, err := store.Aliases(cmd.Context(), o)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r[1]]++
	}
	var out []string
	for _, r := range rows {
		vendor, alias := r[0], r[1]
		if !textsafe.IsPlainASCII(vendor + alias) {
			continue // planted in a shared store: a shell would act on it (and it could not be typed back)
		}
		if seen[alias] > 1 { // the same alias at two vendors: VENDOR/ALIAS
			out = append(out, vendor+"/"+alias+"\t"+vendor)
		} else {
			out = append(out, alias+"\t"+vendor)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeVendors offers the catalog's vendors.
func (a *App) completeVendors(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, v := range a.Catalog {
		out = append(out, textsafe.Line(v.ID)+"\t"+textsafe.Line(v.Name))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// fixed completes a flag from a fixed list.
func fixed(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
