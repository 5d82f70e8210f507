// Package github knows GitHub: github.com and GitHub Enterprise Server.
// It verifies a token (who it is, its scopes and expiry, the organizations
// it can read) and reads an organization's inventory — members with their
// role, and Copilot seats — paginated with Link and paced by GitHub's rate
// limits.
package github

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/onramp-dev/onramp/connector"
)

// DefaultWebURL is github.com.
const DefaultWebURL = "https://github.com"

// The address of a GitHub is its web address (the token pages) and its
// REST API (api.github.com, or HOST/api/v3 on Enterprise Server).

// OnWeb reports whether addr is a page of this GitHub's web host, with its
// scheme: an address a server names (an SSO page) is shown only then.
func OnWeb(at connector.Address, addr string) bool {
	u, err := url.Parse(addr)
	web, werr := url.Parse(at.URL)
	return err == nil && werr == nil && u.Scheme == web.Scheme && strings.EqualFold(u.Host, web.Host) && u.User == nil
}

// DotCom reports whether this is github.com.
func DotCom(at connector.Address) bool { return at.API == "https://api.github.com" }

// NormalizeURL reads the address a person types: github.com (or nothing)
// is github.com; any other host is GitHub Enterprise Server, whose API is
// at /api/v3 (a pasted API address is accepted too).
func NormalizeURL(s string) (connector.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultWebURL
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return connector.Address{}, errors.New("not a web address; type it like https://github.com or https://github.example.com")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return connector.Address{}, fmt.Errorf("%s:// is not a web address; use https://", u.Scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return connector.Address{}, errors.New("the address may not hold a user name, a query or a fragment")
	}
	host := strings.ToLower(u.Host)
	if host == "github.com" || host == "www.github.com" || host == "api.github.com" {
		return connector.Address{URL: DefaultWebURL, API: "https://api.github.com"}, nil
	}
	path := strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v3"), "/")
	web := u.Scheme + "://" + host + path
	return connector.Address{URL: web, API: web + "/api/v3"}, nil
}

// TokenPageURL is the page that creates a fine-grained token, named and
// described for onramp: it can be limited to one organization.
func TokenPageURL(at connector.Address) string {
	return at.URL + "/settings/personal-access-tokens/new?name=onramp&description=" + url.QueryEscape("onramp inventory (members, Copilot seats)")
}

// ClassicTokenPageURL creates a classic token with read:org ticked.
func ClassicTokenPageURL(at connector.Address) string {
	return at.URL + "/settings/tokens/new?scopes=read:org&description=onramp"
}
