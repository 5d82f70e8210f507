// Package gitlabtest is a sandbox GitLab: an http.Handler that answers like
// GitLab does (gitlab.md), for unit tests, end-to-end tests, benchmarks and
// `onramp demo`. It only ever listens on loopback and only knows its own
// tokens, so no real connection can reach it by accident.
package gitlabtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape a sandbox.
type Options struct {
	// Version is what /metadata and /version answer; "17.6.1-ee" by default.
	Version string
	// CE makes it a Community Edition (no license, enterprise=false).
	CE bool
	// Legacy answers 404 on /metadata (before 15.2) and on
	// /personal_access_tokens/self (before 15.5), and offers no keyset
	// pagination (before 16.5).
	Legacy bool
	// AdminMode: admin tokens without the admin_mode scope get the
	// non-admin view of /users.
	AdminMode bool
	// Users is the number of people to seed besides root and the internal
	// and bot users; 48 by default.
	Users int
	// Latency is added to every API answer.
	Latency time.Duration
	// RateLimit is requests per minute per token; 0 turns throttling off.
	RateLimit int
	// Prefix serves the instance under a sub-path, like "/gitlab".
	Prefix string
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// OAuthUser is the user signed in to the sandbox's web pages, who
	// authorizes OAuth requests; root by default.
	OAuthUser int64
	// AutoApprove makes the OAuth consent page submit itself (a person
	// clicking Authorize), so a headless browser completes the flow.
	AutoApprove bool
	// OAuthTokenLifetime is an access token's life; 7200 s as on GitLab.
	OAuthTokenLifetime time.Duration
	// DeviceInterval is the device grant's polling interval in seconds; 5.
	DeviceInterval int
	// TokenLatency delays every /oauth/token answer.
	TokenLatency time.Duration
	// DeviceExpiresIn is a device code's life in seconds; 300.
	DeviceExpiresIn int
	// SlowDownFirstPoll answers the first device poll with slow_down.
	SlowDownFirstPoll bool
	// NoRefreshToken leaves refresh_token out of token answers, as
	// providers configured without refresh do.
	NoRefreshToken bool
	// MaxTokenLifetimeDays caps a token's expiry (365, GitLab's default).
	MaxTokenLifetimeDays int
}

// Fault makes the next Times requests under PathPrefix fail.
type Fault struct {
	PathPrefix string
	Status     int // e.g. 500 or 429
	RetryAfter int // seconds, with 429
	Drop       bool
	Times      int
	// OAuthError, with Status, answers in OAuth's error shape
	// ({"error", "error_description"}), as a token endpoint does.
	OAuthError, Description string
}

// Sandbox is the fake instance. Its methods are safe for concurrent use.
type Sandbox struct {
	opts Options

	mu      sync.Mutex
	users   []User // ordered by ID
	byID    map[int64]*User
	tokens  map[string]*Token
	groups  []Group
	faults  []Fault
	windows map[string]*rateWindow
	nextTok int64
	latency atomic.Int64 // ns; starts as Options.Latency
	// busy is the time spent answering API requests (latency included):
	// the server's own time, the floor a client's wall time is judged by.
	busy  atomic.Int64
	oauth oauthState
	// Rotation: see rotate.go.
	rotateHold                   RotateHold
	rotations, familyRevocations int
	rotateRequests               int
}

// New builds a seeded sandbox.
func New(opts Options) *Sandbox {
	if opts.Version == "" {
		opts.Version = "17.6.1-ee"
		if opts.CE {
			opts.Version = "17.6.1"
		}
	}
	if opts.Users == 0 {
		opts.Users = 48
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Prefix = strings.TrimRight(opts.Prefix, "/")
	if opts.OAuthUser == 0 {
		opts.OAuthUser = RootID
	}
	if opts.OAuthTokenLifetime == 0 {
		opts.OAuthTokenLifetime = 7200 * time.Second
	}
	if opts.DeviceInterval == 0 {
		opts.DeviceInterval = 5
	}
	if opts.DeviceExpiresIn == 0 {
		opts.DeviceExpiresIn = 300
	}
	s := &Sandbox{opts: opts, tokens: map[string]*Token{}, windows: map[string]*rateWindow{}}
	s.latency.Store(int64(opts.Latency))
	s.seed()
	s.initOAuth()
	return s
}

// ServerTime is the time spent answering API requests so far; ResetServerTime
// starts counting again.
func (s *Sandbox) ServerTime() time.Duration { return time.Duration(s.busy.Load()) }

// ResetServerTime zeroes ServerTime.
func (s *Sandbox) ResetServerTime() { s.busy.Store(0) }

// SetLatency changes the delay added to every API answer.
func (s *Sandbox) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// InjectFault queues a fault.
func (s *Sandbox) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// ServeHTTP answers as GitLab would.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	if !ok || (s.opts.Prefix != "" && path != "" && path[0] != '/') {
		http.NotFound(w, r) // outside the sub-path: some other web server
		return
	}
	w.Header().Set("X-Gitlab-Meta", `{"correlation_id":"`+correlationID()+`","version":"1"}`)
	if strings.HasPrefix(path, "/oauth/") {
		if s.fault(w, path) {
			return
		}
		if s.serveOAuth(w, r, path) {
			return
		}
	}
	api, isAPI := strings.CutPrefix(path, "/api/v4")
	if !isAPI {
		s.serveWeb(w, r, path)
		return
	}
	start := time.Now()
	defer func() { s.busy.Add(int64(time.Since(start))) }()
	if d := time.Duration(s.latency.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if s.fault(w, api) {
		return
	}
	s.route(w, r, api)
}

func (s *Sandbox) fault(w http.ResponseWriter, path string) bool {
	s.mu.Lock()
	var f *Fault
	for i := range s.faults {
		if strings.HasPrefix(path, s.faults[i].PathPrefix) && s.faults[i].Times > 0 {
			s.faults[i].Times--
			f = &s.faults[i]
			break
		}
	}
	var fault Fault
	if f != nil {
		fault = *f
	}
	s.mu.Unlock()
	if f == nil {
		return false
	}
	if fault.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if fault.Status == http.StatusTooManyRequests {
		writeThrottled(w, fault.RetryAfter, s.opts.Now())
		return true
	}
	if fault.OAuthError != "" {
		oauthError(w, fault.Status, fault.OAuthError, fault.Description)
		return true
	}
	writeJSON(w, fault.Status, map[string]string{"message": http.StatusText(fault.Status)})
	return true
}

// route dispatches an API path (below /api/v4).
func (s *Sandbox) route(w http.ResponseWriter, r *http.Request, path string) {
	tok, fail := s.authenticate(r)
	if fail != nil {
		fail(w)
		return
	}
	if !s.allow(w, tok, path) {
		return
	}
	if m := rotatePath.FindStringSubmatch(path); m != nil && r.Method == http.MethodPost {
		s.rotate(w, r, tok, m)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.Method == http.MethodDelete && path == "/personal_access_tokens/self") {
		// Every other route the sandbox serves is read-only: GitLab answers
		// another method there 405 rather than as a GET.
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, 405, map[string]string{"error": "405 Not Allowed"})
		return
	}
	switch {
	case path == "/metadata" && !s.opts.Legacy:
		if s.needScope(w, tok, "read_user", "read_api", "api") {
			s.metadata(w)
		}
	case path == "/version":
		if s.needScope(w, tok, "read_user", "read_api", "api") {
			writeJSON(w, 200, map[string]string{"version": s.opts.Version, "revision": "5e1ab4b1c0f"})
		}
	case path == "/user":
		if s.needScope(w, tok, "read_user", "read_api", "api") {
			s.currentUser(w, tok)
		}
	case path == "/personal_access_tokens/self" && !s.opts.Legacy:
		s.tokenSelf(w, r, tok)
	case strings.HasPrefix(path, "/personal_access_tokens/") && !s.opts.Legacy:
		if s.needScope(w, tok, "read_api", "api") {
			s.tokenByID(w, tok, strings.TrimPrefix(path, "/personal_access_tokens/"))
		}
	case path == "/users":
		if s.needScope(w, tok, "read_api", "api") {
			s.listUsers(w, r, tok)
		}
	case path == "/license":
		if s.needScope(w, tok, "read_api", "api") {
			s.license(w, tok)
		}
	case path == "/groups":
		if s.needScope(w, tok, "read_api", "api") {
			s.listGroups(w, r, tok)
		}
	case strings.HasPrefix(path, "/groups/") && strings.HasSuffix(path, "/billable_members"):
		if s.needScope(w, tok, "read_api", "api") {
			s.billableMembers(w, r, tok, strings.TrimSuffix(strings.TrimPrefix(path, "/groups/"), "/billable_members"))
		}
	case strings.HasPrefix(path, "/namespaces/"):
		if s.needScope(w, tok, "read_api", "api") {
			s.namespace(w, tok, strings.TrimPrefix(path, "/namespaces/"))
		}
	default:
		writeJSON(w, 404, map[string]string{"error": "404 Not Found"})
	}
}

func (s *Sandbox) metadata(w http.ResponseWriter) {
	writeJSON(w, 200, map[string]any{
		"version": s.opts.Version, "revision": "5e1ab4b1c0f",
		"kas":        map[string]any{"enabled": false, "externalUrl": nil, "version": nil},
		"enterprise": !s.opts.CE,
	})
}

// serveWeb answers the few non-API pages a person might open.
func (s *Sandbox) serveWeb(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "/-/user_settings/personal_access_tokens":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Personal access tokens · Sandbox GitLab</title><h1>Sandbox GitLab</h1>" +
			"<p>This sandbox has fixed demo tokens; see the output of <code>onramp demo</code>.</p>"))
	case path == "" || path == "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Sandbox GitLab</title><h1>Sandbox GitLab</h1>"))
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func correlationID() string {
	b := make([]byte, 13)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Start serves the sandbox on 127.0.0.1 on a free port.
func (s *Sandbox) Start() *Server {
	srv := newLoopbackServer(s)
	srv.Start()
	return s.wrap(srv, nil)
}

// StartTLS serves it over HTTPS with a certificate from its own CA, which a
// client must be given (Server.CAPEM) to trust it.
func (s *Sandbox) StartTLS() *Server {
	srv := newLoopbackServer(s)
	srv.StartTLS()
	return s.wrap(srv, pemCert(srv.Certificate().Raw))
}

func hasAnyScope(tok *Token, scopes ...string) bool {
	for _, sc := range scopes {
		if slices.Contains(tok.Scopes, sc) {
			return true
		}
	}
	return false
}
