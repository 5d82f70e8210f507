// Package demo is what `onramp demo` shows around the sandboxes (GitLab's,
// GitHub's and Microsoft's): the catalog with each sandbox's tokens and OAuth app beside the fields,
// and the banner. The wizard tests use it to lay out exactly what the demo does.
package demo

import (
	"strings"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/microsoft"
	"github.com/onramp-dev/onramp/microsoft/mstest"
)

// Catalog is the demo's catalog: GitLab's sandbox at gitlabURL, GitHub's
// at githubURL and Microsoft's at msURL, each card listing its sandbox's
// credentials.
func Catalog(gitlabURL, githubURL, msURL string) flows.Catalog {
	t, app, gh, ghApp := gitlabtest.DemoTokens, gitlabtest.DemoApp, githubtest.DemoTokens, githubtest.DemoOAuthApp
	return flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: gitlabURL,
		TokenNotes: []string{"Sandbox tokens (demo only), one for each outcome:",
			"good: " + t.Admin, "expiring soon: " + t.ExpiringSoon, "not an admin: " + t.NonAdmin, "expired: " + t.Expired,
			"too few scopes: " + t.FewScopes, "revoked: " + t.Revoked, "blocked user: " + t.Blocked, "renews itself: " + t.Rotating},
		OAuthNotes:  []string{"Sandbox application (demo only) — Application ID: " + app.UID},
		SecretNotes: []string{"Sandbox application (demo only) — Secret: " + app.Secret},
		OAuthScopes: []string{"read_api", "read_user", "admin_mode"}}), // the sandbox's admin has Admin Mode on
		github.Card(github.CardOptions{DefaultURL: githubURL,
			TokenNotes: []string{"Sandbox tokens (demo only), one for each outcome:",
				"fine-grained: " + gh.FineGrained, "classic: " + gh.Classic, "no read:org: " + gh.NoOrgScope,
				"needs SSO: " + gh.SSO, "an organization withheld for SSO: " + gh.SSOPartial, "revoked: " + gh.Revoked},
			OAuthNotes:  []string{"Sandbox OAuth app (demo only) — Client ID: " + ghApp.ClientID},
			SecretNotes: []string{"Sandbox OAuth app (demo only) — Client secret: " + ghApp.Secret}}),
		microsoft.Card(microsoft.CardOptions{Sandbox: msURL,
			Notes: []string{"Sandbox app (demo only) — tenant " + mstest.Domain + ", Application (client) ID " + mstest.DemoClientID,
				"The sandbox takes the first certificate the app signs with as uploaded; consent: open the address onramp shows."},
			SecretNotes: []string{"Sandbox app (demo only) — client secret: " + mstest.DemoSecret, "expired: " + mstest.DemoExpiredSecret}}),
	}
}

// Credential lines: every sandbox token and app, for the demo's first words.
func credentials(glURL, ghURL, msURL string) []string {
	t, app, g, ghApp := gitlabtest.DemoTokens, gitlabtest.DemoApp, githubtest.DemoTokens, githubtest.DemoOAuthApp
	return []string{
		"onramp demo: sandbox GitLab at " + glURL + ", sandbox GitHub at " + ghURL + ", sandbox Microsoft at " + msURL + " (loopback only)",
		"  Every token below is also shown beside the field it goes in.",
		"  GitLab good token:      " + t.Admin,
		"  expiring soon:   " + t.ExpiringSoon,
		"  not an admin:    " + t.NonAdmin,
		"  expired:         " + t.Expired,
		"  too few scopes:  " + t.FewScopes,
		"  revoked:         " + t.Revoked,
		"  blocked user:    " + t.Blocked,
		"  renews itself:   " + t.Rotating,
		"  GitLab OAuth application: ID " + app.UID + ", Secret " + app.Secret,
		"  GitHub fine-grained token: " + g.FineGrained,
		"  classic: " + g.Classic,
		"  needs SSO: " + g.SSO,
		"  an organization withheld for SSO: " + g.SSOPartial,
		"  no read:org: " + g.NoOrgScope,
		"  revoked: " + g.Revoked,
		"  GitHub OAuth app: Client ID " + ghApp.ClientID + ", client secret " + ghApp.Secret,
		"  Microsoft 365 (cloud: sandbox): tenant " + mstest.Domain + ", Application (client) ID " + mstest.DemoClientID + ", client secret " + mstest.DemoSecret + " (expired: " + mstest.DemoExpiredSecret + ")",
	}
}

// Banner is the header line saying this is a demo.
func Banner(gitlabURL, githubURL, msURL string) string {
	return "DEMO · sandboxes: GitLab " + strings.TrimPrefix(gitlabURL, "http://") + ", GitHub " + strings.TrimPrefix(githubURL, "http://") +
		", Microsoft " + strings.TrimPrefix(msURL, "http://") + " · offline"
}

// Sandboxes are the demo's running sandboxes.
type Sandboxes struct {
	Catalog flows.Catalog
	Banner  string
	// Credentials are the sandboxes' tokens and OAuth apps, a line each,
	// for the person running the demo.
	Credentials []string
	Close       func()
}

// Start runs GitLab's sandbox with users people (an administrator with
// Admin Mode on) and GitHub's with a quarter as many members in its first
// organization, both answering after latency, on loopback.
func Start(users int, latency time.Duration) *Sandboxes {
	gl := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: users, Latency: latency}).Start()
	gh := githubtest.Start(githubtest.Options{Members: users / 4, Latency: latency})
	ms := mstest.Start(mstest.Options{Users: users / 2, Premium: true, TrustFirstCertificate: true})
	ms.AddDemoApp()
	return &Sandboxes{
		Catalog: Catalog(gl.BaseURL, gh.BaseURL, ms.BaseURL), Banner: Banner(gl.BaseURL, gh.BaseURL, ms.BaseURL),
		Credentials: credentials(gl.BaseURL, gh.BaseURL, ms.BaseURL),
		Close:       func() { gl.Close(); gh.Close(); ms.Close() },
	}
}
