package flows

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// consent plays the person in the browser: it posts the sandbox's consent
// form for authURL (GitLab's or GitHub's, at the same path) and returns
// where the vendor redirects the browser.
func consent(t *testing.T, authURL, decision string) string {
	t.Helper()
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("decision", decision)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func oauthFlow(t *testing.T, srv *gitlabtest.Server, d Deps, app gitlabtest.App) *Connect {
	d.Catalog, d.Store = catalog.Default(), testStore(t)
	if d.Timeout == 0 {
		d.Timeout = 5 * time.Second
	}
	c := NewConnect(d)
	c.ChooseVendor("gitlab")
	if err := c.ChooseMethod(store.AuthOAuth); err != nil {
		t.Fatal(err)
	}
	c.SetValue(FieldURL, srv.BaseURL)
	c.SetValue(FieldClientID, app.UID)
	c.SetValue(FieldClientSecret, app.Secret)
	return c
}

func finish(t *testing.T, c *Connect, a *OAuthAttempt) *store.Connection {
	t.Helper()
	ctx := context.Background()
	tok, err := a.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	v, err := c.FinishOAuth(ctx, tok)
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if !v.Refreshes || v.Account.Username != "root" || strings.Join(v.Scopes, " ") != "read_api read_user" {
		t.Fatalf("verification: %+v", v)
	}
	conn, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.deps.Store.Get(ctx, conn.ID)
	if got.AuthMethod != store.AuthOAuth || got.Secret(store.SecretAccessToken) == "" || got.Secret(store.SecretRefreshToken) == "" ||
		got.ClientID != gitlabtest.DemoApp.UID && got.ClientID != gitlabtest.DemoPublicApp.UID || got.AccessExpiresAt == nil {
		t.Fatalf("stored: %+v", got)
	}
	return got
}

func TestOAuthBrowserFlow(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	var c *Connect
	opened := make(chan string, 1)
	c = oauthFlow(t, srv, Deps{OpenBrowser: func(u string) error { opened <- u; return nil }}, gitlabtest.DemoApp)
	a, err := c.StartOAuth(context.Background(), ModeBrowser)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != ModeBrowser || !strings.HasPrefix(a.RedirectURI, "http://127.0.0.1:") || !strings.Contains(a.AuthURL, "code_challenge_method=S256") {
		t.Fatalf("attempt: %+v", a)
	}
	if note := a.OpenBrowser(); note != "" { // the address is known before the browser opens
		t.Fatal(note)
	}
	authURL := <-opened
	go func() {
		// The browser follows GitLab's redirect to the loopback listener.
		resp, err := http.Get(consent(t, authURL, "approve"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	got := finish(t, c, a)
	if got.Secret(store.SecretClientSecret).Reveal() != gitlabtest.DemoApp.Secret {
		t.Fatal("client secret not stored")
	}
}

func TestOAuthPasteBackWhenRemote(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{Remote: true, OpenBrowser: func(string) error { t.Fatal("browser opened over SSH"); return nil }}, gitlabtest.DemoPublicApp)
	c.SetValue(FieldClientSecret, "")
	a, err := c.StartOAuth(context.Background(), ModeBrowser)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != ModePaste || !strings.HasPrefix(a.Tunnel, "ssh -L ") {
		t.Fatalf("remote browser mode: %+v", a)
	}
	final := consent(t, a.AuthURL, "approve")
	for _, bad := range []string{"hello", strings.Replace(final, "state=", "state=x", 1), "http://127.0.0.1/onramp/callback?state=" + url.QueryEscape(stateOf(final))} {
		if err := a.Paste(bad); err == nil {
			t.Fatalf("accepted bad paste %q", bad)
		}
	}
	if err := a.Paste("  " + final + "\n"); err != nil {
		t.Fatal(err)
	}
	finish(t, c, a)
}

func stateOf(u string) string {
	p, _ := url.Parse(u)
	return p.Query().Get("state")
}

func TestOAuthListenerAndPasteRace(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{}, gitlabtest.DemoApp)
	a, _ := c.StartOAuth(context.Background(), ModePaste)
	final := consent(t, a.AuthURL, "approve")
	// The listener gets it first (the tunnel worked), then a paste arrives.
	resp, err := http.Get(final)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := a.Paste(final); err != nil {
		t.Fatal(err)
	}
	finish(t, c, a) // exchanged once: a second exchange would be invalid_grant
}

func TestOAuthCallbackChecks(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{}, gitlabtest.DemoApp)
	a, _ := c.StartOAuth(context.Background(), ModeBrowser)
	port := strings.TrimPrefix(strings.TrimSuffix(a.RedirectURI, connector.RedirectPath), "http://127.0.0.1:")
	// Bound to 127.0.0.1 only: another address of this machine cannot reach it.
	if conn, err := net.DialTimeout("tcp", "127.0.0.2:"+port, time.Second); err == nil {
		conn.Close()
		t.Fatal("callback listener reachable on 127.0.0.2")
	}
	// A forged callback (wrong state) is refused and does not end the attempt.
	resp, err := http.Get(a.RedirectURI + "?code=forged&state=wrong")
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("forged callback: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, _ := http.Get(strings.Replace(a.RedirectURI, connector.RedirectPath, "/other", 1)); resp.StatusCode != 404 {
		t.Fatal("other path served")
	}
	// Denied in GitLab: the error comes back through the real callback.
	http.Get(consent(t, a.AuthURL, "deny"))
	_, err = a.Wait(context.Background())
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" {
		t.Fatalf("denied: %v", err)
	}
}

func TestOAuthConfidentialAppNeedsSecret(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{}, gitlabtest.DemoApp)
	c.SetValue(FieldClientSecret, "")
	a, _ := c.StartOAuth(context.Background(), ModePaste)
	a.Paste(consent(t, a.AuthURL, "approve"))
	_, err := a.Wait(context.Background())
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.Field() != FieldClientID {
		t.Fatalf("no secret: %v", err)
	}
}

func TestOAuthRedirectAndCodeRules(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	base, _ := gitlab.NormalizeURL(srv.BaseURL)
	for uri, ok := range map[string]bool{
		"http://127.0.0.1:5555/onramp/callback": true, // loopback IP: any port
		"http://127.0.0.1/onramp/callback":      true,
		"http://localhost:5555/onramp/callback": false, // not an IP literal
		"http://127.0.0.1:5555/other":           false,
		"http://evil.example/onramp/callback":   false,
	} {
		conf := gitlab.OAuthConfig(base, gitlabtest.DemoApp.UID, gitlabtest.DemoApp.Secret, []string{"read_api"}, uri)
		resp, err := http.Get(conf.AuthCodeURL("s"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == 200) != ok {
			t.Errorf("redirect %s: status %d", uri, resp.StatusCode)
		}
	}
	// A code is single-use and bound to its verifier.
	conf := gitlab.OAuthConfig(base, gitlabtest.DemoApp.UID, gitlabtest.DemoApp.Secret, []string{"read_api"}, "http://127.0.0.1:9/onramp/callback")
	verifier := oauth2.GenerateVerifier()
	final := consent(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "approve")
	code, _ := url.Parse(final)
	ctx := context.Background()
	if _, err := conf.Exchange(ctx, code.Query().Get("code"), oauth2.VerifierOption("wrong-verifier-wrong-verifier-wrong-verifier")); err == nil {
		t.Fatal("wrong verifier accepted")
	}
	final = consent(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "approve")
	code, _ = url.Parse(final)
	if _, err := conf.Exchange(ctx, code.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.Exchange(ctx, code.Query().Get("code"), oauth2.VerifierOption(verifier)); !isInvalidGrant(err) {
		t.Fatalf("code reused: %v", err)
	}
	// Scopes beyond the app's registration.
	wide := gitlab.OAuthConfig(base, gitlabtest.DemoPublicApp.UID, "", []string{"api"}, "http://127.0.0.1:9/onramp/callback")
	if loc := consent(t, wide.AuthCodeURL("s"), "approve"); !strings.Contains(loc, "error=invalid_scope") || !strings.Contains(loc, "state=s") {
		t.Fatalf("invalid scope: %s", loc)
	}
}

func TestOAuthDeviceFlow(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{Remote: true}, gitlabtest.DemoApp)
	a, err := c.StartOAuth(context.Background(), ModeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if a.Device == nil || len(a.Device.UserCode) != 8 || !strings.HasSuffix(a.Device.VerificationURI, "/oauth/device") {
		t.Fatalf("device: %+v", a.Device)
	}
	go func() { // approved after a poll was answered authorization_pending
		waitUntil(func() bool { return srv.Sandbox.PendingPolls() >= 1 })
		srv.Sandbox.ApproveDevice(a.Device.UserCode, gitlabtest.RootID)
	}()
	finish(t, c, a)

	// Denied on the phone.
	c = oauthFlow(t, srv, Deps{Remote: true}, gitlabtest.DemoApp)
	a, _ = c.StartOAuth(context.Background(), ModeDevice)
	srv.Sandbox.DenyDevice(a.Device.UserCode)
	_, err = a.Wait(context.Background())
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" {
		t.Fatalf("denied: %v", err)
	}
}

func TestOAuthDeviceFallsBackToPaste(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Legacy: true, Version: "16.11.0-ee"}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{Remote: true}, gitlabtest.DemoApp)
	a, err := c.StartOAuth(context.Background(), ModeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != ModePaste || !strings.Contains(a.Note, "17.2") || a.AuthURL == "" {
		t.Fatalf("fallback: %+v", a)
	}
	a.Paste(consent(t, a.AuthURL, "approve"))
	finish(t, c, a)
}

func TestOAuthTimeoutAndCancel(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{OAuthTimeout: 300 * time.Millisecond}, gitlabtest.DemoApp)
	a, _ := c.StartOAuth(context.Background(), ModePaste)
	_, err := a.Wait(context.Background())
	var se *StepError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "timed out") {
		t.Fatalf("timeout: %v", err)
	}
	if _, err := http.Get(a.RedirectURI); err == nil {
		t.Fatal("listener outlived its attempt")
	}
	c = oauthFlow(t, srv, Deps{}, gitlabtest.DemoApp)
	a, _ = c.StartOAuth(context.Background(), ModePaste)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := a.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
}

func TestOAuthDeviceSlowDownAndExpiry(t *testing.T) {
	// slow_down: the next poll waits 5 s longer, and the flow still completes.
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1, SlowDownFirstPoll: true}).Start()
	defer srv.Close()
	c := oauthFlow(t, srv, Deps{Remote: true}, gitlabtest.DemoApp)
	a, _ := c.StartOAuth(context.Background(), ModeDevice)
	srv.Sandbox.ApproveDevice(a.Device.UserCode, gitlabtest.RootID)
	start := time.Now()
	finish(t, c, a)
	if d := time.Since(start); d < 6*time.Second {
		t.Fatalf("slow_down not honoured: done after %s", d)
	}

	// expired_token: nobody approved in time.
	srv2 := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1, DeviceExpiresIn: 2}).Start()
	defer srv2.Close()
	c = oauthFlow(t, srv2, Deps{Remote: true}, gitlabtest.DemoApp)
	a, _ = c.StartOAuth(context.Background(), ModeDevice)
	_, err := a.Wait(context.Background())
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "expired_token" || !strings.Contains(oe.Error(), "expired before it was approved") {
		t.Fatalf("expiry: %v", err)
	}
}

// isInvalidGrant: x/oauth2's error for a spent or unknown code.
func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}
