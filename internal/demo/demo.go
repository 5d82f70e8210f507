// Package demo is what `onramp demo` shows around the sandbox GitLab: the
// catalog with the sandbox's tokens and application beside the fields, and
// the banner. The wizard tests use it to lay out exactly what the demo does.
package demo

import (
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Catalog is the demo's catalog for a sandbox at baseURL.
func Catalog(baseURL string) flows.Catalog {
	t, app := gitlabtest.DemoTokens, gitlabtest.DemoApp
	return flows.Catalog{flows.GitLab(flows.GitLabOptions{DefaultURL: baseURL,
		TokenNotes:  []string{"Sandbox tokens (demo only) — good: " + t.Admin, "expired: " + t.Expired + " · too few scopes: " + t.FewScopes},
		OAuthNotes:  []string{"Sandbox application (demo only) — Application ID: " + app.UID, "Secret: " + app.Secret},
		OAuthScopes: []string{"read_api", "read_user", "admin_mode"}})} // the sandbox's admin has Admin Mode on
}

// Banner is the header line saying this is a demo.
func Banner(baseURL string) string {
	return "DEMO · sandbox GitLab at " + baseURL + " · offline"
}
