package connector

import (
	"net/url"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/model"
)

// Form keys every vendor's fields use for the same things, so the flow,
// the command line and a reconnect fill them without knowing the vendor. A
// secret field's key is the name its value is stored under: one name.
const (
	FieldURL          = "url"
	FieldToken        = model.SecretToken
	FieldCAFile       = "ca_file"
	FieldClientID     = "client_id"
	FieldClientSecret = model.SecretClientSecret
	FieldScopes       = "scopes"
)

// Vendor is a catalog card.
type Vendor struct {
	ID          string
	Name        string
	Description string   // what the connector does, on the card
	Keywords    []string // extra words the filter matches
	// Examples are `onramp connect` command lines for the vendor, for
	// the command's help.
	Examples  []string
	Methods   []AuthMethod
	Connector Connector
}

// Method returns the auth method with id, or nil.
func (v *Vendor) Method(id string) *AuthMethod {
	for i := range v.Methods {
		if v.Methods[i].ID == id {
			return &v.Methods[i]
		}
	}
	return nil
}

// Matches reports whether the vendor matches a filter typed by a person:
// every word must appear in the name, id, description or keywords.
func (v *Vendor) Matches(filter string) bool {
	hay := strings.ToLower(v.ID + " " + v.Name + " " + v.Description + " " + strings.Join(v.Keywords, " "))
	for _, w := range strings.Fields(strings.ToLower(filter)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// Catalog is the list of vendors onramp can connect.
type Catalog []*Vendor

// Vendor returns the vendor with id, or nil.
func (c Catalog) Vendor(id string) *Vendor {
	for _, v := range c {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// MethodKind says how an auth method authorizes, which is what the flow,
// the wizard and the command line do with it.
type MethodKind int

const (
	// MethodToken: a token the person pastes, verified as it is and put
	// on each request by the vendor (TokenAuthorizer).
	MethodToken MethodKind = iota
	// MethodOAuth: a user's OAuth grant (the browser, paste-back or a
	// device code), renewed with its refresh token.
	MethodOAuth
	// MethodApp: an application's own credential (a certificate or a
	// secret, OAuth's client-credentials grant): no user, no interaction;
	// the vendor signs in with it for verification and for each sync.
	MethodApp
)

// AuthMethod is one way to authenticate to a vendor.
type AuthMethod struct {
	ID          string
	Kind        MethodKind
	Name        string
	Summary     string // one line on when to choose it
	Recommended bool
	// Intro is shown before the fields: steps in the vendor's UI, under
	// IntroTitle ("create an OAuth application in VENDOR" when empty).
	Intro      []string
	IntroTitle string
	// Copy is a value to copy into the vendor's UI (a redirect URI).
	Copy   *Copyable
	Fields []Field
	// TokenEnv names the environment variables the command line may take
	// the token from, as the vendor's own CLI reads them (GITLAB_TOKEN for
	// glab; GH_TOKEN, GITHUB_TOKEN for gh), first set first.
	TokenEnv []string
}

// Copyable is a labelled value with a copy key, and a note on it. Short,
// when set, is shown instead of a long Value (a certificate's thumbprint).
type Copyable struct {
	Label, Value, Note, Short string
}

// Field returns the field with key, or nil.
func (m *AuthMethod) Field(key string) *Field {
	for i := range m.Fields {
		if m.Fields[i].Key == key {
			return &m.Fields[i]
		}
	}
	return nil
}

// Field is one input of an auth method's form.
type Field struct {
	Key         string
	Label       string
	Placeholder string
	Default     string
	Secret      bool // masked on input, never shown again
	Optional    bool
	// OnDemand fields stay hidden until a failure asks for them (the CA
	// bundle after an unknown-authority error).
	OnDemand bool
	// Help lists the steps to obtain the value, shown beside the field.
	Help []string
	// Notes are shown before the steps, unnumbered (the demo's tokens).
	Notes []string
	// Normalize checks a trimmed value and returns its canonical form.
	Normalize func(string) (string, error)
	// Choices are the values the field takes, offered as suggestions.
	Choices []string
	// Generate makes the field's secret instead of asking for it (a key
	// pair onramp keeps, its private key never shown); Public is what of
	// it the person takes to the vendor (the certificate), shown and
	// copied like the method's Copy.
	Generate func(now time.Time) (string, error)
	Public   func(secret string) (*Copyable, error)
	// Address marks the field that says where the instance lives: the flow
	// has the vendor's ParseAddress check it, keeps the parsed Address and
	// asks before plain http to another machine.
	Address bool
	// Link, when set, builds a helpful address at the instance (the token
	// page with name and scopes filled in).
	Link func(at Address) string
}

// ServerURLField is the server address every vendor's form starts with.
func ServerURLField(label, def, placeholder string, help []string) Field {
	return Field{Key: FieldURL, Label: label, Default: def, Placeholder: placeholder, Help: help, Address: true}
}

// CAFileField asks for a private CA's certificate, shown only once a TLS
// failure says the server's certificate is signed by an unknown authority.
func CAFileField(server string) Field {
	return Field{
		Key: FieldCAFile, Label: "CA certificate file (PEM)", OnDemand: true, Optional: true,
		Placeholder: "e.g. /etc/ssl/certs/my-company-ca.pem",
		Help: []string{
			"Your " + server + "'s certificate is signed by a private certificate authority.",
			"Give the path of that CA's certificate (PEM); onramp remembers it with this connection.",
		},
	}
}

// Hostname is the host of an address, without port or brackets.
func Hostname(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// SanitizeAlias maps any text onto the alias alphabet [a-z0-9._-].
func SanitizeAlias(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > 56 { // room for a "-N" suffix
		out = out[:56]
	}
	if out == "" {
		return "connection"
	}
	return out
}
