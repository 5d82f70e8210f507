package flows

import (
	"context"
	"fmt"

	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// Revoke revokes a stored connection's credential at its vendor (onramp
// remove --revoke, and a reconnect that replaces it).
func Revoke(ctx context.Context, cat Catalog, c *store.Connection) error {
	v := cat.Vendor(c.Vendor)
	if v == nil {
		return fmt.Errorf("this onramp does not know the vendor %q", textsafe.Line(c.Vendor))
	}
	r, ok := v.Connector.(Revoker)
	if !ok {
		return fmt.Errorf("onramp cannot revoke %s credentials; delete it in %s yourself", v.Name, v.Name)
	}
	at, err := addressOf(v, c)
	if err != nil {
		return err
	}
	hc, err := httpx.New(httpx.Options{CABundle: []byte(c.CABundle)})
	if err != nil {
		return err
	}
	return r.Revoke(ctx, hc, at, c)
}
