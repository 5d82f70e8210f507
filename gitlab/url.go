// Package gitlab knows GitLab: its URLs, its API answers and errors, and how
// to verify a credential against an instance.
package gitlab

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"

	"github.com/onramp-dev/onramp/connector"
)

// DefaultBaseURL is GitLab's SaaS instance.
const DefaultBaseURL = "https://gitlab.com"

// URLError explains why an address is not usable.
type URLError struct{ Reason string }

func (e *URLError) Error() string { return e.Reason }

// NormalizeURL turns what a person typed into an instance's address:
// surrounding whitespace is trimmed; `gitlab.example.com` means https; a
// trailing `/` and `/api/v4` are stripped; a sub-path (`https://host/gitlab`)
// is kept; default ports are dropped; anything but http(s) is refused.
func NormalizeURL(raw string) (connector.Address, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return connector.Address{}, &URLError{"enter the address of your GitLab server, such as https://gitlab.example.com"}
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return connector.Address{}, &URLError{"an address cannot contain spaces"}
	}
	if !strings.Contains(s, "://") {
		if i := strings.IndexByte(s, ':'); i > 0 && !strings.Contains(s[:i], ".") && !looksLikeHostPort(s) {
			return connector.Address{}, &URLError{fmt.Sprintf("%q is not a web address; use https://your-gitlab-host", truncate(s))}
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return connector.Address{}, &URLError{fmt.Sprintf("this is not a valid address (%v)", err)}
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return connector.Address{}, &URLError{fmt.Sprintf("onramp reaches GitLab over https (or http); %q is a %s address", truncate(raw), u.Scheme)}
	}
	if u.User != nil {
		return connector.Address{}, &URLError{"remove the user:password@ part: the token goes in its own field"}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return connector.Address{}, &URLError{"remove the ?… or #… part: give only the server address (and its sub-path, if any)"}
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return connector.Address{}, &URLError{"the address has no host name"}
	}
	if !validHost(host) {
		return connector.Address{}, &URLError{fmt.Sprintf("%q is not a valid host name", truncate(host))}
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	hostport := host
	if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	if port != "" {
		hostport += ":" + port
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	for {
		trimmed := strings.TrimSuffix(strings.TrimSuffix(path, "/api/v4"), "/api")
		trimmed = strings.TrimRight(trimmed, "/")
		if trimmed == path {
			break
		}
		path = trimmed
	}
	web := scheme + "://" + hostport + path
	return connector.Address{URL: web, API: web + "/api/v4"}, nil
}

// validHost accepts IP literals and DNS-style names (letters, digits, '-',
// '.', '_' and non-ASCII letters of internationalised names).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return h != ""
}

// looksLikeHostPort accepts `host:8443/...` typed without a scheme.
func looksLikeHostPort(s string) bool {
	hp := s
	if i := strings.IndexByte(hp, '/'); i >= 0 {
		hp = hp[:i]
	}
	_, port, err := net.SplitHostPort(hp)
	if err != nil || port == "" {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// TokenPageURL opens GitLab's "new personal access token" page with the name
// and scopes filled in.
func TokenPageURL(at connector.Address) string {
	return at.URL + "/-/user_settings/personal_access_tokens?name=onramp&scopes=read_api,read_user"
}
