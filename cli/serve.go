package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"charm.land/log/v2"

	"github.com/onramp-dev/onramp/internal/sshserver"
	"github.com/onramp-dev/onramp/store"
)

// hostList is a repeatable --allow-host.
type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

// serve runs the wizard over SSH for a team: one store, one set of syncs.
func (a *App) serve(args []string) error {
	fs := newFlagSet("serve", a)
	listen := fs.String("listen", "127.0.0.1:2222", "address to listen on")
	keys := fs.String("authorized-keys", filepath.Join(homeDirOf(a.Getenv), ".ssh", "authorized_keys"), "operators' public keys")
	hostKey := fs.String("host-key", "", "host key file (created ed25519, 0600, beside the store when missing)")
	maxSessions := fs.Int("max-sessions", 200, "concurrent sessions at most")
	idle := fs.Duration("idle-timeout", 30*time.Minute, "close sessions idle this long")
	connectRate := fs.Float64("connect-rate", 2, "connection attempts per second per client IP (burst 4×)")
	loginTimeout := fs.Duration("login-timeout", 20*time.Second, "close a connection that has not authenticated within this time")
	concurrency := fs.Int("concurrency", 4, "syncs the server's worker runs at once")
	rescueAfter := fs.Duration("rescue-after", time.Hour, "run a sync again when its worker has not finished it after this long (it died)")
	slice := fs.Duration("slice", 20*time.Minute, "a longer sync goes back to the queue at a checkpoint after this long")
	demo := fs.Bool("demo", false, "serve the demo: the sandbox GitLab for every session, a temporary store unless --store")
	var allow hostList
	fs.Var(&allow, "allow-host", "host pattern a typed server URL may reach (repeatable; loopback only when named)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var demoStore *store.Options
	banner := ""
	if *demo {
		sandbox, err := a.startDemo(2400, 40*time.Millisecond)
		if err != nil {
			return err
		}
		defer sandbox.close()
		demoStore, banner = &sandbox.store, sandbox.banner
		allow = append(allow, "127.0.0.1") // the sandbox
	}
	if *rescueAfter <= *slice {
		return usageErr("--rescue-after (%s) must be longer than --slice (%s)", *rescueAfter, *slice)
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
	if *hostKey == "" {
		// Beside a store file; with a shared database, in this machine's
		// config directory (each host keeps its own identity).
		*hostKey = filepath.Join(store.DefaultConfigDir(a.Getenv), "ssh_host_ed25519")
		if !store.IsPostgres(st.Location()) {
			*hostKey = filepath.Join(filepath.Dir(st.Location()), "ssh_host_ed25519")
		}
		if err := os.MkdirAll(filepath.Dir(*hostKey), 0o700); err != nil {
			return fmt.Errorf("host key directory: %w", err)
		}
	}
	logger := log.NewWithOptions(a.Err, log.Options{ReportTimestamp: true, Prefix: "onramp serve"})
	srv, err := sshserver.New(sshserver.Config{Listen: *listen, AuthorizedKeys: *keys, HostKey: *hostKey, MaxSessions: *maxSessions,
		IdleTimeout: *idle, ConnectRate: *connectRate, LoginTimeout: *loginTimeout,
		SyncConcurrency: *concurrency, RescueAfter: *rescueAfter, Slice: *slice, Policy: sshserver.Policy{Allow: allow}, Store: st, Catalog: a.Catalog, Logger: logger, Banner: banner})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	logger.Info("listening", "address", l.Addr().String(), "host_key", srv.Fingerprint, "authorized_keys", *keys, "store", st.Location())
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
