package connector

import (
	"context"
	"net/http"
	"time"

	"github.com/onramp-dev/onramp/model"
)

// Connector verifies credentials against a vendor instance. A vendor's
// connector may also implement TokenAuthorizer, Revoker, Syncable and
// OAuthProvider; what it does not implement, onramp does not offer.
type Connector interface {
	// ParseAddress reads an instance's address as a person types it (the
	// value of the card's Address field) or as a connection stored it
	// (Address.URL), and says what is wrong with one it cannot use.
	ParseAddress(raw string) (Address, error)
	Verify(ctx context.Context, req VerifyRequest) (*Verification, error)
	// DefaultAlias derives an alias from the address (usually its host)
	// and the form's values.
	DefaultAlias(at Address, values map[string]string) string
}

// VerifyRequest is what a connector needs to check a credential.
type VerifyRequest struct {
	Method   string
	Address  Address
	Values   map[string]string // checked; secrets included
	CABundle []byte
	HTTP     *http.Client
	Now      time.Time
}

// TokenAuthorizer says how a vendor's personal token goes on a request
// (GitLab's Private-Token, GitHub's Bearer): the vendor decides, for its
// verification and for the sync alike. Every vendor with a token method
// implements it (the catalog's test checks).
type TokenAuthorizer interface {
	AuthorizeToken(r *http.Request, token string)
}

// Revoker is implemented by connectors that can revoke a stored
// credential at the vendor (onramp remove --revoke).
type Revoker interface {
	Revoke(ctx context.Context, hc *http.Client, at Address, c *model.Connection) error
}

// Syncable is implemented by connectors that can inventory their vendor.
type Syncable interface {
	Source(at Address, conn *model.Connection, hc *http.Client, cred Credential) SyncSource
}

// SyncSource reads a vendor's inventory page by page from a checkpoint.
type SyncSource interface {
	Page(ctx context.Context, checkpoint string) (*SourcePage, error)
	Seats(ctx context.Context) ([]model.Seats, string, error)
	Retries() int
}

// FailingSource is the source of a stored connection its vendor cannot
// read (an address or a credential that no longer parses): every call
// fails with Err, so the sync says why instead of guessing.
type FailingSource struct{ Err error }

func (f FailingSource) Page(context.Context, string) (*SourcePage, error)    { return nil, f.Err }
func (f FailingSource) Seats(context.Context) ([]model.Seats, string, error) { return nil, "", f.Err }
func (f FailingSource) Retries() int                                         { return 0 }

// SourcePage is one page of a vendor's inventory. Next and Total are known
// when Page returns; Load fills Users, View and Note, so decoding a page
// overlaps fetching the next.
type SourcePage struct {
	Users []model.InventoryUser
	Next  string // checkpoint of the following page; "" after the last
	Total *int
	View  string
	Note  string
	Load  func(*SourcePage) error
}

// Credential puts a connection's secret on a request and, when the
// credential can be renewed (OAuth), renews one the server rejected.
type Credential struct {
	Set   func(ctx context.Context, r *http.Request) error
	Renew func(ctx context.Context, rejected *http.Request) error // nil: not renewable
}

// Inventory views: what a snapshot could see, recorded with its run.
const (
	ViewAdmin = "admin" // an administrator's whole list: roles and bots known
	ViewBasic = "basic" // the list any user may read: no roles
	ViewSaaS  = "saas"  // a hosted group's members
	ViewOrg   = "org"   // organizations' members with their roles
	// ViewDirectory is a directory's users (Entra ID): licenses known,
	// administrators not.
	ViewDirectory = "directory"
)

// ViewKnowsRoles reports whether a snapshot taken in view says who is an
// administrator and who is a bot; elsewhere the answer is unknown, not no.
func ViewKnowsRoles(view string) bool { return view == ViewAdmin || view == ViewOrg }
