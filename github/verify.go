package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// Verification is what a token is, as GitHub tells it.
type Verification struct {
	Login, Name string
	ID          int64
	SiteAdmin   bool
	// Scopes are a classic token's (X-OAuth-Scopes); fine-grained tokens
	// and GitHub App tokens send none, so ScopesKnown is false.
	Scopes      []string
	ScopesKnown bool
	// ExpiresAt is the token's expiry (github-authentication-token-expiration),
	// nil when it never expires.
	ExpiresAt *time.Time
	// Orgs are the organizations the token can read.
	Orgs []string
	// Withheld are the ids of organizations GitHub left out of the list for
	// SAML SSO (X-GitHub-SSO: partial-results): the token is not authorized
	// for them, and no inventory includes them until it is.
	Withheld []string
	// Product says which GitHub: "GitHub.com" or "Enterprise Server 3.14".
	Product string
}

// Verify asks GitHub who the token is and which organizations it reads.
// A classic token without read:org, or a token that reads no organization,
// is refused with what to change: without either there is no inventory.
func Verify(ctx context.Context, c *Client) (*Verification, error) {
	var user struct {
		Login     string `json:"login"`
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		SiteAdmin bool   `json:"site_admin"`
	}
	h, err := c.Get(ctx, "/user", &user)
	if err != nil {
		return nil, err
	}
	if user.Login == "" {
		return nil, &Error{Kind: KindNotGitHub, Host: c.Base.Host(), Status: http.StatusOK}
	}
	v := &Verification{Login: textsafe.Truncate(user.Login, 60), Name: textsafe.Truncate(user.Name, 80), ID: user.ID, SiteAdmin: user.SiteAdmin,
		Product: "GitHub.com"}
	if ver := h.Get("X-GitHub-Enterprise-Version"); ver != "" {
		v.Product = "Enterprise Server " + textsafe.Truncate(ver, 20)
	} else if !DotCom(c.Base) {
		v.Product = "GitHub Enterprise Server"
	}
	if raw, ok := h["X-Oauth-Scopes"]; ok {
		v.ScopesKnown = true
		for _, s := range strings.Split(strings.Join(raw, ","), ",") {
			if s = strings.TrimSpace(s); s != "" {
				v.Scopes = append(v.Scopes, textsafe.Truncate(s, 40))
			}
		}
	}
	v.ExpiresAt = parseExpiry(h.Get("Github-Authentication-Token-Expiration"))
	if v.ScopesKnown && !hasOrgRead(v.Scopes) {
		return nil, &ScopeError{Scopes: v.Scopes}
	}
	var list listPages
	for next := "/user/orgs?per_page=100"; next != ""; {
		var orgs []struct {
			Login string `json:"login"`
		}
		h, err := c.Get(ctx, next, &orgs)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			v.Orgs = append(v.Orgs, textsafe.Truncate(o.Login, 60))
		}
		v.Withheld = append(v.Withheld, withheldForSSO(h)...)
		if next, err = list.next(linkNext(h.Get("Link")), "organizations"); err != nil {
			return nil, err
		}
	}
	if len(v.Orgs) == 0 && len(v.Withheld) > 0 {
		return nil, &Error{Kind: KindSSO, Host: c.Base.Host(), Status: 200,
			Err: fmt.Errorf("GitHub withheld every organization (%s) for SAML SSO", strings.Join(v.Withheld, ", "))}
	}
	if len(v.Orgs) == 0 {
		return nil, errNoOrgs
	}
	// One member of each organization (the first maxProbes): SAML SSO, or a
	// fine-grained token without Members: read, shows here rather than in
	// the first sync.
	if err := probeOrgs(ctx, c, v.Orgs[:min(len(v.Orgs), maxProbes)]); err != nil {
		return nil, err
	}
	return v, nil
}

// withheldForSSO reads GitHub's way of leaving SSO-protected organizations
// out of a list ("X-GitHub-SSO: partial-results; organizations=21955855,
// 20582480"): their ids, sanitized.
func withheldForSSO(h http.Header) []string {
	sso := h.Get("X-GitHub-SSO")
	if !strings.Contains(sso, "partial-results") {
		return nil
	}
	_, ids, ok := strings.Cut(sso, "organizations=")
	if !ok {
		return []string{"?"}
	}
	var out []string
	for _, id := range strings.Split(strings.TrimSpace(ids), ",") {
		if id = strings.TrimSpace(id); id != "" && len(out) < 100 {
			out = append(out, textsafe.Truncate(id, 20))
		}
	}
	return out
}

// WithheldNote says which organizations an inventory leaves out for SAML
// SSO and what to do: "" when none.
func WithheldNote(ids []string, web string) string {
	if len(ids) == 0 {
		return ""
	}
	return fmt.Sprintf("GitHub withheld %s from this token for SAML single sign-on (id %s): the inventory leaves them out until the token is authorized for them (%s/settings/tokens → Configure SSO).",
		humanize.Count(len(ids), "organization"), strings.Join(ids, ", "), web)
}

// maxProbes bounds the organizations probed before connecting: a token that
// reads 20,000 is verified in seconds; those past it are read by the sync,
// which names any it cannot read.
const maxProbes = 200

// probeConcurrency bounds the organization probes in flight: a hundred
// organizations take seconds, not a verification's whole deadline.
const probeConcurrency = 8

// probeOrgs reads one member of each organization, several at a time; the
// refusal of the first organization in order is the one reported.
func probeOrgs(ctx context.Context, c *Client, orgs []string) error {
	errs := make([]error, len(orgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(probeConcurrency, len(orgs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := c.Get(ctx, "/orgs/"+url.PathEscape(orgs[i])+"/members?per_page=1", nil); err != nil {
					var e *Error
					if errors.As(err, &e) && (e.Kind == KindSSO || e.Kind == KindForbidden || e.Kind == KindNotFound || e.Kind == KindAppRestricted) {
						e.Org = orgs[i]
					}
					errs[i] = err
				}
			}
		}()
	}
	for i := range orgs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// hasOrgRead: read:org, or a scope that includes it.
func hasOrgRead(scopes []string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool { return s == "read:org" || s == "write:org" || s == "admin:org" })
}

// ScopeError: a classic token without read:org.
type ScopeError struct{ Scopes []string }

func (e *ScopeError) Error() string {
	has := "no scopes"
	if len(e.Scopes) > 0 {
		has = strings.Join(e.Scopes, ", ")
	}
	return "this token lacks the read:org scope (it has " + has + "): onramp reads organization members with it"
}
func (e *ScopeError) Hint() string {
	return "Edit the token on GitHub (Settings → Developer settings → Personal access tokens), tick read:org, and try again (the token itself stays the same)"
}
func (e *ScopeError) Field() string   { return connector.FieldToken }
func (e *ScopeError) Code() string    { return connector.CodeInsufficientScope }
func (e *ScopeError) Retryable() bool { return false }

var errNoOrgs = &noOrgsError{}

type noOrgsError struct{}

func (*noOrgsError) Error() string {
	return "this token can read no organization, so there is no inventory to take"
}
func (*noOrgsError) Hint() string {
	return "A fine-grained token needs the organization as its resource owner, with Members: read; a classic one needs read:org and your membership"
}
func (*noOrgsError) Field() string   { return connector.FieldToken }
func (*noOrgsError) Retryable() bool { return false }

// IsNoOrgs reports whether err says the token reads no organization.
func IsNoOrgs(err error) bool {
	var n *noOrgsError
	return errors.As(err, &n)
}

// parseExpiry reads github-authentication-token-expiration, which GitHub
// writes as "2026-12-31 00:00:00 UTC" (or with a numeric zone).
func parseExpiry(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}
