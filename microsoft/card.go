package microsoft

import (
	"fmt"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
)

// CardOptions adjust the Microsoft card.
type CardOptions struct {
	// Sandbox, when set, is a sandbox Microsoft's root, offered as the
	// cloud "sandbox" and chosen by default (the demo, the tests).
	Sandbox string
	// Notes are shown first beside the Application (client) ID field (the
	// demo names its sandbox app there); SecretNotes beside the secret's.
	Notes, SecretNotes []string
}

// Card is the Microsoft 365 catalog card: Microsoft's own app-registration
// guide as steps, a cloud, the tenant and the app, and one of two app-only
// credentials.
func Card(o CardOptions) *connector.Vendor {
	cs := clouds(Clouds)
	def := "global"
	if o.Sandbox != "" {
		cs = append(cs, sandboxCloud(o.Sandbox))
		def = "sandbox"
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	var cloudHelp []string
	for _, c := range cs {
		cloudHelp = append(cloudHelp, c.ID+": "+c.Name)
	}
	cloud := connector.Field{Key: FieldCloud, Label: "Cloud", Default: def, Address: true, Choices: ids,
		Placeholder: strings.Join(ids, ", "), Help: append([]string{"Where your tenant lives (→ completes a suggestion):"}, cloudHelp...)}
	tenant := connector.Field{Key: FieldTenant, Label: "Directory (tenant) ID", Placeholder: "e.g. 8f3d2b61-… or contoso.onmicrosoft.com",
		Help: []string{"In the Microsoft Entra admin center: App registrations → your app → Overview: Directory (tenant) ID.",
			"A verified domain of the tenant (contoso.onmicrosoft.com) works too."},
		Normalize: normalizeTenant}
	app := connector.Field{Key: connector.FieldClientID, Label: "Application (client) ID", Placeholder: "e.g. 5a0d0a99-…", Notes: o.Notes,
		Help:      []string{"App registrations → your app → Overview: Application (client) ID."},
		Normalize: normalizeGUID("an Application (client) ID")}
	register := []string{
		"In the Microsoft Entra admin center (entra.microsoft.com), open Identity → Applications → App registrations → New registration.",
		"Name it (e.g. onramp); Supported account types: this organizational directory only; no Redirect URI. Select Register.",
		"From the app's Overview, copy the Application (client) ID and the Directory (tenant) ID into the fields.",
	}
	const intro = "register an app in Microsoft Entra"
	permissions := "Under API permissions → Add a permission → Microsoft Graph → Application permissions, add " + strings.Join(Permissions, ", ") +
		", then select Grant admin consent (a Global or Privileged Role Administrator; onramp shows the consent address if it is still missing)."
	return &connector.Vendor{
		ID: "microsoft", Name: "Microsoft 365",
		Description: "Inventory of users, licenses and subscriptions: who holds which license, who signed in when, " +
			"and seats bought against seats assigned — for Microsoft 365 through Entra ID.",
		Keywords: []string{"m365", "office", "entra", "azure", "azure ad", "graph", "licenses", "idp"},
		Examples: []string{
			"onramp connect microsoft --tenant contoso.onmicrosoft.com --client-id ID --certificate-out onramp.pem",
			"onramp connect microsoft --auth client_secret --tenant contoso.onmicrosoft.com --client-id ID --client-secret-stdin --secret-expires 2027-06-30",
		},
		Methods: []connector.AuthMethod{{
			ID: AuthCertificate, Kind: connector.MethodApp, Name: "Certificate", Recommended: true, IntroTitle: intro,
			Summary: "onramp makes a key pair and shows its certificate to upload to your app. No secret ever crosses the screen.",
			Intro: append(append([]string{}, register...),
				"Under Certificates & secrets → Certificates → Upload certificate, upload the certificate below (ctrl+r copies it; save it as onramp.pem). Entra lists it by the thumbprint shown.",
				permissions),
			Fields: []connector.Field{cloud, tenant, app, {
				Key: FieldCertificate, Label: "Certificate", Secret: true,
				Generate: func(now time.Time) (string, error) {
					c, err := NewCertificate("onramp", now)
					if err != nil {
						return "", err
					}
					return c.Sealed(), nil
				},
				Public: publicCertificate,
			}},
		}, {
			ID: AuthSecret, Kind: connector.MethodApp, Name: "Client secret", IntroTitle: intro,
			Summary: "Paste a client secret you add to your app. It expires on the date you choose; onramp warns before.",
			Intro: append(append([]string{}, register...),
				"Under Certificates & secrets → Client secrets → New client secret, choose its expiry, then copy its Value (shown once) and its Expires date into the fields.",
				permissions),
			Fields: []connector.Field{cloud, tenant, app, {
				Key: connector.FieldClientSecret, Label: "Client secret value", Secret: true, Placeholder: "the Value column, not the Secret ID",
				Notes: o.SecretNotes,
				Help:  []string{"Certificates & secrets → Client secrets: the Value column, shown once when you add it."},
			}, {
				Key: FieldSecretExpires, Label: "Secret expires", Optional: true, Placeholder: "e.g. 2027-06-30",
				Help:      []string{"The Expires column beside the secret; onramp warns two weeks before and notifies when it ends."},
				Normalize: normalizeExpiry,
			}},
		}},
		Connector: msConnector{clouds: cs},
	}
}

// publicCertificate is what the person uploads: the certificate, named by
// the thumbprint Entra lists it under.
func publicCertificate(sealed string) (*connector.Copyable, error) {
	c, err := ParseSealed(sealed)
	if err != nil {
		return nil, err
	}
	return &connector.Copyable{Label: "Certificate", Value: c.PEM(),
		Short: fmt.Sprintf("thumbprint %s · valid until %s", c.Thumbprint(), c.Cert.NotAfter.Format("2006-01-02")),
		Note:  "Paste it into a file named onramp.pem and upload that file. The private key never leaves onramp's store."}, nil
}

// normalizeTenant takes a tenant id (a GUID) or a domain name.
func normalizeTenant(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if isGUID(s) || (strings.Contains(s, ".") && !strings.ContainsAny(s, " /:@")) {
		return s, nil
	}
	return "", fmt.Errorf("a tenant is its Directory (tenant) ID, like 8f3d2b61-5c4e-4a7b-9d10-2e6f0a1b3c4d, or a domain, like contoso.onmicrosoft.com")
}

func normalizeGUID(what string) func(string) (string, error) {
	return func(s string) (string, error) {
		s = strings.ToLower(strings.TrimSpace(s))
		if !isGUID(s) {
			return "", fmt.Errorf("%s is a GUID like 5a0d0a99-0001-4a99-8000-000000000001 (the Overview page shows it)", what)
		}
		return s, nil
	}
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", r) {
				return false
			}
		}
	}
	return true
}

func normalizeExpiry(s string) (string, error) {
	t, err := ParseSecretExpiry(s)
	if err != nil {
		return "", err
	}
	return t.Format("2006-01-02"), nil
}
