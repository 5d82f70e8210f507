package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/model"
)

// Token rotation (gitlab.md): POST …/self/rotate (16.10+) with scope api,
// or self_rotate (17.9+), revokes the token and answers its successor.
// GitLab links the two (a token family, 16.3+): the old token sent again
// revokes the successor as well.

// versionAtLeast reports whether version (like "17.6.1-ee") is at least
// major.minor; an unreadable version counts as modern.
func versionAtLeast(version string, major, minor int) bool {
	m := regexp.MustCompile(`^(\d+)\.(\d+)`).FindStringSubmatch(version)
	if m == nil {
		return true
	}
	ma, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return ma > major || (ma == major && mi >= minor)
}

// botToken reads a group's or project's access token from its bot user's
// name (GitLab names them group_ID_bot_… and project_ID_bot_…).
var botToken = regexp.MustCompile(`^(group|project)_(\d+)_bot(_|$)`)

// rotationOf says how the verified personal token renews itself, or why it
// cannot.
func rotationOf(v *Verification, pat patSelf, now time.Time) *model.Rotation {
	version := v.Version
	switch {
	case !v.ScopesKnown:
		return &model.Rotation{Cannot: "GitLab " + version + " cannot rotate a token (16.10 can); create a new token before this one expires and reconnect"}
	case !versionAtLeast(version, 16, 10):
		return &model.Rotation{Cannot: "GitLab " + version + " cannot rotate a token (16.10 can); create a new token before this one expires and reconnect"}
	case slices.Contains(v.Scopes, "api"):
	case slices.Contains(v.Scopes, "self_rotate") && versionAtLeast(version, 17, 9):
	case versionAtLeast(version, 17, 9):
		return &model.Rotation{Cannot: "the token lacks the self_rotate scope; for onramp to renew it, create one with read_api and self_rotate and reconnect"}
	default:
		return &model.Rotation{Cannot: "the token lacks the api scope, the only one GitLab " + version + " lets rotate a token (17.9 adds self_rotate); " +
			"for onramp to renew it, connect a token with api, or create a new token before this one expires"}
	}
	r := &model.Rotation{Kind: "personal", TokenID: pat.ID, LeadDays: model.DefaultRotationLeadDays, LifetimeDays: 365}
	if m := botToken.FindStringSubmatch(v.Account.Username); m != nil {
		r.Kind = m[1]
		r.Of, _ = strconv.ParseInt(m[2], 10, 64)
	}
	if v.ExpiresAt != nil {
		created, err := time.Parse(time.RFC3339, pat.CreatedAt)
		if err != nil {
			created = now
		}
		r.LifetimeDays = model.LifetimeDays(created, *v.ExpiresAt)
	}
	return r
}

// rotatePath is the address that rotates the connection's token.
func rotatePath(r *model.Rotation) string {
	switch r.Kind {
	case "group":
		return fmt.Sprintf("/groups/%d/access_tokens/self/rotate", r.Of)
	case "project":
		return fmt.Sprintf("/projects/%d/access_tokens/self/rotate", r.Of)
	}
	return "/personal_access_tokens/self/rotate"
}

// expiryCap reads the instance's maximum from GitLab's refusal of an
// expiry beyond it ("Expiration date must be before 2027-02-04").
var expiryCap = regexp.MustCompile(`must be before (\d{4}-\d{2}-\d{2})`)

type rotatedToken struct {
	patSelf
	Token string `json:"token"`
}

// Rotate implements connector.Rotator: one POST with the stored token.
func (gitlabConnector) Rotate(ctx context.Context, hc *http.Client, base connector.Address, c *model.Connection, expires time.Time) (*connector.Rotated, error) {
	if c.Rotation == nil {
		return nil, &connector.RotationRefused{Reason: "the connection does not say how its token rotates; reconnect to verify it again"}
	}
	form := url.Values{"expires_at": {expires.UTC().Format("2006-01-02")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.API+rotatePath(c.Rotation), nil)
	if err != nil {
		return nil, &connector.RotationRefused{Reason: err.Error(), Err: err}
	}
	req.URL.RawQuery = form.Encode()
	req.Header.Set("Accept", "application/json")
	authorizePAT(req, c.Secret(model.SecretToken).Reveal())
	resp, err := hc.Do(req)
	if err != nil {
		e := classifyTransport(base.Host(), err)
		switch e.Kind {
		case KindBlocked, KindDNS, KindRefused, KindUnknownAuthority, KindTLS:
			// Failed before the request was written: nothing rotated.
			return nil, &connector.RotationRefused{Reason: "GitLab was not reached to rotate the token: " + e.Error(), Err: e, Unreached: true}
		}
		return nil, e // the answer is lost: it may have rotated
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, classifyTransport(base.Host(), err)
	}
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		var t rotatedToken
		if err := json.Unmarshal(body, &t); err != nil || t.Token == "" {
			return nil, &Error{Kind: KindServer, Host: base.Host(), Status: resp.StatusCode, Detail: "unreadable answer to the rotation"}
		}
		out := &connector.Rotated{Token: model.Secret(t.Token), TokenID: t.ID, ExpiresAt: expires}
		if t.ExpiresAt != nil {
			if d, err := time.Parse("2006-01-02", *t.ExpiresAt); err == nil {
				out.ExpiresAt = d
			}
		}
		return out, nil
	case resp.StatusCode == http.StatusNotFound && resp.Header.Get("X-Gitlab-Meta") != "":
		return nil, &connector.RotationRefused{Reason: "this GitLab has no token rotation (it arrived in 16.10)"}
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests &&
		resp.Header.Get("X-Gitlab-Meta") != "":
		e := classifyStatus(base.Host(), resp.StatusCode, body)
		reason := "GitLab refused to rotate the token: " + e.Error()
		switch {
		case e.Kind == KindInsufficientScope:
			reason = "GitLab refused to rotate the token: it lacks the api or self_rotate scope"
		case resp.StatusCode == http.StatusBadRequest:
			reason = "GitLab refused to rotate the token: " + textsafe.Line(e.Detail)
		}
		refused := &connector.RotationRefused{Reason: reason, Err: e}
		if m := expiryCap.FindStringSubmatch(e.Detail); m != nil {
			if d, err := time.Parse("2006-01-02", m[1]); err == nil {
				latest := d.AddDate(0, 0, -1)
				refused.Latest = &latest
			}
		}
		return nil, refused
	}
	// A 5xx, a 429 or an answer not from GitLab: it may have rotated.
	return nil, classifyStatus(base.Host(), resp.StatusCode, body)
}

// TokenActive implements connector.Rotator: GET /personal_access_tokens/:id
// with the witness's token (an administrator's, or another token of the
// same user, may read it).
func (gitlabConnector) TokenActive(ctx context.Context, hc *http.Client, base connector.Address, witness *model.Connection, tokenID int64) (bool, error) {
	c := &Client{HTTP: hc, Base: base, Token: witness.Secret(model.SecretToken).Reveal()}
	var pat patSelf
	r, err := c.Get(ctx, fmt.Sprintf("/personal_access_tokens/%d", tokenID), &pat)
	if err != nil {
		return false, err
	}
	if r.NotFound || r.BadRequest {
		return false, fmt.Errorf("@%s cannot see token %d", witness.Account.Username, tokenID)
	}
	return pat.Active && !pat.Revoked, nil
}
