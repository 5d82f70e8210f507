package mstest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type user struct {
	id, name, upn, mail string
	enabled, guest      bool
	created             time.Time
	lastSignIn          *time.Time
	licenses            []string // sku ids
}

type sku struct {
	ID, Part          string
	Prepaid, Consumed int
}

// seedUsers makes n people: most hold E3, one in ten E5 too, one in seven
// nothing; one in seventeen is disabled, one in twenty-three a guest; one
// in five never signed in.
func seedUsers(n int, skus []sku) []user {
	base := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	out := make([]user, n)
	for i := range out {
		u := user{id: guid(0x05e, i+1), name: fmt.Sprintf("Sandbox Person %04d", i), enabled: i%17 != 16, guest: i%23 == 22,
			created: base.Add(time.Duration(i) * time.Hour)}
		u.upn = fmt.Sprintf("person%04d@%s", i, Domain)
		if u.guest {
			u.upn = fmt.Sprintf("guest%04d_example.com#EXT#@%s", i, Domain)
		}
		if i%6 != 5 {
			u.mail = fmt.Sprintf("person%04d@sandboxco.example", i)
		}
		if i%5 != 4 {
			t := base.AddDate(1, 10, 0).Add(-time.Duration(i) * 37 * time.Minute)
			u.lastSignIn = &t
		}
		switch {
		case i%7 == 6:
		case i%10 == 0:
			u.licenses = []string{skus[0].ID, skus[1].ID}
		default:
			u.licenses = []string{skus[0].ID}
		}
		if i == 0 {
			u.name, u.upn = "Sandbox Admin", "admin@"+Domain
		}
		out[i] = u
	}
	return out
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, path string) {
	roles, ok := s.bearer(r)
	if !ok {
		odata(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return
	}
	s.mu.Lock()
	s.graph++
	throttle := s.opts.ThrottleEvery > 0 && s.graph%s.opts.ThrottleEvery == 0
	if throttle {
		s.throttle++
	}
	s.mu.Unlock()
	if throttle {
		w.Header().Set("Retry-After", strconv.Itoa(s.opts.RetryAfter))
		odata(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests. Please try again later.")
		return
	}
	can := func(any ...string) bool {
		return slices.ContainsFunc(any, func(p string) bool { return slices.Contains(roles, p) }) || slices.Contains(roles, "Directory.Read.All")
	}
	denied := func() {
		odata(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	switch path {
	case "/organization":
		if !can("Organization.Read.All", "User.Read.All") {
			denied()
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": root(r) + "/v1.0/$metadata#organization", "value": []any{map[string]any{
			"id": TenantID, "displayName": Name,
			"verifiedDomains": []any{map[string]any{"name": Domain, "isDefault": true, "isInitial": true, "type": "Managed"},
				map[string]any{"name": "sandboxco.example", "isDefault": false, "isInitial": false, "type": "Managed"}},
		}}})
	case "/subscribedSkus":
		if !can("Organization.Read.All") {
			denied()
			return
		}
		var v []any
		for _, k := range s.skus {
			v = append(v, map[string]any{"id": TenantID + "_" + k.ID, "skuId": k.ID, "skuPartNumber": k.Part, "capabilityStatus": "Enabled",
				"appliesTo": "User", "consumedUnits": k.Consumed, "prepaidUnits": map[string]int{"enabled": k.Prepaid, "suspended": 0, "warning": 0, "lockedOut": 0}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": root(r) + "/v1.0/$metadata#subscribedSkus", "value": v})
	case "/users":
		if !can("User.Read.All") {
			denied()
			return
		}
		s.serveUsers(w, r, roles)
	default:
		odata(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '"+strings.TrimPrefix(path, "/")+"'.")
	}
}

// serveUsers lists users as Graph does: $select, $top (at most 999),
// $count with ConsistencyLevel: eventual, and an @odata.nextLink carrying
// the query and an opaque $skiptoken.
func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, roles []string) {
	q := r.URL.Query()
	sel := strings.Split(q.Get("$select"), ",")
	if slices.Contains(sel, "signInActivity") {
		if !slices.Contains(roles, "AuditLog.Read.All") {
			odata(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		if !s.opts.Premium {
			odata(w, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
				"Neither tenant is B2C or tenant doesn't have premium license")
			return
		}
	}
	top := 100
	if t, err := strconv.Atoi(q.Get("$top")); err == nil {
		if t < 1 || t > 999 {
			odata(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '"+q.Get("$top")+"'. Must be between 1 and 999 inclusive.")
			return
		}
		top = t
	}
	offset := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(b), "RFNwdAIAAQAAA"))
		if err != nil || cerr != nil || n < 0 || n > len(s.users) {
			odata(w, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		offset = n
	}
	end := min(offset+top, len(s.users))
	names := map[string]string{}
	for _, k := range s.skus {
		names[k.ID] = k.Part
	}
	page := make([]any, 0, end-offset)
	for _, u := range s.users[offset:end] {
		page = append(page, userJSON(u, sel))
	}
	body := map[string]any{"@odata.context": root(r) + "/v1.0/$metadata#users(" + q.Get("$select") + ")", "value": page}
	if q.Get("$count") == "true" {
		if r.Header.Get("ConsistencyLevel") != "eventual" {
			odata(w, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
			return
		}
		body["@odata.count"] = len(s.users)
	}
	if end < len(s.users) {
		next := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" && k != "$count" {
				next[k] = v
			}
		}
		next.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("RFNwdAIAAQAAA"+strconv.Itoa(end))))
		body["@odata.nextLink"] = root(r) + "/v1.0/users?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// userJSON is a user with the properties $select named (Graph's default
// set when none).
func userJSON(u user, sel []string) map[string]any {
	all := map[string]any{"id": u.id, "displayName": u.name, "userPrincipalName": u.upn, "accountEnabled": u.enabled,
		"createdDateTime": u.created.Format(time.RFC3339), "mail": nil, "userType": "Member"}
	if u.mail != "" {
		all["mail"] = u.mail
	}
	if u.guest {
		all["userType"] = "Guest"
	}
	lic := []any{}
	for _, l := range u.licenses {
		lic = append(lic, map[string]any{"disabledPlans": []string{}, "skuId": l})
	}
	all["assignedLicenses"] = lic
	act := map[string]any{"lastSignInDateTime": nil, "lastSignInRequestId": nil}
	if u.lastSignIn != nil {
		act["lastSignInDateTime"] = u.lastSignIn.Format(time.RFC3339)
	}
	all["signInActivity"] = act
	if len(sel) == 0 || sel[0] == "" {
		sel = []string{"id", "displayName", "userPrincipalName", "mail"}
	}
	out := map[string]any{}
	for _, k := range sel {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}
