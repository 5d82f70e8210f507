package store

import "github.com/onramp-dev/onramp/model"

// The domain's types and names, as the store's callers know them: the store
// persists model's values (model holds them so that vendors need no store).
type (
	Connection    = model.Connection
	Account       = model.Account
	ID            = model.ID
	State         = model.State
	Secret        = model.Secret
	Rotation      = model.Rotation
	RotationMark  = model.RotationMark
	InventoryUser = model.InventoryUser
	Seats         = model.Seats
)

const (
	StateConnected      = model.StateConnected
	StateNeedsReconnect = model.StateNeedsReconnect
	StateError          = model.StateError

	AuthToken = model.AuthToken
	AuthOAuth = model.AuthOAuth

	SecretToken        = model.SecretToken
	SecretClientSecret = model.SecretClientSecret
	SecretAccessToken  = model.SecretAccessToken
	SecretRefreshToken = model.SecretRefreshToken

	DefaultRotationLeadDays = model.DefaultRotationLeadDays
)

// Fingerprint and ValidAlias: see model.
var (
	Fingerprint = model.Fingerprint
	ValidAlias  = model.ValidAlias
)
