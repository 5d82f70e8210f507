// Package cli is onramp's command line. Every command takes its dependencies
// (IO streams, environment, store options, clock) through App, so each can
// be tested without a terminal. UI and messages go to stderr, data to stdout.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/catalog"
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
	// ExitConfig: the store cannot be opened as configured (its key is
	// missing or wrong) — sysexits' EX_CONFIG, so that a service manager
	// does not restart into the same failure (RestartPreventExitStatus=78).
	ExitConfig  = 78
	ExitAborted = 130
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
	// RunF, when set, receives each command's parsed options instead of
	// running it (gh's seam: tests check parsing without side effects).
	RunF func(cmd *cobra.Command, opts any) error
	// current is the command being run (for its usage line); args are the
	// arguments as given (--json is honoured for errors too).
	current *cobra.Command
	args    []string
}

// exitError carries an exit code with its message; usage, when set, is the
// command whose usage line a usage error shows.
type exitError struct {
	code  int
	err   error
	usage *cobra.Command
	// answered: the command printed its data and the code is part of the
	// answer (status: something needs attention), so --json adds no error.
	answered bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// passwordInArgs refuses a database password given in a flag: every user of
// the machine can read a process's arguments (/proc), so it is refused like
// --token.
func passwordInArgs(flag, location string) error {
	if !store.URLHasPassword(location) {
		return nil
	}
	return usageErr("%s carries the database password, which every user of this machine can read in the process list: "+
		"give the URL in ONRAMP_STORE instead, or leave the password out of it and keep it in ~/.pgpass (PGPASSFILE) or PGPASSWORD", flag)
}

// errAborted: the person stopped it (ctrl+c, no to a question); nothing
// more is said.
var errAborted = errors.New("aborted")

func abortErr() error { return &exitError{code: ExitAborted, err: errAborted} }

// Main runs onramp with args (without the program name) and returns the exit code.
func Main(args []string, a *App) int {
	a.setDefaults()
	if path := a.Getenv("ONRAMP_DEBUG_HTTP"); path != "" {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			httpx.DebugLog = f
			defer f.Close()
		}
	}
	a.args = args
	return exitCode(a.execute(args))
}

// setDefaults fills the dependencies a caller left out with the real ones.
func (a *App) setDefaults() {
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
		a.Catalog = catalog.Default()
	}
}

// exitCode maps an error to the process's exit code: the one place that does.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, store.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, store.ErrKeyMissing), errors.Is(err, store.ErrWrongKey):
		return ExitConfig
	case isCobraUsage(err):
		return ExitUsage
	}
	return ExitFailure
}

// isCobraUsage recognises the usage errors cobra makes itself (a required
// flag left out, an unknown help topic).
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "required flag") || strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "if any flags in the group")
}

// printError says what failed: "onramp: …" on stderr (with the usage line
// for a usage error), and with --json also {"error":{…}} on stdout, so a
// script never parses nothing.
func (a *App) printError(w io.Writer, err error) {
	code := exitCode(err)
	var ee *exitError
	errors.As(err, &ee)
	if a.wantsJSON() && (ee == nil || !ee.answered) {
		writeJSON(a.Out, ErrorJSON{Error: ErrorBody{Code: errorCode(err, code), ExitCode: code, Message: oneLine(err.Error())}})
	}
	if code == ExitAborted && errors.Is(err, errAborted) {
		return
	}
	fmt.Fprintln(w, "onramp: "+oneLine(err.Error()))
	if code != ExitUsage {
		return
	}
	cmd := a.current
	if ee != nil && ee.usage != nil {
		cmd = ee.usage
	}
	if cmd != nil {
		fmt.Fprintf(w, "Usage: %s\nRun '%s --help' for more.\n", cmd.UseLine(), cmd.CommandPath())
	}
}

// wantsJSON: the command line asked for JSON (read from the arguments, so
// it holds even when parsing failed before --json was reached).
func (a *App) wantsJSON() bool {
	for _, arg := range a.args {
		if arg == "--" {
			break
		}
		if arg == "--json" || arg == "--json=true" {
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

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
	if a.storeFlag {
		if err := passwordInArgs("--store", path); err != nil {
			return store.Options{}, err
		}
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
