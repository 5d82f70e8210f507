package gitlab

import (
	"strings"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/model"
)

// CardOptions adjust the GitLab card (tests point it elsewhere).
type CardOptions struct {
	DefaultURL string
	// TokenNotes are shown first beside the token field (the demo lists its
	// sandbox tokens there).
	TokenNotes []string
	// OAuthNotes are shown first beside the Application ID field, SecretNotes
	// beside the secret's.
	OAuthNotes, SecretNotes []string
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
	})
	caField := connector.CAFileField("GitLab")
	return &connector.Vendor{
		ID:   "gitlab",
		Name: "GitLab",
		Description: "Inventory of users and seats: who has an account, who takes a license seat, " +
			"and when each last signed in — for GitLab.com and self-managed GitLab.",
		Keywords: []string{"git", "devops", "scm", "self-managed", "saas"},
		Examples: []string{
			"onramp connect gitlab --url https://gitlab.example.com --token-stdin < token.txt",
			"onramp connect gitlab --url gitlab.example.com --token-file ~/.gitlab-token --alias prod --json",
			"onramp connect gitlab --auth oauth --url https://gitlab.example.com --client-id ID --client-secret-stdin --flow device",
		},
		Methods: []connector.AuthMethod{
			{
				ID: model.AuthToken, Name: "API access token", TokenEnv: []string{"GITLAB_TOKEN"},
				Summary: "Paste a personal access token. Quickest; the token expires on a date you choose.",
				Fields: []connector.Field{urlField, {
					Key: connector.FieldToken, Label: "Access token", Secret: true, Placeholder: "e.g. glpat-…",
					Help: []string{
						"In GitLab, select your avatar, then Edit profile.",
						"In the left sidebar, select Access tokens, then Add new token.",
						"Name it (e.g. onramp). Expiry defaults to 365 days; the token dies at midnight UTC on that date.",
						"Scopes: read_api and read_user (or api). Admins on instances with Admin Mode: add admin_mode.",
						"To let onramp renew the token before it expires, tick self_rotate too (GitLab 17.9+; before that, api). A group or project access token rotates the same way.",
						"Select Create personal access token, copy it and paste it here.",
					},
					Notes: o.TokenNotes,
					Link:  TokenPageURL,
				}, caField},
			},
			{
				ID: model.AuthOAuth, Kind: connector.MethodOAuth, Name: "OAuth2", Recommended: true,
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
					Link: ApplicationsPageURL,
				}, {
					Key: connector.FieldClientSecret, Label: "Secret", Secret: true, Optional: true, Placeholder: "e.g. gloas-… (empty for a public app)", Notes: o.SecretNotes,
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
