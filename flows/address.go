package flows

import (
	"fmt"

	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// addressOf reads a stored connection's address with its vendor, once for
// each piece of work on it (a sync, a renewal, a revocation).
func addressOf(v *Vendor, c *store.Connection) (Address, error) {
	at, err := v.Connector.ParseAddress(c.BaseURL)
	if err != nil {
		return Address{}, storedAddressError(c, err)
	}
	return at, nil
}

// storedAddressError says that a stored address no longer reads, and what
// to do about it.
func storedAddressError(c *store.Connection, err error) error {
	return fmt.Errorf("the address stored for %s (%s) cannot be used: %w; reconnect it with a valid address (onramp reconnect %s)",
		textsafe.Line(c.Alias), textsafe.Line(c.BaseURL), err, textsafe.Line(c.Alias))
}
