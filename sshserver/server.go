// Package sshserver serves the wizard over SSH to many operators at once,
// with one store, one set of background syncs and one log for all of them.
package sshserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/log/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/ratelimiter"
	rm "charm.land/wish/v2/recover"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
)

// Config configures a server.
type Config struct {
	Listen         string
	AuthorizedKeys string
	HostKey        string
	MaxSessions    int
	IdleTimeout    time.Duration
	// ConnectRate is connection attempts per second allowed per client IP
	// (with a burst of four times that); 2 by default.
	ConnectRate float64
	// LoginTimeout bounds the SSH handshake and authentication; 20 s by
	// default.
	LoginTimeout time.Duration
	// MaxUnauthenticatedPerIP caps one client IP's connections that are
	// waiting or in their handshake (8); MaxUnauthenticated is how many
	// handshakes run at once (64), and MaxWaiting how many more wait for
	// one before the SSH banner (1,024) — beyond them the listen backlog
	// holds new connections. None is refused for being one too many.
	MaxUnauthenticatedPerIP, MaxUnauthenticated, MaxWaiting int
	// SyncConcurrency is how many syncs the server's worker runs at once;
	// 0 runs no worker (a split deployment: `onramp worker`s run them).
	SyncConcurrency int
	// RescueAfter, Slice and Lease: see flows.Syncer.
	RescueAfter, Slice, Lease time.Duration
	Policy                    Policy
	Store                     store.Backend
	Catalog                   flows.Catalog
	Logger                    *log.Logger
	// Banner is an extra header line in every session (serve --demo).
	Banner string
	// Observer, when set, counts sessions, refused logins and what the
	// server's syncs do (--metrics).
	Observer Observer
	// OnServing is called once the server listens and its worker (nil with
	// SyncConcurrency 0) runs.
	OnServing func(store.Worker)
}

// Observer is told what the server does, for metrics.
type Observer interface {
	flows.SyncObserver
	SessionOpened()
	SessionClosed()
	LoginRefused(reason string)
}

// refused counts a refused login when the server is observed.
func (s *Server) refused(reason string) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.LoginRefused(reason)
	}
}

// Server is a running `onramp serve`.
type Server struct {
	cfg    Config
	ssh    *ssh.Server
	store  *loggingStore
	syncer *flows.Syncer
	// worker runs the team's syncs in this process; they go on when the
	// session that asked for one ends.
	worker store.Worker
	active atomic.Int32
	// admission queues logins (see admission.go).
	admission *admission
	// stopping: Shutdown began; sessions ending now are told why.
	stopping atomic.Bool
	mu       sync.Mutex
	programs map[*tea.Program]struct{}
	workerID string
	// Fingerprint is the host key's SHA256 fingerprint, for operators to check.
	Fingerprint string
}

type ctxKey string

const (
	keyComment     ctxKey = "comment"
	keyFingerprint ctxKey = "fingerprint"
	keyPreauth     ctxKey = "preauth"
)

// New builds a server: public-key authentication against the authorized
// keys file only (no password, no keyboard-interactive; a missing or empty
// file lets nobody in), and a persistent ed25519 host key, created 0600.
func New(cfg Config) (*Server, error) {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 200
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = 20 * time.Second
	}
	if cfg.MaxUnauthenticatedPerIP <= 0 {
		cfg.MaxUnauthenticatedPerIP = 8
	}
	if cfg.MaxUnauthenticated <= 0 {
		cfg.MaxUnauthenticated = 64
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = 1024
	}
	keys, err := readAuthorizedKeys(cfg.AuthorizedKeys)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no public key: nobody could log in; add the operators' keys first", cfg.AuthorizedKeys)
	}
	s := &Server{cfg: cfg, programs: map[*tea.Program]struct{}{}, workerID: flows.WorkerID("serve")}
	s.store = &loggingStore{Backend: cfg.Store, log: cfg.Logger}
	s.syncer = &flows.Syncer{Store: s.store, Catalog: cfg.Catalog, NewHTTP: s.newHTTP, RescueAfter: cfg.RescueAfter, Slice: cfg.Slice, Lease: cfg.Lease}
	if cfg.Observer != nil {
		s.syncer.Observer = cfg.Observer
	}

	if cfg.ConnectRate <= 0 {
		cfg.ConnectRate = 2
	}
	limiter := ratelimiter.NewRateLimiter(rate.Limit(cfg.ConnectRate), int(4*cfg.ConnectRate)+1, 4096)
	s.admission = newAdmission(cfg.MaxUnauthenticatedPerIP, cfg.MaxUnauthenticated, cfg.MaxWaiting, cfg.LoginTimeout)
	srv, err := wish.NewServer(
		wish.WithAddress(cfg.Listen),
		// Before authentication, a connection is bounded in time (the login
		// timeout, waiting included) and in number (per IP; handshakes at
		// once): silent or slow clients cannot hold the descriptors
		// operators need, and a burst of operators waits in line.
		func(srv *ssh.Server) error { srv.HandshakeTimeout = cfg.LoginTimeout; return nil },
		ssh.WrapConn(func(ctx ssh.Context, conn net.Conn) net.Conn {
			c, ok := conn.(*admittedConn)
			if !ok { // not from Serve's listener (a test's own)
				return conn
			}
			if reason := c.wait(); reason != "" {
				cfg.Logger.Debug("connection closed before login", "reason", reason, "remote", conn.RemoteAddr().String())
				s.refused(reason)
				return nil
			}
			ctx.SetValue(keyPreauth, c)
			return c
		}),
		wish.WithHostKeyPath(cfg.HostKey),
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithIdleTimeout(cfg.IdleTimeout),
		// The last middleware given is the outermost: a connection meets
		// the log first, then the per-IP rate limit, the session limit, the
		// terminal check, and finally the wizard, whose panics end only its
		// own session.
		wish.WithMiddleware(
			rm.MiddlewareWithLogger(cfg.Logger, bm.MiddlewareWithProgramHandler(s.program)),
			s.sayWhyItEnded,
			requirePTY,
			s.limitSessions,
			ratelimiter.Middleware(limiter),
			s.logSessions,
		),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	os.Chmod(cfg.HostKey, 0o600)
	s.ssh = srv
	s.Fingerprint, err = hostKeyFingerprint(cfg.HostKey)
	return s, err
}

// newHTTP is every client the server makes: typed addresses go through the
// policy after DNS resolution.
func (s *Server) newHTTP(o httpx.Options) (*http.Client, error) {
	o.Guard = s.cfg.Policy.Check
	return httpx.New(o)
}

// authorize accepts a key listed in the authorized keys file, read afresh
// each time so operators can be added without a restart.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	keys, err := readAuthorizedKeys(s.cfg.AuthorizedKeys)
	if err != nil {
		s.cfg.Logger.Error("authorized keys unreadable", "err", err)
		return false
	}
	fp := gossh.FingerprintSHA256(key)
	for _, k := range keys {
		if ssh.KeysEqual(key, k.key) {
			ctx.SetValue(keyComment, k.comment)
			ctx.SetValue(keyFingerprint, fp)
			if c, ok := ctx.Value(keyPreauth).(*admittedConn); ok {
				c.authenticate() // no longer counted against the caps
			}
			return true
		}
	}
	s.cfg.Logger.Warn("refused key", "fingerprint", fp, "remote", ctx.RemoteAddr().String())
	s.refused("key")
	return false
}

type authorizedKey struct {
	key     gossh.PublicKey
	comment string
}

func readAuthorizedKeys(path string) ([]authorizedKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	var out []authorizedKey
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, comment, _, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			continue
		}
		out = append(out, authorizedKey{k, textsafe.Truncate(comment, 80)})
	}
	return out, nil
}

func hostKeyFingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return "", fmt.Errorf("host key %s: %w", path, err)
	}
	return gossh.FingerprintSHA256(signer.PublicKey()), nil
}

// operator names the session's key: fingerprint and comment.
func operator(sess ssh.Session) (fp, comment string) {
	fp, _ = sess.Context().Value(keyFingerprint).(string)
	comment, _ = sess.Context().Value(keyComment).(string)
	return fp, comment
}

// program makes the session's own wizard: its PTY size, resize events and
// colour profile (bm.MakeOptions), the shared store and syncs, and the
// operator's key as the actor of every change.
func (s *Server) program(sess ssh.Session) *tea.Program {
	fp, comment := operator(sess)
	actor := "ssh:" + fp
	if comment != "" {
		actor = comment + " (ssh:" + fp + ")"
	}
	m := ui.New(ui.Deps{
		Catalog:  s.cfg.Catalog,
		Store:    s.store,
		Flow:     flows.Deps{Remote: true, Actor: actor, NewHTTP: s.newHTTP},
		WorkerID: s.workerID,
		Banner:   s.cfg.Banner,
	})
	// The process's signals are the server's to handle (a graceful stop),
	// not every session's.
	p := tea.NewProgram(m, append(bm.MakeOptions(sess), tea.WithContext(sess.Context()), tea.WithoutSignalHandler(),
		tea.WithFilter(sessionFilter))...)
	s.mu.Lock()
	s.programs[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-sess.Context().Done()
		s.mu.Lock()
		delete(s.programs, p)
		s.mu.Unlock()
	}()
	return p
}

// sessionFilter adapts a session's events (it replaces wish's own filter,
// whose job it keeps): a client cannot suspend the server's process, so
// suspend is answered with resume; and a client whose terminal has no size
// (ssh -tt fed by a pipe reports 0×0) is drawn at 80×24 instead of never.
func sessionFilter(_ tea.Model, msg tea.Msg) tea.Msg {
	switch msg := msg.(type) {
	case tea.SuspendMsg:
		return tea.ResumeMsg{}
	case tea.WindowSizeMsg:
		if msg.Width <= 0 {
			msg.Width = 80
		}
		if msg.Height <= 0 {
			msg.Height = 24
		}
		return msg
	}
	return msg
}

// sayWhyItEnded leaves the reason on the operator's terminal when the
// server ends the session: the wizard's own notice goes with its screen
// when the program restores the terminal, and "Connection closed" alone
// says nothing.
func (s *Server) sayWhyItEnded(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		next(sess)
		if s.stopping.Load() {
			wish.Println(sess, "onramp: the server is stopping. Everything saved is kept; syncs resume when it is back.")
		}
	}
}

// requirePTY explains what to do to a session without a terminal.
func requirePTY(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok {
			wish.Println(sess, "onramp is an interactive wizard and needs a terminal: connect with ssh -t (scripts: run `onramp connect` on the server).")
			sess.Exit(1)
			return
		}
		next(sess)
	}
}

// limitSessions refuses sessions beyond the limit with a one-line reason.
func (s *Server) limitSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if n := s.active.Add(1); int(n) > s.cfg.MaxSessions {
			s.active.Add(-1)
			wish.Println(sess, fmt.Sprintf("onramp: this server is at its limit of %d sessions; try again in a minute.", s.cfg.MaxSessions))
			s.cfg.Logger.Warn("session refused: limit", "limit", s.cfg.MaxSessions, "remote", sess.RemoteAddr().String())
			s.refused("session_limit")
			sess.Exit(1)
			return
		}
		defer s.active.Add(-1)
		if obs := s.cfg.Observer; obs != nil {
			obs.SessionOpened()
			defer obs.SessionClosed()
		}
		next(sess)
	}
}

// logSessions records connects and disconnects with the operator's key.
func (s *Server) logSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		fp, comment := operator(sess)
		start := time.Now()
		pty, _, _ := sess.Pty()
		s.cfg.Logger.Info("connect", "user", sess.User(), "fingerprint", fp, "key", comment, "remote", sess.RemoteAddr().String(),
			"term", pty.Term, "size", fmt.Sprintf("%dx%d", pty.Window.Width, pty.Window.Height))
		next(sess)
		s.cfg.Logger.Info("disconnect", "user", sess.User(), "fingerprint", fp, "duration", time.Since(start).Round(time.Millisecond))
	}
}

// Serve runs the sync worker and accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if s.cfg.SyncConcurrency > 0 {
		w, err := s.syncer.RunWorker(context.Background(), store.WorkerConfig{ID: s.workerID, Concurrency: s.cfg.SyncConcurrency,
			PollInterval: 200 * time.Millisecond, Logger: slog.New(s.cfg.Logger)})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.worker = w
		s.mu.Unlock()
	}
	if s.cfg.OnServing != nil {
		s.mu.Lock()
		w := s.worker
		s.mu.Unlock()
		s.cfg.OnServing(w)
	}
	err := s.ssh.Serve(s.admission.listener(l))
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.programs)
}

// Shutdown stops accepting, tells every session, waits for them (bounded),
// stops syncs at their checkpoints; the caller then closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	s.mu.Lock()
	for p := range s.programs {
		go p.Send(ui.ServerStoppingMsg{})
	}
	s.mu.Unlock()
	// Give the sessions the moment they need to show the notice and end
	// (closing the listener ends every connection at once).
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && s.open() > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	err := s.ssh.Shutdown(ctx)
	s.mu.Lock()
	w := s.worker
	s.mu.Unlock()
	if w != nil { // syncs stop at their checkpoints and go back to the queue
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		w.Stop(wctx)
		cancel()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		s.ssh.Close()
	}
	return err
}
