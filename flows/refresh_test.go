package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// TestMain lets the refresh race re-run this test binary as helper processes.
func TestMain(m *testing.M) {
	if mode := os.Getenv("ONRAMP_REFRESH_HELPER"); mode != "" {
		os.Exit(refreshHelper(mode))
	}
	if os.Getenv("ONRAMP_SYNC_HELPER") != "" {
		os.Exit(syncHelper())
	}
	os.Exit(m.Run())
}

// refreshHelper is one process of the race: G goroutines wait for the same
// start instant, get a token and use it against the API.
func refreshHelper(mode string) int {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Path: os.Getenv("ONRAMP_TEST_STORE"), ConfigDir: os.Getenv("ONRAMP_TEST_CONFIG")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer st.Close()
	id, api := os.Getenv("ONRAMP_TEST_ID"), os.Getenv("ONRAMP_TEST_API")
	start, _ := strconv.ParseInt(os.Getenv("ONRAMP_TEST_START"), 10, 64)
	hc, _ := httpx.New(httpx.Options{})
	var wg sync.WaitGroup
	failed := make(chan error, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(time.Unix(0, start)))
			var token string
			switch mode {
			case "safe", "early":
				tok, err := (&TokenSource{Store: st, ID: id, Vendor: gitlabVendor, HTTP: hc}).TokenContext(ctx)
				if err != nil {
					failed <- err
					return
				}
				token = tok.AccessToken
			case "naive":
				tok, err := NaiveTokenSource(ctx, st, gitlabVendor, id, hc)
				if err != nil {
					failed <- err
					return
				}
				token = tok.AccessToken
			}
			status, err := callUser(hc, api, token)
			if mode == "early" && err == nil && status == http.StatusUnauthorized {
				// GitLab ended the token before our clock said so: renew the
				// rejected one, under the same guard, and try once more.
				tok, rerr := (&TokenSource{Store: st, ID: id, Vendor: gitlabVendor, HTTP: hc}).Renew(ctx, token)
				if rerr != nil {
					failed <- rerr
					return
				}
				status, err = callUser(hc, api, tok.AccessToken)
			}
			if err != nil {
				failed <- err
			} else if status != 200 {
				failed <- fmt.Errorf("API answered %d", status)
			}
		}()
	}
	wg.Wait()
	close(failed)
	code := 0
	for err := range failed {
		fmt.Fprintln(os.Stderr, "helper:", err)
		code = 1
	}
	return code
}

func callUser(hc *http.Client, api, token string) (int, error) {
	req, _ := http.NewRequest("GET", api+"/user", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

type raceSetup struct {
	srv   *gitlabtest.Server
	opts  store.Options
	st    store.Backend
	id    string
	procs int
}

func newRace(t *testing.T) *raceSetup {
	dir := t.TempDir()
	return newRaceOn(t, store.Options{Path: filepath.Join(dir, "s.db"), ConfigDir: filepath.Join(dir, "cfg")}, 30*time.Millisecond)
}

// newRaceOn sets the race up on a given store (a file, or PostgreSQL) with
// a token endpoint that takes tokenLatency to answer.
func newRaceOn(t *testing.T, opts store.Options, tokenLatency time.Duration) *raceSetup {
	srv := gitlabtest.New(gitlabtest.Options{TokenLatency: tokenLatency}).Start()
	t.Cleanup(srv.Close)
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	access, refresh := srv.Sandbox.IssueTokens(gitlabtest.DemoApp.UID, gitlabtest.RootID, []string{"read_api", "read_user"})
	past := time.Now().Add(-time.Minute)
	c := &store.Connection{Vendor: "gitlab", Alias: "oauth", BaseURL: srv.BaseURL, AuthMethod: store.AuthOAuth,
		ClientID: gitlabtest.DemoApp.UID, Scopes: []string{"read_api", "read_user"}, AccessExpiresAt: &past}
	c.SetSecret(store.SecretAccessToken, store.Secret(access))
	c.SetSecret(store.SecretRefreshToken, store.Secret(refresh))
	c.SetSecret(store.SecretClientSecret, store.Secret(gitlabtest.DemoApp.Secret))
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	srv.Sandbox.ExpireAccessTokens()
	return &raceSetup{srv: srv, opts: opts, st: st, id: c.ID, procs: 4}
}

// run starts the helper processes at one instant and waits for them.
func (r *raceSetup) run(t *testing.T, mode string) []error {
	start := time.Now().Add(700 * time.Millisecond).UnixNano()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range r.procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ONRAMP_REFRESH_HELPER="+mode, "ONRAMP_TEST_STORE="+r.opts.Path,
			"ONRAMP_TEST_CONFIG="+r.opts.ConfigDir, "ONRAMP_TEST_ID="+r.id, "ONRAMP_TEST_API="+r.srv.BaseURL+"/api/v4",
			fmt.Sprintf("ONRAMP_TEST_START=%d", start))
		var out strings.Builder
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	var errs []error
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("process %d: %v: %s", i, err, outs[i]))
		}
	}
	return errs
}

// TestRefreshRace: 4 processes × 8 goroutines hit an expired connection at
// once, twice over: exactly one refresh per expiry, no refresh token spent
// twice, every API call succeeds.
func TestRefreshRace(t *testing.T) {
	r := newRace(t)
	for round := 1; round <= 2; round++ {
		if errs := r.run(t, "safe"); len(errs) > 0 {
			t.Fatalf("round %d: %v", round, errs)
		}
		if got := r.srv.Sandbox.Refreshes(); got != round {
			t.Fatalf("round %d: %d refreshes, want %d", round, got, round)
		}
		if reuses := r.srv.Sandbox.RefreshReuses(); reuses != 0 {
			t.Fatalf("round %d: %d refresh tokens spent twice", round, reuses)
		}
		// Expire again for the next round.
		past := time.Now().Add(-time.Minute)
		r.st.Update(context.Background(), r.id, func(c *store.Connection) error { c.AccessExpiresAt = &past; return nil })
		r.srv.Sandbox.ExpireAccessTokens()
	}
	c, _ := r.st.Get(context.Background(), r.id)
	if c.State != store.StateConnected {
		t.Fatalf("state %s: %s", c.State, c.StateReason)
	}
}

// TestNaiveRefreshSpendsTokensTwice is the negative control: the same race
// with x/oauth2's token source over the store spends refresh tokens twice.
// If this ever passes with zero reuses, the race test above proves nothing.
func TestNaiveRefreshSpendsTokensTwice(t *testing.T) {
	r := newRace(t)
	r.run(t, "naive") // failures expected: that is the point
	if reuses := r.srv.Sandbox.RefreshReuses(); reuses == 0 {
		t.Fatalf("the naive token source did not reuse a refresh token (%d refreshes): the race is not exercised", r.srv.Sandbox.Refreshes())
	}
}

func TestRefreshDeadGrantNeedsReconnect(t *testing.T) {
	r := newRace(t)
	ctx := context.Background()
	c, _ := r.st.Get(ctx, r.id)
	// Revoke the grant in GitLab (as a user would under Applications).
	resp, err := http.PostForm(r.srv.BaseURL+"/oauth/revoke", map[string][]string{"client_id": {gitlabtest.DemoApp.UID},
		"client_secret": {gitlabtest.DemoApp.Secret}, "token": {c.Secret(store.SecretRefreshToken).Reveal()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ts := &TokenSource{Store: r.st, ID: r.id, Vendor: gitlabVendor}
	if _, err := ts.TokenContext(ctx); !errors.Is(err, ErrNeedsReconnect) {
		t.Fatalf("dead grant: %v", err)
	}
	c, _ = r.st.Get(ctx, r.id)
	if c.State != store.StateNeedsReconnect || !strings.Contains(c.StateReason, "reconnect") {
		t.Fatalf("state %s %q", c.State, c.StateReason)
	}
	if c.Secret(store.SecretRefreshToken) == "" {
		t.Fatal("refresh token deleted")
	}
}

func TestRefreshTransientFailureKeepsToken(t *testing.T) {
	r := newRace(t)
	ctx := context.Background()
	before, _ := r.st.Get(ctx, r.id)
	r.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/oauth/token", Status: 502})
	ts := &TokenSource{Store: r.st, ID: r.id, Vendor: gitlabVendor}
	if _, err := ts.TokenContext(ctx); err == nil || errors.Is(err, ErrNeedsReconnect) {
		t.Fatalf("502: %v", err)
	}
	after, _ := r.st.Get(ctx, r.id)
	if after.Secret(store.SecretRefreshToken) != before.Secret(store.SecretRefreshToken) || after.State != store.StateConnected {
		t.Fatal("a transient failure changed the stored token")
	}
	tok, err := ts.TokenContext(ctx)
	if err != nil || tok.AccessToken == before.Secret(store.SecretAccessToken).Reveal() {
		t.Fatalf("retry: %v", err)
	}
}

// pgRace is the race on a PostgreSQL store, shared as a team shares one.
func pgRace(t *testing.T, tokenLatency time.Duration) *raceSetup {
	return newRaceOn(t, store.Options{Path: pgtest.Database(t), ConfigDir: filepath.Join(t.TempDir(), "cfg")}, tokenLatency)
}

// TestRefreshRacePostgres: the same race on PostgreSQL — 4 processes × 8
// goroutines after expiry: one refresh, no refresh token spent twice.
func TestRefreshRacePostgres(t *testing.T) {
	r := pgRace(t, 30*time.Millisecond)
	if errs := r.run(t, "safe"); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, reuses := r.srv.Sandbox.Refreshes(), r.srv.Sandbox.RefreshReuses(); got != 1 || reuses != 0 {
		t.Fatalf("%d refreshes, %d reuses", got, reuses)
	}
}

// A refresh holds no transaction: while the token endpoint takes 2 s, an
// unrelated writer (a new connection) is not delayed — on either database.
func TestRefreshDoesNotBlockOtherWriters(t *testing.T) {
	for name, r := range map[string]func(*testing.T) *raceSetup{
		"sqlite": func(t *testing.T) *raceSetup {
			dir := t.TempDir()
			return newRaceOn(t, store.Options{Path: filepath.Join(dir, "s.db"), ConfigDir: filepath.Join(dir, "cfg")}, 2*time.Second)
		},
		"postgres": func(t *testing.T) *raceSetup { return pgRace(t, 2*time.Second) },
	} {
		t.Run(name, func(t *testing.T) {
			r := r(t)
			done := make(chan error, 1)
			go func() {
				_, err := (&TokenSource{Store: r.st, ID: r.id, Vendor: gitlabVendor}).TokenContext(context.Background())
				done <- err
			}()
			time.Sleep(300 * time.Millisecond) // the refresh is waiting for the token endpoint
			start := time.Now()
			other := &store.Connection{Vendor: "gitlab", Alias: "other", BaseURL: "https://gitlab.example.com", AuthMethod: store.AuthToken}
			other.SetSecret(store.SecretToken, "glpat-other-0123456789")
			if err := r.st.Create(context.Background(), other); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Fatalf("an unrelated write waited %s behind a refresh", d)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// gitlabVendor is GitLab's connector, which the token sources of these
// tests renew with.
var gitlabVendor = gitlab.Card(gitlab.CardOptions{}).Connector

// NaiveTokenSource is how tools usually do it — x/oauth2's own token source
// over the stored token, persisting afterwards — kept as the negative
// control of the refresh race test: across processes it spends refresh
// tokens twice, which locks GitLab connections out.
func NaiveTokenSource(ctx context.Context, st store.Store, vendor Connector, id string, hc *http.Client) (*oauth2.Token, error) {
	c, err := st.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	svc, err := (&TokenSource{Vendor: vendor}).service(c)
	if err != nil {
		return nil, err
	}
	tok, err := svc.Config.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc), tokenWithRefresh(c)).Token()
	if err != nil {
		return nil, err
	}
	_, err = st.Update(ctx, id, func(c *store.Connection) error {
		c.SetSecret(store.SecretAccessToken, store.Secret(tok.AccessToken))
		c.SetSecret(store.SecretRefreshToken, store.Secret(tok.RefreshToken))
		exp := tok.Expiry
		c.AccessExpiresAt = &exp
		return nil
	})
	return tok, err
}

func tokenWithRefresh(c *store.Connection) *oauth2.Token {
	t := tokenOf(c)
	t.RefreshToken = c.Secret(store.SecretRefreshToken).Reveal()
	return t
}
