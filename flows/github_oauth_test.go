package flows

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/store"
)

// githubOAuth starts a GitHub OAuth connect against a sandbox with app's
// client id (and secret, when given).
func githubOAuth(t *testing.T, srv *githubtest.Server, d Deps, clientID, secret string) *Connect {
	t.Helper()
	d.Catalog = Catalog{github.Card(github.CardOptions{DefaultURL: srv.BaseURL})}
	if d.Store == nil {
		d.Store = testStore(t)
	}
	d.Timeout = 5 * time.Second
	c := NewConnect(d)
	if err := c.ChooseVendor("github"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseMethod(store.AuthOAuth); err != nil {
		t.Fatal(err)
	}
	c.SetValue(FieldClientID, clientID)
	if secret != "" {
		c.SetValue(FieldClientSecret, secret)
	}
	return c
}

// Issue 14: GitHub's device flow needs only the OAuth app's client id; the
// token it gives never expires and has no refresh token, and the summary
// says so; the connection then syncs every organization the person is in.
func TestGitHubOAuthDeviceFlowThenSync(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 120, DeviceInterval: 1})
	defer srv.Close()
	st := testStore(t)
	c := githubOAuth(t, srv, Deps{Store: st, Remote: true}, githubtest.DemoOAuthApp.ClientID, "")
	if c.Values[FieldScopes] != "read:org" {
		t.Fatalf("default scopes %q", c.Values[FieldScopes])
	}
	a, err := c.StartOAuth(context.Background(), ModeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if a.Device == nil || a.Device.VerificationURI != srv.BaseURL+"/login/device" || len(a.Device.UserCode) != 9 || a.Device.Interval != 1+devicePollMargin {
		t.Fatalf("device: %+v", a.Device)
	}
	go func() { // approved after a poll was answered pending
		waitUntil(func() bool { return srv.PendingPolls() >= 1 })
		srv.ApproveDevice(a.Device.UserCode)
	}()
	tok, err := a.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || !tok.Expiry.IsZero() || !strings.HasPrefix(tok.AccessToken, "gho_") {
		t.Fatalf("token: %+v", tok)
	}
	v, err := c.FinishOAuth(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	summary := ""
	for _, it := range v.Summary() {
		summary += it.Label + ": " + it.Value + "\n"
	}
	for _, want := range []string{"Account: @octo-admin", "Token: OAuth app " + githubtest.DemoOAuthApp.ClientID, "Scopes: read:org",
		"Expires: never: an OAuth app's token lasts until it is revoked on GitHub"} {
		if !strings.Contains(summary, want) {
			t.Fatalf("summary lacks %q:\n%s", want, summary)
		}
	}
	if srv.SlowDowns() != 0 {
		t.Fatalf("%d slow_downs", srv.SlowDowns())
	}
	conn, err := c.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if conn.AuthMethod != store.AuthOAuth || conn.ClientID != githubtest.DemoOAuthApp.ClientID || conn.AccessExpiresAt != nil ||
		conn.Secret(store.SecretAccessToken).Reveal() != tok.AccessToken || conn.Secret(store.SecretClientSecret) != "" {
		t.Fatalf("saved: %+v", conn)
	}
	run, err := (&Syncer{Store: st, Catalog: c.Catalog()}).Sync(context.Background(), conn.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := members(srv); run.Users != want { // an OAuth app reads both organizations
		t.Fatalf("synced %d users, want %d", run.Users, want)
	}
}

// The browser flow sends a PKCE challenge and exchanges the code with the
// verifier and the client secret, which GitHub requires: without a secret
// the browser and paste-back ways are refused on the secret field before
// anything starts.
func TestGitHubOAuthBrowserFlowWithPKCE(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 30})
	defer srv.Close()
	opened := make(chan string, 1)
	c := githubOAuth(t, srv, Deps{OpenBrowser: func(u string) error { opened <- u; return nil }}, githubtest.DemoOAuthApp.ClientID, "")
	for _, mode := range []OAuthMode{ModeBrowser, ModePaste} {
		_, err := c.StartOAuth(context.Background(), mode)
		var se *StepError
		if !errors.As(err, &se) || se.Field != FieldClientSecret || !strings.Contains(se.Hint, "device code way") {
			t.Fatalf("%s without a secret: %v", mode, err)
		}
	}
	c.SetValue(FieldClientSecret, githubtest.DemoOAuthApp.Secret)
	a, err := c.StartOAuth(context.Background(), ModeBrowser)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.AuthURL, srv.BaseURL+"/login/oauth/authorize?") || !strings.Contains(a.AuthURL, "code_challenge_method=S256") ||
		!strings.Contains(a.AuthURL, "scope=read%3Aorg") {
		t.Fatalf("auth URL %s", a.AuthURL)
	}
	a.OpenBrowser()
	go func() {
		resp, err := http.Get(consent(t, <-opened, "approve"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	tok, err := a.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FinishOAuth(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Save(context.Background())
	if err != nil || conn.Secret(store.SecretClientSecret).Reveal() != githubtest.DemoOAuthApp.Secret {
		t.Fatalf("saved %+v: %v", conn, err)
	}

	// Revoking the OAuth token works with the stored secret, after which
	// GitHub no longer knows the token.
	if err := Revoke(context.Background(), Catalog{c.Vendor}, conn); err != nil {
		t.Fatal(err)
	}
	if n := srv.IssuedTokens(); n != 0 {
		t.Fatalf("%d tokens alive after revoke", n)
	}
	if err := Revoke(context.Background(), Catalog{c.Vendor}, conn); err == nil || !strings.Contains(err.Error(), "settings/applications") {
		t.Fatalf("second revoke: %v", err)
	}
}

// GitHub's OAuth failures come back as its words with what to do: a device
// flow not enabled on the app, a denial, a wrong secret (on the Client ID
// field), a grant without read:org (on Scopes), an organization that has
// not approved the OAuth app, and a token revoked on GitHub marks the
// connection for a reconnect at its first sync.
func TestGitHubOAuthFailuresExplained(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 30, DeviceInterval: 1})
	defer srv.Close()
	ctx := context.Background()

	c := githubOAuth(t, srv, Deps{}, githubtest.DemoOAuthAppNoDevice.ClientID, "")
	_, err := c.StartOAuth(ctx, ModeDevice)
	if err == nil || !strings.Contains(err.Error(), "device_flow_disabled") || !strings.Contains(err.Error(), "Enable Device Flow") {
		t.Fatalf("device flow disabled: %v", err)
	}

	c = githubOAuth(t, srv, Deps{}, githubtest.DemoOAuthApp.ClientID, "")
	a, err := c.StartOAuth(ctx, ModeDevice)
	if err != nil {
		t.Fatal(err)
	}
	srv.DenyDevice(a.Device.UserCode)
	_, err = a.Wait(ctx)
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" || err.Error() != "the authorization was denied in GitHub" {
		t.Fatalf("denied: %v", err)
	}

	c = githubOAuth(t, srv, Deps{}, githubtest.DemoOAuthApp.ClientID, "not-the-secret")
	a, err = c.StartOAuth(ctx, ModePaste)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Paste(consent(t, a.AuthURL, "approve")); err != nil {
		t.Fatal(err)
	}
	_, err = a.Wait(ctx)
	if se := explain(err); se.Field != FieldClientID || !strings.Contains(se.Message, "incorrect_client_credentials") || !strings.Contains(se.Hint, "OAuth Apps") {
		t.Fatalf("wrong secret: %+v", se)
	}

	st := testStore(t)
	c = githubOAuth(t, srv, Deps{Store: st}, githubtest.DemoOAuthApp.ClientID, "")
	c.SetValue(FieldScopes, "user:email")
	a, _ = c.StartOAuth(ctx, ModeDevice)
	srv.ApproveDevice(a.Device.UserCode)
	tok, err := a.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FinishOAuth(ctx, tok)
	if se := explain(err); se.Field != FieldScopes || !strings.Contains(se.Message, "did not grant read:org (it granted user:email)") {
		t.Fatalf("no read:org: %+v", se)
	}

	// An organization that restricts OAuth apps and has not approved this one.
	restricted := githubtest.Start(githubtest.Options{Members: 30, DeviceInterval: 1, RestrictOAuthApps: []string{"sandbox-labs"}})
	defer restricted.Close()
	rc := githubOAuth(t, restricted, Deps{}, githubtest.DemoOAuthApp.ClientID, "")
	ra, _ := rc.StartOAuth(ctx, ModeDevice)
	restricted.ApproveDevice(ra.Device.UserCode)
	rtok, err := ra.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rc.FinishOAuth(ctx, rtok)
	if se := explain(err); !strings.Contains(se.Message, "sandbox-labs restricts OAuth apps") || !strings.Contains(se.Hint, "Third-party access") {
		t.Fatalf("restricted organization: %+v", se)
	}

	// A working grant, revoked on GitHub behind onramp's back.
	c.SetValue(FieldScopes, "read:org")
	a, _ = c.StartOAuth(ctx, ModeDevice)
	srv.ApproveDevice(a.Device.UserCode)
	if tok, err = a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FinishOAuth(ctx, tok); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := github.RevokeOAuth(ctx, http.DefaultClient, mustBase(t, srv.BaseURL), githubtest.DemoOAuthApp.ClientID, githubtest.DemoOAuthApp.Secret, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Syncer{Store: st, Catalog: c.Catalog()}).Sync(ctx, conn.ID, nil); err == nil {
		t.Fatal("a revoked token synced")
	}
	got, _ := st.Get(ctx, conn.ID)
	if got.State != store.StateNeedsReconnect || !strings.Contains(got.StateReason, "GitHub does not accept this token (Bad credentials)") {
		t.Fatalf("after revoke: %s %q", got.State, got.StateReason)
	}
}

func mustBase(t *testing.T, raw string) connector.Address {
	b, err := github.NormalizeURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
