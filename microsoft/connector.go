package microsoft

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/model"
)

// Auth methods: both are the OAuth client-credentials grant (app-only).
const (
	AuthCertificate = "certificate"
	AuthSecret      = "client_secret"
)

// msConnector is the vendor's side of the boundary for onramp's flows,
// wizard, command line and sync.
type msConnector struct {
	clouds clouds
}

// ParseAddress reads a cloud by its id or name, or Graph's root as stored.
func (m msConnector) ParseAddress(raw string) (connector.Address, error) { return m.clouds.parse(raw) }

// graph is a Graph client for the app in values (a form's, or a stored
// connection's as settings and secrets) at address at.
func (m msConnector) graph(at connector.Address, method string, values map[string]string, hc *http.Client) (*Graph, error) {
	c, err := m.clouds.of(at)
	if err != nil {
		return nil, err
	}
	app := App{Tenant: strings.TrimSpace(values[FieldTenant]), ClientID: strings.TrimSpace(values[connector.FieldClientID])}
	switch method {
	case AuthCertificate:
		cert, err := ParseSealed(values[FieldCertificate])
		if err != nil {
			return nil, &connector.StepError{Field: FieldCertificate, Message: err.Error(), Err: err}
		}
		app.Cert = cert
	case AuthSecret:
		app.Secret = values[connector.FieldClientSecret]
	default:
		return nil, fmt.Errorf("onramp has no Microsoft 365 auth method %q", method)
	}
	return &Graph{HTTP: hc, Cloud: c, App: app}, nil
}

func (m msConnector) Verify(ctx context.Context, req connector.VerifyRequest) (*connector.Verification, error) {
	g, err := m.graph(req.Address, req.Method, req.Values, req.HTTP)
	if err != nil {
		return nil, err
	}
	g.Now = func() time.Time { return req.Now }
	mv, err := Verify(ctx, g)
	if err != nil {
		return nil, err
	}
	v := &connector.Verification{
		BaseURL: req.Address.URL, Vendor: "Microsoft", ServerVersion: "Microsoft Graph v1.0",
		Account:   model.Account{ID: model.ID(mv.TenantID), Username: mv.DefaultDomain, Name: mv.TenantName},
		TokenName: "app " + g.App.ClientID,
		Scopes:    mv.Roles, ScopesKnown: true,
		ScopesNote:  "application permissions granted by an administrator",
		AccountLine: "the tenant " + mv.TenantName + ", as its app registration",
		Details:     []connector.SummaryItem{{Label: "Tenant", Value: mv.TenantID}, {Label: "Domains", Value: strings.Join(mv.Domains, ", ")}},
	}
	switch {
	case g.App.Cert != nil:
		end := g.App.Cert.Cert.NotAfter
		v.ExpiresAt = &end
	case req.Values[FieldSecretExpires] != "":
		if end, err := ParseSecretExpiry(req.Values[FieldSecretExpires]); err == nil {
			v.ExpiresAt = &end
		}
	default:
		v.NoExpiry = "unknown: give the secret's end date (Expires, beside it under Certificates & secrets) to be warned before it ends"
	}
	if v.ExpiresAt != nil {
		days := connector.DaysLeft(*v.ExpiresAt, req.Now)
		v.ExpiresIn = humanize.Days(days)
		if days <= connector.ExpirySoonDays {
			v.Warnings = append(v.Warnings, connector.Warning{Code: "expiry",
				Message: fmt.Sprintf("The app's credential expires on %s (%s).", v.ExpiresAt.Format("2006-01-02"), humanize.Days(days)),
				Action:  "Before then, add a new one under Certificates & secrets and reconnect."})
		}
	}
	if !mv.SignIns {
		v.Warnings = append(v.Warnings, connector.Warning{Code: "sign_ins",
			Message: "The inventory will have no last sign-ins: the app lacks " + PermSignIns + ".",
			Action:  "Add the application permission " + PermSignIns + " under API permissions and grant admin consent (sign-ins also need Entra ID P1 or P2)."})
	}
	return v, nil
}

// DefaultAlias is the tenant's name as typed: contoso.onmicrosoft.com →
// contoso; a tenant id → m365-<its first group>.
func (m msConnector) DefaultAlias(_ connector.Address, values map[string]string) string {
	t := strings.ToLower(strings.TrimSpace(values[FieldTenant]))
	switch {
	case t == "":
		return "m365"
	case strings.Contains(t, "."):
		return connector.SanitizeAlias(strings.TrimSuffix(t, ".onmicrosoft.com"))
	}
	first, _, _ := strings.Cut(t, "-")
	return connector.SanitizeAlias("m365-" + first)
}

// Source makes the inventory reader for a stored connection: the app signs
// in with its stored credential, so the sync needs nothing put on its
// requests (Credential is unused).
func (m msConnector) Source(at connector.Address, conn *model.Connection, hc *http.Client, _ connector.Credential) connector.SyncSource {
	values := map[string]string{FieldTenant: conn.Settings[FieldTenant], connector.FieldClientID: conn.ClientID,
		FieldCertificate: conn.Secret(FieldCertificate).Reveal(), connector.FieldClientSecret: conn.Secret(connector.FieldClientSecret).Reveal()}
	if values[connector.FieldClientID] == "" {
		values[connector.FieldClientID] = conn.Settings[connector.FieldClientID]
	}
	g, err := m.graph(at, conn.AuthMethod, values, hc)
	if err != nil {
		return connector.FailingSource{Err: err}
	}
	return &source{inv: &Inventory{G: g}}
}

type source struct{ inv *Inventory }

func (s *source) Page(ctx context.Context, checkpoint string) (*connector.SourcePage, error) {
	return s.inv.Page(ctx, checkpoint)
}
func (s *source) Seats(ctx context.Context) ([]model.Seats, string, error) { return s.inv.Seats(ctx) }
func (s *source) Retries() int                                             { return s.inv.G.Retries() }
