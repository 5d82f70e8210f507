package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/model"
)

// Inventory reads the members of every organization the token can read,
// with their role, and the organizations' Copilot seats. Owners of every
// organization come first: a person in several organizations is one user
// (the first record wins), an owner if they own any of them.
type Inventory struct {
	C *Client
	// Now is the clock for "active in the last 30 days" (time.Now).
	Now func() time.Time
	// orgs are read once per sync, on its first page; withheld are the ids
	// GitHub left out for SAML SSO, said in the run's note.
	orgs     []string
	withheld []string
}

// Page is one page of members and the checkpoint of the next. Users come
// from Decode, which a sync runs while the next page is on its way.
type Page struct {
	Users []model.InventoryUser
	Next  string // "" after the last page
	raw   []byte
	role  string
}

// checkpoint is where a sync stands: which organization, which role, and
// GitHub's own address of the next page (from Link).
type checkpoint struct {
	Org  string `json:"org"`
	Role string `json:"role"` // admin, then member
	Next string `json:"next,omitempty"`
}

// Decode reads the page's members.
func (p *Page) Decode() error {
	if p.raw == nil {
		return nil
	}
	var raw []struct {
		Login string `json:"login"`
		ID    int64  `json:"id"`
		Type  string `json:"type"`
	}
	err := json.Unmarshal(p.raw, &raw)
	p.raw = nil
	if err != nil {
		return fmt.Errorf("a page of members could not be read: %w", err)
	}
	p.Users = make([]model.InventoryUser, 0, len(raw))
	for _, m := range raw {
		p.Users = append(p.Users, model.InventoryUser{ID: model.IDOf(m.ID), Username: textsafe.Truncate(m.Login, 60), State: "active",
			Bot: m.Type == "Bot", Admin: p.role == "admin"})
	}
	return nil
}

// Page fetches the page at checkpoint ("" starts at the first organization's
// owners).
func (inv *Inventory) Page(ctx context.Context, cp string) (*Page, error) {
	if err := inv.loadOrgs(ctx); err != nil {
		return nil, err
	}
	at := checkpoint{Org: inv.orgs[0], Role: "admin"}
	if cp != "" {
		if err := json.Unmarshal([]byte(cp), &at); err != nil {
			return nil, fmt.Errorf("the sync's checkpoint could not be read: %w", err)
		}
	}
	u := at.Next
	if u == "" {
		u = "/orgs/" + url.PathEscape(at.Org) + "/members?per_page=100&role=" + at.Role
	}
	h, body, err := inv.C.GetRaw(ctx, u)
	if err != nil {
		return nil, err
	}
	p := &Page{raw: body, role: at.Role}
	next := checkpoint{Org: at.Org, Role: at.Role, Next: linkNext(h.Get("Link"))}
	if next.Next == "" { // the owners of every organization, then their members
		switch i := slices.Index(inv.orgs, at.Org); {
		case i >= 0 && i+1 < len(inv.orgs):
			next = checkpoint{Org: inv.orgs[i+1], Role: at.Role}
		case at.Role == "admin":
			next = checkpoint{Org: inv.orgs[0], Role: "member"}
		default:
			return p, nil // the last page of the last organization
		}
	}
	b, _ := json.Marshal(next)
	p.Next = string(b)
	return p, nil
}

// maxListPages bounds a list read whole before the sync's pages (the
// organizations, an organization's Copilot seats): 100,000 entries, far
// above any real one, so a server that never stops paging stops here.
const maxListPages = 1000

// listPages follows a list's Link pages within maxListPages, never a page
// twice.
type listPages struct {
	n    int
	seen map[string]bool
}

func (l *listPages) next(link, what string) (string, error) {
	if link == "" {
		return "", nil
	}
	if l.n++; l.n >= maxListPages {
		return "", &connector.LimitError{What: fmt.Sprintf("%d pages of %s", maxListPages, what)}
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[link] {
		return "", &connector.LimitError{What: "one pass over the " + what + " (the server sent a page it had already sent)"}
	}
	l.seen[link] = true
	return link, nil
}

func (inv *Inventory) loadOrgs(ctx context.Context) error {
	if inv.orgs != nil {
		return nil
	}
	next := "/user/orgs?per_page=100"
	var list listPages
	for next != "" {
		var orgs []struct {
			Login string `json:"login"`
		}
		h, err := inv.C.Get(ctx, next, &orgs)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			inv.orgs = append(inv.orgs, o.Login)
		}
		inv.withheld = append(inv.withheld, withheldForSSO(h)...)
		if next, err = list.next(linkNext(h.Get("Link")), "organizations"); err != nil {
			inv.orgs = nil
			return err
		}
	}
	if len(inv.orgs) == 0 {
		return errNoOrgs
	}
	return nil
}

// Seats reads each organization's Copilot seats: assigned (billed) and
// used (active in the last 30 days). An organization without Copilot, or
// whose seats this token may not read, is named in the note instead.
func (inv *Inventory) Seats(ctx context.Context) ([]model.Seats, string, error) {
	if err := inv.loadOrgs(ctx); err != nil {
		return nil, "", err
	}
	now := time.Now
	if inv.Now != nil {
		now = inv.Now
	}
	var out []model.Seats
	var noCopilot, notOwner []string
	for _, org := range inv.orgs {
		s, err := inv.copilot(ctx, org, now())
		var e *Error
		switch {
		case errors.As(err, &e) && e.Kind == KindNotFound:
			noCopilot = append(noCopilot, org)
		case errors.As(err, &e) && (e.Kind == KindForbidden || e.Kind == KindSSO):
			notOwner = append(notOwner, org)
		case err != nil:
			return nil, "", err
		case s != nil:
			out = append(out, *s)
		}
	}
	notes := []string{WithheldNote(inv.withheld, inv.C.Base.URL)}
	if len(noCopilot) > 0 {
		notes = append(notes, "No Copilot subscription in "+strings.Join(noCopilot, ", ")+".")
	}
	if len(notOwner) > 0 {
		notes = append(notes, "Copilot seats not read for "+strings.Join(notOwner, ", ")+
			": only an owner of the organization may read them (and a fine-grained token needs Administration: read).")
	}
	return out, strings.TrimSpace(strings.Join(notes, " ")), nil
}

func (inv *Inventory) copilot(ctx context.Context, org string, now time.Time) (*model.Seats, error) {
	next := "/orgs/" + url.PathEscape(org) + "/copilot/billing/seats?per_page=100"
	var total, active int
	plan := ""
	var list listPages
	for next != "" {
		var page struct {
			TotalSeats int `json:"total_seats"`
			Seats      []struct {
				LastActivityAt *string `json:"last_activity_at"`
				PlanType       string  `json:"plan_type"`
			} `json:"seats"`
		}
		h, err := inv.C.Get(ctx, next, &page)
		if err != nil {
			return nil, err
		}
		total = page.TotalSeats
		for _, s := range page.Seats {
			if plan == "" {
				plan = s.PlanType
			}
			if s.LastActivityAt != nil {
				if t, err := time.Parse(time.RFC3339, *s.LastActivityAt); err == nil && now.Sub(t) <= 30*24*time.Hour {
					active++
				}
			}
		}
		if next, err = list.next(linkNext(h.Get("Link")), "Copilot seats of "+textsafe.Truncate(org, 60)); err != nil {
			return nil, err
		}
	}
	name := "Copilot"
	if plan != "" {
		name += " " + strings.ToUpper(plan[:1]) + plan[1:]
	}
	return &model.Seats{Scope: textsafe.Truncate(org, 60), Plan: textsafe.Truncate(name, 40), Seats: &total, Used: &active}, nil
}
