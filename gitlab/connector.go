package gitlab

import (
	"context"
	"net/http"
	"strings"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/store"
)

// CardOptions adjust the GitLab card (tests point it elsewhere).
type CardOptions struct {
	DefaultURL string
	// TokenNotes are shown first beside the token field (the demo lists its
	// sandbox tokens there).
	TokenNotes []string
	// OAuthNotes are shown first beside the Application ID field.
	OAuthNotes []string
	// OAuthScopes are the Scopes field's default (DefaultOAuthScopes
	// when empty; the demo asks for admin_mode too).
	OAuthScopes []string
}

// Card is the GitLab catalog card: the vendor guide's fields and steps.
func Card(o CardOptions) *connector.Vendor {
	if o.DefaultURL == "" {
		o.DefaultURL = DefaultBaseURL
	}
	if len(o.OAuthScopes) == 0 {
		o.OAuthScopes = DefaultOAuthScopes
	}
	urlField := connector.ServerURLField("GitLab server URL", o.DefaultURL, "e.g. https://gitlab.example.com", []string{
		"The address you open GitLab at, e.g. https://gitlab.example.com.",
		"Keep a sub-path if it has one: https://example.com/gitlab.",
	}, func(s string) (string, bool, error) {
		b, err := NormalizeURL(s)
		return b.URL, b.Insecure, err
	})
	caField := connector.CAFileField("GitLab")
	return &connector.Vendor{
		ID:   "gitlab",
		Name: "GitLab",
		Description: "Inventory of users and seats: who has an account, who takes a license seat, " +
			"and when each last signed in — for GitLab.com and self-managed GitLab.",
		Keywords: []string{"git", "devops", "scm", "self-managed", "saas"},
		Methods: []connector.AuthMethod{
			{
				ID: store.AuthToken, Name: "API access token",
				Summary: "Paste a personal access token. Quickest; the token expires on a date you choose.",
				Fields: []connector.Field{urlField, {
					Key: connector.FieldToken, Label: "Access token", Secret: true, Placeholder: "e.g. glpat-…",
					Help: []string{
						"In GitLab, select your avatar, then Edit profile.",
						"In the left sidebar, select Access tokens, then Add new token.",
						"Name it (e.g. onramp). Expiry defaults to 365 days; the token dies at midnight UTC on that date.",
						"Scopes: read_api and read_user (or api). Admins on instances with Admin Mode: add admin_mode.",
						"Select Create personal access token, copy it and paste it here.",
					},
					Notes: o.TokenNotes,
					Link: func(v map[string]string) string {
						base := v[connector.FieldURL]
						if b, err := NormalizeURL(base); err == nil {
							return TokenPageURL(b.URL)
						}
						return ""
					},
				}, caField},
			},
			{
				ID: store.AuthOAuth, Name: "OAuth2", Recommended: true,
				Summary: "Authorize an OAuth application you create in GitLab. Nothing long-lived to paste; access renews itself.",
				Intro: []string{
					"In GitLab, select your avatar, then Edit profile → Applications → Add new application.",
					"Name it (e.g. onramp) and paste the Redirect URI below as its Redirect URI.",
					"Tick the scopes read_api and read_user (or simply api), then Save application.",
					"Administrators: tick admin_mode too (and add it to Scopes below): with Admin Mode on, GitLab shows only the basic user list to a token without it, with no emails, seats or sign-ins.",
					"Confidential (the default) gives the app a Secret, which onramp then needs; unticked, the app is public and has none.",
					"Copy the Application ID (and the Secret) into the fields below.",
				},
				Copy: &connector.Copyable{Label: "Redirect URI", Value: connector.RegisteredRedirectURI,
					Note: "GitLab ignores the port of a 127.0.0.1 address, so this one registration works whichever port onramp listens on."},
				Fields: []connector.Field{urlField, {
					Key: connector.FieldClientID, Label: "Application ID", Placeholder: "the application's ID from GitLab", Notes: o.OAuthNotes,
					Help: []string{"Edit profile → Applications → your application: Application ID."},
					Link: func(v map[string]string) string {
						if b, err := NormalizeURL(v[connector.FieldURL]); err == nil {
							return ApplicationsPageURL(b.URL)
						}
						return ""
					},
				}, {
					Key: connector.FieldClientSecret, Label: "Secret", Secret: true, Optional: true, Placeholder: "e.g. gloas-… (empty for a public app)",
					Help: []string{"Shown once when you save the application (Renew secret makes a new one).", "Leave empty if Confidential is unticked."},
				}, {
					Key: connector.FieldScopes, Label: "Scopes", Default: strings.Join(o.OAuthScopes, " "),
					Help: []string{"Space-separated; the application must be registered with each of them.",
						"admin_mode gives an administrator's full inventory; to change the scopes of a connection later, reconnect it (r) and edit them here."},
				}, caField},
			},
		},
		Connector: gitlabConnector{},
	}
}

type gitlabConnector struct{}

func (gitlabConnector) Verify(ctx context.Context, req connector.VerifyRequest) (*connector.Verification, error) {
	base, err := NormalizeURL(req.Values[connector.FieldURL])
	if err != nil {
		return nil, &connector.StepError{Field: connector.FieldURL, Message: err.Error()}
	}
	c := &Client{HTTP: req.HTTP, Base: base, Token: req.Values[connector.FieldToken]}
	v, err := Verify(ctx, c, req.Now)
	if err != nil {
		return nil, err
	}
	return verificationOf(base, v), nil
}

// verificationOf converts GitLab's verification into the flow's.
func verificationOf(base BaseURL, v *Verification) *connector.Verification {
	out := &connector.Verification{
		BaseURL:       base.URL,
		Account:       store.Account{ID: v.Account.ID, Username: v.Account.Username, Name: v.Account.Name, Admin: v.Account.Admin},
		ServerVersion: v.Version, ServerEdition: v.Edition, EditionName: v.EditionName(),
		TokenName: v.TokenName, Scopes: v.Scopes, ScopesKnown: v.ScopesKnown, ExpiresAt: v.ExpiresAt,
		ScopesNote: "unknown (the server is older than GitLab 15.5)", Vendor: "GitLab",
	}
	if v.ExpiresAt != nil {
		out.ExpiresIn = humanize.Days(v.DaysLeft)
	}
	for _, w := range v.Warnings {
		out.Warnings = append(out.Warnings, connector.Warning{Code: w.Code, Message: w.Message, Action: w.Action})
	}
	return out
}

// DefaultAlias derives an alias from the host and sub-path:
// https://gitlab.example.com/gl → example.com-gl.
func (gitlabConnector) DefaultAlias(values map[string]string) string {
	b, err := NormalizeURL(values[connector.FieldURL])
	if err != nil {
		return "gitlab"
	}
	s := strings.TrimPrefix(strings.SplitN(b.URL, "://", 2)[1], "www.")
	return connector.SanitizeAlias(s)
}

// OAuth is GitLab's OAuth service (Doorkeeper) at the form's instance;
// without scopes it asks for DefaultOAuthScopes. GitLab before 17.2 has no
// device grant, so its 404 falls back to paste-back.
func (gitlabConnector) OAuth(values map[string]string) (*connector.OAuthService, error) {
	base, err := NormalizeURL(values[connector.FieldURL])
	if err != nil {
		return nil, &connector.StepError{Field: connector.FieldURL, Message: err.Error()}
	}
	scopes := connector.Scopes(values[connector.FieldScopes], DefaultOAuthScopes)
	return &connector.OAuthService{
		Config: OAuthConfig(base, values[connector.FieldClientID], values[connector.FieldClientSecret], scopes, ""),
		Host:   connector.Hostname(base.URL), Vendor: "GitLab",
		Explain:  func(err error) error { return ExplainOAuth(base.Host(), err) },
		NoDevice: "This GitLab has no device authorization (it arrived in 17.2), so paste the address instead.",
	}, nil
}

// VerifyOAuth checks an OAuth access token (its scopes from
// /oauth/token/info) with the same warnings as a personal token.
func (gitlabConnector) VerifyOAuth(ctx context.Context, req connector.VerifyRequest, accessToken string) (*connector.Verification, error) {
	base, err := NormalizeURL(req.Values[connector.FieldURL])
	if err != nil {
		return nil, &connector.StepError{Field: connector.FieldURL, Message: err.Error()}
	}
	v, err := VerifyOAuth(ctx, &Client{HTTP: req.HTTP, Base: base, Token: accessToken}, req.Now)
	if err != nil {
		return nil, err
	}
	return verificationOf(base, v), nil
}

// AuthorizeToken: GitLab takes a personal token as Private-Token.
func (gitlabConnector) AuthorizeToken(r *http.Request, token string) {
	r.Header.Set("Private-Token", token)
}

// Revoke revokes the connection's credential at GitLab: the personal token
// itself, or the OAuth grant (its refresh token, and the access token for
// servers that keep that alive until it expires).
func (gitlabConnector) Revoke(ctx context.Context, hc *http.Client, c *store.Connection) error {
	base, err := NormalizeURL(c.BaseURL)
	if err != nil {
		return err
	}
	if c.AuthMethod == store.AuthOAuth {
		secret := c.Secret(store.SecretClientSecret).Reveal()
		for _, t := range []store.Secret{c.Secret(store.SecretRefreshToken), c.Secret(store.SecretAccessToken)} {
			if t == "" {
				continue
			}
			if err := RevokeOAuth(ctx, hc, base, c.ClientID, secret, t.Reveal()); err != nil {
				return err
			}
		}
		return nil
	}
	return RevokePAT(ctx, &Client{HTTP: hc, Base: base, Token: c.Secret(store.SecretToken).Reveal()})
}

// Source makes the GitLab inventory reader for a stored connection.
func (gitlabConnector) Source(conn *store.Connection, hc *http.Client, cred connector.Credential) connector.SyncSource {
	base, _ := NormalizeURL(conn.BaseURL)
	f := &Fetcher{HTTP: hc, Host: base.Host(), Auth: cred.Set, Renew: cred.Renew}
	return gitlabSource{inv: &Inventory{F: f, Base: base, Version: conn.ServerVersion}}
}

type gitlabSource struct{ inv *Inventory }

func (g gitlabSource) Page(ctx context.Context, checkpoint string) (*connector.SourcePage, error) {
	p, err := g.inv.Page(ctx, checkpoint)
	if err != nil {
		return nil, err
	}
	return &connector.SourcePage{Next: p.Next, Total: p.Total, View: p.View, Note: p.Note, Load: func(sp *connector.SourcePage) error {
		if err := p.Decode(); err != nil {
			return err
		}
		sp.Users, sp.View, sp.Note = p.Users, p.View, p.Note
		return nil
	}}, nil
}

func (g gitlabSource) Seats(ctx context.Context) ([]store.Seats, string, error) {
	return g.inv.Seats(ctx)
}
func (g gitlabSource) Retries() int { return g.inv.F.Retries() }
