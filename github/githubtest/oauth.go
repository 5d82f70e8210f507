package githubtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OAuthApp is an OAuth app registered on the sandbox, as in GitHub's
// Settings → Developer settings → OAuth Apps.
type OAuthApp struct {
	ClientID, Secret, Name string
	// CallbackURL is the Authorization callback URL; a loopback one
	// accepts any port, as GitHub's does.
	CallbackURL string
	DeviceFlow  bool // Enable Device Flow ticked
}

// DemoOAuthApp is the app every sandbox has: device flow on, the callback
// onramp asks people to register. IDs look like GitHub's (Ov23li…, and a
// 40-hex-digit secret).
var DemoOAuthApp = OAuthApp{
	ClientID: "Ov23liSBX0onramp7Qz4", Secret: "5f0c1e9a7b3d2c8e4f6a1b0c9d8e7f6a5b4c3d2e",
	Name: "onramp", CallbackURL: "http://127.0.0.1/onramp/callback", DeviceFlow: true,
}

// DemoOAuthAppNoDevice is an app whose Enable Device Flow is not ticked.
var DemoOAuthAppNoDevice = OAuthApp{
	ClientID: "Ov23liSBX0nodevice9Kd", Secret: "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b",
	Name: "onramp (no device flow)", CallbackURL: "http://127.0.0.1/onramp/callback",
}

type authCode struct {
	app                 *OAuthApp
	redirect, challenge string
	scopes              string
	expires             time.Time
}

type deviceGrant struct {
	app              *OAuthApp
	userCode, scopes string
	expires          time.Time
	lastPoll         time.Time
	interval         int // seconds; +5 at each slow_down
	approved, denied bool
}

// oauthState is the OAuth share of the sandbox (under Server.mu).
type oauthState struct {
	apps                map[string]*OAuthApp
	codes               map[string]*authCode
	devices             map[string]*deviceGrant // by device code
	issued              map[string]token        // OAuth access tokens
	slowDowns, pendings int
}

func newOAuthState() oauthState {
	st := oauthState{apps: map[string]*OAuthApp{}, codes: map[string]*authCode{}, devices: map[string]*deviceGrant{}, issued: map[string]token{}}
	for _, a := range []OAuthApp{DemoOAuthApp, DemoOAuthAppNoDevice} {
		st.apps[a.ClientID] = &a
	}
	return st
}

// PendingPolls counts device polls answered authorization_pending.
func (s *Server) PendingPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.pendings
}

// SlowDowns counts device polls answered slow_down (polled too early).
func (s *Server) SlowDowns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.slowDowns
}

// IssuedTokens counts the OAuth access tokens alive.
func (s *Server) IssuedTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.oauth.issued)
}

// ApproveDevice approves a pending device authorization, as the person
// does at /login/device; DenyDevice cancels it.
func (s *Server) ApproveDevice(userCode string) bool { return s.decideDevice(userCode, false) }
func (s *Server) DenyDevice(userCode string) bool    { return s.decideDevice(userCode, true) }

func (s *Server) decideDevice(userCode string, deny bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(userCode), "-", ""))
	for _, d := range s.oauth.devices {
		if strings.ReplaceAll(d.userCode, "-", "") == want && !d.approved && !d.denied {
			d.approved, d.denied = !deny, deny
			return true
		}
	}
	return false
}

// serveOAuth answers GitHub's web OAuth endpoints (on the web host, not
// the API's); false when path is not one of them.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/login/device/code":
		s.deviceCode(w, r)
	case "/login/oauth/access_token":
		s.accessToken(w, r)
	case "/login/oauth/authorize":
		if r.Method == http.MethodPost {
			s.authorizeDecision(w, r)
		} else {
			s.authorizePage(w, r)
		}
	case "/login/device":
		s.devicePage(w, r)
	default:
		return false
	}
	return true
}

// oauthAnswer writes an OAuth answer as GitHub does: HTTP 200, errors
// included, as JSON when the client asks for it and form-encoded otherwise.
func oauthAnswer(w http.ResponseWriter, r *http.Request, status int, v map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "json") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
		return
	}
	form := url.Values{}
	for k, val := range v {
		form.Set(k, fmt.Sprint(val))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(form.Encode()))
}

func oauthErr(w http.ResponseWriter, r *http.Request, code, desc string) {
	oauthAnswer(w, r, http.StatusOK, map[string]any{"error": code, "error_description": desc,
		"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"})
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[r.PostForm.Get("client_id")]
	switch {
	case app == nil:
		// RFC 8628's error status; GitHub's words.
		oauthAnswer(w, r, http.StatusBadRequest, map[string]any{"error": "incorrect_client_credentials", "error_description": "The client_id is incorrect."})
		return
	case !app.DeviceFlow:
		oauthAnswer(w, r, http.StatusBadRequest, map[string]any{"error": "device_flow_disabled", "error_description": "Device flow must be explicitly enabled for this App"})
		return
	}
	code := strings.ToUpper(random(8))
	d := &deviceGrant{app: app, userCode: code[:4] + "-" + code[4:], scopes: r.PostForm.Get("scope"),
		expires: time.Now().Add(time.Duration(s.opts.DeviceExpiresIn) * time.Second), interval: s.opts.DeviceInterval}
	deviceCode := random(40)
	s.oauth.devices[deviceCode] = d
	oauthAnswer(w, r, http.StatusOK, map[string]any{"device_code": deviceCode, "user_code": d.userCode,
		"verification_uri": s.URL + "/login/device", "expires_in": s.opts.DeviceExpiresIn, "interval": s.opts.DeviceInterval})
}

// accessToken is POST /login/oauth/access_token: the device grant's poll,
// or the exchange of a browser's code (client secret and, when the
// authorization had a challenge, the PKCE verifier required).
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[f.Get("client_id")]
	if app == nil {
		oauthErr(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	if f.Get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code" {
		s.pollLocked(w, r, app, f.Get("device_code"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(app.Secret)) != 1 {
		oauthErr(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	c := s.oauth.codes[f.Get("code")]
	delete(s.oauth.codes, f.Get("code")) // one use
	switch {
	case c == nil || c.app != app || time.Now().After(c.expires):
		oauthErr(w, r, "bad_verification_code", "The code passed is incorrect or expired.")
		return
	case f.Get("redirect_uri") != "" && f.Get("redirect_uri") != c.redirect:
		oauthErr(w, r, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	case c.challenge != "" && !pkceMatches(c.challenge, f.Get("code_verifier")):
		oauthErr(w, r, "bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	s.issueLocked(w, r, c.scopes)
}

func pkceMatches(challenge, verifier string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (s *Server) pollLocked(w http.ResponseWriter, r *http.Request, app *OAuthApp, deviceCode string) {
	d := s.oauth.devices[deviceCode]
	now := time.Now()
	switch {
	case d == nil || d.app != app:
		oauthErr(w, r, "incorrect_device_code", "The device_code provided is not valid.")
		return
	case now.After(d.expires):
		oauthErr(w, r, "expired_token", "The device_code has expired.")
		return
	case d.denied:
		delete(s.oauth.devices, deviceCode)
		oauthErr(w, r, "access_denied", "The authorization request was denied.")
		return
	case !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < time.Duration(d.interval)*time.Second:
		d.lastPoll = now
		d.interval += 5
		s.oauth.slowDowns++
		oauthAnswer(w, r, http.StatusOK, map[string]any{"error": "slow_down", "error_description": "Too many requests have been made in the same timeframe.", "interval": d.interval})
		return
	}
	d.lastPoll = now
	if !d.approved {
		s.oauth.pendings++
		oauthErr(w, r, "authorization_pending", "The authorization request is still pending.")
		return
	}
	delete(s.oauth.devices, deviceCode)
	s.issueLocked(w, r, d.scopes)
}

// issueLocked answers a new OAuth app token: no expiry and no refresh
// token (OAuth apps' tokens live until revoked), scopes comma-separated.
func (s *Server) issueLocked(w http.ResponseWriter, r *http.Request, scopes string) {
	list := strings.Fields(strings.ReplaceAll(scopes, ",", " "))
	granted := strings.Join(list, ",")
	value := "gho_" + random(36)
	s.oauth.issued[value] = token{scopes: strings.Join(list, ", "), app: true}
	oauthAnswer(w, r, http.StatusOK, map[string]any{"access_token": value, "token_type": "bearer", "scope": granted})
}

func (s *Server) app(clientID string) *OAuthApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.apps[clientID]
}

// redirectAllowed: the callback's host and path, any port on loopback.
func redirectAllowed(app *OAuthApp, raw string) bool {
	if raw == "" {
		return true
	}
	u, err1 := url.Parse(raw)
	cb, err2 := url.Parse(app.CallbackURL)
	if err1 != nil || err2 != nil || u.Scheme != cb.Scheme || u.Hostname() != cb.Hostname() || u.Path != cb.Path {
		return false
	}
	return u.Port() == cb.Port() || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
}

func errorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>Sandbox GitHub</title><h1>Sandbox GitHub</h1><p id=error>%s</p>", html.EscapeString(msg))
}

// authorizePage is the consent page a person (or a headless browser)
// clicks through; with AutoApprove it submits itself.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app := s.app(q.Get("client_id"))
	switch {
	case app == nil:
		errorPage(w, http.StatusNotFound, "This OAuth app does not exist (unknown client_id).")
		return
	case !redirectAllowed(app, q.Get("redirect_uri")):
		errorPage(w, http.StatusBadRequest, "The redirect_uri is not associated with this application.")
		return
	}
	var hidden strings.Builder
	for _, k := range []string{"client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method"} {
		fmt.Fprintf(&hidden, `<input type=hidden name=%q value="%s">`, k, html.EscapeString(q.Get(k)))
	}
	auto := ""
	if s.opts.AutoApprove {
		auto = `<script>document.getElementById("approve").click()</script>`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Authorize %s · Sandbox GitHub</title>
<h1>Authorize %s</h1><p>Scopes: %s</p>
<form method=post action="/login/oauth/authorize">%s
<button id=approve name=decision value=approve>Authorize</button>
<button id=deny name=decision value=deny>Cancel</button></form>%s`,
		html.EscapeString(app.Name), html.EscapeString(app.Name), html.EscapeString(q.Get("scope")), hidden.String(), auto)
}

func (s *Server) authorizeDecision(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	app := s.app(f.Get("client_id"))
	if app == nil || !redirectAllowed(app, f.Get("redirect_uri")) {
		errorPage(w, http.StatusBadRequest, "The redirect_uri is not associated with this application.")
		return
	}
	target := f.Get("redirect_uri")
	if target == "" {
		target = app.CallbackURL
	}
	back := func(params url.Values) {
		params.Set("state", f.Get("state"))
		http.Redirect(w, r, target+"?"+params.Encode(), http.StatusFound)
	}
	if f.Get("decision") != "approve" {
		back(url.Values{"error": {"access_denied"}, "error_description": {"The user has denied your application access."},
			"error_uri": {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied"}})
		return
	}
	if m := f.Get("code_challenge_method"); f.Get("code_challenge") != "" && m != "S256" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge_method must be S256."}})
		return
	}
	code := random(20)
	s.mu.Lock()
	s.oauth.codes[code] = &authCode{app: app, redirect: f.Get("redirect_uri"), challenge: f.Get("code_challenge"),
		scopes: f.Get("scope"), expires: time.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

// devicePage is /login/device: enter the code and authorize it (as the
// sandbox's signed-in user).
func (s *Server) devicePage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.ParseForm()
		if s.decideDevice(r.PostForm.Get("user_code"), r.PostForm.Get("decision") == "deny") {
			w.Write([]byte("<!doctype html><h1 id=done>Congratulations, you're all set!</h1>"))
			return
		}
		errorPage(w, http.StatusBadRequest, "Unknown or used code.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Device activation · Sandbox GitHub</title><h1>Enter the code displayed on your device</h1>
<form method=post><input name=user_code value="%s"><button name=decision value=approve>Continue</button>
<button name=decision value=deny>Cancel</button></form>`, html.EscapeString(r.URL.Query().Get("user_code")))
}

// revokeToken is DELETE /applications/{client_id}/token: the app (basic
// auth with its id and secret) revokes one of its tokens.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, clientID string) {
	id, secret, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[clientID]
	if !ok || app == nil || id != clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil {
		s.fail(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	if _, ok := s.oauth.issued[body.AccessToken]; !ok {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	delete(s.oauth.issued, body.AccessToken)
	w.WriteHeader(http.StatusNoContent)
}
