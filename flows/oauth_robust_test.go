package flows

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// endEarly makes the race's connection look fresh by onramp's clock while
// GitLab has already ended its access token (clock skew, early expiry).
func (r *raceSetup) endEarly(t *testing.T) {
	t.Helper()
	later := time.Now().Add(time.Hour)
	if _, err := r.st.Update(context.Background(), r.id, func(c *store.Connection) error { c.AccessExpiresAt = &later; return nil }); err != nil {
		t.Fatal(err)
	}
	r.srv.Sandbox.ExpireAccessTokens()
}

// TestRenewTokenEndedEarlyRace: 4 processes × 8 goroutines hold a token
// GitLab answers 401 "Token is expired" to, before onramp's clock says so.
// Each renews the rejected token once and retries: exactly one refresh per
// early end, none spent twice, every call succeeds, twice over.
func TestRenewTokenEndedEarlyRace(t *testing.T) {
	r := newRace(t)
	for round := 1; round <= 2; round++ {
		r.endEarly(t)
		if errs := r.run(t, "early"); len(errs) > 0 {
			t.Fatalf("round %d: %v", round, errs)
		}
		if got := r.srv.Sandbox.Refreshes(); got != round {
			t.Fatalf("round %d: %d refreshes, want %d", round, got, round)
		}
		if reuses := r.srv.Sandbox.RefreshReuses(); reuses != 0 {
			t.Fatalf("round %d: %d refresh tokens spent twice", round, reuses)
		}
	}
}

// oauthSyncEnv is a sync environment whose connection is OAuth, with a
// token GitLab has ended although the stored expiry is an hour away.
func oauthSyncEnv(t *testing.T) (*raceSetup, *Syncer) {
	r := newRace(t)
	r.endEarly(t)
	return r, &Syncer{Store: r.st, Catalog: catalog.Default()}
}

func TestSyncRenewsATokenGitLabEndedEarly(t *testing.T) {
	r, s := oauthSyncEnv(t)
	for i := 1; i <= 3; i++ {
		run, err := s.Sync(context.Background(), r.id, nil)
		if err != nil || run.Status != store.RunSucceeded {
			t.Fatalf("sync %d: %v", i, err)
		}
		if got := r.srv.Sandbox.Refreshes(); got != i {
			t.Fatalf("sync %d: %d refreshes", i, got)
		}
		r.endEarly(t)
	}
	if reuses := r.srv.Sandbox.RefreshReuses(); reuses != 0 {
		t.Fatalf("%d refresh tokens spent twice", reuses)
	}
	c, _ := r.st.Get(context.Background(), r.id)
	if c.State != store.StateConnected {
		t.Fatalf("state %s: %s", c.State, c.StateReason)
	}
}

// A renewed token GitLab still rejects: the connection needs reconnecting,
// in GitLab's words, after exactly one renewal — no retry loop.
func TestSyncRejectedAfterRenewalNeedsReconnect(t *testing.T) {
	r, s := oauthSyncEnv(t)
	r.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 401, OAuthError: "invalid_token",
		Description: "Token was revoked. You have to re-authorize from the user.", Times: 2})
	run, err := s.Sync(context.Background(), r.id, nil)
	if err == nil || run.Status != store.RunFailed || run.Retries != 0 {
		t.Fatalf("sync: %v %+v", err, run)
	}
	c, _ := r.st.Get(context.Background(), r.id)
	if c.State != store.StateNeedsReconnect || !strings.Contains(c.StateReason, "re-authorize from the user") {
		t.Fatalf("state %s: %q", c.State, c.StateReason)
	}
	if got := r.srv.Sandbox.Refreshes(); got != 1 {
		t.Fatalf("%d refreshes, want 1", got)
	}
	// The next sync does not hammer GitLab: it stops before any request.
	if _, err := s.Sync(context.Background(), r.id, nil); !errors.Is(err, ErrNeedsReconnect) {
		t.Fatalf("sync after: %v", err)
	}
}

// A token endpoint that refuses a refresh with an OAuth error other than
// invalid_grant (Dex: invalid_request "already claimed") ends the grant;
// a 5xx keeps the token for a later try.
func TestRefreshRefusedOtherwiseNeedsReconnect(t *testing.T) {
	r := newRace(t)
	ctx := context.Background()
	r.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/oauth/token", Status: 503})
	ts := &TokenSource{Store: r.st, ID: r.id, Vendor: gitlabVendor}
	if _, err := ts.TokenContext(ctx); err == nil || errors.Is(err, ErrNeedsReconnect) {
		t.Fatalf("503: %v", err)
	}
	if c, _ := r.st.Get(ctx, r.id); c.State != store.StateConnected {
		t.Fatalf("a 503 ended the grant: %s", c.StateReason)
	}
	r.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/oauth/token", Status: 400, OAuthError: "invalid_request",
		Description: "Refresh token already claimed"})
	if _, err := ts.TokenContext(ctx); !errors.Is(err, ErrNeedsReconnect) {
		t.Fatalf("invalid_request: %v", err)
	}
	c, _ := r.st.Get(ctx, r.id)
	if c.State != store.StateNeedsReconnect || !strings.Contains(c.StateReason, "already claimed") {
		t.Fatalf("state %s: %q", c.State, c.StateReason)
	}
	if c.Secret(store.SecretRefreshToken) == "" {
		t.Fatal("refresh token deleted")
	}
}

// The summary says what expires_in and the refresh token really mean.
func TestOAuthExpirySaysWhatTheServerSaid(t *testing.T) {
	cases := []struct {
		opts gitlabtest.Options
		want string
	}{
		{gitlabtest.Options{OAuthTokenLifetime: time.Hour}, "never: access tokens (1 hour) are renewed automatically"},
		{gitlabtest.Options{}, "never: access tokens (2 hours) are renewed automatically"},
		{gitlabtest.Options{OAuthTokenLifetime: 30 * time.Minute, NoRefreshToken: true}, "(in 30 minutes): GitLab issued no refresh token, so reconnect then"},
	}
	for _, tc := range cases {
		srv := gitlabtest.New(tc.opts).Start()
		c := oauthFlow(t, srv, Deps{}, gitlabtest.DemoApp)
		v := approveOAuth(t, c)
		var expires string
		for _, it := range v.Summary() {
			if it.Label == "Expires" {
				expires = it.Value
			}
		}
		if !strings.Contains(expires, tc.want) {
			t.Errorf("lifetime %s, no refresh %v: Expires %q, want %q", tc.opts.OAuthTokenLifetime, tc.opts.NoRefreshToken, expires, tc.want)
		}
		srv.Close()
	}
}

// A strict server answers slow_down to a poll that arrives a moment early;
// onramp keeps a margin, so a whole device flow draws none.
func TestOAuthDevicePollsWithAMargin(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{Remote: true}, gitlabtest.DemoApp)
	a, err := c.StartOAuth(context.Background(), ModeDevice)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // approved after two polls were answered pending
		waitUntil(func() bool { return srv.Sandbox.PendingPolls() >= 2 })
		srv.Sandbox.ApproveDevice(a.Device.UserCode, gitlabtest.RootID)
	}()
	finish(t, c, a)
	if n := srv.Sandbox.SlowDowns(); n != 0 {
		t.Fatalf("%d polls drew slow_down", n)
	}
}

// A spent or injected code on a first connection is a failed authorization
// to try again, not a connection to reconnect.
func TestOAuthSpentCodeSaysAuthorizationFailed(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{}, gitlabtest.DemoApp)
	a, _ := c.StartOAuth(context.Background(), ModePaste)
	final := consent(t, a.AuthURL, "approve")
	// Someone else spends the code first.
	if _, err := a.conf.Exchange(context.Background(), stateCode(final), verifierOption(a)); err != nil {
		t.Fatal(err)
	}
	if err := a.Paste(final); err != nil {
		t.Fatal(err)
	}
	_, err := a.Wait(context.Background())
	se := explain(err)
	if se == nil || !strings.Contains(se.Message, "the authorization failed") || strings.Contains(se.Error(), "reconnect") {
		t.Fatalf("spent code: %v", err)
	}
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Fatalf("not invalid_grant: %v", err)
	}
}

func stateCode(final string) string {
	p, _ := url.Parse(final)
	return p.Query().Get("code")
}

func verifierOption(a *OAuthAttempt) oauth2.AuthCodeOption { return oauth2.VerifierOption(a.verifier) }

// Over `onramp serve` no port is forwarded: the `ssh -L` line, which could
// not work there, is not offered (issue 10, item 5).
func TestNoTunnelLineWhereItCannotWork(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{Remote: true, NoTunnel: true}, gitlabtest.DemoApp)
	a, err := c.StartOAuth(context.Background(), ModePaste)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Tunnel != "" || a.AuthURL == "" {
		t.Fatalf("over serve: tunnel %q", a.Tunnel)
	}
}

// The Recommended path for an administrator (issue 10, item 3): the steps
// say to tick admin_mode and why, and with it (the demo's default) the
// admin's full inventory comes without the "lacks admin_mode" warning.
func TestOAuthAdminModeGuidance(t *testing.T) {
	v := gitlab.Card(gitlab.CardOptions{})
	oauth := v.Method(store.AuthOAuth)
	if !strings.Contains(strings.Join(oauth.Intro, " "), "admin_mode") {
		t.Fatal("the OAuth steps do not mention admin_mode")
	}
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true}).Start()
	defer srv.Close()
	for _, tc := range []struct {
		scopes  []string
		warning bool
	}{{nil, true}, {[]string{"read_api", "read_user", "admin_mode"}, false}} {
		d := Deps{Catalog: Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL, OAuthScopes: tc.scopes})}, Store: testStore(t), Timeout: 5 * time.Second}
		c := NewConnect(d)
		c.ChooseVendor("gitlab")
		c.ChooseMethod(store.AuthOAuth)
		c.SetValue(FieldClientID, gitlabtest.DemoApp.UID)
		c.SetValue(FieldClientSecret, gitlabtest.DemoApp.Secret)
		v := approveOAuth(t, c)
		warned := false
		for _, w := range v.Warnings {
			warned = warned || strings.Contains(w.Message, "admin_mode")
		}
		if warned != tc.warning {
			t.Errorf("scopes %v: admin_mode warning %v, want %v", tc.scopes, warned, tc.warning)
		}
	}
}

// approveOAuth authorizes the flow's application on the paste-back path and
// verifies the token it gets.
func approveOAuth(t *testing.T, c *Connect) *Verification {
	t.Helper()
	a, err := c.StartOAuth(context.Background(), ModePaste)
	if err != nil {
		t.Fatal(err)
	}
	a.Paste(consent(t, a.AuthURL, "approve"))
	tok, err := a.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.FinishOAuth(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
