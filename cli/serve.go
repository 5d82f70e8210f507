package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"charm.land/log/v2"
	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/sshserver"
	"github.com/onramp-dev/onramp/store"
)

// serveOptions are `onramp serve`'s flags.
type serveOptions struct {
	Listen, AuthorizedKeys, HostKey string
	MaxSessions, Concurrency        int
	Idle, LoginTimeout              time.Duration
	RescueAfter, Slice, Lease       time.Duration
	ConnectRate                     float64
	Demo                            bool
	Allow                           []string
	Metrics                         string
	Notify                          notifyOptions
}

func (a *App) newServeCmd() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the wizard over SSH to the operators in authorized_keys",
		Long: `Serve the wizard over SSH: every operator whose key is in --authorized-keys
gets their own session on one shared store, and the server's worker runs
the syncs. It listens on 127.0.0.1 by default; use --listen :2222 for a
team. --demo serves the sandboxes (GitLab, GitHub) to every session (offline demos).`,
		Example: `  onramp serve --listen :2222
  ssh -p 2222 onramp.internal
  onramp serve --demo --listen :2222`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, o, func() error { return a.serve(o) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:2222", "`ADDR` to listen on (:2222 for every interface)")
	f.StringVar(&o.AuthorizedKeys, "authorized-keys", filepath.Join(homeDirOf(a.Getenv), ".ssh", "authorized_keys"), "`FILE` of the operators' public keys")
	f.StringVar(&o.HostKey, "host-key", "", "host key `FILE`, created ed25519 0600 when missing (default: beside a store file; with a postgres:// store, ssh_host_ed25519 in the config directory, each host its own)")
	f.IntVar(&o.MaxSessions, "max-sessions", 200, "concurrent sessions at most")
	f.DurationVar(&o.Idle, "idle-timeout", 30*time.Minute, "close sessions idle this long")
	f.Float64Var(&o.ConnectRate, "connect-rate", 2, "connection attempts per second per client IP (burst 4×)")
	f.DurationVar(&o.LoginTimeout, "login-timeout", 20*time.Second, "close a connection that has not authenticated within this time")
	f.IntVar(&o.Concurrency, "concurrency", 4, "syncs the server's worker runs at once; 0 runs no worker (onramp worker processes run the syncs)")
	f.DurationVar(&o.RescueAfter, "rescue-after", time.Hour, "run a sync again when a live worker has not finished it after this long (it is stuck)")
	f.DurationVar(&o.Slice, "slice", 20*time.Minute, "a longer sync goes back to the queue at a checkpoint after this long")
	f.DurationVar(&o.Lease, "lease", 15*time.Second, "this process's syncs are taken over when it has not renewed its lease for this long (it died or froze)")
	f.BoolVar(&o.Demo, "demo", false, "serve the demo: the sandboxes (GitLab, GitHub) for every session, a temporary store unless --store")
	f.StringArrayVar(&o.Allow, "allow-host", nil, "host `PATTERN` a typed server URL may reach (repeatable; loopback only when named)")
	f.StringVar(&o.Metrics, "metrics", "", "serve Prometheus metrics, /healthz and /readyz on `ADDR` (a bare port listens on 127.0.0.1 only)")
	o.Notify.flags(f)
	cmd.MarkFlagFilename("authorized-keys")
	cmd.MarkFlagFilename("host-key")
	return cmd
}

// serve runs the wizard over SSH for a team: one store, one set of syncs.
func (a *App) serve(o *serveOptions) error {
	allow := o.Allow
	var demoStore *store.Options
	banner := ""
	if o.Demo {
		sandbox, err := a.startDemo(2400, 40*time.Millisecond)
		if err != nil {
			return err
		}
		defer sandbox.close()
		demoStore, banner = &sandbox.store, sandbox.banner
		allow = append(allow, "127.0.0.1") // the sandbox
	}
	if o.Concurrency < 0 {
		return usageErr("--concurrency must be 0 (no worker here) or more, not %d", o.Concurrency)
	}
	if o.RescueAfter <= o.Slice {
		return usageErr("--rescue-after (%s) must be longer than --slice (%s)", o.RescueAfter, o.Slice)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var st store.Backend
	var err error
	if demoStore != nil {
		st, err = store.Open(ctx, *demoStore)
	} else {
		st, err = a.openStore(ctx)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if o.HostKey == "" {
		o.HostKey = hostKeyPath(a.Getenv, st.Location())
		if err := os.MkdirAll(filepath.Dir(o.HostKey), 0o700); err != nil {
			return fmt.Errorf("host key directory: %w", err)
		}
	}
	logger := log.NewWithOptions(a.Err, log.Options{ReportTimestamp: true, Prefix: "onramp serve"})
	// wish's Bubble Tea middleware logs through charm's default logger, at
	// ERROR, every session whose program ended because its connection did
	// (an operator logging out): that is the "disconnect" line already.
	log.SetDefault(log.NewWithOptions(dropLines{w: a.Err, drop: "program was killed: context canceled"}, log.Options{ReportTimestamp: true, Prefix: "onramp serve"}))
	if err := a.registerNotify(ctx, &o.Notify, st, logger); err != nil {
		return err
	}
	mon, err := startMonitor(ctx, o.Metrics, st, logger)
	if err != nil {
		return err
	}
	cfg := sshserver.Config{Listen: o.Listen, AuthorizedKeys: o.AuthorizedKeys, HostKey: o.HostKey, MaxSessions: o.MaxSessions,
		IdleTimeout: o.Idle, ConnectRate: o.ConnectRate, LoginTimeout: o.LoginTimeout,
		SyncConcurrency: o.Concurrency, RescueAfter: o.RescueAfter, Slice: o.Slice, Lease: o.Lease, Policy: sshserver.Policy{Allow: allow},
		Store: st, Catalog: a.Catalog, Logger: logger, Banner: banner, OnServing: mon.started}
	if obs := mon.observer(); obs != nil {
		cfg.Observer = obs
	}
	srv, err := sshserver.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	logger.Info("listening", "address", l.Addr().String(), "host_key", srv.Fingerprint, "host_key_file", o.HostKey, "authorized_keys", o.AuthorizedKeys,
		"store", st.Location(), "sync_workers", o.Concurrency)
	if o.Concurrency == 0 {
		logger.Info("no worker here (--concurrency 0): syncs wait for an `onramp worker` on this store")
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("stopping: telling sessions, stopping syncs at their checkpoints")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	<-done
	logger.Info("stopped")
	return nil
}

func homeDirOf(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// dropLines writes every line but those that contain drop (one log record
// is one write).
type dropLines struct {
	w    io.Writer
	drop string
}

func (d dropLines) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(d.drop)) {
		return len(p), nil
	}
	return d.w.Write(p)
}
