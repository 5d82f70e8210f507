package model

import "time"

// Rotation is how a connection's token renews itself at the vendor (a
// GitLab access token that may rotate): stored with the connection as one
// JSON column, read and changed under Update's row lock like the rest.
type Rotation struct {
	// Cannot says why the token cannot renew itself ("" when it can): its
	// scopes, the server's version. Nothing else below applies then.
	Cannot string `json:"cannot,omitempty"`
	// Kind is whose token it is (personal, group, project) and Of the
	// group's or project's id: they pick the vendor's rotation address.
	Kind string `json:"kind,omitempty"`
	Of   int64  `json:"of,omitempty"`
	// TokenID is the vendor's id of the current token; a witness asks
	// about it by id when a rotation's answer was lost.
	TokenID int64 `json:"token_id,omitempty"`
	// LifetimeDays is how long a new token lives (the current one's
	// lifetime, unless someone asked otherwise).
	LifetimeDays int `json:"lifetime_days,omitempty"`
	// LeadDays: rotated this many days before expiry; 0 turns automatic
	// rotation off (`onramp rotate ALIAS --auto off`).
	LeadDays int `json:"lead_days"`
	// RequestedAt: someone asked to rotate now (`onramp rotate ALIAS`);
	// Expires is the expiry they asked for (nil: the same lifetime).
	RequestedAt *time.Time `json:"requested_at,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	// InFlight marks a rotation that may be in flight: written and
	// committed before the request is sent, cleared in the transaction that
	// commits the successor. While it stands nobody sends the token.
	InFlight *RotationMark `json:"in_flight,omitempty"`
	// LastRotated is when the last rotation committed; LastRefusal why the
	// last one was refused (the vendor's words), cleared by a success.
	LastRotated *time.Time `json:"last_rotated,omitempty"`
	LastRefusal string     `json:"last_refusal,omitempty"`
}

// RotationMark is one rotation that may be in flight.
type RotationMark struct {
	// Holder names the attempt (process and a nonce): only it may commit
	// the successor without further checks.
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
	// Old is the fingerprint of the token being rotated: a successor is
	// only ever installed over that token (never over a reconnect's).
	Old string `json:"old"`
}

// Refused records why a rotation asked for did not happen, and ends the
// asking: it is not tried again until someone changes something.
func (r *Rotation) Refused(reason string) {
	r.RequestedAt, r.Expires, r.LastRefusal = nil, nil, reason
}

// DefaultRotationLeadDays is how many days before expiry a token rotates.
const DefaultRotationLeadDays = 7

// CanRotate reports whether the connection's token renews itself.
func (c *Connection) CanRotate() bool {
	return c.Rotation != nil && c.Rotation.Cannot == "" && c.AuthMethod == AuthToken
}

// RotatesAt is when automatic rotation is due: LeadDays before expiry;
// nil when the token does not renew itself automatically.
func (c *Connection) RotatesAt() *time.Time {
	if !c.CanRotate() || c.Rotation.LeadDays <= 0 || c.ExpiresAt == nil {
		return nil
	}
	t := c.ExpiresAt.AddDate(0, 0, -c.Rotation.LeadDays)
	return &t
}

// RotationDue reports whether the token should rotate at now: asked for,
// or automatic and its day has come.
func (c *Connection) RotationDue(now time.Time) bool {
	if !c.CanRotate() {
		return false
	}
	if c.Rotation.RequestedAt != nil {
		return true
	}
	at := c.RotatesAt()
	return at != nil && !now.Before(*at) && c.Rotation.LastRefusal == ""
}

// LifetimeDays is how many calendar days (UTC) a token lives from issued
// to expires. GitLab's tokens end at midnight UTC on a date, so measuring
// the hours would call a 90-day token issued in the afternoon 89 days.
func LifetimeDays(issued, expires time.Time) int {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return max(int(day(expires).Sub(day(issued)).Hours()/24+0.5), 1)
}
