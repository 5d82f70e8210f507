package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// DefaultOAuthScopes: read:org reads the members of every organization the
// person belongs to, and their Copilot seats where the person may.
var DefaultOAuthScopes = []string{"read:org"}

// OAuthConfig is x/oauth2's view of GitHub's OAuth service for OAuth apps:
// on github.com and on Enterprise Server alike it lives on the web host,
// not the API's. The client id (and secret, when given) go in the form
// body, as GitHub documents.
func OAuthConfig(b connector.Address, clientID, secret string, scopes []string, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, Scopes: scopes, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{
			AuthURL:       b.URL + "/login/oauth/authorize",
			TokenURL:      b.URL + "/login/oauth/access_token",
			DeviceAuthURL: b.URL + "/login/device/code",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
}

// OAuthAppsPageURL is where a person registers an OAuth app.
func OAuthAppsPageURL(b connector.Address) string { return b.URL + "/settings/developers" }

// oauthHints are GitHub's words on where to fix an OAuth failure. GitHub
// answers these with HTTP 200 and an error field; x/oauth2 reads them.
var oauthHints = map[string]string{
	"invalid_client":        "Copy the Client ID again from the OAuth app on GitHub (Settings → Developer settings → OAuth Apps), and generate a new client secret if you lost it.",
	"device_flow_disabled":  "Tick Enable Device Flow in the OAuth app's settings on GitHub, or choose the browser way.",
	"redirect_uri_mismatch": "Set the OAuth app's Authorization callback URL to " + connector.RegisteredRedirectURI + " on GitHub.",
	"unverified_user_email": "Verify the primary email address of your GitHub account, then authorize again.",
	"expired_token":         "Start again; GitHub's device codes are valid for 15 minutes.",
}

// ExplainOAuth turns x/oauth2's errors into *connector.OAuthError
// (GitHub's hints) or, for a failing server or network, *Error.
func ExplainOAuth(host string, err error) error {
	return connector.ExplainOAuth("GitHub", oauthHints, err, func(status int, body string, err error) error {
		if status == 0 {
			return transportError(host, err)
		}
		kind := KindServer
		if status == http.StatusTooManyRequests {
			kind = KindRateLimited
		}
		return &Error{Kind: kind, Host: host, Status: status, Message: body}
	})
}

// OAuth is GitHub's OAuth service for the form's instance. The browser
// flow's code exchange needs the app's client secret even with PKCE; the
// device flow needs only the client id.
func (githubConnector) OAuth(base connector.Address, values map[string]string) (*connector.OAuthService, error) {
	scopes := connector.Scopes(values[connector.FieldScopes], DefaultOAuthScopes)
	return &connector.OAuthService{
		Config: OAuthConfig(base, values[connector.FieldClientID], values[connector.FieldClientSecret], scopes, ""),
		Host:   connector.Hostname(base.URL), Vendor: "GitHub",
		Explain:       func(err error) error { return ExplainOAuth(base.Host(), err) },
		SecretForCode: true,
	}, nil
}

// VerifyOAuth checks an OAuth app's access token as Verify checks a
// personal one. Its scopes are the ones the person granted, so a missing
// read:org is fixed in the Scopes field, not on a token page.
func (g githubConnector) VerifyOAuth(ctx context.Context, req connector.VerifyRequest, accessToken string) (*connector.Verification, error) {
	byToken := req
	byToken.Values = map[string]string{connector.FieldToken: accessToken}
	v, err := g.Verify(ctx, byToken)
	var se *ScopeError
	if errors.As(err, &se) {
		granted := "nothing"
		if len(se.Scopes) > 0 {
			granted = strings.Join(se.Scopes, ", ")
		}
		return nil, &connector.StepError{Field: connector.FieldScopes, Err: err,
			Message: "the authorization did not grant read:org (it granted " + granted + "): onramp reads organization members with it",
			Hint:    "Put read:org in Scopes and authorize again"}
	}
	if err != nil {
		return nil, err
	}
	v.TokenName = "OAuth app " + textsafe.Truncate(req.Values[connector.FieldClientID], 40)
	v.NoExpiry = "never: an OAuth app's token lasts until it is revoked on GitHub"
	for i, w := range v.Warnings {
		if w.Code == "organizations" {
			v.Warnings[i].Action = "Every organization you belong to is read; one that restricts OAuth apps reads only once an owner approves this app."
		}
	}
	return v, nil
}

// RevokeOAuth revokes an OAuth app's access token: DELETE
// /applications/{client_id}/token, authenticated as the app. GitHub answers
// 404 both for a token already gone and for a wrong secret, so a 404 is not
// taken for success.
func RevokeOAuth(ctx context.Context, hc *http.Client, b connector.Address, clientID, secret, accessToken string) error {
	body, _ := json.Marshal(map[string]string{"access_token": accessToken})
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, b.API+"/applications/"+url.PathEscape(clientID)+"/token", bytes.NewReader(body))
	req.SetBasicAuth(clientID, secret)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	resp, err := hc.Do(req)
	if err != nil {
		return transportError(b.Host(), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusNotFound:
		return errors.New("GitHub found no such token for this OAuth app (already revoked, or the app's client secret changed); check " + b.URL + "/settings/applications")
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return &Error{Kind: KindServer, Host: b.Host(), Status: resp.StatusCode, Message: message(msg)}
}
