package flows

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/store"
)

// GitLabOptions adjust the GitLab card (tests point it elsewhere).
type GitLabOptions struct {
	DefaultURL string
	// TokenNotes are shown first beside the token field (the demo lists its
	// sandbox tokens there).
	TokenNotes []string
	// OAuthNotes are shown first beside the Application ID field.
	OAuthNotes []string
	// OAuthScopes are the Scopes field's default (gitlab.DefaultOAuthScopes
	// when empty; the demo asks for admin_mode too).
	OAuthScopes []string
}

// GitLab is the GitLab catalog card: the vendor guide's fields and steps.
func GitLab(o GitLabOptions) *Vendor {
	if o.DefaultURL == "" {
		o.DefaultURL = gitlab.DefaultBaseURL
	}
	if len(o.OAuthScopes) == 0 {
		o.OAuthScopes = gitlab.DefaultOAuthScopes
	}
	urlField := serverURLField("GitLab server URL", o.DefaultURL, "e.g. https://gitlab.example.com", []string{
		"The address you open GitLab at, e.g. https://gitlab.example.com.",
		"Keep a sub-path if it has one: https://example.com/gitlab.",
	}, func(s string) (string, bool, error) {
		b, err := gitlab.NormalizeURL(s)
		return b.URL, b.Insecure, err
	})
	caField := caFileField("GitLab")
	return &Vendor{
		ID:   "gitlab",
		Name: "GitLab",
		Description: "Inventory of users and seats: who has an account, who takes a license seat, " +
			"and when each last signed in — for GitLab.com and self-managed GitLab.",
		Keywords: []string{"git", "devops", "scm", "self-managed", "saas"},
		Methods: []AuthMethod{
			{
				ID: store.AuthToken, Name: "API access token",
				Summary: "Paste a personal access token. Quickest; the token expires on a date you choose.",
				Fields: []Field{urlField, {
					Key: gitlab.FieldToken, Label: "Access token", Secret: true, Placeholder: "e.g. glpat-…",
					Help: []string{
						"In GitLab, select your avatar, then Edit profile.",
						"In the left sidebar, select Access tokens, then Add new token.",
						"Name it (e.g. onramp). Expiry defaults to 365 days; the token dies at midnight UTC on that date.",
						"Scopes: read_api and read_user (or api). Admins on instances with Admin Mode: add admin_mode.",
						"Select Create personal access token, copy it and paste it here.",
					},
					Notes: o.TokenNotes,
					Link: func(v map[string]string) string {
						base := v[gitlab.FieldURL]
						if b, err := gitlab.NormalizeURL(base); err == nil {
							return gitlab.TokenPageURL(b.URL)
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
				Copy: &Copyable{Label: "Redirect URI", Value: gitlab.RegisteredRedirectURI,
					Note: "GitLab ignores the port of a 127.0.0.1 address, so this one registration works whichever port onramp listens on."},
				Fields: []Field{urlField, {
					Key: gitlab.FieldClientID, Label: "Application ID", Placeholder: "the application's ID from GitLab", Notes: o.OAuthNotes,
					Help: []string{"Edit profile → Applications → your application: Application ID."},
					Link: func(v map[string]string) string {
						if b, err := gitlab.NormalizeURL(v[gitlab.FieldURL]); err == nil {
							return gitlab.ApplicationsPageURL(b.URL)
						}
						return ""
					},
				}, {
					Key: gitlab.FieldClientSecret, Label: "Secret", Secret: true, Optional: true, Placeholder: "e.g. gloas-… (empty for a public app)",
					Help: []string{"Shown once when you save the application (Renew secret makes a new one).", "Leave empty if Confidential is unticked."},
				}, {
					Key: gitlab.FieldScopes, Label: "Scopes", Default: strings.Join(o.OAuthScopes, " "),
					Help: []string{"Space-separated; the application must be registered with each of them.",
						"admin_mode gives an administrator's full inventory; to change the scopes of a connection later, reconnect it (r) and edit them here."},
				}, caField},
			},
		},
		Connector: gitlabConnector{},
	}
}

type gitlabConnector struct{}

func (gitlabConnector) Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	base, err := gitlab.NormalizeURL(req.Values[gitlab.FieldURL])
	if err != nil {
		return nil, &StepError{Field: gitlab.FieldURL, Message: err.Error()}
	}
	c := &gitlab.Client{HTTP: req.HTTP, Base: base, Token: req.Values[gitlab.FieldToken]}
	v, err := gitlab.Verify(ctx, c, req.Now)
	if err != nil {
		return nil, err
	}
	return verificationOf(base, v), nil
}

// verificationOf converts GitLab's verification into the flow's.
func verificationOf(base gitlab.BaseURL, v *gitlab.Verification) *Verification {
	out := &Verification{
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
		out.Warnings = append(out.Warnings, Warning{Code: w.Code, Message: w.Message, Action: w.Action})
	}
	return out
}

// DefaultAlias derives an alias from the host and sub-path:
// https://gitlab.example.com/gl → gitlab.example.com-gl.
func (gitlabConnector) DefaultAlias(values map[string]string) string {
	b, err := gitlab.NormalizeURL(values[gitlab.FieldURL])
	if err != nil {
		return "gitlab"
	}
	s := strings.TrimPrefix(strings.SplitN(b.URL, "://", 2)[1], "www.")
	return sanitizeAlias(s)
}

// sanitizeAlias maps any text onto the alias alphabet [a-z0-9._-].
func sanitizeAlias(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > 56 { // room for a "-N" suffix
		out = out[:56]
	}
	if out == "" {
		return "connection"
	}
	return out
}

// AuthorizeToken: GitLab takes a personal token as Private-Token.
func (gitlabConnector) AuthorizeToken(r *http.Request, token string) {
	r.Header.Set("Private-Token", token)
}

// Revoke revokes the connection's credential at GitLab: the personal token
// itself, or the OAuth grant (its refresh token, and the access token for
// servers that keep that alive until it expires).
func (gitlabConnector) Revoke(ctx context.Context, hc *http.Client, c *store.Connection) error {
	base, err := gitlab.NormalizeURL(c.BaseURL)
	if err != nil {
		return err
	}
	if c.AuthMethod == store.AuthOAuth {
		secret := c.Secret(store.SecretClientSecret).Reveal()
		for _, t := range []store.Secret{c.Secret(store.SecretRefreshToken), c.Secret(store.SecretAccessToken)} {
			if t == "" {
				continue
			}
			if err := gitlab.RevokeOAuth(ctx, hc, base, c.ClientID, secret, t.Reveal()); err != nil {
				return err
			}
		}
		return nil
	}
	return gitlab.RevokePAT(ctx, &gitlab.Client{HTTP: hc, Base: base, Token: c.Secret(store.SecretToken).Reveal()})
}

// Source makes the GitLab inventory reader for a stored connection.
func (gitlabConnector) Source(conn *store.Connection, hc *http.Client, cred Credential) SyncSource {
	base, _ := gitlab.NormalizeURL(conn.BaseURL)
	f := &gitlab.Fetcher{HTTP: hc, Host: base.Host(), Auth: cred.Set, Renew: cred.Renew}
	return gitlabSource{inv: &gitlab.Inventory{F: f, Base: base, Version: conn.ServerVersion}}
}

type gitlabSource struct{ inv *gitlab.Inventory }

func (g gitlabSource) Page(ctx context.Context, checkpoint string) (*SourcePage, error) {
	p, err := g.inv.Page(ctx, checkpoint)
	if err != nil {
		return nil, err
	}
	return &SourcePage{Next: p.Next, Total: p.Total, View: p.View, Note: p.Note, Load: func(sp *SourcePage) error {
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

// hostname is the host of an address, without port or brackets.
func hostname(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
