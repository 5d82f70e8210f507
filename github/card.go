package github

import (
	"strings"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/model"
)

// CardOptions adjust the GitHub card (the demo and tests point it at a
// sandbox and list its tokens and OAuth app beside the fields).
type CardOptions struct {
	DefaultURL string
	TokenNotes []string
	// OAuthNotes are shown first beside the Client ID field, SecretNotes
	// beside the secret's.
	OAuthNotes, SecretNotes []string
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
	})
	caField := connector.CAFileField("GitHub Enterprise Server")
	return &connector.Vendor{
		ID:   "github",
		Name: "GitHub",
		Description: "Inventory of organization members and Copilot seats: who is an owner or a member, " +
			"who has a Copilot seat and uses it — for GitHub.com and Enterprise Server.",
		Keywords: []string{"git", "copilot", "scm", "enterprise", "ghes", "saas"},
		Examples: []string{
			"onramp connect github --url https://github.com --token-stdin < github-token.txt",
			"GH_TOKEN=$(gh auth token) onramp connect github --url https://github.com",
			"onramp connect github --auth oauth --url https://github.com --client-id ID --flow device",
		},
		Methods: []connector.AuthMethod{{
			ID: model.AuthToken, Name: "Personal access token", TokenEnv: []string{"GH_TOKEN", "GITHUB_TOKEN"},
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
				Link:  TokenPageURL,
			}, caField},
		}, {
			ID: model.AuthOAuth, Kind: connector.MethodOAuth, Name: "OAuth app", Recommended: true,
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
				Link: OAuthAppsPageURL,
			}, {
				Key: connector.FieldClientSecret, Label: "Client secret", Secret: true, Optional: true, Placeholder: "empty for the device code way", Notes: o.SecretNotes,
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
