package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/store"
)

// GitHubOptions adjust the GitHub card (the demo and tests point it at a
// sandbox and list its tokens beside the token field).
type GitHubOptions struct {
	DefaultURL string
	TokenNotes []string
}

// GitHub is the GitHub catalog card: github.com and Enterprise Server, with
// a personal access token (fine-grained or classic).
func GitHub(o GitHubOptions) *Vendor {
	if o.DefaultURL == "" {
		o.DefaultURL = github.DefaultWebURL
	}
	urlField := serverURLField("GitHub URL", o.DefaultURL, "https://github.com, or your Enterprise Server's address", []string{
		"https://github.com for GitHub.com (including Enterprise Cloud).",
		"For GitHub Enterprise Server, the address you open it at, e.g. https://github.example.com.",
	}, func(s string) (string, bool, error) {
		b, err := github.NormalizeURL(s)
		return b.Web, b.Insecure, err
	})
	caField := caFileField("GitHub Enterprise Server")
	return &Vendor{
		ID:   "github",
		Name: "GitHub",
		Description: "Inventory of organization members and Copilot seats: who is an owner or a member, " +
			"who has a Copilot seat and uses it — for GitHub.com and Enterprise Server.",
		Keywords: []string{"git", "copilot", "scm", "enterprise", "ghes", "saas"},
		Methods: []AuthMethod{{
			ID: store.AuthToken, Name: "Personal access token",
			Summary: "Paste a fine-grained token for one organization, or a classic token with read:org.",
			Fields: []Field{urlField, {
				Key: FieldToken, Label: "Personal access token", Secret: true, Placeholder: "e.g. github_pat_… or ghp_…",
				Help: []string{
					"On GitHub, select your avatar → Settings → Developer settings → Personal access tokens.",
					"Fine-grained (preferred): Generate new token; Resource owner: the organization; Organization permissions: Members read-only, and Administration read-only for Copilot seats.",
					"Classic: Generate new token (classic) and tick read:org.",
					"Choose an expiry (onramp warns two weeks before it), generate, copy the token and paste it here.",
					"An organization with SAML single sign-on also needs Configure SSO → Authorize on the token.",
				},
				Notes: o.TokenNotes,
				Link: func(v map[string]string) string {
					if b, err := github.NormalizeURL(v[FieldURL]); err == nil {
						return github.TokenPageURL(b)
					}
					return ""
				},
			}, caField},
		}},
		Connector: githubConnector{},
	}
}

type githubConnector struct{}

func (githubConnector) Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	base, err := github.NormalizeURL(req.Values[FieldURL])
	if err != nil {
		return nil, &StepError{Field: FieldURL, Message: err.Error()}
	}
	gv, err := github.Verify(ctx, &github.Client{HTTP: req.HTTP, Base: base, Token: req.Values[FieldToken], MaxWait: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	v := &Verification{
		BaseURL: base.Web, Vendor: "GitHub", ServerVersion: gv.Product,
		Account: store.Account{ID: gv.ID, Username: gv.Login, Name: gv.Name, Admin: gv.SiteAdmin},
		Scopes:  gv.Scopes, ScopesKnown: gv.ScopesKnown, ExpiresAt: gv.ExpiresAt,
		ScopesNote: "fine-grained token: its permissions are set on GitHub (Members: read)",
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if gv.ExpiresAt != nil {
		days := daysLeft(*gv.ExpiresAt, req.Now)
		v.ExpiresIn = humanize.Days(days)
		if days <= expirySoonDays { // the status page's "needs attention" threshold
			v.Warnings = append(v.Warnings, Warning{Code: "expiry",
				Message: fmt.Sprintf("The token expires on %s (%s).", gv.ExpiresAt.Format("2006-01-02"), humanize.Days(days)),
				Action:  "Before then, regenerate it on GitHub and reconnect with the new one."})
		}
	}
	v.Warnings = append(v.Warnings, Warning{Code: "organizations",
		Message: "The inventory covers " + humanize.Count(len(gv.Orgs), "organization") + ": " + strings.Join(gv.Orgs, ", ") + ".",
		Action:  "A fine-grained token reads only its resource owner; another organization needs its own connection."})
	return v, nil
}

// DefaultAlias is "github" for github.com, else the Enterprise host.
func (githubConnector) DefaultAlias(values map[string]string) string {
	b, err := github.NormalizeURL(values[FieldURL])
	if err != nil || b.DotCom() {
		return "github"
	}
	return sanitizeAlias(strings.SplitN(b.Web, "://", 2)[1])
}

// Revoke: GitHub offers no way for an integration to revoke a personal
// access token, so the person is told where to delete it.
func (githubConnector) Revoke(_ context.Context, _ *http.Client, c *store.Connection) error {
	b, _ := github.NormalizeURL(c.BaseURL)
	return errors.New("GitHub does not let onramp revoke a personal access token; delete it at " + b.Web + "/settings/personal-access-tokens")
}

// Source makes the GitHub inventory reader for a stored connection.
func (githubConnector) Source(conn *store.Connection, hc *http.Client, cred Credential) SyncSource {
	base, _ := github.NormalizeURL(conn.BaseURL)
	return githubSource{inv: &github.Inventory{C: &github.Client{HTTP: hc, Base: base, Auth: cred.Set}}}
}

type githubSource struct{ inv *github.Inventory }

func (g githubSource) Page(ctx context.Context, checkpoint string) (*SourcePage, error) {
	p, err := g.inv.Page(ctx, checkpoint)
	if err != nil {
		return nil, err
	}
	return &SourcePage{Next: p.Next, View: "org", Load: func(sp *SourcePage) error {
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
