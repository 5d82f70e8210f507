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
	"github.com/onramp-dev/onramp/store"
)

// CardOptions adjust the GitHub card (the demo and tests point it at a
// sandbox and list its tokens and OAuth app beside the fields).
type CardOptions struct {
	DefaultURL string
	TokenNotes []string
	// OAuthNotes are shown first beside the Client ID field.
	OAuthNotes []string
}

// Card is the GitHub catalog card: github.com and Enterprise Server, with a
// personal access token (fine-grained or classic) or an OAuth app (the
// device flow, or the browser with PKCE).
func Card(o CardOptions) *connector.Vendor {
	if o.DefaultURL == "" {
		o.DefaultURL = DefaultWebURL
	}
	urlField := connector.ServerURLField("GitHub URL", o.DefaultURL, "https://github.com, or your Enterprise Server's address", []string{
		"https://github.com for GitHub.com (including Enterprise Cloud).",
		"For GitHub Enterprise Server, the address you open it at, e.g. https://github.example.com.",
	}, func(s string) (string, bool, error) {
		b, err := NormalizeURL(s)
		return b.Web, b.Insecure, err
	})
	caField := connector.CAFileField("GitHub Enterprise Server")
	return &connector.Vendor{
		ID:   "github",
		Name: "GitHub",
		Description: "Inventory of organization members and Copilot seats: who is an owner or a member, " +
			"who has a Copilot seat and uses it — for GitHub.com and Enterprise Server.",
		Keywords: []string{"git", "copilot", "scm", "enterprise", "ghes", "saas"},
		Methods: []connector.AuthMethod{{
			ID: store.AuthToken, Name: "Personal access token",
			Summary: "Paste a fine-grained token for one organization, or a classic token with read:org.",
			Fields: []connector.Field{urlField, {
				Key: connector.FieldToken, Label: "Personal access token", Secret: true, Placeholder: "e.g. github_pat_… or ghp_…",
				Help: []string{
					"On GitHub, select your avatar → Settings → Developer settings → Personal access tokens.",
					"Fine-grained (preferred): Generate new token; Resource owner: the organization; Organization permissions: Members read-only, and Administration read-only for Copilot seats.",
					"Classic: Generate new token (classic) and tick read:org.",
					"Choose an expiry (onramp warns two weeks before it), generate, copy the token and paste it here.",
					"An organization with SAML single sign-on also needs Configure SSO → Authorize on the token.",
				},
				Notes: o.TokenNotes,
				Link: func(v map[string]string) string {
					if b, err := NormalizeURL(v[connector.FieldURL]); err == nil {
						return TokenPageURL(b)
					}
					return ""
				},
			}, caField},
		}, {
			ID: store.AuthOAuth, Name: "OAuth app", Recommended: true,
			Summary: "Authorize an OAuth app you register on GitHub, with a code on any device or in the browser. Nothing long-lived to paste.",
			Intro: []string{
				"On GitHub, select your avatar → Settings → Developer settings → OAuth Apps → New OAuth App (an organization's own apps: its Settings → Developer settings).",
				"Name it (e.g. onramp), give any Homepage URL, and paste the callback URL below as its Authorization callback URL.",
				"Tick Enable Device Flow — the code way, which works over SSH — then Register application.",
				"Copy the Client ID below. The browser way also needs a client secret: Generate a new client secret and copy it.",
				"An organization that restricts OAuth app access must approve the app (its Settings → Third-party access) before its members can be read.",
			},
			Copy: &connector.Copyable{Label: "Authorization callback URL", Value: connector.RegisteredRedirectURI,
				Note: "GitHub accepts any port on a 127.0.0.1 callback, so this one registration works whichever port onramp listens on."},
			Fields: []connector.Field{urlField, {
				Key: connector.FieldClientID, Label: "Client ID", Placeholder: "e.g. Ov23li…", Notes: o.OAuthNotes,
				Help: []string{"Developer settings → OAuth Apps → your app: Client ID."},
				Link: func(v map[string]string) string {
					if b, err := NormalizeURL(v[connector.FieldURL]); err == nil {
						return OAuthAppsPageURL(b)
					}
					return ""
				},
			}, {
				Key: connector.FieldClientSecret, Label: "Client secret", Secret: true, Optional: true, Placeholder: "empty for the device code way",
				Help: []string{"Needed by the browser and paste-back ways: GitHub exchanges their code only with the secret.",
					"The device code way needs none; GitHub shows a secret once, when you generate it."},
			}, {
				Key: connector.FieldScopes, Label: "Scopes", Default: strings.Join(DefaultOAuthScopes, " "),
				Help: []string{"Space-separated. read:org reads the members of your organizations and, for their owners, Copilot seats."},
			}, caField},
		}},
		Connector: githubConnector{},
	}
}

type githubConnector struct{}

func (githubConnector) Verify(ctx context.Context, req connector.VerifyRequest) (*connector.Verification, error) {
	base, err := NormalizeURL(req.Values[connector.FieldURL])
	if err != nil {
		return nil, &connector.StepError{Field: connector.FieldURL, Message: err.Error()}
	}
	gv, err := Verify(ctx, &Client{HTTP: req.HTTP, Base: base, Token: req.Values[connector.FieldToken], MaxWait: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	v := &connector.Verification{
		BaseURL: base.Web, Vendor: "GitHub", ServerVersion: gv.Product,
		Account: store.Account{ID: gv.ID, Username: gv.Login, Name: gv.Name, Admin: gv.SiteAdmin},
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
	v.Warnings = append(v.Warnings, connector.Warning{Code: "organizations",
		Message: "The inventory covers " + humanize.Count(len(gv.Orgs), "organization") + ": " + strings.Join(gv.Orgs, ", ") + ".",
		Action:  "A fine-grained token reads only its resource owner; another organization needs its own connection."})
	return v, nil
}

// DefaultAlias is "github" for github.com, else the Enterprise host.
func (githubConnector) DefaultAlias(values map[string]string) string {
	b, err := NormalizeURL(values[connector.FieldURL])
	if err != nil || b.DotCom() {
		return "github"
	}
	return connector.SanitizeAlias(strings.SplitN(b.Web, "://", 2)[1])
}

// Revoke ends the connection's credential at GitHub. An OAuth app revokes
// its own token (with its client id and secret); without the secret, or for
// a personal access token — which GitHub lets no integration revoke — the
// person is told where to do it.
func (githubConnector) Revoke(ctx context.Context, hc *http.Client, c *store.Connection) error {
	b, _ := NormalizeURL(c.BaseURL)
	if c.AuthMethod != store.AuthOAuth {
		return errors.New("GitHub does not let onramp revoke a personal access token; delete it at " + b.Web + "/settings/personal-access-tokens")
	}
	secret := c.Secret(store.SecretClientSecret).Reveal()
	if secret == "" {
		return errors.New("revoking an OAuth app's token needs the app's client secret, which this connection has none of; revoke onramp's access at " + b.Web + "/settings/applications")
	}
	return RevokeOAuth(ctx, hc, b, c.ClientID, secret, c.Secret(store.SecretAccessToken).Reveal())
}

// Source makes the GitHub inventory reader for a stored connection.
func (githubConnector) Source(conn *store.Connection, hc *http.Client, cred connector.Credential) connector.SyncSource {
	base, _ := NormalizeURL(conn.BaseURL)
	return githubSource{inv: &Inventory{C: &Client{HTTP: hc, Base: base, Auth: cred.Set}}}
}

type githubSource struct{ inv *Inventory }

func (g githubSource) Page(ctx context.Context, checkpoint string) (*connector.SourcePage, error) {
	p, err := g.inv.Page(ctx, checkpoint)
	if err != nil {
		return nil, err
	}
	return &connector.SourcePage{Next: p.Next, View: "org", Load: func(sp *connector.SourcePage) error {
		if err := p.Decode(); err != nil {
			return err
		}
		sp.Users, sp.View = p.Users, "org"
		return nil
	}}, nil
}

func (g githubSource) Seats(ctx context.Context) ([]store.Seats, string, error) {
	return g.inv.Seats(ctx)
}
func (g githubSource) Retries() int { return g.inv.C.Retries() }
