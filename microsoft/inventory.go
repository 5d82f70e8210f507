package microsoft

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/model"
)

// userFields are what a page of users brings: who, whether they may sign
// in, their licenses, and (where granted and licensed) their last sign-in.
const userFields = "id,displayName,userPrincipalName,mail,accountEnabled,userType,createdDateTime,assignedLicenses"

// noSignInsPrefix marks a checkpoint of a sync that reads users without
// sign-ins (the tenant's licence does not allow them).
const noSignInsPrefix = "nosignins:"

// noSignInsNote says why a snapshot has no sign-ins.
const noSignInsNote = "last sign-ins are not in this inventory: Graph gives them only to a tenant with Entra ID P1 or P2 and to an app granted AuditLog.Read.All"

// Inventory reads a tenant's users and subscriptions from Graph.
type Inventory struct {
	G *Graph

	mu   sync.Mutex
	skus map[string]string // skuId → skuPartNumber; nil until read
	subs []subscribedSku
}

type graphUser struct {
	ID                string  `json:"id"`
	DisplayName       string  `json:"displayName"`
	UserPrincipalName string  `json:"userPrincipalName"`
	Mail              *string `json:"mail"`
	AccountEnabled    *bool   `json:"accountEnabled"`
	UserType          string  `json:"userType"`
	CreatedDateTime   *string `json:"createdDateTime"`
	AssignedLicenses  []struct {
		SkuID string `json:"skuId"`
	} `json:"assignedLicenses"`
	SignInActivity *struct {
		LastSignInDateTime *string `json:"lastSignInDateTime"`
	} `json:"signInActivity"`
}

type usersPage struct {
	Count    *int        `json:"@odata.count"`
	NextLink string      `json:"@odata.nextLink"`
	Value    []graphUser `json:"value"`
}

type subscribedSku struct {
	SkuID         string `json:"skuId"`
	SkuPartNumber string `json:"skuPartNumber"`
	Capability    string `json:"capabilityStatus"`
	ConsumedUnits int    `json:"consumedUnits"`
	PrepaidUnits  struct {
		Enabled   int `json:"enabled"`
		Suspended int `json:"suspended"`
		Warning   int `json:"warning"`
	} `json:"prepaidUnits"`
}

// Page reads the page at checkpoint ("" for the first; then the next link
// Graph gave, which holds its own skip token).
func (inv *Inventory) Page(ctx context.Context, checkpoint string) (*connector.SourcePage, error) {
	skus, err := inv.skuNames(ctx)
	if err != nil {
		return nil, err
	}
	noSignIns := strings.HasPrefix(checkpoint, noSignInsPrefix)
	link := strings.TrimPrefix(checkpoint, noSignInsPrefix)
	if link == "" {
		link = firstUsersPage(!noSignIns && inv.mayReadSignIns(ctx))
	}
	var p usersPage
	err = inv.G.Get(ctx, link, &p)
	var e *Error
	if err != nil && checkpoint == "" && strings.Contains(link, "signInActivity") && errors.As(err, &e) && e.Kind == KindForbidden {
		// The tenant has no Entra ID P1/P2 (Graph: Authentication_RequestFromNonPremiumTenantOrB2CTenant):
		// the same list, without sign-ins, said so.
		noSignIns, link = true, firstUsersPage(false)
		err = inv.G.Get(ctx, link, &p)
	}
	if err != nil {
		return nil, err
	}
	out := &connector.SourcePage{Total: p.Count, View: connector.ViewDirectory}
	if !strings.Contains(link, "signInActivity") {
		noSignIns = true
	}
	if noSignIns {
		out.Note = noSignInsNote
	}
	if p.NextLink != "" {
		out.Next = p.NextLink
		if noSignIns {
			out.Next = noSignInsPrefix + p.NextLink
		}
	}
	users := p.Value
	out.Load = func(sp *connector.SourcePage) error {
		sp.Users = make([]model.InventoryUser, 0, len(users))
		for _, u := range users {
			sp.Users = append(sp.Users, inventoryUser(u, skus))
		}
		return nil
	}
	return out, nil
}

// firstUsersPage asks for 999 users a page (Graph's most) and their count.
func firstUsersPage(signIns bool) string {
	fields := userFields
	if signIns {
		fields += ",signInActivity"
	}
	return "/users?$select=" + fields + "&$top=999&$count=true"
}

// mayReadSignIns: the app was granted AuditLog.Read.All.
func (inv *Inventory) mayReadSignIns(ctx context.Context) bool {
	tok, err := inv.G.Token(ctx)
	return err == nil && slices.Contains(tok.Roles, PermSignIns)
}

func inventoryUser(u graphUser, skus map[string]string) model.InventoryUser {
	out := model.InventoryUser{ID: model.ID(u.ID), Username: u.UserPrincipalName, Name: u.DisplayName, State: "active"}
	if u.Mail != nil {
		out.Email = *u.Mail
	}
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		out.State = "disabled"
	}
	if u.UserType == "Guest" {
		out.State = "guest"
		if u.AccountEnabled != nil && !*u.AccountEnabled {
			out.State = "guest, disabled"
		}
	}
	if u.CreatedDateTime != nil {
		out.CreatedAt = *u.CreatedDateTime
	}
	if u.SignInActivity != nil && u.SignInActivity.LastSignInDateTime != nil {
		out.LastSignInAt = *u.SignInActivity.LastSignInDateTime
	}
	for _, l := range u.AssignedLicenses {
		out.Licenses = append(out.Licenses, cmp.Or(skus[l.SkuID], l.SkuID))
	}
	slices.Sort(out.Licenses)
	licensed := len(out.Licenses) > 0
	out.Seat = &licensed
	return out
}

// skuNames reads the tenant's subscriptions once per sync: the names of
// the licenses its users hold, and the seats.
func (inv *Inventory) skuNames(ctx context.Context) (map[string]string, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.skus != nil {
		return inv.skus, nil
	}
	var r struct {
		Value []subscribedSku `json:"value"`
	}
	if err := inv.G.Get(ctx, "/subscribedSkus", &r); err != nil {
		return nil, err // asked again at the next page
	}
	inv.subs, inv.skus = r.Value, map[string]string{}
	for _, s := range r.Value {
		inv.skus[s.SkuID] = s.SkuPartNumber
	}
	return inv.skus, nil
}

// Seats are the tenant's subscriptions: units bought (enabled, and those
// in their warning period) against units assigned, one row per product
// (its SKU part number) with its status.
func (inv *Inventory) Seats(ctx context.Context) ([]model.Seats, string, error) {
	if _, err := inv.skuNames(ctx); err != nil {
		return nil, "", err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	var out []model.Seats
	for _, s := range inv.subs {
		bought, used := s.PrepaidUnits.Enabled+s.PrepaidUnits.Warning, s.ConsumedUnits
		out = append(out, model.Seats{Scope: s.SkuPartNumber, Plan: strings.ToLower(cmp.Or(s.Capability, "enabled")), Seats: &bought, Used: &used})
	}
	slices.SortFunc(out, func(a, b model.Seats) int { return strings.Compare(a.Scope, b.Scope) })
	return out, "", nil
}
