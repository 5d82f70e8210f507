package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/onramp-dev/onramp/cli/demo"
	"github.com/spf13/cobra"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/internal/lean"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
)

// wizard opens the TUI on the configured store.
func (a *App) wizard(integrationsFirst bool) error {
	start := ui.PageVendors
	if integrationsFirst {
		start = ui.PageIntegrations
	}
	so, err := a.storeOptions()
	if err != nil {
		return err
	}
	return a.runWizard(so, ui.Deps{Catalog: a.Catalog, Start: start, Flow: a.flowDeps()})
}

// runWizard runs the Bubble Tea program: the UI on stderr (or the terminal
// itself when stderr is redirected), the aliases of
// connections made on stdout.
func (a *App) runWizard(so store.Options, d ui.Deps) error {
	d.Worker = true // due syncs run here while the wizard is open
	var opened store.Store
	if so.PassphraseCommand != "" || so.KeyCommand != "" {
		// The command may prompt on the terminal: run it before the TUI owns it.
		st, err := store.Open(context.Background(), so)
		if err != nil {
			return err
		}
		opened, d.Store = st, st
	} else {
		d.OpenStore = func(ctx context.Context) (store.Store, error) {
			st, err := store.Open(ctx, so)
			if err != nil {
				return nil, err
			}
			opened = st
			return st, nil
		}
	}
	d.OnIdle = lean.Trim
	m := ui.New(d)
	out := a.Err
	if !isTerminal(a.Err) {
		// stderr is redirected (`onramp demo 2>log`): draw on the terminal
		// itself, or say why there is nothing to draw on.
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return usageErr("the wizard draws on the terminal, and there is none here (stderr is redirected and /dev/tty cannot be opened); in scripts use `onramp connect`")
		}
		defer tty.Close()
		out = tty
	}
	// A closed terminal or a dropped SSH connection (SIGHUP) and SIGTERM end
	// the program like a quit: the sync worker stops at a checkpoint and the
	// deferred clean-ups (the demo's temporary store) run.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGHUP, syscall.SIGTERM)
	defer stop()
	opts := []tea.ProgramOption{tea.WithOutput(out), tea.WithEnvironment(a.Environ()), tea.WithContext(ctx)}
	if a.In != nil && a.In != os.Stdin {
		opts = append(opts, tea.WithInput(a.In))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	m.StopWorker()
	if opened != nil {
		opened.Close()
	}
	if ctx.Err() != nil {
		return abortErr()
	}
	if err != nil {
		if strings.Contains(err.Error(), "TTY") {
			return usageErr("the wizard needs a terminal (%v); in scripts use `onramp connect`", err)
		}
		return fmt.Errorf("wizard: %w", err)
	}
	for _, alias := range m.Created() {
		fmt.Fprintln(a.Out, alias)
	}
	if m.Aborted {
		return abortErr()
	}
	return nil
}

// wizardOptions: the wizard takes no flags of its own.
type wizardOptions struct{}

// demoOptions are `onramp demo`'s flags.
type demoOptions struct {
	Users   int
	Latency time.Duration
}

func (a *App) newDemoCmd() *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The wizard against built-in sandboxes of GitLab and GitHub (offline)",
		Long: `Run a complete onboarding offline: the wizard against a sandbox GitLab and
a sandbox GitHub on loopback, their tokens and OAuth applications shown
beside the fields. The store is temporary (removed on exit, however it
ends) unless --store names one; ONRAMP_STORE is ignored, so a demo never
writes into a real store.`,
		Example: `  onramp demo
  onramp demo --users 20000 --latency 5ms`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, o, func() error { return a.demo(o) })
		},
	}
	cmd.Flags().IntVar(&o.Users, "users", 2400, "people in the sandbox")
	cmd.Flags().DurationVar(&o.Latency, "latency", 40*time.Millisecond, "the sandbox's delay per answer (so the sync can be watched)")
	return cmd
}

func (a *App) newIntegrationsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "integrations",
		Short: "Open the wizard on the Integrations page",
		Long: `Open the wizard on the Integrations page: every connection with its state
and sync, live. Add (a), sync (s), reconnect (r) and remove (d) from there.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, &wizardOptions{}, func() error { return a.wizard(true) })
		},
	}
}

// demo runs a complete onboarding offline against the sandboxes.
func (a *App) demo(o *demoOptions) error {
	sandbox, err := a.startDemo(o.Users, o.Latency)
	if err != nil {
		return err
	}
	defer sandbox.close()
	d := ui.Deps{Catalog: a.Catalog, Banner: sandbox.banner, Flow: a.flowDeps()}
	err = a.runWizard(sandbox.store, d)
	if sandbox.temporary {
		fmt.Fprintln(a.Err, "The demo store was temporary and has been removed (use --store PATH to keep it).")
	}
	return err
}

// demoSandbox is what `demo` and `serve --demo` run against: the sandbox
// GitLab and GitHub on loopback, a catalog pointing at them (their tokens
// and OAuth applications shown beside the fields), and a temporary store unless
// --store names one, so a demo never writes into a real store.
type demoSandbox struct {
	banner    string
	store     store.Options
	temporary bool
	close     func()
}

func (a *App) startDemo(users int, latency time.Duration) (*demoSandbox, error) {
	so, err := a.storeOptions()
	if err != nil {
		return nil, err
	}
	so.Keyring = nil // a demo never touches the person's keyring
	sb := demo.Start(users, latency)
	stop := sb.Close
	d := &demoSandbox{banner: sb.Banner, close: stop}
	if !a.storeFlag {
		dir, err := os.MkdirTemp("", "onramp-demo-*")
		if err != nil {
			stop()
			return nil, err
		}
		d.temporary = true
		d.close = func() { stop(); os.RemoveAll(dir) }
		so.Path, so.ConfigDir = filepath.Join(dir, "onramp.db"), filepath.Join(dir, "config")
	}
	d.store = so
	for _, line := range sb.Credentials {
		fmt.Fprintln(a.Err, line)
	}
	a.Catalog = sb.Catalog
	return d, nil
}
