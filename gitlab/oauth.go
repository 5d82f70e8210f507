package gitlab

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// DefaultOAuthScopes are what the connector needs.
var DefaultOAuthScopes = []string{"read_api", "read_user"}

// OAuthConfig is x/oauth2's view of an instance's OAuth provider. The secret
// goes in the form body (Doorkeeper accepts both; a body never leaks into
// proxy logs as an Authorization header might be printed).
func OAuthConfig(base connector.Address, clientID, secret string, scopes []string, redirect string) *oauth2.Config {
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
func ApplicationsPageURL(at connector.Address) string {
	return at.URL + "/-/user_settings/applications"
}

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

// oauthHints are GitLab's words on where to fix an OAuth failure.
var oauthHints = map[string]string{
	"invalid_client": "Copy the Application ID and Secret again from GitLab (Edit profile → Applications). A public application (Confidential unchecked) has no secret: leave it empty.",
	"invalid_scope":  "Tick the read_api and read_user scopes (or api) on the application in GitLab, or ask for fewer scopes.",
	"expired_token":  "Start again; the code is valid for 5 minutes.",
}

// ExplainOAuth turns x/oauth2's errors into *connector.OAuthError (GitLab's
// hints) or, for a failing server or network, *Error.
func ExplainOAuth(host string, err error) error {
	return connector.ExplainOAuth("GitLab", oauthHints, err, func(status int, body string, err error) error {
		if status == 0 {
			return classifyTransport(host, err)
		}
		return &Error{Kind: statusKind(status), Host: host, Status: status, Detail: body}
	})
}

// RevokeOAuth revokes a token server-side (RFC 7009).
func RevokeOAuth(ctx context.Context, hc *http.Client, base connector.Address, clientID, secret, token string) error {
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
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, c.Base.API+"/personal_access_tokens/self", nil)
	c.authorize(req)
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
