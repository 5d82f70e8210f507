package flows

import (
	"context"
	"net/url"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// Integration is one row of the Integrations page, ready to show: every
// string is sanitized (aliases and accounts can come from other operators
// and from servers).
type Integration struct {
	ID         string     `json:"id"`
	Vendor     string     `json:"vendor"`
	Alias      string     `json:"alias"`
	Host       string     `json:"host"`
	Account    string     `json:"account"`
	Admin      bool       `json:"admin"`
	AuthMethod string     `json:"auth_method"`
	AuthID     string     `json:"auth_id"`
	Expires    string     `json:"expires"` // "2027-11-25 (in 365 days)", or "never"
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// Renews says when the token renews itself, or why it cannot ("" when
	// the vendor has no rotation).
	Renews string `json:"renews,omitempty"`
	// Rotates: the token may be rotated now (the page offers it).
	Rotates   bool   `json:"-"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	CreatedBy string `json:"created_by"`
}

// Integrations lists every stored connection as rows.
func Integrations(ctx context.Context, st store.Store, cat Catalog, now time.Time, limit int) ([]Integration, error) {
	conns, err := st.List(ctx, store.ListOptions{Limit: limit})
	if err != nil {
		return nil, err
	}
	rows := make([]Integration, 0, len(conns))
	for i := range conns {
		rows = append(rows, IntegrationOf(&conns[i], cat, now))
	}
	return rows, nil
}

// IntegrationOf describes one connection.
func IntegrationOf(c *store.Connection, cat Catalog, now time.Time) Integration {
	vendor, method := c.Vendor, c.AuthMethod
	if v := cat.Vendor(c.Vendor); v != nil {
		vendor = v.Name
		if m := v.Method(c.AuthMethod); m != nil {
			method = m.Name
		}
	}
	host := hostOf(c.BaseURL)
	row := Integration{
		ID: c.ID, Vendor: textsafe.Line(vendor), Alias: textsafe.Truncate(c.Alias, 64), Host: textsafe.Truncate(host, 80),
		Account: "@" + textsafe.Truncate(c.Account.Username, 60), Admin: c.Account.Admin, AuthMethod: method, AuthID: c.AuthMethod,
		Expires: "never", ExpiresAt: c.ExpiresAt, State: string(c.State), Reason: textsafe.Truncate(c.StateReason, 200),
		CreatedBy: textsafe.Truncate(c.CreatedBy, 80), Renews: textsafe.Line(connector.RenewalLine(c.Rotation, c.ExpiresAt)),
		Rotates: c.CanRotate() && c.State == store.StateConnected,
	}
	if c.ExpiresAt != nil {
		days := connector.DaysLeft(*c.ExpiresAt, now)
		row.Expires = c.ExpiresAt.Format("2006-01-02") + " (" + humanize.Days(days) + ")"
		if days <= 0 && c.State == store.StateConnected {
			row.State, row.Reason = "expired", "the token expired; connect again with a new token"
		}
	}
	return row
}

// hostOf is a server address without its scheme: host and sub-path.
func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host + u.Path
	}
	return base
}
