package connector

import (
	"net/url"
	"strings"
)

// Address is where a vendor instance lives, parsed once by its vendor
// (Connector.ParseAddress): from the form's address field when the person
// types it, or from a stored connection when the flow reads it. Every
// vendor call takes it, so no call parses an address again.
type Address struct {
	// URL is the canonical web address, scheme://host[:port][/sub/path]
	// without a trailing slash: what a person opens, and what a connection
	// stores as its base_url.
	URL string
	// API is the root of the vendor's API at this address.
	API string
}

// Host is the web address's host[:port].
func (a Address) Host() string {
	u, err := url.Parse(a.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Plain reports plain http: a credential would cross the network
// unencrypted unless the host is this machine (the flow asks first).
func (a Address) Plain() bool { return strings.HasPrefix(a.URL, "http://") }

// IsZero reports an address not parsed (yet).
func (a Address) IsZero() bool { return a.URL == "" }
