package model

import (
	"regexp"
	"strings"
	"time"
)

// State is where a connection stands.
type State string

const (
	StateConnected      State = "connected"
	StateNeedsReconnect State = "needs_reconnect"
	StateError          State = "error"
)

// Auth methods a connection can use.
const (
	AuthToken = "token"
	AuthOAuth = "oauth"
)

// Names of secret fields. The store seals each under its name (the name takes
// part in the sealing's associated data, so a sealed value cannot be moved to
// another field or record).
const (
	SecretToken        = "token"
	SecretClientSecret = "client_secret"
	SecretAccessToken  = "access_token"
	SecretRefreshToken = "refresh_token"
)

// Account is the identity a connection's credential belongs to.
type Account struct {
	ID       ID     `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
	Admin    bool   `json:"admin"`
}

// Connection is one stored, verified connection to a vendor instance.
type Connection struct {
	ID            string     `json:"id"`
	Vendor        string     `json:"vendor"`
	Alias         string     `json:"alias"`
	BaseURL       string     `json:"base_url"`
	AuthMethod    string     `json:"auth_method"`
	Account       Account    `json:"account"`
	Scopes        []string   `json:"scopes"`
	TokenName     string     `json:"token_name,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	ServerVersion string     `json:"server_version,omitempty"`
	ServerEdition string     `json:"server_edition,omitempty"`
	// CABundle is the PEM the user supplied for a private CA; public data.
	CABundle string `json:"ca_bundle,omitempty"`
	// AccessExpiresAt is when the OAuth access token expires (2 hours after
	// each refresh); ExpiresAt stays the credential's own expiry.
	AccessExpiresAt *time.Time `json:"access_expires_at,omitempty"`
	// ClientID is the OAuth application's ID; public data.
	ClientID string `json:"client_id,omitempty"`
	// SyncEvery is how often the connection is synced again (0: never);
	// DefaultSyncEvery for a new one. Only Jobs.SetSchedule changes it.
	SyncEvery   time.Duration `json:"sync_every"`
	State       State         `json:"state"`
	StateReason string        `json:"state_reason,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	CreatedBy   string        `json:"created_by"`
	UpdatedAt   time.Time     `json:"updated_at"`
	UpdatedBy   string        `json:"updated_by"`
	// Rotation is how the token renews itself; nil when the vendor has no
	// rotation (or the connection predates it).
	Rotation *Rotation `json:"rotation,omitempty"`
	// Settings are the card's non-secret field values as last typed (the
	// server address, a client id, scopes…), by field key, beside the
	// secrets: a reconnect fills its form from both.
	Settings map[string]string `json:"settings,omitempty"`
	// Revision grows by one with every committed change.
	Revision int64 `json:"revision"`
	// Secrets holds the sealed fields, unsealed; List leaves it nil. Its
	// values print as fingerprints, never in full.
	Secrets map[string]Secret `json:"secrets,omitempty"`
}

// Secret returns the named secret, or "" when absent.
func (c *Connection) Secret(name string) Secret {
	return c.Secrets[name]
}

// SetSecret sets (or, with an empty value, removes) a secret field.
func (c *Connection) SetSecret(name string, v Secret) {
	if v == "" {
		delete(c.Secrets, name)
		return
	}
	if c.Secrets == nil {
		c.Secrets = map[string]Secret{}
	}
	c.Secrets[name] = v
}

var aliasPattern = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// ValidAlias reports why alias is not acceptable, or nil. Aliases are
// compared case-insensitively, so upper case is folded before checking.
func ValidAlias(alias string) error {
	a := strings.ToLower(alias)
	switch {
	case a == "":
		return aliasError("an alias is required")
	case len(a) > 64:
		return aliasError("an alias is at most 64 characters")
	case !aliasPattern.MatchString(a):
		return aliasError("use only letters, digits, '.', '_' and '-'")
	}
	return nil
}

type aliasError string

func (e aliasError) Error() string { return string(e) }
