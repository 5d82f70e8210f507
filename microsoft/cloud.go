// Package microsoft knows Microsoft 365 through Entra ID and Microsoft
// Graph: the national clouds, an app registration's credentials (a
// certificate onramp makes, or a client secret), the client-credentials
// grant that turns them into app-only tokens, admin consent and the
// application permissions it grants, and the inventory — users with their
// licenses and sign-ins, and the tenant's subscriptions.
package microsoft

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/onramp-dev/onramp/connector"
)

// Cloud is one of Microsoft's clouds: where its sign-in (Entra ID) and its
// Graph live. A person chooses one; there is no free-form address.
type Cloud struct {
	ID    string
	Name  string
	Login string // the sign-in authority, https://login.microsoftonline.com
	Graph string // Graph's root, https://graph.microsoft.com
}

// Clouds are Microsoft's: global and the national ones, as Microsoft's
// national-cloud deployment guide lists their endpoints.
var Clouds = []Cloud{
	{ID: "global", Name: "Global (Microsoft 365 and Entra ID, worldwide)", Login: "https://login.microsoftonline.com", Graph: "https://graph.microsoft.com"},
	{ID: "usgov", Name: "US Government L4 (GCC High)", Login: "https://login.microsoftonline.us", Graph: "https://graph.microsoft.us"},
	{ID: "usgov-dod", Name: "US Government L5 (DoD)", Login: "https://login.microsoftonline.us", Graph: "https://dod-graph.microsoft.us"},
	{ID: "china", Name: "China (operated by 21Vianet)", Login: "https://login.chinacloudapi.cn", Graph: "https://microsoftgraph.chinacloudapi.cn"},
}

// address is a cloud as the vendor boundary carries it: Graph's root is
// the web address (one per cloud, so a stored connection names its
// cloud), and its v1.0 API.
func (c Cloud) address() connector.Address {
	return connector.Address{URL: c.Graph, API: c.Graph + "/v1.0"}
}

// clouds is the list a card offers: Microsoft's, and a sandbox when one is
// given (the demo and the tests).
type clouds []Cloud

// parse reads a cloud by its id or its name (as typed), or by Graph's
// root (as stored).
func (cs clouds) parse(raw string) (connector.Address, error) {
	s := strings.TrimRight(strings.ToLower(strings.TrimSpace(raw)), "/")
	for _, c := range cs {
		if s == c.ID || s == strings.ToLower(c.Name) || s == strings.ToLower(c.Graph) {
			return c.address(), nil
		}
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if s == "" {
		return connector.Address{}, fmt.Errorf("choose your tenant's cloud: %s", strings.Join(ids, ", "))
	}
	return connector.Address{}, fmt.Errorf("%q is not one of Microsoft's clouds; choose %s", truncate(raw), strings.Join(ids, ", "))
}

// of is the cloud of an address the boundary gives back.
func (cs clouds) of(at connector.Address) (Cloud, error) {
	for _, c := range cs {
		if c.Graph == at.URL {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("%q is not one of Microsoft's clouds", truncate(at.URL))
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// sandboxCloud is a sandbox Microsoft at root (the demo's, the tests'):
// sign-in and Graph alike.
func sandboxCloud(root string) Cloud {
	return Cloud{ID: "sandbox", Name: "onramp's sandbox Microsoft", Login: root, Graph: root}
}

// ConsentURL is the tenant's admin-consent address for the app: a Global
// or Privileged Role Administrator who opens it and accepts grants the
// application permissions the app asks for. redirect, when given, is where
// Entra sends the browser afterwards (it must be one of the app's redirect
// URIs).
func ConsentURL(login, tenant, clientID, redirect string) string {
	q := url.Values{"client_id": {clientID}}
	if redirect != "" {
		q.Set("redirect_uri", redirect)
	}
	return login + "/" + url.PathEscape(tenant) + "/adminconsent?" + q.Encode()
}
