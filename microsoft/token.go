package microsoft

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// App is an app registration's identity and its credential: a certificate
// onramp made (preferred) or a client secret.
type App struct {
	Tenant   string // the Directory (tenant) ID, or a verified domain
	ClientID string // the Application (client) ID
	Cert     *Certificate
	Secret   string
}

// Token is an app-only access token and what it says.
type Token struct {
	Access  string
	Expires time.Time
	// Roles are the application permissions granted to the app (the
	// token's roles claim): empty until an administrator consents.
	Roles []string
	// TenantID is the tenant that issued it (the tid claim).
	TenantID string
}

// tokenURL is the tenant's token endpoint in a cloud.
func tokenURL(c Cloud, tenant string) string {
	return c.Login + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// assertionType is RFC 7523's client-assertion type.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Assertion is the client assertion for the token endpoint aud: a JWT
// signed with the certificate's key (PS256), naming the certificate by its
// SHA-256 thumbprint (x5t#S256), valid for ten minutes — as Microsoft's
// certificate-credentials page describes it.
func (c *Certificate) Assertion(clientID, aud string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{
		"aud": aud, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	t.Header["x5t#S256"] = c.x5tS256()
	// The certificate itself (RFC 7515's x5c): Entra reads it for
	// subject-name/issuer apps and ignores it otherwise; the demo's
	// sandbox registers it, since nobody can upload there.
	t.Header["x5c"] = []string{base64.StdEncoding.EncodeToString(c.Cert.Raw)}
	return t.SignedString(c.Key)
}

// AppToken asks the tenant for an app-only token for Graph (the OAuth
// client-credentials grant: no user, no browser, no device code).
func AppToken(ctx context.Context, hc *http.Client, c Cloud, app App, now time.Time) (*Token, error) {
	endpoint := tokenURL(c, app.Tenant)
	form := url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {app.ClientID},
		"scope":      {c.Graph + "/.default"},
	}
	switch {
	case app.Cert != nil:
		a, err := app.Cert.Assertion(app.ClientID, endpoint, now)
		if err != nil {
			return nil, fmt.Errorf("sign the client assertion: %w", err)
		}
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", a)
	case app.Secret != "":
		form.Set("client_secret", app.Secret)
	default:
		return nil, &Error{Kind: KindCredential, Host: hostOf(c.Login), Message: "no certificate or client secret to sign in with"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Kind: KindOther, Host: hostOf(c.Login), Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(hostOf(c.Login), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, transportError(hostOf(c.Login), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, tokenError(hostOf(c.Login), resp, body)
	}
	var ok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.AccessToken == "" {
		return nil, &Error{Kind: KindNotMicrosoft, Host: hostOf(c.Login), Status: resp.StatusCode}
	}
	secs := 3599
	fmt.Sscan(strings.Trim(string(ok.ExpiresIn), `"`), &secs) // a number, or (older endpoints) a string
	tok := &Token{Access: ok.AccessToken, Expires: now.Add(time.Duration(secs) * time.Second)}
	tok.Roles, tok.TenantID = claims(ok.AccessToken)
	return tok, nil
}

// claims reads the roles and tid claims of an access token Entra just
// gave onramp over TLS. Its signature is Graph's to check; onramp reads
// what was granted, to name what is missing.
func claims(access string) (roles []string, tid string) {
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		return nil, ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, ""
	}
	var c struct {
		Roles []string `json:"roles"`
		TID   string   `json:"tid"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil, ""
	}
	for i, r := range c.Roles { // drawn on screen as the scopes
		c.Roles[i] = textsafe.Truncate(r, 80)
	}
	slices.Sort(c.Roles)
	return c.Roles, c.TID
}

// aadError is Entra's error body at its token endpoint.
type aadError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// tokenError explains a refusal of the token endpoint by its AADSTS code.
func tokenError(host string, resp *http.Response, body []byte) *Error {
	var a aadError
	if json.Unmarshal(body, &a) != nil || a.Error == "" {
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return statusError(host, resp, body)
		}
		return &Error{Kind: KindNotMicrosoft, Host: host, Status: resp.StatusCode}
	}
	e := &Error{Kind: KindCredential, Host: host, Status: resp.StatusCode, ServerCode: a.Error, Message: firstLine(a.Description)}
	if len(a.Codes) > 0 {
		e.AADSTS = a.Codes[0]
	}
	switch e.AADSTS {
	case 90002, 900023, 90072: // tenant not found, not a tenant id, account not in tenant
		e.Kind = KindTenant
	case 700016: // no such application in the tenant
		e.Kind = KindApplication
	case 7000215: // invalid client secret
		e.Kind = KindSecret
	case 7000222: // the client secret expired
		e.Kind = KindSecretExpired
	case 700027, 700024, 700023, 50012: // the assertion: signature, certificate not registered, expired, invalid
		e.Kind = KindCertificate
	case 7000112: // the application is disabled
		e.Kind = KindApplication
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		e.Kind, e.Wait = KindThrottled, retryAfter(resp)
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			e.Kind = KindServer
		}
	}
	return e
}

// firstLine is Entra's description without the trace and correlation
// ids and the timestamp it appends (on lines of their own, or not).
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, " Trace ID:")
	return strings.TrimSpace(s)
}
