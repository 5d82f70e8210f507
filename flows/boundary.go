package flows

import "github.com/onramp-dev/onramp/connector"

// The vendor boundary's types, under the names the wizard and the command
// line know them by: flows is the only package they talk to, and the
// connector package is where vendors meet it.
type (
	Address         = connector.Address
	Vendor          = connector.Vendor
	AuthMethod      = connector.AuthMethod
	Field           = connector.Field
	Copyable        = connector.Copyable
	MethodKind      = connector.MethodKind
	Pending         = connector.Pending
	Catalog         = connector.Catalog
	Connector       = connector.Connector
	VerifyRequest   = connector.VerifyRequest
	Verification    = connector.Verification
	Warning         = connector.Warning
	SummaryItem     = connector.SummaryItem
	StepError       = connector.StepError
	Explained       = connector.Explained
	SourcePage      = connector.SourcePage
	SyncSource      = connector.SyncSource
	Credential      = connector.Credential
	Syncable        = connector.Syncable
	TokenAuthorizer = connector.TokenAuthorizer
	Revoker         = connector.Revoker
	OAuthProvider   = connector.OAuthProvider
	OAuthError      = connector.OAuthError
	// Typed errors: what the queue and the connection do next.
	Throttled          = connector.Throttled
	Coded              = connector.Coded
	CredentialRejected = connector.CredentialRejected
)

// How methods authorize.
const (
	MethodToken = connector.MethodToken
	MethodOAuth = connector.MethodOAuth
	MethodApp   = connector.MethodApp
)

// Form keys every vendor's fields use for the same things.
const (
	FieldURL          = connector.FieldURL
	FieldToken        = connector.FieldToken
	FieldCAFile       = connector.FieldCAFile
	FieldClientID     = connector.FieldClientID
	FieldClientSecret = connector.FieldClientSecret
	FieldScopes       = connector.FieldScopes
)

// ViewKnowsRoles reports whether a snapshot taken in view says who is an
// administrator and who is a bot (connector.ViewKnowsRoles).
func ViewKnowsRoles(view string) bool { return connector.ViewKnowsRoles(view) }
