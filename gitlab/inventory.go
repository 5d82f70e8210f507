package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/model"
)

// Inventory reads who has an account and who takes a seat. Self-managed:
// /users (keyset pagination since 16.5, offset before) and /license.
// gitlab.com: the owned top-level groups' billable members and seats.
type Inventory struct {
	F       *Fetcher
	Base    connector.Address
	Version string // the server's, to choose keyset or offset pagination
}

// InventoryPage is one page of people and where the next one starts. Next
// and Total come from the headers; Users, View and Note are filled by
// Decode, which a sync runs while the next page is already on its way.
type InventoryPage struct {
	Users []model.InventoryUser
	// Next is the checkpoint of the following page; "" when this was the last.
	Next  string
	Total *int
	View  string // admin | basic | saas
	Note  string
	raw   []byte
	saas  bool
}

// Decode reads the page's users from its body.
func (p *InventoryPage) Decode() error {
	if p.raw == nil {
		return nil
	}
	var raw []apiInventoryUser
	err := json.Unmarshal(p.raw, &raw)
	p.raw = nil
	if err != nil {
		return fmt.Errorf("a page of users could not be read: %w", err)
	}
	p.Users = make([]model.InventoryUser, 0, len(raw))
	if !p.saas {
		p.View, p.Note = connector.ViewBasic, basicNote
	}
	for i := range raw {
		u := raw[i].user()
		if p.saas {
			if raw[i].LastLoginAt != nil && u.LastSignInAt == "" {
				u.LastSignInAt = textsafe.Truncate(*raw[i].LastLoginAt, 40)
			}
			seat := true // billable members take a seat
			u.Seat = &seat
		} else if raw[i].Email != nil || raw[i].UsingLicenseSeat != nil {
			p.View, p.Note = connector.ViewAdmin, ""
		}
		p.Users = append(p.Users, u)
	}
	if len(raw) == 0 && !p.saas {
		p.View, p.Note = "", ""
	}
	return nil
}

// keysetSince reports whether version (like "17.6.1-ee") is at least 16.5.
func keysetSince(version string) bool { return versionAtLeast(version, 16, 5) }

const basicNote = "GitLab answered with the basic view of users (no email addresses, seat use or sign-in dates): " +
	"the token is not an administrator's, or Admin Mode is on and the token lacks the admin_mode scope."

// Page fetches the page at checkpoint ("" for the first).
func (inv *Inventory) Page(ctx context.Context, checkpoint string) (*InventoryPage, error) {
	if IsSaaS(inv.Base) {
		return inv.saasPage(ctx, checkpoint)
	}
	next := checkpoint
	if next == "" {
		q := url.Values{"exclude_internal": {"true"}, "without_project_bots": {"true"}, "per_page": {"100"},
			"order_by": {"id"}, "sort": {"asc"}}
		if keysetSince(inv.Version) {
			q.Set("pagination", "keyset")
		} else {
			q.Set("page", "1")
		}
		next = inv.Base.API + "/users?" + q.Encode()
	}
	if err := inv.sameOrigin(next); err != nil {
		return nil, err
	}
	h, body, err := inv.F.GetRaw(ctx, next)
	if err != nil {
		return nil, err
	}
	p := &InventoryPage{raw: body}
	if t, err := strconv.Atoi(h.Get("X-Total")); err == nil {
		p.Total = &t
	}
	p.Next = linkNext(h.Get("Link"))
	if p.Next == "" && h.Get("X-Next-Page") != "" { // offset servers without Link
		u, _ := url.Parse(next)
		q := u.Query()
		q.Set("page", h.Get("X-Next-Page"))
		u.RawQuery = q.Encode()
		p.Next = u.String()
	}
	return p, nil
}

// sameOrigin refuses a checkpoint or Link pointing anywhere but the instance.
func (inv *Inventory) sameOrigin(u string) error {
	if !strings.HasPrefix(u, inv.Base.URL+"/") {
		return &Error{Kind: KindRedirect, Host: inv.Base.Host(), Detail: "a page link pointed outside " + inv.Base.URL}
	}
	return nil
}

var linkRel = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="next"`)

func linkNext(h string) string {
	if m := linkRel.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

// apiInventoryUser is a user as /users or billable_members return it; the
// pointers tell the admin view's fields apart from absent ones.
type apiInventoryUser struct {
	ID               int64   `json:"id"`
	Username         string  `json:"username"`
	Name             string  `json:"name"`
	State            string  `json:"state"`
	Email            *string `json:"email"`
	Bot              bool    `json:"bot"`
	IsAdmin          bool    `json:"is_admin"`
	UsingLicenseSeat *bool   `json:"using_license_seat"`
	CreatedAt        *string `json:"created_at"`
	LastSignInAt     *string `json:"last_sign_in_at"`
	LastLoginAt      *string `json:"last_login_at"`
	LastActivityOn   *string `json:"last_activity_on"`
}

func opt(s *string) string {
	if s == nil {
		return ""
	}
	return textsafe.Truncate(*s, 200)
}

func (a *apiInventoryUser) user() model.InventoryUser {
	return model.InventoryUser{ID: model.IDOf(a.ID), Username: textsafe.Truncate(a.Username, 200), Name: textsafe.Truncate(a.Name, 200),
		Email: opt(a.Email), State: textsafe.Truncate(a.State, 40), Bot: a.Bot, Admin: a.IsAdmin, Seat: a.UsingLicenseSeat,
		CreatedAt: opt(a.CreatedAt), LastSignInAt: opt(a.LastSignInAt), LastActivityOn: opt(a.LastActivityOn)}
}

// saasCheckpoint walks the owned groups one after another:
// "saas:<group ids>:<index>:<page url>".
func (inv *Inventory) saasPage(ctx context.Context, checkpoint string) (*InventoryPage, error) {
	var ids []string
	idx, next := 0, ""
	if checkpoint == "" {
		groups, err := inv.ownedGroups(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			ids = append(ids, strconv.FormatInt(g.ID, 10))
		}
	} else {
		parts := strings.SplitN(checkpoint, ":", 4)
		if len(parts) != 4 || parts[0] != "saas" {
			return nil, fmt.Errorf("unreadable checkpoint")
		}
		ids = strings.Split(parts[1], ",")
		idx, _ = strconv.Atoi(parts[2])
		next = parts[3]
	}
	p := &InventoryPage{View: connector.ViewSaaS, saas: true}
	if len(ids) == 0 || ids[0] == "" {
		p.Note = "This account owns no top-level group on gitlab.com: there are no billable members to list."
		return p, nil
	}
	if next == "" {
		next = inv.Base.API + "/groups/" + ids[idx] + "/billable_members?per_page=100&page=1"
	}
	if err := inv.sameOrigin(next); err != nil {
		return nil, err
	}
	h, body, err := inv.F.GetRaw(ctx, next)
	if err != nil {
		return nil, err
	}
	p.raw = body
	following := linkNext(h.Get("Link"))
	switch {
	case following != "":
		p.Next = fmt.Sprintf("saas:%s:%d:%s", strings.Join(ids, ","), idx, following)
	case idx+1 < len(ids):
		p.Next = fmt.Sprintf("saas:%s:%d:", strings.Join(ids, ","), idx+1)
	}
	return p, nil
}

type group struct {
	ID       int64  `json:"id"`
	FullPath string `json:"full_path"`
}

func (inv *Inventory) ownedGroups(ctx context.Context) ([]group, error) {
	var groups []group
	_, err := inv.F.Get(ctx, inv.Base.API+"/groups?top_level_only=true&min_access_level=50&per_page=100", &groups)
	return groups, err
}

// Seats returns the license (self-managed) or each owned group's seat
// figures (gitlab.com), with a note when they cannot be read.
func (inv *Inventory) Seats(ctx context.Context) ([]model.Seats, string, error) {
	if IsSaaS(inv.Base) {
		groups, err := inv.ownedGroups(ctx)
		if err != nil {
			return nil, "", err
		}
		var out []model.Seats
		for _, g := range groups {
			var ns struct {
				Plan         string `json:"plan"`
				SeatsInUse   *int   `json:"seats_in_use"`
				MaxSeatsUsed *int   `json:"max_seats_used"`
				FullPath     string `json:"full_path"`
			}
			if _, err := inv.F.Get(ctx, inv.Base.API+"/namespaces/"+strconv.FormatInt(g.ID, 10), &ns); err != nil {
				return nil, "", err
			}
			out = append(out, model.Seats{Scope: textsafe.Truncate(ns.FullPath, 100), Plan: textsafe.Truncate(ns.Plan, 40), Used: ns.SeatsInUse, MaxUsed: ns.MaxSeatsUsed})
		}
		return out, "", nil
	}
	var lic struct {
		Plan          string `json:"plan"`
		ExpiresAt     string `json:"expires_at"`
		UserLimit     *int   `json:"user_limit"`
		ActiveUsers   *int   `json:"active_users"`
		HistoricalMax *int   `json:"historical_max"`
	}
	_, err := inv.F.Get(ctx, inv.Base.API+"/license", &lic)
	if err != nil {
		if e, ok := err.(*Error); ok && (e.Status == 403 || e.Status == 404 || e.Kind == KindBlockedUser) {
			if e.Status == 404 {
				return nil, "This instance has no license (Community Edition or unlicensed): no seat figures.", nil
			}
			return nil, "The license needs an administrator's token (with admin_mode when Admin Mode is on): no seat figures.", nil
		}
		return nil, "", err
	}
	seats := lic.UserLimit
	if seats != nil && *seats == 0 {
		seats = nil // 0 means unlimited
	}
	return []model.Seats{{Scope: "license", Plan: textsafe.Truncate(lic.Plan, 40), Seats: seats, Used: lic.ActiveUsers, MaxUsed: lic.HistoricalMax,
		ExpiresAt: textsafe.Truncate(lic.ExpiresAt, 20)}}, "", nil
}
