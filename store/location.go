package store

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// A store location is a file path or a PostgreSQL URL, and nothing else: a
// mistyped URL must never become a SQLite file named after it (password
// included).

var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// ParseLocation checks a store location and gives it in its one spelling:
// postgres:// and postgresql:// URLs in any case (the scheme lowercased), or
// a file path. Anything else that looks like a URL (a scheme, or a
// "postgres" with slashes but no "://") is refused with the accepted forms;
// the refusal never quotes the location, which may hold a password.
func ParseLocation(raw string) (string, error) {
	lower := strings.ToLower(raw)
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(lower, scheme) {
			return scheme + raw[len(scheme):], nil
		}
	}
	looksLikeURL := urlScheme.MatchString(raw) && !isDrivePath(raw) ||
		strings.HasPrefix(lower, "postgres") && (strings.Contains(raw, "//") || strings.Contains(raw, ":"))
	if looksLikeURL {
		scheme, _, _ := strings.Cut(raw, ":")
		if !strings.Contains(raw, ":") {
			scheme, _, _ = strings.Cut(raw, "/")
		}
		return "", fmt.Errorf("the store location starting %q is neither a file path nor a PostgreSQL URL: give a path (/var/lib/onramp/onramp.db) or postgres://USER@HOST/DATABASE (postgresql:// too)", scheme)
	}
	return raw, nil
}

// isDrivePath: C:\… or C:/… (a Windows path, not a URL scheme).
func isDrivePath(s string) bool {
	return len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/')
}

// URLHasPassword reports whether a PostgreSQL URL carries a password (in its
// user part or as a password= parameter).
func URLHasPassword(location string) bool {
	if !IsPostgres(location) {
		return false
	}
	u, err := url.Parse(location)
	if err != nil {
		return strings.Contains(location, "@") // unreadable: assume the worst
	}
	_, has := u.User.Password()
	return has || u.Query().Has("password")
}

// RedactLocation is a location fit to show and to pass on: a URL without its
// password.
func RedactLocation(location string) string {
	if !IsPostgres(location) {
		return location
	}
	return redactedURL(location)
}
