package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/internal/textsafe"
)

// RedirectPath is the callback path onramp asks people to register; GitLab
// ignores the port of a loopback IP, so one registration,
// http://127.0.0.1/onramp/callback, serves any free port.
const RedirectPath = "/onramp/callback"

// RegisteredRedirectURI is what to paste into GitLab's application form.
const RegisteredRedirectURI = "http://127.0.0.1" + RedirectPath

// DefaultOAuthScopes are what the connector needs.
var DefaultOAuthScopes = []string{"read_api", "read_user"}

// OAuthConfig is x/oauth2's view of an instance's OAuth provider. The secret
// goes in the form body (Doorkeeper accepts both; a body never leaks into
// proxy logs as an Authorization header might be printed).
func OAuthConfig(base BaseURL, clientID, secret string, scopes []string, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, Scopes: scopes, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{
			AuthURL:       base.URL + "/oauth/authorize",
			TokenURL:      base.URL + "/oauth/token",
			DeviceAuthURL: base.URL + "/oauth/authorize_device",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
}

// ApplicationsPageURL is where a person creates an OAuth application.
func ApplicationsPageURL(base string) string { return base + "/-/user_settings/applications" }

type tokenInfo struct {
	ResourceOwnerID int64    `json:"resource_owner_id"`
	Scope           []string `json:"scope"`
	ExpiresIn       int      `json:"expires_in"`
	Application     struct {
		UID string `json:"uid"`
	} `json:"application"`
}

// VerifyOAuth checks an OAuth access token: server metadata, /oauth/token/info
// (scopes, expiry) and /user, with the same warnings as for a token.
func VerifyOAuth(ctx context.Context, c *Client, now time.Time) (*Verification, error) {
	c.Bearer = true
	v := &Verification{Base: c.Base, OAuth: true}
	if err := v.server(ctx, c); err != nil {
		return nil, err
	}
	var info tokenInfo
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base.URL+"/oauth/token/info", nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, classifyTransport(c.Base.Host(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, &Error{Kind: KindInvalidToken, Host: c.Base.Host(), Status: resp.StatusCode}
	}
	if err := decodeJSON(resp, &info); err != nil {
		return nil, &Error{Kind: KindServer, Host: c.Base.Host(), Status: resp.StatusCode, Detail: "unreadable /oauth/token/info"}
	}
	v.ScopesKnown, v.Scopes = true, cleanScopes(info.Scope)
	v.TokenName = "OAuth application " + textsafe.Truncate(info.Application.UID, 40)
	if err := v.identity(ctx, c); err != nil {
		return nil, err
	}
	v.Warnings = v.warnings()
	return v, nil
}

// OAuthError explains a failed OAuth exchange in the terms a person needs.
type OAuthError struct {
	Code        string // invalid_grant, invalid_client, access_denied… (sanitized)
	Description string // the server's words, sanitized
	// Status is the HTTP status of the answer; 0 when the error came back
	// through the browser's redirect.
	Status int
	// Authorizing: the error ended a new authorization (a code exchange or
	// a device grant), not the renewal of a stored one.
	Authorizing bool
}

func (e *OAuthError) Error() string {
	switch e.Code {
	case "invalid_grant":
		if e.Authorizing {
			return "the authorization failed (invalid_grant): GitLab did not accept the authorization code — it was already used, expired, or issued for another application or address"
		}
		return "GitLab no longer accepts this authorization (invalid_grant): the connection needs to be reconnected"
	case "invalid_client":
		return "GitLab did not accept the Application ID or Secret (invalid_client)"
	case "invalid_scope":
		return "the application is not registered for the requested scopes (invalid_scope)"
	case "access_denied":
		return "the authorization was denied in GitLab"
	case "expired_token":
		return "the device code expired before it was approved"
	}
	if e.Description != "" {
		return fmt.Sprintf("GitLab refused the authorization (%s): %s", e.Code, e.Description)
	}
	return fmt.Sprintf("GitLab refused the authorization (%s)", e.Code)
}

// Hint says what to do next.
func (e *OAuthError) Hint() string {
	switch e.Code {
	case "invalid_grant":
		if e.Authorizing {
			return "Try the authorization again; use the address or code of this attempt only, once."
		}
		return "Authorize again (onramp reconnect ALIAS): alias, settings and inventory are kept."
	case "invalid_client":
		return "Copy the Application ID and Secret again from GitLab (Edit profile → Applications). A public application (Confidential unchecked) has no secret: leave it empty."
	case "invalid_scope":
		return "Tick the read_api and read_user scopes (or api) on the application in GitLab, or ask for fewer scopes."
	case "access_denied":
		return "Start again and select Authorize in GitLab."
	case "expired_token":
		return "Start again; the code is valid for 5 minutes."
	}
	return "Check the application's settings in GitLab and try again."
}

// Field names the form field to fix.
func (e *OAuthError) Field() string {
	switch e.Code {
	case "invalid_client":
		return FieldClientID
	case "invalid_scope":
		return FieldScopes
	}
	return ""
}

// Retryable: every OAuth failure needs a new authorization, not a retry.
func (e *OAuthError) Retryable() bool { return false }

// Permanent reports whether a refresh that failed this way can never
// succeed with the stored grant: the server refused it in words (a 4xx
// OAuth error), as opposed to being throttled (429), timing out (408) or
// failing (5xx), after which the stored token is kept for a later try.
func (e *OAuthError) Permanent() bool {
	if e.Status == 0 {
		return e.Code != ""
	}
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout
}

// Fields of the OAuth form.
const (
	FieldClientID     = "client_id"
	FieldClientSecret = "client_secret"
	FieldScopes       = "scopes"
)

// ExplainOAuth turns x/oauth2's errors into OAuthError or Error. Every
// word the server chose (error code, description, a body that is not
// OAuth's JSON) is sanitized here, once, before any surface shows it.
func ExplainOAuth(host string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &OAuthError{Code: textsafe.Truncate(re.ErrorCode, 40), Description: textsafe.Truncate(re.ErrorDescription, 200)}
		if re.Response != nil {
			oe.Status = re.Response.StatusCode
		}
		if oe.Code == "" {
			if oe.Status >= 500 || oe.Status == http.StatusTooManyRequests {
				return &Error{Kind: statusKind(oe.Status), Host: host, Status: oe.Status, Detail: textsafe.Truncate(firstNonEmpty(string(re.Body), http.StatusText(oe.Status)), 200)}
			}
			oe.Code = fmt.Sprintf("HTTP %d", oe.Status)
			oe.Description = textsafe.Truncate(string(re.Body), 200)
		}
		return oe
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return classifyTransport(host, err)
}

// IsInvalidGrant reports whether a refresh failed because the grant is dead.
func IsInvalidGrant(err error) bool {
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.Code == "invalid_grant"
	}
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// RefreshRefused reports whether the token endpoint refused a refresh for
// good (any 4xx OAuth error: invalid_grant, invalid_client, Dex's
// invalid_request "already claimed"…): only a new authorization helps.
func RefreshRefused(err error) bool {
	var oe *OAuthError
	return errors.As(err, &oe) && oe.Permanent()
}

// RevokeOAuth revokes a token server-side (RFC 7009).
func RevokeOAuth(ctx context.Context, hc *http.Client, base BaseURL, clientID, secret, token string) error {
	form := url.Values{"client_id": {clientID}, "token": {token}}
	if secret != "" {
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base.URL+"/oauth/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return classifyTransport(base.Host(), err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return &Error{Kind: KindServer, Host: base.Host(), Status: resp.StatusCode, Detail: "the token could not be revoked"}
	}
	return nil
}

// RevokePAT revokes a personal access token with itself.
func RevokePAT(ctx context.Context, c *Client) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, c.Base.API()+"/personal_access_tokens/self", nil)
	req.Header.Set("Private-Token", c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return classifyTransport(c.Base.Host(), err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case 204, 200:
		return nil
	case 401:
		return nil // already dead: nothing left to revoke
	}
	return &Error{Kind: KindServer, Host: c.Base.Host(), Status: resp.StatusCode, Detail: "the token could not be revoked"}
}
