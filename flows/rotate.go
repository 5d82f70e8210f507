package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/model"
	"github.com/onramp-dev/onramp/store"
)

// Token rotation, inside the connection's sync job. The protocol (README,
// "Tokens that renew themselves"):
//
//  1. Only the job's holder rotates: the sync job is unique per connection,
//     and a holder that lost its lease sends nothing (store.LeaseHeld).
//     The connection's lease is held from the mark to the commit, so a
//     witness (below) never sends a token that is being rotated.
//  2. The mark: before the request, "rotating" is committed on the
//     connection (store.RotationMark). While it stands nobody sends the
//     token: this sync's own page requests wait at the gate, the next
//     holder settles the mark before anything else, and a witness query
//     skips a marked token. (remove --revoke may send it: revoking the
//     whole family is what removing asks for.)
//  3. One request. Its answer is committed at once, in the transaction that
//     clears the mark; the successor is installed only over the token it
//     replaced, never over a reconnect's.
//  4. A refusal in words (a 4xx) means nothing rotated: the mark is
//     cleared and the refusal recorded. Anything else (a crash, a timeout,
//     a reset, a 5xx) may have rotated it: the token is never sent again.
//     A witness — another stored token of the same instance, an
//     administrator's or the same user's — asks GitLab whether the old
//     token is still active. Active: the mark is cleared and the token
//     works on. Rotated, or nobody can tell: the connection needs
//     reconnecting, with the reason, and the family stays alive.

// rotationTimeout bounds the rotation's request; rotationLease the
// connection's lease across one rotation (the request plus the commit).
const (
	rotationTimeout = 60 * time.Second
	rotationLease   = 90 * time.Second
)

// ErrRotationInterrupted: a rotation's answer was lost and nothing could
// tell whether the vendor rotated the token.
var ErrRotationInterrupted = errors.New("rotation interrupted")

// credentialGate is a sync's token: page requests hold it shared for their
// whole round trip and put the current token on at the last moment; a
// rotation holds it alone, so no request carries the old token after the
// rotation was sent.
type credentialGate struct {
	mu        sync.RWMutex
	token     string
	authorize func(r *http.Request, token string)
	next      http.RoundTripper
}

// RoundTrip sends r with the current token, while this process still holds
// the sync (a frozen holder's request would revoke a rotated family).
func (g *credentialGate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if err := store.LeaseHeld(r.Context()); err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	g.authorize(r, g.token)
	return g.next.RoundTrip(r)
}

// RotationStore is the store as asking for a rotation needs it.
type RotationStore interface {
	store.Store
	store.Jobs
}

// RequestRotation asks for the connection's token to rotate now (to expire
// on expires; nil: the same lifetime) and for the sync job that carries it.
func RequestRotation(ctx context.Context, st RotationStore, id string, now time.Time, expires *time.Time) error {
	asked := now.UTC()
	c, err := st.Update(ctx, id, func(cur *store.Connection) error {
		switch {
		case cur.Rotation == nil:
			return fmt.Errorf("%s's credential cannot be rotated by onramp", textsafe.Line(cur.Alias))
		case !cur.CanRotate():
			return fmt.Errorf("%s's token cannot renew itself: %s", textsafe.Line(cur.Alias), cur.Rotation.Cannot)
		case cur.State == store.StateNeedsReconnect:
			return fmt.Errorf("%s needs to be reconnected: %s", textsafe.Line(cur.Alias), textsafe.Line(cur.StateReason))
		}
		cur.Rotation.RequestedAt, cur.Rotation.Expires = &asked, expires
		return nil
	})
	if err != nil {
		return err
	}
	_, err = st.EnqueueSync(ctx, c.ID)
	return err
}

// rotator is the connection's vendor's rotation, or nil.
func (s *Syncer) rotator(c *store.Connection) *rotatorAt {
	v := s.Catalog.Vendor(c.Vendor)
	if v == nil {
		return nil
	}
	r, ok := v.Connector.(connector.Rotator)
	if !ok {
		return nil
	}
	at, err := addressOf(v, c)
	if err != nil {
		return nil // the sync has said why already
	}
	return &rotatorAt{r, at}
}

// rotatorAt is a vendor's rotation at one connection's address (which its
// witnesses share).
type rotatorAt struct {
	connector.Rotator
	at connector.Address
}

func (r *rotatorAt) rotate(ctx context.Context, hc *http.Client, c *store.Connection, expires time.Time) (*connector.Rotated, error) {
	return r.Rotate(ctx, hc, r.at, c, expires)
}

func (r *rotatorAt) tokenActive(ctx context.Context, hc *http.Client, witness *store.Connection, tokenID int64) (bool, error) {
	return r.TokenActive(ctx, hc, r.at, witness, tokenID)
}

// rotateIfDue rotates the connection's token when it is due (or recovers a
// rotation its previous holder left in flight) and returns the connection
// as stored after. gate, when not nil, is the running sync's: it is held
// across the rotation and given the successor.
func (s *Syncer) rotateIfDue(ctx context.Context, c *store.Connection, hc *http.Client, gate *credentialGate) (*store.Connection, error) {
	rot := s.rotator(c)
	if rot == nil || c.Rotation == nil || c.AuthMethod != store.AuthToken {
		return c, nil
	}
	if c.Rotation.InFlight != nil {
		// The sync is this process's now: whoever marked it lost it
		// (died, or froze past its lease) with the answer unsaved.
		var err error
		c, err = s.recoverRotation(ctx, c, hc, rot, "the process rotating it ("+textsafe.Line(c.Rotation.InFlight.Holder)+") stopped before saving the answer")
		if err != nil || c.Rotation == nil || c.Rotation.InFlight != nil || c.State == store.StateNeedsReconnect {
			return c, err
		}
		// Settled as never rotated: the rotation may go ahead now.
	}
	if !c.RotationDue(s.now()) {
		return c, nil
	}
	if other, err := s.sharedWith(ctx, c); err != nil || other != "" {
		if other != "" {
			s.refuse(ctx, c.ID, "the same token is stored as "+other+" too: rotating it here would revoke it there, and GitLab would then revoke the new one when "+other+
				" sends the old; give each connection a token of its own")
		}
		return s.Store.Get(ctx, c.ID)
	}
	if gate != nil {
		gate.mu.Lock()
		defer gate.mu.Unlock()
	}
	holder := leaseHolder()
	claimed, err := s.Store.ClaimLease(ctx, c.ID, holder, rotationLease)
	if err != nil || !claimed {
		return c, err // a witness is asking about this token: rotate at the next look
	}
	defer s.Store.ReleaseLease(context.WithoutCancel(ctx), c.ID, holder)
	old := c.Secret(store.SecretToken)
	expires := s.newExpiry(c)
	marked, err := s.Store.Update(ctx, c.ID, func(cur *store.Connection) error {
		switch {
		case !cur.CanRotate() || cur.Secret(store.SecretToken) != old || cur.State == store.StateNeedsReconnect:
			return errUnchanged // reconnected or changed meanwhile
		case cur.Rotation.InFlight != nil:
			return errUnchanged
		}
		cur.Rotation.InFlight = &store.RotationMark{Holder: holder, Since: s.now().UTC(), Old: store.Fingerprint(old.Reveal())}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return s.Store.Get(ctx, c.ID)
	}
	if err != nil {
		return c, fmt.Errorf("mark the rotation: %w", err)
	}
	if err := store.LeaseHeld(ctx); err != nil {
		s.clearMark(ctx, c.ID, holder, "") // never sent: the token is as it was
		return c, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rotationTimeout)
	defer cancel()
	got, err := rot.rotate(rctx, hc, marked, expires)
	var refused *connector.RotationRefused
	if errors.As(err, &refused) && refused.Latest != nil && c.Rotation.Expires == nil && refused.Latest.After(s.now()) {
		// The same lifetime is beyond the instance's maximum now: refused
		// before anything rotated, so asking again, at the maximum, is safe.
		s.logInfo("token rotation capped at the instance's maximum", "connection", c.ID, "expires", refused.Latest.Format("2006-01-02"))
		expires = *refused.Latest
		got, err = rot.rotate(rctx, hc, marked, expires)
	}
	switch {
	case err == nil:
		saved, err := s.commitRotation(ctx, c.ID, old, got)
		if err != nil {
			return c, err
		}
		if gate != nil {
			gate.token = got.Token.Reveal()
		}
		s.logInfo("token rotated", "connection", c.ID, "expires", got.ExpiresAt.Format("2006-01-02"))
		return saved, nil
	case errors.As(err, &refused) && refused.Unreached:
		s.clearMark(ctx, c.ID, holder, "") // nothing left: asked again at the next look
		return c, refused.Err
	case errors.As(err, &refused):
		s.clearMark(ctx, c.ID, holder, refused.Reason)
		s.markRejected(context.WithoutCancel(ctx), c.ID, refused.Err)
		s.logWarn("token rotation refused", "connection", c.ID, "reason", refused.Reason)
		return s.Store.Get(context.WithoutCancel(ctx), c.ID)
	}
	return s.recoverRotation(context.WithoutCancel(ctx), marked, hc, rot, "its answer was lost: "+textsafe.Line(err.Error()))
}

// newExpiry is the successor's expiry: the one asked for, else the same
// lifetime as the token it replaces, from today.
func (s *Syncer) newExpiry(c *store.Connection) time.Time {
	if c.Rotation.Expires != nil {
		return *c.Rotation.Expires
	}
	y, m, d := s.now().UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, successorDays(c.Rotation))
}

// successorDays is a new token's lifetime: the old one's, but at least
// twice the lead, so that a successor is never due to rotate at once.
func successorDays(r *store.Rotation) int {
	return max(r.LifetimeDays, 2*r.LeadDays, 1)
}

// commitRotation installs the successor over the token it replaced and
// clears the mark, in one transaction. It is tried again while the store
// is unreachable: the successor exists nowhere else.
func (s *Syncer) commitRotation(ctx context.Context, id string, old store.Secret, got *connector.Rotated) (*store.Connection, error) {
	var saved *store.Connection
	var err error
	deadline := time.Now().Add(rotationLease)
	for wait := 100 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		saved, err = s.Store.Update(context.WithoutCancel(ctx), id, func(cur *store.Connection) error {
			if cur.Secret(store.SecretToken) != old || cur.Rotation == nil {
				return errUnchanged // reconnected meanwhile: that credential stays
			}
			now := s.now().UTC()
			cur.SetSecret(store.SecretToken, got.Token)
			exp := got.ExpiresAt.UTC()
			cur.ExpiresAt = &exp
			// The successor's own lifetime (asked for, or capped) is the next one's.
			cur.Rotation.LifetimeDays = model.LifetimeDays(now, exp)
			cur.Rotation.TokenID = got.TokenID
			cur.Rotation.InFlight, cur.Rotation.RequestedAt, cur.Rotation.Expires = nil, nil, nil
			cur.Rotation.LastRotated, cur.Rotation.LastRefusal = &now, ""
			if cur.State == store.StateNeedsReconnect { // a recovery gave up on this rotation meanwhile
				cur.State, cur.StateReason = store.StateConnected, ""
			}
			return nil
		})
		if err == nil || errors.Is(err, errUnchanged) || errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			break
		}
		s.logWarn("cannot save the rotated token yet; trying again", "connection", id, "err", err)
		time.Sleep(wait)
	}
	if errors.Is(err, errUnchanged) {
		return nil, fmt.Errorf("the token was rotated after the connection changed; its successor is not kept")
	}
	return saved, err
}

// sharedWith names another connection that stores the same token ("" when
// none): rotating a token revokes it for every holder.
func (s *Syncer) sharedWith(ctx context.Context, c *store.Connection) (string, error) {
	list, err := s.Store.List(ctx, store.ListOptions{Vendor: c.Vendor})
	if err != nil {
		return "", err
	}
	for _, o := range list {
		if o.ID == c.ID || o.BaseURL != c.BaseURL || o.Account.ID != c.Account.ID || o.AuthMethod != store.AuthToken {
			continue
		}
		full, err := s.Store.Get(ctx, o.ID)
		if err != nil {
			return "", err
		}
		if full.Secret(store.SecretToken) == c.Secret(store.SecretToken) {
			return textsafe.Line(o.Alias), nil
		}
	}
	return "", nil
}

// refuse records why the token is not rotated, and ends the request for it.
func (s *Syncer) refuse(ctx context.Context, id, reason string) {
	s.Store.Update(context.WithoutCancel(ctx), id, func(cur *store.Connection) error {
		if cur.Rotation == nil {
			return errUnchanged
		}
		cur.Rotation.Refused(reason)
		return nil
	})
	s.logWarn("token rotation refused", "connection", id, "reason", reason)
}

// clearMark ends holder's rotation mark without a successor: the token was
// not rotated (refusal says why, "" when it was never sent).
func (s *Syncer) clearMark(ctx context.Context, id, holder, refusal string) {
	s.Store.Update(context.WithoutCancel(ctx), id, func(cur *store.Connection) error {
		if cur.Rotation == nil || cur.Rotation.InFlight == nil || cur.Rotation.InFlight.Holder != holder {
			return errUnchanged
		}
		cur.Rotation.InFlight = nil
		if refusal != "" {
			cur.Rotation.Refused(refusal)
		}
		return nil
	})
}

// recoverRotation settles a rotation whose answer was lost, without
// sending the token: a witness tells whether the vendor rotated it.
func (s *Syncer) recoverRotation(ctx context.Context, c *store.Connection, hc *http.Client, rot *rotatorAt, cause string) (*store.Connection, error) {
	mark := c.Rotation.InFlight
	active, asked, err := s.askWitness(ctx, c, hc, rot)
	var reason string
	switch {
	case err == nil && active:
		// Nothing rotated: the old token is good; the mark goes, and the
		// rotation is tried again at its next look.
		saved, err := s.Store.Update(context.WithoutCancel(ctx), c.ID, func(cur *store.Connection) error {
			if cur.Rotation == nil || cur.Rotation.InFlight == nil || *cur.Rotation.InFlight != *mark {
				return errUnchanged
			}
			cur.Rotation.InFlight = nil
			return nil
		})
		if errors.Is(err, errUnchanged) {
			return s.Store.Get(ctx, c.ID)
		}
		s.logInfo("interrupted rotation settled: the token was not rotated", "connection", c.ID, "witness", asked)
		return saved, err
	case err == nil:
		reason = fmt.Sprintf("rotation interrupted: GitLab rotated the token but %s, and the new token cannot be recovered (@%s's token confirmed the old one is revoked). Create a new token and run `onramp reconnect %s`",
			cause, asked, textsafe.Line(c.Alias))
	default:
		reason = fmt.Sprintf("rotation interrupted: %s, and nothing else can tell whether GitLab rotated the token (%s); onramp does not send it again, which would revoke its successor. "+
			"If GitLab's Access tokens page lists %q as active, run `onramp rotate %s --resume`; otherwise create a new token and run `onramp reconnect %s`",
			cause, textsafe.Line(err.Error()), textsafe.Line(c.TokenName), textsafe.Line(c.Alias), textsafe.Line(c.Alias))
	}
	saved, uerr := s.Store.Update(context.WithoutCancel(ctx), c.ID, func(cur *store.Connection) error {
		if cur.Rotation == nil || cur.Rotation.InFlight == nil || *cur.Rotation.InFlight != *mark {
			return errUnchanged
		}
		cur.Rotation.InFlight = nil
		cur.State, cur.StateReason = store.StateNeedsReconnect, reason
		return nil
	})
	if uerr != nil && !errors.Is(uerr, errUnchanged) {
		return nil, uerr
	}
	if saved == nil {
		return s.Store.Get(ctx, c.ID)
	}
	s.logWarn("token rotation interrupted", "connection", c.ID, "reason", reason)
	return nil, fmt.Errorf("%w: %w: %s", ErrNeedsReconnect, ErrRotationInterrupted, reason)
}

// errNoWitness: no other stored token of the instance can see this one.
var errNoWitness = errors.New("no other connection to this GitLab can see the token (an administrator's, or another of the same user's)")

// askWitness asks, with another stored token of the same instance (an
// administrator's or the same user's), whether c's token is still active.
// The witness's own lease is held meanwhile, so its token is not being
// rotated while it is sent.
func (s *Syncer) askWitness(ctx context.Context, c *store.Connection, hc *http.Client, rot *rotatorAt) (active bool, witness string, err error) {
	if c.Rotation.TokenID == 0 {
		return false, "", errNoWitness
	}
	list, err := s.Store.List(ctx, store.ListOptions{Vendor: c.Vendor})
	if err != nil {
		return false, "", err
	}
	for _, w := range list {
		if w.ID == c.ID || w.BaseURL != c.BaseURL || w.AuthMethod != store.AuthToken || w.State == store.StateNeedsReconnect ||
			!(w.Account.Admin || w.Account.ID == c.Account.ID) {
			continue
		}
		holder := leaseHolder()
		if ok, err := s.Store.ClaimLease(ctx, w.ID, holder, rotationLease); err != nil || !ok {
			continue
		}
		full, err := s.Store.Get(ctx, w.ID)
		if err == nil && (full.Rotation == nil || full.Rotation.InFlight == nil) && full.Secret(store.SecretToken) != c.Secret(store.SecretToken) {
			qctx, cancel := context.WithTimeout(ctx, rotationTimeout)
			active, err = rot.tokenActive(qctx, hc, full, c.Rotation.TokenID)
			cancel()
			s.Store.ReleaseLease(context.WithoutCancel(ctx), w.ID, holder)
			if err == nil {
				return active, full.Account.Username, nil
			}
			continue
		}
		s.Store.ReleaseLease(context.WithoutCancel(ctx), w.ID, holder)
	}
	return false, "", errNoWitness
}

func (s *Syncer) logInfo(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Info(msg, args...)
	}
}

func (s *Syncer) logWarn(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Warn(msg, args...)
	}
}
