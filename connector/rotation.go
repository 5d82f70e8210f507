package connector

import (
	"context"
	"net/http"
	"time"

	"github.com/onramp-dev/onramp/model"
)

// Rotator is implemented by connectors whose tokens can renew themselves
// at the vendor (GitLab's self-rotation). The vendor revokes the old token
// as it answers; sending the old one again afterwards revokes the new one
// too, so the flow calls Rotate at most once per mark (flows/rotate.go).
type Rotator interface {
	// Rotate sends the stored token once to have it replaced by one that
	// expires on expires (a date).
	Rotate(ctx context.Context, hc *http.Client, at Address, c *model.Connection, expires time.Time) (*Rotated, error)
	// TokenActive asks with witness's token (a connection at the same
	// address) whether the token tokenID is still active (never rotated,
	// not revoked), without sending it.
	TokenActive(ctx context.Context, hc *http.Client, at Address, witness *model.Connection, tokenID int64) (bool, error)
}

// Rotated is a rotation's answer: the successor.
type Rotated struct {
	Token     model.Secret
	TokenID   int64
	ExpiresAt time.Time
}

// RotationRefused: the vendor refused to rotate, in words, before it
// rotated anything (a 4xx answer): the old token is as it was. Any other
// error from Rotate may mean the token was rotated and the answer lost.
type RotationRefused struct {
	Reason string
	// Err is the vendor's error (a CredentialRejected for a dead token).
	Err error
	// Unreached: the request never left (no address, connection refused,
	// a TLS handshake that failed): nothing to record, try again later.
	Unreached bool
	// Latest is the latest expiry the vendor allows, when its refusal was
	// of an expiry beyond its maximum.
	Latest *time.Time
}

func (e *RotationRefused) Error() string { return e.Reason }
func (e *RotationRefused) Unwrap() error { return e.Err }
