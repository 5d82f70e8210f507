package flows

import (
	"context"
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

// unreadableSource is the source of a connection whose stored address its
// vendor cannot read: the run fails with why, and status shows it.
type unreadableSource struct{ err error }

func (u unreadableSource) Page(context.Context, string) (*SourcePage, error) { return nil, u.err }
func (u unreadableSource) Seats(context.Context) ([]store.Seats, string, error) {
	return nil, "", u.err
}
func (u unreadableSource) Retries() int { return 0 }
