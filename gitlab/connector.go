package gitlab

import (
	"context"
	"net/http"
	"strings"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/model"
)

// gitlabConnector is the vendor's side of the boundary (connector.Connector
// and its optional parts) for onramp's flows, wizard, command line and sync.
type gitlabConnector struct{}

// ParseAddress reads an instance's address (NormalizeURL).
func (gitlabConnector) ParseAddress(raw string) (connector.Address, error) { return NormalizeURL(raw) }

func (gitlabConnector) Verify(ctx context.Context, req connector.VerifyRequest) (*connector.Verification, error) {
	c := &Client{HTTP: req.HTTP, Base: req.Address, Token: req.Values[connector.FieldToken]}
	v, err := Verify(ctx, c, req.Now)
	if err != nil {
		return nil, err
	}
	return verificationOf(req.Address, v), nil
}

// verificationOf converts GitLab's verification into the flow's.
func verificationOf(base connector.Address, v *Verification) *connector.Verification {
	out := &connector.Verification{
		BaseURL:       base.URL,
		Account:       model.Account{ID: model.IDOf(v.Account.ID), Username: v.Account.Username, Name: v.Account.Name, Admin: v.Account.Admin},
		ServerVersion: v.Version, ServerEdition: v.Edition, EditionName: v.EditionName(),
		TokenName: v.TokenName, Scopes: v.Scopes, ScopesKnown: v.ScopesKnown, ExpiresAt: v.ExpiresAt,
		ScopesNote: "unknown (the server is older than GitLab 15.5)", Vendor: "GitLab", Rotation: v.Rotation,
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
func (gitlabConnector) DefaultAlias(at connector.Address, _ map[string]string) string {
	_, rest, ok := strings.Cut(at.URL, "://")
	if !ok {
		return "gitlab"
	}
	s := strings.TrimPrefix(rest, "www.")
	return connector.SanitizeAlias(s)
}

// OAuth is GitLab's OAuth service (Doorkeeper) at the form's instance;
// without scopes it asks for DefaultOAuthScopes. GitLab before 17.2 has no
// device grant, so its 404 falls back to paste-back.
func (gitlabConnector) OAuth(base connector.Address, values map[string]string) (*connector.OAuthService, error) {
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
	v, err := VerifyOAuth(ctx, &Client{HTTP: req.HTTP, Base: req.Address, Token: accessToken}, req.Now)
	if err != nil {
		return nil, err
	}
	return verificationOf(req.Address, v), nil
}

// AuthorizeToken puts a personal token on a sync's request as verification
// does.
func (gitlabConnector) AuthorizeToken(r *http.Request, token string) { authorizePAT(r, token) }

// Revoke revokes the connection's credential at GitLab: the personal token
// itself, or the OAuth grant (its refresh token, and the access token for
// servers that keep that alive until it expires).
func (gitlabConnector) Revoke(ctx context.Context, hc *http.Client, base connector.Address, c *model.Connection) error {
	if c.AuthMethod == model.AuthOAuth {
		secret := c.Secret(model.SecretClientSecret).Reveal()
		for _, t := range []model.Secret{c.Secret(model.SecretRefreshToken), c.Secret(model.SecretAccessToken)} {
			if t == "" {
				continue
			}
			if err := RevokeOAuth(ctx, hc, base, c.ClientID, secret, t.Reveal()); err != nil {
				return err
			}
		}
		return nil
	}
	return RevokePAT(ctx, &Client{HTTP: hc, Base: base, Token: c.Secret(model.SecretToken).Reveal()})
}

// Source makes the GitLab inventory reader for a stored connection.
func (gitlabConnector) Source(base connector.Address, conn *model.Connection, hc *http.Client, cred connector.Credential) connector.SyncSource {
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

func (g gitlabSource) Seats(ctx context.Context) ([]model.Seats, string, error) {
	return g.inv.Seats(ctx)
}
func (g gitlabSource) Retries() int { return g.inv.F.Retries() }
