package flows

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// OAuthMode is how the person authorizes.
type OAuthMode string

const (
	// ModeBrowser opens the system browser on this machine; the browser
	// comes back to a loopback listener.
	ModeBrowser OAuthMode = "browser"
	// ModeDevice shows a code to enter at the vendor from any device.
	ModeDevice OAuthMode = "device"
	// ModePaste shows the authorization address; the person pastes back the
	// address their browser ended on.
	ModePaste OAuthMode = "paste"
)

// OAuthModes lists the modes in the order they are offered.
var OAuthModes = []OAuthMode{ModeBrowser, ModeDevice, ModePaste}

// attemptTimeout bounds one authorization: the listener and the device
// poll never outlive it.
const attemptTimeout = 10 * time.Minute

// IsRemote reports whether a browser launched here would open on the wrong
// machine: an SSH session, or Linux without a display.
func IsRemote(getenv func(string) string) bool {
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
		return true
	}
	return runtime.GOOS == "linux" && getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == ""
}

// DefaultOAuthMode is the mode that works where the person is.
func DefaultOAuthMode(remote bool) OAuthMode {
	if remote {
		return ModeDevice
	}
	return ModeBrowser
}

// OAuthAttempt is one authorization in progress.
type OAuthAttempt struct {
	Mode OAuthMode
	// AuthURL is the address to open (browser and paste modes).
	AuthURL string
	// RedirectURI is the loopback address this attempt listens on.
	RedirectURI string
	// Tunnel is the `ssh -L` forwarding that makes the loopback listener
	// reachable from the person's own browser ("" where it cannot work).
	Tunnel string
	// Device holds the user code and verification address (device mode).
	Device *oauth2.DeviceAuthResponse
	// Note explains a change of mode (a server without the device grant).
	Note string

	conf     *oauth2.Config
	hc       *http.Client
	svc      *connector.OAuthService
	verifier string
	state    string
	srv      *http.Server
	results  chan callbackResult
	once     sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
	// openBrowser launches the system browser (OpenBrowser).
	openBrowser func(string) error
}

type callbackResult struct {
	code string
	err  error
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauthProvider is the vendor's OAuth side, when it has one.
func (c *Connect) oauthProvider() (OAuthProvider, error) {
	p, ok := c.Vendor.Connector.(OAuthProvider)
	if !ok {
		return nil, fmt.Errorf("%s has no OAuth sign-in in onramp", c.Vendor.Name)
	}
	return p, nil
}

// oauthService is the vendor's OAuth service for the form's values.
func (c *Connect) oauthService() (*connector.OAuthService, error) {
	p, err := c.oauthProvider()
	if err != nil {
		return nil, err
	}
	return p.OAuth(c.address, c.Values)
}

// ModeBlocked says why mode cannot work with the values typed (the
// browser and paste-back ways without a secret the vendor needs to
// exchange their code), or "" when it can: the screen does not offer a way
// that would only fail.
func (c *Connect) ModeBlocked(mode OAuthMode) string {
	if mode == ModeDevice {
		return ""
	}
	svc, err := c.oauthService()
	if err != nil || !svc.SecretForCode || c.Values[FieldClientSecret] != "" {
		return ""
	}
	return "The browser and paste-back ways need the client secret (" + svc.Vendor + " exchanges their code only with it); esc goes back to add it."
}

// StartOAuth begins an authorization in mode. Browser mode is refused when
// remote (the browser would open on the wrong machine); device mode falls
// back to paste-back on servers without the device grant (when the vendor
// says what to tell the person: OAuthService.NoDevice). The browser and
// paste-back ways are refused without a client secret where the vendor
// needs one to exchange the code (OAuthService.SecretForCode).
func (c *Connect) StartOAuth(ctx context.Context, mode OAuthMode) (*OAuthAttempt, error) {
	if err := c.CheckFields(); err != nil {
		return nil, err
	}
	if mode == ModeBrowser && c.deps.Remote {
		mode = ModePaste
	}
	svc, err := c.oauthService()
	if err != nil {
		return nil, err
	}
	if mode != ModeDevice && svc.SecretForCode && c.Values[FieldClientSecret] == "" {
		return nil, &StepError{Field: FieldClientSecret,
			Message: svc.Vendor + " exchanges the browser's authorization code only with the app's client secret",
			Hint:    "Paste the client secret, or choose the device code way, which needs none"}
	}
	hc, err := c.deps.NewHTTP(httpOptions(c))
	if err != nil {
		return nil, &StepError{Field: caFieldKey(c.Method), Message: err.Error(), Err: err}
	}
	a := &OAuthAttempt{Mode: mode, hc: hc, svc: svc, conf: svc.Config, results: make(chan callbackResult, 1)}
	timeout := c.deps.OAuthTimeout
	if timeout == 0 {
		timeout = attemptTimeout
	}
	a.ctx, a.cancel = context.WithTimeout(context.Background(), timeout)

	if mode == ModeDevice {
		da, err := a.conf.DeviceAuth(context.WithValue(ctx, oauth2.HTTPClient, hc))
		var re *oauth2.RetrieveError
		switch {
		case err == nil && da.DeviceCode == "":
			// An error in a 200 answer, which x/oauth2 reads as an empty grant.
			a.cancel()
			return nil, &StepError{Message: svc.Vendor + " answered the device authorization without a device code",
				Hint: "Check that the app allows the device flow, or choose the browser way"}
		case err == nil:
			if err := checkDevice(svc, da); err != nil {
				a.cancel()
				return nil, err
			}
			// x/oauth2 polls exactly on the interval, which strict servers
			// answer with slow_down when a poll arrives a moment early.
			if da.Interval <= 0 {
				da.Interval = 5 // RFC 8628's default
			}
			da.Interval += devicePollMargin
			a.Device = da
			return a, nil
		case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound && svc.NoDevice != "":
			a.Mode = ModePaste
			a.Note = svc.NoDevice
		default:
			a.cancel()
			return nil, explain(connector.Authorizing(svc.Explain(err)))
		}
	}

	// Browser and paste: a loopback listener for this attempt only, on a
	// free port of 127.0.0.1 (never every interface).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.cancel()
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	a.RedirectURI = fmt.Sprintf("http://127.0.0.1:%d%s", port, connector.RedirectPath)
	if !c.deps.NoTunnel {
		a.Tunnel = fmt.Sprintf("ssh -L %d:127.0.0.1:%d <this server>", port, port)
	}
	a.conf.RedirectURL = a.RedirectURI
	a.verifier, a.state = oauth2.GenerateVerifier(), randomToken()
	a.AuthURL = a.conf.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier))
	a.srv = &http.Server{Handler: http.HandlerFunc(a.callback), ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(l)
	go func() { <-a.ctx.Done(); a.srv.Close() }()
	a.openBrowser = c.deps.OpenBrowser
	return a, nil
}

// OpenBrowser opens the system browser on the authorization address
// (browser mode; the address can be shown meanwhile). When none opens, it
// returns the note that says so, and the attempt goes on as paste-back:
// the caller switches to ModePaste.
func (a *OAuthAttempt) OpenBrowser() (note string) {
	if a.Mode != ModeBrowser || a.openBrowser == nil {
		return ""
	}
	if err := a.openBrowser(a.AuthURL); err != nil {
		return "No browser could be opened here (" + textsafe.Truncate(err.Error(), 80) + "), so open the address yourself."
	}
	return ""
}

// devicePollMargin is added to the device grant's polling interval, in
// seconds (x/oauth2 takes whole seconds).
const devicePollMargin = 1

// checkDevice refuses a device authorization whose words would mislead the
// person: the verification address must be an http(s) address on the
// instance's own host, written in plain ASCII (no escape sequence, no bidi
// control, no look-alike letters), and the user code letters, digits and
// dashes. Anything else is what a hostile server or a proxy in the middle
// would send to lead the person to another site.
func checkDevice(svc *connector.OAuthService, da *oauth2.DeviceAuthResponse) error {
	refuse := func(what, value string) error {
		return &StepError{Message: fmt.Sprintf("the server's device authorization gave %s that onramp will not show: %s", what, textsafe.Truncate(value, 80)),
			Hint: "Use the browser or paste-back way instead, and tell your " + svc.Vendor + " administrator; a proxy may be rewriting answers."}
	}
	for i, u := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if i == 1 && u == "" {
			continue // the complete address is optional
		}
		parsed, err := url.Parse(u)
		if err != nil || !textsafe.IsPlainASCII(u) || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.User != nil ||
			!strings.EqualFold(parsed.Hostname(), svc.Host) {
			return refuse("a verification address off the instance's host", u)
		}
	}
	if da.UserCode == "" || len(da.UserCode) > 32 || strings.TrimFunc(da.UserCode, isCodeRune) != "" {
		return refuse("a user code", da.UserCode)
	}
	return nil
}

func isCodeRune(r rune) bool {
	return r == '-' || (r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
}

// callback receives the browser's redirect on the loopback listener.
func (a *OAuthAttempt) callback(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != connector.RedirectPath {
		http.NotFound(w, r)
		return
	}
	res := a.check(r.URL.Query())
	if res.err != nil && errors.Is(res.err, errStateMismatch) {
		// Not ours: say so, and keep waiting for the real one.
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, page("This sign-in link does not belong to the authorization onramp is waiting for.", false))
		return
	}
	a.deliver(res)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if res.err != nil {
		fmt.Fprint(w, page("Authorization failed. Return to the terminal to see why.", false))
		return
	}
	fmt.Fprint(w, page("onramp is authorized. You can close this tab and return to the terminal.", true))
}

func page(msg string, ok bool) string {
	mark := "✗"
	if ok {
		mark = "✓"
	}
	return `<!doctype html><meta charset=utf-8><title>onramp</title><body style="font:16px system-ui;margin:3em">` +
		`<h1>` + mark + ` onramp</h1><p id=result>` + msg + `</p></body>`
}

var errStateMismatch = errors.New("this address belongs to another authorization (its state does not match): copy the address from the browser tab this authorization opened")

// check validates a redirect's parameters: state first, then error or code.
func (a *OAuthAttempt) check(q url.Values) callbackResult {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(a.state)) != 1 {
		return callbackResult{err: errStateMismatch}
	}
	if e := q.Get("error"); e != "" {
		// The vendor's words and hints, sanitized as from its token endpoint.
		return callbackResult{err: connector.Authorizing(a.svc.Explain(&oauth2.RetrieveError{ErrorCode: e, ErrorDescription: q.Get("error_description")}))}
	}
	if q.Get("code") == "" {
		return callbackResult{err: errors.New("the address has no authorization code")}
	}
	return callbackResult{code: q.Get("code")}
}

// deliver hands over the first result; later ones are dropped (whichever of
// listener and paste arrives first wins).
func (a *OAuthAttempt) deliver(r callbackResult) {
	a.once.Do(func() { a.results <- r })
}

// Paste takes the address the person's browser ended on. A wrong paste
// (another authorization's address, no code, not an address) is an error
// and the attempt keeps waiting for a right one.
func (a *OAuthAttempt) Paste(raw string) error {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return errors.New("paste the whole address from the browser's address bar (it starts with http://127.0.0.1 and contains ?code=)")
	}
	res := a.check(u.Query())
	if errors.Is(res.err, errStateMismatch) || (res.err != nil && res.code == "" && !isOAuthErr(res.err)) {
		return res.err
	}
	a.deliver(res)
	return nil
}

func isOAuthErr(err error) bool {
	var oe *OAuthError
	return errors.As(err, &oe)
}

// Wait blocks until the authorization completes (a code from the listener
// or a paste, exchanged with the PKCE verifier; or the device grant
// approved), fails, times out, or ctx is cancelled.
func (a *OAuthAttempt) Wait(ctx context.Context) (*oauth2.Token, error) {
	defer a.Close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-a.ctx.Done():
			stop()
		case <-ctx.Done():
		}
	}()
	hctx := context.WithValue(ctx, oauth2.HTTPClient, a.hc)
	if a.Device != nil {
		tok, err := a.conf.DeviceAccessToken(hctx, a.Device)
		if err != nil {
			return nil, a.waitErr(ctx, err)
		}
		return tok, nil
	}
	select {
	case r := <-a.results:
		if r.err != nil {
			return nil, r.err
		}
		tok, err := a.conf.Exchange(hctx, r.code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			return nil, connector.Authorizing(a.svc.Explain(err))
		}
		return tok, nil
	case <-ctx.Done():
		return nil, a.waitErr(ctx, ctx.Err())
	}
}

func (a *OAuthAttempt) waitErr(ctx context.Context, err error) error {
	// x/oauth2 stops polling at the device code's expiry with a deadline.
	if a.Device != nil && errors.Is(err, context.DeadlineExceeded) && !a.Device.Expiry.IsZero() && !time.Now().Before(a.Device.Expiry) {
		return a.svc.Explain(&oauth2.RetrieveError{ErrorCode: "expired_token"})
	}
	if a.ctx.Err() == context.DeadlineExceeded {
		return &StepError{Message: "the authorization timed out", Hint: "Start it again", Retryable: true, Err: err}
	}
	if ctx.Err() != nil {
		return &StepError{Message: "cancelled", Err: context.Canceled}
	}
	return connector.Authorizing(a.svc.Explain(err))
}

// Close stops the listener and any polling.
func (a *OAuthAttempt) Close() {
	if a.cancel != nil {
		a.cancel()
	}
	if a.srv != nil {
		a.srv.Close() // now, not when the watcher gets to it: the port is free on return
	}
}

// FinishOAuth verifies the token the attempt produced; Save then stores it.
func (c *Connect) FinishOAuth(ctx context.Context, tok *oauth2.Token) (*Verification, error) {
	hc, err := c.deps.NewHTTP(httpOptions(c))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.deps.Timeout)
	defer cancel()
	p, err := c.oauthProvider()
	if err != nil {
		return nil, err
	}
	v, err := p.VerifyOAuth(ctx, c.verifyRequest(hc), tok.AccessToken)
	if err != nil {
		return nil, explain(err)
	}
	v.OAuth, v.Refreshes = true, tok.RefreshToken != ""
	if !tok.Expiry.IsZero() {
		exp := tok.Expiry.UTC()
		v.AccessExpiresAt, v.AccessLifetime = &exp, time.Until(exp).Round(time.Minute) // x/oauth2 set it by the real clock
	}
	c.Result, c.oauthToken = v, tok
	return v, nil
}

// oauthSecrets fills the OAuth fields of a connection being saved.
func (c *Connect) oauthSecrets(conn *store.Connection) {
	tok := c.oauthToken
	conn.ClientID = c.Values[FieldClientID]
	conn.SetSecret(store.SecretAccessToken, store.Secret(tok.AccessToken))
	conn.SetSecret(store.SecretRefreshToken, store.Secret(tok.RefreshToken))
	conn.SetSecret(store.SecretClientSecret, store.Secret(c.Values[FieldClientSecret]))
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC()
		conn.AccessExpiresAt = &e
	}
	conn.ExpiresAt = nil
}
