package gitlab

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/model"
)

// Verification is what GitLab told us about a credential.
type Verification struct {
	Base          connector.Address
	Version       string
	Edition       string // "EE", "CE" or "" when the server does not say
	Account       Account
	TokenName     string
	Scopes        []string
	ScopesKnown   bool
	ExpiresAt     *time.Time // the moment the token dies (00:00 UTC of its date)
	DaysLeft      int
	AdminViewSeen *bool // for admins: did /users answer with the admin view?
	Warnings      []Warning
	// OAuth: the credential is an OAuth grant (advice differs: scopes are
	// the application's, and the fix is to reconnect).
	OAuth bool
	// Rotation says how a personal token renews itself (nil for OAuth).
	Rotation *model.Rotation
}

// Account is the token's user.
type Account struct {
	ID       int64
	Username string
	Name     string
	Admin    bool
}

// Warning is something that works but will bite later, with what to do.
type Warning struct {
	Code    string // scope | expiry | not_admin | admin_mode
	Message string
	Action  string
}

// EditionName spells the edition out.
func (v *Verification) EditionName() string {
	switch v.Edition {
	case "EE":
		return "Enterprise Edition"
	case "CE":
		return "Community Edition"
	}
	return ""
}

// IsSaaS reports whether this is gitlab.com, where the inventory comes from
// the groups the user owns rather than the instance's users.
func IsSaaS(at connector.Address) bool {
	h := strings.ToLower(at.Host())
	return h == "gitlab.com" || h == "www.gitlab.com"
}

type metadata struct {
	Version    string `json:"version"`
	Revision   string `json:"revision"`
	Enterprise *bool  `json:"enterprise"`
}

type apiUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	State    string `json:"state"`
	IsAdmin  *bool  `json:"is_admin"`
}

type patSelf struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	Revoked   bool     `json:"revoked"`
	Active    bool     `json:"active"`
	Scopes    []string `json:"scopes"`
	ExpiresAt *string  `json:"expires_at"`
	CreatedAt string   `json:"created_at"`
}

// expiryWarningDays is how close an expiry must be to warn about it.
const expiryWarningDays = 30

// Verify checks a personal access token against the instance: server
// metadata (falling back to /version on servers before 15.2), the token's own
// record, and its user; for admins it also probes which view /users answers.
func Verify(ctx context.Context, c *Client, now time.Time) (*Verification, error) {
	v := &Verification{Base: c.Base}
	if err := v.server(ctx, c); err != nil {
		return nil, err
	}

	var pat patSelf
	r, err := c.Get(ctx, "/personal_access_tokens/self", &pat)
	if err != nil {
		return nil, err
	}
	if !r.NotFound && !r.BadRequest { // 404: before 15.5; 400: not a PAT
		v.ScopesKnown = true
		v.TokenName = textsafe.Truncate(pat.Name, 100)
		v.Scopes = cleanScopes(pat.Scopes)
		if pat.ExpiresAt != nil {
			if d, err := time.Parse("2006-01-02", *pat.ExpiresAt); err == nil {
				v.ExpiresAt = &d
				v.DaysLeft = int(math.Ceil(d.Sub(now).Hours() / 24))
			}
		}
	}

	if err := v.identity(ctx, c); err != nil {
		return nil, err
	}
	v.Rotation = rotationOf(v, pat, now)
	v.Warnings = v.warnings()
	return v, nil
}

// identity reads /user and, for admins, which view /users answers with.
func (v *Verification) identity(ctx context.Context, c *Client) error {
	var u apiUser
	r, err := c.Get(ctx, "/user", &u)
	if err != nil {
		return err
	}
	if r.NotFound {
		return &Error{Kind: KindNotGitLab, Host: c.Base.Host(), Status: 404}
	}
	v.Account = Account{ID: u.ID, Username: textsafe.Truncate(u.Username, 100), Name: textsafe.Truncate(u.Name, 100),
		Admin: u.IsAdmin != nil && *u.IsAdmin}
	if v.Account.Admin && v.canReadAPI() {
		var users []map[string]any
		if _, err := c.Get(ctx, "/users?per_page=1&exclude_internal=true", &users); err != nil {
			return err
		}
		if len(users) > 0 {
			_, email := users[0]["email"]
			_, seat := users[0]["using_license_seat"]
			seen := email || seat
			v.AdminViewSeen = &seen
		}
	}
	return nil
}

func (v *Verification) server(ctx context.Context, c *Client) error {
	var md metadata
	r, err := c.Get(ctx, "/metadata", &md)
	if err != nil {
		return err
	}
	if r.NotFound {
		r, err = c.Get(ctx, "/version", &md)
		if err != nil {
			return err
		}
	}
	if !r.IsGitLab || r.NotFound || md.Version == "" {
		return &Error{Kind: KindNotGitLab, Host: c.Base.Host(), Status: r.Status}
	}
	v.Version = textsafe.Truncate(md.Version, 40)
	switch {
	case md.Enterprise != nil && *md.Enterprise:
		v.Edition = "EE"
	case md.Enterprise != nil:
		v.Edition = "CE"
	case strings.HasSuffix(md.Version, "-ee"):
		v.Edition = "EE"
	}
	return nil
}

// cleanScopes makes the server's scope names safe to draw and store.
func cleanScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, textsafe.Truncate(s, 40))
	}
	return out
}

func (v *Verification) canReadAPI() bool {
	return !v.ScopesKnown || slices.Contains(v.Scopes, "read_api") || slices.Contains(v.Scopes, "api")
}

// warnings are the things that work now but will bite later. The advice
// differs by credential: a token is replaced, an OAuth grant re-authorized.
func (v *Verification) warnings() []Warning {
	credential, fix := "token", func(what string) string { return "Create a token " + what + ", then connect again with it." }
	if v.OAuth {
		credential, fix = "authorization", func(what string) string {
			return "Tick " + strings.TrimPrefix(what, "with ") + " on the application in GitLab, add it to the Scopes field, and reconnect."
		}
	}
	var ws []Warning
	if !v.canReadAPI() {
		ws = append(ws, Warning{Code: "scope",
			Message: fmt.Sprintf("The %s's scopes (%s) do not include read_api or api, so the user inventory cannot be read.", credential, strings.Join(v.Scopes, ", ")),
			Action:  fix("with the read_api scope")})
	}
	renews := v.Rotation != nil && v.Rotation.Cannot == "" && v.DaysLeft > v.Rotation.LeadDays
	if v.ExpiresAt != nil && v.DaysLeft <= expiryWarningDays && !renews {
		ws = append(ws, Warning{Code: "expiry",
			Message: fmt.Sprintf("The token expires on %s (%s).", v.ExpiresAt.Format("2006-01-02"), humanize.Days(v.DaysLeft)),
			Action:  "Before then, create a token with a later expiry date and connect again with it."})
	}
	switch {
	case !v.Account.Admin && !IsSaaS(v.Base):
		ws = append(ws, Warning{Code: "not_admin",
			Message: fmt.Sprintf("@%s is not an administrator, so the user inventory will be partial: no email addresses, seat usage or sign-in dates.", v.Account.Username),
			Action:  "For the full inventory, connect as an administrator (with the admin_mode scope if Admin Mode is on)."})
	case v.AdminViewSeen != nil && !*v.AdminViewSeen:
		ws = append(ws, Warning{Code: "admin_mode",
			Message: fmt.Sprintf("@%s is an administrator, but GitLab answers this %s with the non-admin view: Admin Mode is on and the %s lacks the admin_mode scope.", v.Account.Username, credential, credential),
			Action:  fix("with the admin_mode scope as well")})
	}
	return ws
}
