package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/model"
)

// githubConnector is the vendor's side of the boundary (connector.Connector
// and its optional parts) for onramp's flows, wizard, command line and sync.
type githubConnector struct{}

// ParseAddress reads a GitHub's address (NormalizeURL).
func (githubConnector) ParseAddress(raw string) (connector.Address, error) { return NormalizeURL(raw) }

func (githubConnector) Verify(ctx context.Context, req connector.VerifyRequest) (*connector.Verification, error) {
	base := req.Address
	gv, err := Verify(ctx, &Client{HTTP: req.HTTP, Base: base, Token: req.Values[connector.FieldToken], MaxWait: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	v := &connector.Verification{
		BaseURL: base.URL, Vendor: "GitHub", ServerVersion: gv.Product,
		Account: model.Account{ID: model.IDOf(gv.ID), Username: gv.Login, Name: gv.Name, Admin: gv.SiteAdmin},
		Scopes:  gv.Scopes, ScopesKnown: gv.ScopesKnown, ExpiresAt: gv.ExpiresAt,
		ScopesNote: "fine-grained token: its permissions are set on GitHub (Members: read)",
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if gv.ExpiresAt != nil {
		days := connector.DaysLeft(*gv.ExpiresAt, req.Now)
		v.ExpiresIn = humanize.Days(days)
		if days <= connector.ExpirySoonDays { // the status page's "needs attention" threshold
			v.Warnings = append(v.Warnings, connector.Warning{Code: "expiry",
				Message: fmt.Sprintf("The token expires on %s (%s).", gv.ExpiresAt.Format("2006-01-02"), humanize.Days(days)),
				Action:  "Before then, regenerate it on GitHub and reconnect with the new one."})
		}
	}
	// A classic token (its scopes are in X-OAuth-Scopes) reads every
	// organization its account is in; a fine-grained one only its owner.
	reach := "A fine-grained token reads only its resource owner; another organization needs its own connection."
	if gv.ScopesKnown {
		reach = "A classic token reads every organization you are a member of; one missing here needs your membership (or the token's SSO authorization)."
	}
	v.Warnings = append(v.Warnings, connector.Warning{Code: "organizations",
		Message: "The inventory covers " + humanize.Count(len(gv.Orgs), "organization") + ": " + strings.Join(gv.Orgs, ", ") + ".",
		Action:  reach})
	if note := WithheldNote(gv.Withheld, base.URL); note != "" {
		v.Warnings = append(v.Warnings, connector.Warning{Code: "sso_withheld", Message: note,
			Action: "Authorize the token for them on GitHub (Configure SSO on the token page), then reconnect; until then every sync says so."})
	}
	return v, nil
}

// DefaultAlias is "github" for github.com, else the Enterprise host.
func (githubConnector) DefaultAlias(at connector.Address, _ map[string]string) string {
	_, host, ok := strings.Cut(at.URL, "://")
	if !ok || DotCom(at) {
		return "github"
	}
	return connector.SanitizeAlias(host)
}

// AuthorizeToken puts a token on a sync's request as verification does.
func (githubConnector) AuthorizeToken(r *http.Request, token string) { authorizeToken(r, token) }

// authorizeToken: GitHub takes every token as Bearer.
func authorizeToken(r *http.Request, token string) { r.Header.Set("Authorization", "Bearer "+token) }

// Revoke ends the connection's credential at GitHub. An OAuth app revokes
// its own token (with its client id and secret); without the secret, or for
// a personal access token — which GitHub lets no integration revoke — the
// person is told where to do it.
func (githubConnector) Revoke(ctx context.Context, hc *http.Client, b connector.Address, c *model.Connection) error {
	if c.AuthMethod != model.AuthOAuth {
		return errors.New("GitHub does not let onramp revoke a personal access token; delete it at " + b.URL + "/settings/personal-access-tokens")
	}
	secret := c.Secret(model.SecretClientSecret).Reveal()
	if secret == "" {
		return errors.New("revoking an OAuth app's token needs the app's client secret, which this connection has none of; revoke onramp's access at " + b.URL + "/settings/applications")
	}
	return RevokeOAuth(ctx, hc, b, c.ClientID, secret, c.Secret(model.SecretAccessToken).Reveal())
}

// Source makes the GitHub inventory reader for a stored connection.
func (githubConnector) Source(base connector.Address, _ *model.Connection, hc *http.Client, cred connector.Credential) connector.SyncSource {
	return githubSource{inv: &Inventory{C: &Client{HTTP: hc, Base: base, Auth: cred.Set}}}
}

type githubSource struct{ inv *Inventory }

func (g githubSource) Page(ctx context.Context, checkpoint string) (*connector.SourcePage, error) {
	p, err := g.inv.Page(ctx, checkpoint)
	if err != nil {
		return nil, err
	}
	return &connector.SourcePage{Next: p.Next, View: connector.ViewOrg, Load: func(sp *connector.SourcePage) error {
		if err := p.Decode(); err != nil {
			return err
		}
		sp.Users, sp.View = p.Users, connector.ViewOrg
		return nil
	}}, nil
}

func (g githubSource) Seats(ctx context.Context) ([]model.Seats, string, error) {
	return g.inv.Seats(ctx)
}
func (g githubSource) Retries() int { return g.inv.C.Retries() }
