package gitlabtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// App is an OAuth application registered on the sandbox, as in GitLab's
// Edit profile → Applications.
type App struct {
	UID          string
	Secret       string
	Name         string
	Confidential bool
	RedirectURIs []string
	Scopes       []string
}

// DemoApp is the fixed application every sandbox has (confidential, with the
// loopback redirect URI onramp asks people to register). Its ID is 64 hex
// characters, as GitLab's are, so the demo and the tests lay out real ones.
var DemoApp = App{
	UID: "4394a3c618937670d316c07dd8a0064258bd197bdf03bedbe3eb0ba6a080c0a1", Secret: "gloas-sbx-secret-9Kd2Lf8Qw3Zr6Tx1",
	Name: "onramp", Confidential: true,
	RedirectURIs: []string{"http://127.0.0.1/onramp/callback"},
	Scopes:       []string{"read_api", "read_user", "api", "admin_mode"},
}

// DemoPublicApp is a public application (Confidential unchecked: no secret).
var DemoPublicApp = App{
	UID: "25fc3377ca174e24daddcb54e5939be863614d9e1119b4ad33c4a89bbb26913b", Name: "onramp (public)",
	RedirectURIs: []string{"http://127.0.0.1/onramp/callback"},
	Scopes:       []string{"read_api", "read_user"},
}

type grantCode struct {
	app         *App
	userID      int64
	redirectURI string
	challenge   string
	scopes      []string
	expires     time.Time
	used        bool
}

type refreshToken struct {
	value     string
	app       *App
	userID    int64
	scopes    []string
	access    *Token
	exchanged bool // already traded for a new pair
	revoked   bool
	grant     *grantFamily
}

// grantFamily is every token descended from one authorization; reusing a
// spent refresh token revokes all of it, as GitLab does.
type grantFamily struct{ tokens []*refreshToken }

type deviceGrant struct {
	deviceCode, userCode string
	app                  *App
	scopes               []string
	expires              time.Time
	lastPoll             time.Time
	interval             time.Duration // grows by 5 s at each slow_down (RFC 8628 §3.5)
	approvedBy           int64
	denied, done         bool
}

// oauthState is the provider's share of the sandbox (under Sandbox.mu).
type oauthState struct {
	apps      map[string]*App
	codes     map[string]*grantCode
	refreshes map[string]*refreshToken
	devices   map[string]*deviceGrant
	// counters for tests
	refreshCount, reuseCount int
	slowDowns, pendings      int
	consentAgents            []string
}

// SlowDowns counts device polls answered slow_down (polled too early).
func (s *Sandbox) SlowDowns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.slowDowns
}

// PendingPolls counts device polls answered authorization_pending.
func (s *Sandbox) PendingPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.pendings
}

// ConsentPageAgents lists the User-Agents that loaded the consent page.
func (s *Sandbox) ConsentPageAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.oauth.consentAgents...)
}

func (s *Sandbox) initOAuth() {
	s.oauth = oauthState{apps: map[string]*App{}, codes: map[string]*grantCode{}, refreshes: map[string]*refreshToken{}, devices: map[string]*deviceGrant{}}
	for _, a := range []App{DemoApp, DemoPublicApp} {
		a := a
		s.oauth.apps[a.UID] = &a
	}
}

// AddApp registers an application.
func (s *Sandbox) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.apps[a.UID] = &a
}

// Refreshes counts successful refresh grants.
func (s *Sandbox) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.refreshCount
}

// RefreshReuses counts refresh attempts with a refresh token that had
// already been exchanged: with GitLab, the way a connection gets locked out.
func (s *Sandbox) RefreshReuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.reuseCount
}

// ExpireAccessTokens makes every OAuth access token expire now.
func (s *Sandbox) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for _, t := range s.tokens {
		if t.OAuth {
			t.Expiry = now
		}
	}
}

// ApproveDevice approves a pending device authorization, as the person does
// on the verification page; DenyDevice refuses it.
func (s *Sandbox) ApproveDevice(userCode string, userID int64) bool {
	return s.decideDevice(userCode, userID, false)
}

// DenyDevice refuses a pending device authorization.
func (s *Sandbox) DenyDevice(userCode string) bool { return s.decideDevice(userCode, 0, true) }

func (s *Sandbox) decideDevice(userCode string, userID int64, deny bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.oauth.devices {
		if strings.EqualFold(d.userCode, normalizeUserCode(userCode)) && !d.done {
			d.approvedBy, d.denied = userID, deny
			return true
		}
	}
	return false
}

func normalizeUserCode(c string) string { return strings.ToUpper(strings.ReplaceAll(c, "-", "")) }

// serveOAuth answers /oauth/*; false when path is not an OAuth endpoint.
func (s *Sandbox) serveOAuth(w http.ResponseWriter, r *http.Request, path string) bool {
	switch path {
	case "/oauth/authorize":
		if r.Method == http.MethodPost {
			s.authorizeDecision(w, r)
		} else {
			s.authorizePage(w, r)
		}
	case "/oauth/token":
		s.tokenEndpoint(w, r)
	case "/oauth/authorize_device":
		if s.opts.Legacy {
			http.NotFound(w, r) // before 17.2/17.3
			return true
		}
		s.authorizeDevice(w, r)
	case "/oauth/device":
		s.devicePage(w, r)
	case "/oauth/token/info":
		s.tokenInfo(w, r)
	case "/oauth/revoke":
		s.revoke(w, r)
	default:
		return false
	}
	return true
}

// redirectAllowed matches GitLab: exact, except that a loopback IP literal's
// port is ignored (RFC 8252 §7.3). "localhost" is not an IP literal.
func redirectAllowed(app *App, uri string) bool {
	if slices.Contains(app.RedirectURIs, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, reg := range app.RedirectURIs {
		ru, err := url.Parse(reg)
		if err != nil || ru.Hostname() != u.Hostname() || ru.Scheme != u.Scheme {
			continue
		}
		if ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func scopesWithin(requested, allowed []string) bool {
	for _, sc := range requested {
		if !slices.Contains(allowed, sc) {
			return false
		}
	}
	return true
}

func errorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>An error has occurred</title><h1>An error has occurred</h1><p id=error>%s</p>", html.EscapeString(msg))
}

// authorizePage shows the consent page a person (or a headless browser)
// clicks through. With AutoApprove it submits itself, as the person would.
func (s *Sandbox) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	app := s.oauth.apps[q.Get("client_id")]
	s.oauth.consentAgents = append(s.oauth.consentAgents, r.UserAgent())
	s.mu.Unlock()
	if app == nil {
		errorPage(w, 401, "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
		return
	}
	if !redirectAllowed(app, q.Get("redirect_uri")) {
		errorPage(w, 400, "The redirect URI included is not valid.")
		return
	}
	var hidden strings.Builder
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method"} {
		fmt.Fprintf(&hidden, `<input type=hidden name=%q value="%s">`, k, html.EscapeString(q.Get(k)))
	}
	auto := ""
	if s.opts.AutoApprove {
		auto = `<script>document.getElementById("approve").click()</script>`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Authorize %s · Sandbox GitLab</title>
<h1>Authorize %s to use your account?</h1><p>Scopes: %s</p>
<form method=post action="%s/oauth/authorize">%s
<button id=approve name=decision value=approve>Authorize</button>
<button id=deny name=decision value=deny>Deny</button></form>%s`,
		html.EscapeString(app.Name), html.EscapeString(app.Name), html.EscapeString(q.Get("scope")),
		s.opts.Prefix, hidden.String(), auto)
}

func (s *Sandbox) authorizeDecision(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	s.mu.Lock()
	app := s.oauth.apps[f.Get("client_id")]
	s.mu.Unlock()
	if app == nil || !redirectAllowed(app, f.Get("redirect_uri")) {
		errorPage(w, 400, "The redirect URI included is not valid.")
		return
	}
	back := func(params url.Values) {
		params.Set("state", f.Get("state"))
		target := f.Get("redirect_uri")
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		http.Redirect(w, r, target+sep+params.Encode(), http.StatusFound)
	}
	scopes := strings.Fields(f.Get("scope"))
	switch {
	case f.Get("decision") != "approve":
		back(url.Values{"error": {"access_denied"}, "error_description": {"The resource owner or authorization server denied the request."}})
		return
	case f.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case !scopesWithin(scopes, app.Scopes):
		back(url.Values{"error": {"invalid_scope"}, "error_description": {"The requested scope is invalid, unknown, or malformed."}})
		return
	case f.Get("code_challenge") != "" && f.Get("code_challenge_method") != "S256":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"Only S256 is accepted."}})
		return
	}
	code := randomSuffix(43)
	s.mu.Lock()
	s.oauth.codes[code] = &grantCode{app: app, userID: s.opts.OAuthUser, redirectURI: f.Get("redirect_uri"),
		challenge: f.Get("code_challenge"), scopes: scopes, expires: s.opts.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

// clientAuth checks client_id and, for confidential apps, client_secret
// (from the form or HTTP basic auth).
func (s *Sandbox) clientAuth(r *http.Request) *App {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	app := s.oauth.apps[id]
	if app == nil {
		return nil
	}
	if app.Confidential && subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
		return nil
	}
	return app
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="Doorkeeper", error=%q, error_description=%q`, code, desc))
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

const invalidGrantText = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."

// IssueTokens grants an access and refresh token pair directly, as if the
// user had authorized app (for tests that start from a stored connection).
func (s *Sandbox) IssueTokens(appUID string, userID int64, scopes []string) (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[appUID]
	now := s.opts.Now()
	a := &Token{Value: randomSuffix(64), UserID: userID, Scopes: scopes, OAuth: true, AppUID: app.UID,
		Expiry: now.Add(s.opts.OAuthTokenLifetime), CreatedAt: now, Name: app.Name}
	s.tokens[a.Value] = a
	fam := &grantFamily{}
	rt := &refreshToken{value: randomSuffix(64), app: app, userID: userID, scopes: scopes, access: a, grant: fam}
	fam.tokens = append(fam.tokens, rt)
	s.oauth.refreshes[rt.value] = rt
	return a.Value, rt.value
}

func (s *Sandbox) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if d := s.opts.TokenLatency; d > 0 {
		time.Sleep(d) // a slow token endpoint widens every refresh race
	}
	if r.Method != http.MethodPost {
		writeJSON(w, 405, map[string]string{"error": "method not allowed"})
		return
	}
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.clientAuth(r)
	if app == nil {
		oauthError(w, 401, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
		return
	}
	f := r.PostForm
	now := s.opts.Now()
	switch f.Get("grant_type") {
	case "authorization_code":
		g := s.oauth.codes[f.Get("code")]
		if g == nil || g.used || g.app != app || now.After(g.expires) || g.redirectURI != f.Get("redirect_uri") {
			oauthError(w, 400, "invalid_grant", invalidGrantText)
			return
		}
		g.used = true // single use
		if g.challenge != "" {
			sum := sha256.Sum256([]byte(f.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
				oauthError(w, 400, "invalid_grant", invalidGrantText)
				return
			}
		}
		s.issueLocked(w, app, g.userID, g.scopes, nil, &grantFamily{})
	case "refresh_token":
		rt := s.oauth.refreshes[f.Get("refresh_token")]
		if rt == nil || rt.app != app {
			oauthError(w, 400, "invalid_grant", invalidGrantText)
			return
		}
		if rt.exchanged {
			s.oauth.reuseCount++
		}
		if rt.revoked {
			for _, t := range rt.grant.tokens { // a reused spent token kills the whole grant
				s.revokeRefreshLocked(t)
			}
			oauthError(w, 400, "invalid_grant", invalidGrantText)
			return
		}
		rt.exchanged = true
		s.oauth.refreshCount++
		s.issueLocked(w, app, rt.userID, rt.scopes, rt, rt.grant)
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.pollDeviceLocked(w, app, f.Get("device_code"), now)
	default:
		oauthError(w, 400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
}

// issueLocked creates an access token and a refresh token and writes them.
func (s *Sandbox) issueLocked(w http.ResponseWriter, app *App, userID int64, scopes []string, prev *refreshToken, fam *grantFamily) {
	now := s.opts.Now()
	access := &Token{Value: randomSuffix(64), UserID: userID, Scopes: scopes, OAuth: true, AppUID: app.UID,
		Expiry: now.Add(s.opts.OAuthTokenLifetime), CreatedAt: now, supersedes: prev, Name: app.Name}
	s.tokens[access.Value] = access
	rt := &refreshToken{value: randomSuffix(64), app: app, userID: userID, scopes: scopes, access: access, grant: fam}
	fam.tokens = append(fam.tokens, rt)
	s.oauth.refreshes[rt.value] = rt
	body := map[string]any{
		"access_token": access.Value, "token_type": "Bearer", "expires_in": int(s.opts.OAuthTokenLifetime.Seconds()),
		"refresh_token": rt.value, "scope": strings.Join(scopes, " "), "created_at": now.Unix(),
	}
	if s.opts.NoRefreshToken {
		delete(body, "refresh_token")
	}
	writeJSON(w, 200, body)
}

func (s *Sandbox) revokeRefreshLocked(rt *refreshToken) {
	rt.revoked = true
	if rt.access != nil {
		rt.access.Revoked = true
	}
}

func (s *Sandbox) authorizeDevice(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[r.PostForm.Get("client_id")]
	if app == nil {
		oauthError(w, 401, "invalid_client", "Client authentication failed due to unknown client.")
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if !scopesWithin(scopes, app.Scopes) {
		oauthError(w, 400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
		return
	}
	d := &deviceGrant{deviceCode: randomSuffix(40), userCode: strings.ToUpper(randomSuffix(8)), app: app, scopes: scopes,
		expires: s.opts.Now().Add(time.Duration(s.opts.DeviceExpiresIn) * time.Second), interval: time.Duration(s.opts.DeviceInterval) * time.Second}
	s.oauth.devices[d.deviceCode] = d
	base := "http://" + r.Host + s.opts.Prefix
	writeJSON(w, 200, map[string]any{
		"device_code": d.deviceCode, "user_code": d.userCode,
		"verification_uri": base + "/oauth/device", "verification_uri_complete": base + "/oauth/device?user_code=" + d.userCode,
		"expires_in": s.opts.DeviceExpiresIn, "interval": s.opts.DeviceInterval,
	})
}

func (s *Sandbox) pollDeviceLocked(w http.ResponseWriter, app *App, code string, now time.Time) {
	d := s.oauth.devices[code]
	switch {
	case d == nil || d.app != app || d.done:
		oauthError(w, 400, "invalid_grant", invalidGrantText)
		return
	case now.After(d.expires):
		oauthError(w, 400, "expired_token", "The device code has expired.")
		return
	case d.denied:
		d.done = true
		oauthError(w, 400, "access_denied", "The end user denied the request.")
		return
	case (d.lastPoll.IsZero() && s.opts.SlowDownFirstPoll) || (!d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval):
		// Strict, like servers that measure from the previous poll's arrival.
		d.lastPoll = now
		d.interval += 5 * time.Second
		s.oauth.slowDowns++
		oauthError(w, 400, "slow_down", "Polling too fast.")
		return
	}
	d.lastPoll = now
	if d.approvedBy == 0 {
		s.oauth.pendings++
		oauthError(w, 400, "authorization_pending", "The authorization request is still pending.")
		return
	}
	d.done = true
	s.issueLocked(w, app, d.approvedBy, d.scopes, nil, &grantFamily{})
}

// devicePage is the verification page: it shows the code and approves it
// when its form is posted (as the sandbox's signed-in user).
func (s *Sandbox) devicePage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.ParseForm()
		if s.decideDevice(r.PostForm.Get("user_code"), s.opts.OAuthUser, r.PostForm.Get("decision") == "deny") {
			w.Write([]byte("<!doctype html><h1>Device authorized</h1>"))
			return
		}
		errorPage(w, 400, "Unknown or used user code.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Device authorization · Sandbox GitLab</title><h1>Enter the code shown on your device</h1>
<form method=post><input name=user_code value="%s"><button name=decision value=approve>Authorize</button>
<button name=decision value=deny>Deny</button></form>`, html.EscapeString(r.URL.Query().Get("user_code")))
}

func (s *Sandbox) tokenInfo(w http.ResponseWriter, r *http.Request) {
	value := tokenFrom(r)
	s.mu.Lock()
	t := s.tokens[value]
	now := s.opts.Now()
	s.mu.Unlock()
	if t == nil || !t.OAuth || t.Revoked || !now.Before(t.Expiry) {
		oauthError(w, 401, "invalid_token", "The access token is invalid")
		return
	}
	writeJSON(w, 200, map[string]any{
		"resource_owner_id": t.UserID, "scope": t.Scopes, "scopes": t.Scopes,
		"expires_in": int(t.Expiry.Sub(now).Seconds()), "expires_in_seconds": int(t.Expiry.Sub(now).Seconds()),
		"application": map[string]string{"uid": t.AppUID}, "created_at": t.CreatedAt.Unix(),
	})
}

func (s *Sandbox) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.clientAuth(r)
	if app == nil {
		oauthError(w, 401, "invalid_client", "Client authentication failed.")
		return
	}
	tok := r.PostForm.Get("token")
	if rt := s.oauth.refreshes[tok]; rt != nil && rt.app == app {
		for _, t := range rt.grant.tokens {
			s.revokeRefreshLocked(t)
		}
	}
	if t := s.tokens[tok]; t != nil && t.OAuth && t.AppUID == app.UID {
		t.Revoked = true
	}
	writeJSON(w, 200, map[string]any{})
}
