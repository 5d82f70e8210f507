// Package cli is onramp's command line. Every command takes its dependencies
// (IO streams, environment, store options, clock) through App, so each can
// be tested without a terminal. UI and messages go to stderr, data to stdout.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/store"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitNotFound = 3
	ExitAborted  = 130
)

// IO is the process's streams.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// App carries what commands depend on.
type App struct {
	IO
	Getenv  func(string) string
	Environ func() []string
	Now     func() time.Time
	Catalog flows.Catalog
	// StorePath and PassphraseCommand come from global flags or env (the
	// command also from the person's own config file; see storeOptions).
	StorePath         string
	PassphraseCommand string
	// KeyCommand prints the store's key (--key-command, ONRAMP_KEY_COMMAND).
	KeyCommand string
	// passphraseFrom names where PassphraseCommand came from.
	passphraseFrom string
	// in buffers stdin once: a secret and then pasted addresses are read
	// from the same stream.
	in *bufio.Reader
	// storeFlag is set when --store was given (the demo ignores ONRAMP_STORE
	// so it never writes sandbox connections into a real store).
	storeFlag bool
}

// exitError carries an exit code with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, args...)}
}

func abortErr() error { return &exitError{ExitAborted, errors.New("aborted")} }

// Main runs onramp with args (without the program name) and returns the exit code.
func Main(args []string, a *App) int {
	if a.Getenv == nil {
		a.Getenv = os.Getenv
	}
	if a.Environ == nil {
		a.Environ = os.Environ
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Catalog == nil {
		a.Catalog = flows.DefaultCatalog()
	}
	if path := a.Getenv("ONRAMP_DEBUG_HTTP"); path != "" {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			httpx.DebugLog = f
			defer f.Close()
		}
	}
	err := a.run(args)
	if err == nil {
		return ExitOK
	}
	code := ExitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if errors.Is(err, store.ErrNotFound) {
		code = ExitNotFound
	}
	if code != ExitAborted || ee == nil || ee.err.Error() != "aborted" {
		fmt.Fprintln(a.Err, "onramp: "+oneLine(err.Error()))
	}
	return code
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

const usage = `onramp — connect managed apps, verify them and keep their credentials safe.

Usage:
  onramp [--store PATH]                  open the wizard
  onramp demo [--store PATH]             the wizard against a built-in sandbox GitLab (offline)
  onramp integrations                    the Integrations page
  onramp connect gitlab --url URL [--alias NAME] (--token-stdin | --token-file PATH)
                        [--ca-file PATH] [--allow-http] [--json]
  onramp connect gitlab --auth oauth --url URL --client-id ID [--client-secret-stdin]
                        [--scopes "read_api read_user"] [--flow browser|device|paste] [--alias NAME]
  onramp reconnect ALIAS [--token-stdin | --token-file PATH | --flow MODE]
                                         authorize again, keeping alias and settings
  onramp sync ALIAS [--json] [--stop]    sync now and follow it (NDJSON progress with --json); --stop stops it
  onramp schedule ALIAS 6h|24h|off       how often the connection is synced again (24h by default)
  onramp worker [--concurrency 4]        run syncs in the background until SIGTERM
  onramp inventory ALIAS [--json]        the latest snapshot: users and seats
  onramp status [ALIAS] [--json]         the Integrations page in text; exit 1 when anything needs attention
  onramp list [--json]                   every stored connection
  onramp show ALIAS [--json]             one connection (secrets as fingerprints only)
  onramp remove ALIAS [--yes] [--revoke [--force]]
                                         delete a connection (--revoke: at the vendor first)
  onramp store info [--json]             where the store and its key live
  onramp store migrate [--dry-run]       upgrade a shared store (and its job queue) to this onramp
  onramp store copy --to URL             copy this store's connections into another (the team's) store
  onramp serve [--listen 127.0.0.1:2222] [--authorized-keys FILE] [--host-key FILE]
               [--allow-host PATTERN ...] [--max-sessions N] [--idle-timeout D] [--connect-rate R]
               [--login-timeout D]
                                         serve the wizard over SSH to the operators in FILE
  onramp version

Global flags (before or after the command):
  --store PATH|URL             the store file, or postgres://… for a team's shared store
                               (env ONRAMP_STORE)
  --passphrase-command CMD     derive the store's key from CMD's output (Argon2id)
                               (env ONRAMP_PASSPHRASE_COMMAND)
  --key-command CMD            CMD prints the store's key (a secrets manager)
                               (env ONRAMP_KEY_COMMAND)

Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 130 aborted.
`

// globalFlags pulls --store, --passphrase-command and --key-command out of
// args wherever they stand, so every command accepts them.
func (a *App) globalFlags(args []string) ([]string, error) {
	a.StorePath = a.Getenv("ONRAMP_STORE")
	a.KeyCommand = a.Getenv("ONRAMP_KEY_COMMAND")
	a.PassphraseCommand = a.Getenv("ONRAMP_PASSPHRASE_COMMAND")
	if a.PassphraseCommand != "" {
		a.passphraseFrom = "ONRAMP_PASSPHRASE_COMMAND"
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || (name != "store" && name != "passphrase-command" && name != "key-command") {
			rest = append(rest, arg)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, usageErr("--%s needs a value", name)
			}
			i++
			value = args[i]
		}
		switch name {
		case "store":
			a.StorePath, a.storeFlag = value, true
		case "key-command":
			a.KeyCommand = value
		default:
			a.PassphraseCommand, a.passphraseFrom = value, "--passphrase-command"
		}
	}
	return rest, nil
}

func (a *App) run(args []string) error {
	args, err := a.globalFlags(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return a.wizard(false)
	}
	cmd, rest := args[0], args[1:]
	commands := map[string]func([]string) error{
		"demo": a.demo, "integrations": func([]string) error { return a.wizard(true) },
		"connect": a.connect, "reconnect": a.reconnect, "list": a.list, "ls": a.list, "show": a.show,
		"remove": a.remove, "rm": a.remove, "sync": a.syncCmd, "inventory": a.inventory, "status": a.status, "serve": a.serve,
		"worker": a.worker, "schedule": a.schedule,
	}
	if run, ok := commands[cmd]; ok {
		return run(rest)
	}
	switch cmd {
	case "store":
		if len(rest) > 0 {
			switch rest[0] {
			case "info":
				return a.storeInfo(rest[1:])
			case "migrate":
				return a.storeMigrate(rest[1:])
			case "copy":
				return a.storeCopy(rest[1:])
			}
		}
		return usageErr("usage: onramp store info [--json] | onramp store migrate [--dry-run] | onramp store copy --to URL")
	case "version", "--version":
		fmt.Fprintln(a.Out, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(a.Out, usage)
		return nil
	}
	fmt.Fprint(a.Err, usage)
	return usageErr("unknown command %q", cmd)
}

// newFlagSet is a flag set that reports usage errors with exit code 2.
func newFlagSet(name string, a *App) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.Err)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{ExitOK, errors.New("")}
		}
		return &exitError{ExitUsage, err}
	}
	return nil
}

// stdin is the buffered standard input.
func (a *App) stdin() *bufio.Reader {
	if a.in == nil {
		a.in = bufio.NewReader(a.In)
	}
	return a.in
}

// storeOptions is how every command opens the store. The passphrase
// command comes from the flag, the environment, or else the person's own
// config file (checked to be theirs and private).
func (a *App) storeOptions() (store.Options, error) {
	path := a.StorePath
	if path == "" {
		path = store.DefaultPath(a.Getenv)
	}
	o := store.Options{
		Path:              path,
		ConfigDir:         store.DefaultConfigDir(a.Getenv),
		PassphraseCommand: a.PassphraseCommand,
		PassphraseFrom:    a.passphraseFrom,
		KeyCommand:        a.KeyCommand,
		Keyring:           store.SystemKeyring(a.Getenv),
	}
	if o.PassphraseCommand == "" {
		cmd, err := store.ReadPassphraseCommand(o.ConfigDir)
		if err != nil {
			return o, err
		}
		o.PassphraseCommand, o.PassphraseFrom = cmd, store.PassphraseCommandFile(o.ConfigDir)
	}
	return o, nil
}

func (a *App) openStore(ctx context.Context) (store.Backend, error) {
	o, err := a.storeOptions()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, o)
}

// isTerminal reports whether r is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}
