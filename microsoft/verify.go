package microsoft

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/internal/textsafe"
)

// Permissions onramp asks for (Microsoft Graph application permissions).
const (
	PermUsers   = "User.Read.All"         // the users, their licenses
	PermOrg     = "Organization.Read.All" // the tenant's name, domains and subscriptions
	PermSignIns = "AuditLog.Read.All"     // users' last sign-in (signInActivity)
	// PermDirectory grants what the first two do.
	PermDirectory = "Directory.Read.All"
)

// Permissions are the ones the card asks an administrator to grant.
var Permissions = []string{PermUsers, PermOrg, PermSignIns}

// Verification is what a tenant says of the app.
type Verification struct {
	TenantID      string
	TenantName    string
	DefaultDomain string
	Domains       []string // verified
	Roles         []string // granted application permissions
	// SignIns: AuditLog.Read.All is granted, so the inventory can ask for
	// sign-ins (which also need an Entra ID P1 or P2 licence).
	SignIns bool
}

// missing lists the permissions without which there is no inventory.
func missing(roles []string) []string {
	if slices.Contains(roles, PermDirectory) {
		return nil
	}
	var out []string
	for _, p := range []string{PermUsers, PermOrg} {
		if !slices.Contains(roles, p) {
			out = append(out, p)
		}
	}
	return out
}

type organization struct {
	ID              string `json:"id"`
	DisplayName     string `json:"displayName"`
	VerifiedDomains []struct {
		Name      string `json:"name"`
		IsDefault bool   `json:"isDefault"`
	} `json:"verifiedDomains"`
}

// Verify signs the app in, reads what was granted and the tenant: a
// permission still missing is a KindConsent error naming it.
func Verify(ctx context.Context, g *Graph) (*Verification, error) {
	tok, err := g.Token(ctx)
	if err != nil {
		return nil, err
	}
	if m := missing(tok.Roles); len(m) > 0 {
		return nil, &Error{Kind: KindConsent, Host: hostOf(g.Cloud.Login), Missing: m,
			ConsentAt: ConsentURL(g.Cloud.Login, g.App.Tenant, g.App.ClientID, "")}
	}
	var orgs struct {
		Value []organization `json:"value"`
	}
	if err := g.Get(ctx, "/organization?$select=id,displayName,verifiedDomains", &orgs); err != nil {
		return nil, err
	}
	if len(orgs.Value) == 0 {
		return nil, &Error{Kind: KindNotMicrosoft, Host: hostOf(g.Cloud.Graph), Status: 200}
	}
	o := orgs.Value[0]
	// The tenant's words are drawn on screen: sanitized and bounded here.
	v := &Verification{TenantID: textsafe.Truncate(o.ID, 40), TenantName: textsafe.Truncate(o.DisplayName, 80), Roles: tok.Roles,
		SignIns: slices.Contains(tok.Roles, PermSignIns)}
	for _, d := range o.VerifiedDomains {
		name := textsafe.Truncate(d.Name, 100)
		v.Domains = append(v.Domains, name)
		if d.IsDefault {
			v.DefaultDomain = name
		}
	}
	slices.Sort(v.Domains)
	return v, nil
}

// ParseSecretExpiry reads the end date Entra shows beside a client secret
// (Expires: 2027-06-30, or 6/30/2027 as the admin center writes it in
// English).
func ParseSecretExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "1/2/2006", "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("write the date as Entra shows it beside the secret, such as 2027-06-30 or 6/30/2027")
}
