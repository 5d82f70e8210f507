package gitlabtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// adminView reports whether tok sees the admin view of users: its user is an
// admin and, with Admin Mode on, the token carries admin_mode.
func (s *Sandbox) adminView(tok *Token) bool {
	u := s.byID[tok.UserID]
	return u.Admin && (!s.opts.AdminMode || hasAnyScope(tok, "admin_mode"))
}

func (s *Sandbox) currentUser(w http.ResponseWriter, tok *Token) {
	s.mu.Lock()
	u := *s.byID[tok.UserID]
	s.mu.Unlock()
	body := basicUser(&u, s.webBase())
	body["created_at"] = u.CreatedAt.Format(time.RFC3339Nano)
	body["bio"] = ""
	body["email"] = u.Email
	body["bot"] = u.Bot
	body["last_activity_on"] = dateOrNil(u.LastActivityOn)
	body["two_factor_enabled"] = u.TwoFactor
	body["external"] = u.External
	if u.Admin { // GitLab includes is_admin only for admins
		body["is_admin"] = true
	}
	writeJSON(w, 200, body)
}

func (s *Sandbox) webBase() string { return "http://sandbox.gitlab.invalid" + s.opts.Prefix }

func basicUser(u *User, web string) map[string]any {
	return map[string]any{
		"id": u.ID, "username": u.Username, "name": u.Name, "state": u.State, "locked": false,
		"avatar_url": web + "/uploads/-/system/user/avatar/" + strconv.FormatInt(u.ID, 10) + "/avatar.png",
		"web_url":    web + "/" + u.Username,
	}
}

func adminUser(u *User, web string) map[string]any {
	m := basicUser(u, web)
	m["email"] = u.Email
	m["created_at"] = u.CreatedAt.Format(time.RFC3339Nano)
	m["last_sign_in_at"] = timeOrNil(u.LastSignInAt)
	m["current_sign_in_at"] = timeOrNil(u.LastSignInAt)
	m["last_activity_on"] = dateOrNil(u.LastActivityOn)
	m["confirmed_at"] = u.CreatedAt.Format(time.RFC3339Nano)
	m["bot"] = u.Bot
	m["is_admin"] = u.Admin
	m["using_license_seat"] = u.UsingLicenseSeat
	m["two_factor_enabled"] = u.TwoFactor
	m["external"] = u.External
	return m
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.RFC3339Nano)
}

func dateOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format("2006-01-02")
}

// listUsers answers GET /users with offset or keyset pagination.
func (s *Sandbox) listUsers(w http.ResponseWriter, r *http.Request, tok *Token) {
	q := r.URL.Query()
	perPage := clampPerPage(q.Get("per_page"))
	excludeInternal, ok := boolParam(w, q, "exclude_internal")
	if !ok {
		return
	}
	withoutBots, ok := boolParam(w, q, "without_project_bots")
	if !ok {
		return
	}
	keep := func(u *User) bool {
		return !(excludeInternal && u.Internal) && !(withoutBots && u.ProjectBot)
	}
	s.mu.Lock()
	admin := s.adminView(tok)
	render := basicUser
	if admin {
		render = adminUser
	}
	web := s.webBase()

	if q.Get("pagination") == "keyset" {
		// GitLab's answer to keyset where it has none: before 16.5 for
		// users, and for any order but id ascending since.
		if s.opts.Legacy || (q.Get("order_by") != "" && q.Get("order_by") != "id") || (q.Get("sort") != "" && q.Get("sort") != "asc") {
			s.mu.Unlock()
			writeJSON(w, 405, map[string]string{"error": "Keyset pagination is not yet available for this type of request"})
			return
		}
		after := int64(0)
		if c := q.Get("cursor"); c != "" {
			id, err := decodeCursor(c)
			if err != nil {
				s.mu.Unlock()
				writeJSON(w, 400, map[string]string{"error": "cursor is invalid"})
				return
			}
			after = id
		}
		start := sort.Search(len(s.users), func(i int) bool { return s.users[i].ID > after })
		page := make([]map[string]any, 0, perPage)
		more := false
		var last int64
		for i := start; i < len(s.users); i++ {
			u := &s.users[i]
			if !keep(u) {
				continue
			}
			if len(page) == perPage {
				more = true
				break
			}
			page = append(page, render(u, web))
			last = u.ID
		}
		s.mu.Unlock()
		if more {
			next := cloneQuery(q)
			next.Set("cursor", encodeCursor(last))
			w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, s.selfURL(r), next.Encode()))
		}
		w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
		writeJSON(w, 200, page)
		return
	}

	filtered := make([]*User, 0, len(s.users))
	for i := range s.users {
		if keep(&s.users[i]) {
			filtered = append(filtered, &s.users[i])
		}
	}
	pageNo, _ := strconv.Atoi(q.Get("page"))
	if pageNo < 1 {
		pageNo = 1
	}
	if !s.opts.Legacy && (pageNo-1)*perPage >= 50000 {
		s.mu.Unlock()
		writeJSON(w, 405, map[string]string{"message": "Offset pagination has a maximum allowed offset of 50000 for requests that return objects of type User. Remaining records can be retrieved using keyset pagination."})
		return
	}
	lo, hi := offsetWindow(len(filtered), pageNo, perPage)
	page := make([]map[string]any, 0, hi-lo)
	for _, u := range filtered[lo:hi] {
		page = append(page, render(u, web))
	}
	s.mu.Unlock()
	s.offsetHeaders(w, r, q, len(filtered), pageNo, perPage)
	writeJSON(w, 200, page)
}

// boolParam reads a Boolean query parameter the way GitLab's API (Grape
// with dry-types) coerces it: true, t, yes, y, on, 1 in any case are true;
// false, f, no, n, off, 0 false; absent is false; anything else is answered
// 400 "NAME is invalid", as GitLab does, and ok is false.
func boolParam(w http.ResponseWriter, q url.Values, name string) (value, ok bool) {
	v, present := q[name]
	if !present {
		return false, true
	}
	switch strings.ToLower(v[len(v)-1]) {
	case "true", "t", "yes", "y", "on", "1":
		return true, true
	case "false", "f", "no", "n", "off", "0":
		return false, true
	}
	writeJSON(w, 400, map[string]string{"error": name + " is invalid"})
	return false, false
}

func clampPerPage(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 20
	}
	return min(n, 100)
}

func offsetWindow(total, page, perPage int) (int, int) {
	lo := min((page-1)*perPage, total)
	return lo, min(lo+perPage, total)
}

// offsetHeaders writes GitLab's offset pagination headers. Above 10,000
// results GitLab omits the totals and the last link.
func (s *Sandbox) offsetHeaders(w http.ResponseWriter, r *http.Request, q url.Values, total, page, perPage int) {
	h := w.Header()
	pages := max((total+perPage-1)/perPage, 1)
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	next, prev := "", ""
	if page < pages {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 {
		prev = strconv.Itoa(page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	countKnown := total <= 10000
	if countKnown {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}
	link := func(p int, rel string) string {
		c := cloneQuery(q)
		c.Set("page", strconv.Itoa(p))
		c.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, s.selfURL(r), c.Encode(), rel)
	}
	var links []string
	if prev != "" {
		links = append(links, link(page-1, "prev"))
	}
	if next != "" {
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"))
	if countKnown {
		links = append(links, link(pages, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))
}

// selfURL is the absolute URL of the request's path, as GitLab puts in Link.
func (s *Sandbox) selfURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

func cloneQuery(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

type cursor struct {
	ID string `json:"id"`
	KD string `json:"_kd"`
}

func encodeCursor(id int64) string {
	b, _ := json.Marshal(cursor{ID: strconv.FormatInt(id, 10), KD: "n"})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, err
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, err
	}
	return strconv.ParseInt(c.ID, 10, 64)
}

// license answers GET /license: admins only; 404 on an unlicensed CE.
func (s *Sandbox) license(w http.ResponseWriter, tok *Token) {
	s.mu.Lock()
	admin := s.adminView(tok)
	active, maxUsers := 0, 0
	for i := range s.users {
		if s.users[i].UsingLicenseSeat {
			active++
		}
	}
	maxUsers = active + 3
	now := s.opts.Now().UTC()
	s.mu.Unlock()
	if !admin {
		writeJSON(w, 403, map[string]string{"message": "403 Forbidden"})
		return
	}
	if s.opts.CE {
		writeJSON(w, 404, map[string]string{"message": "404 Not found"})
		return
	}
	limit := active + 20
	writeJSON(w, 200, map[string]any{
		"id": 2, "plan": "ultimate", "created_at": now.AddDate(0, -6, 0).Format(time.RFC3339Nano),
		"starts_at": now.AddDate(0, -6, 0).Format("2006-01-02"), "expires_at": now.AddDate(0, 6, 0).Format("2006-01-02"),
		"historical_max": maxUsers, "maximum_user_count": maxUsers, "expired": false,
		"overage": max(maxUsers-limit, 0), "user_limit": limit, "active_users": active,
		"licensee": map[string]string{"Name": "Sandbox Admin", "Email": "admin@example.com", "Company": "Sandbox Inc."},
	})
}

// People lists the IDs an inventory must hold: for an instance, every user
// but internal ones and project bots; for gitlab.com mode, the active
// non-bot members of the groups owner owns.
func (s *Sandbox) People(saasOwner int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	if saasOwner == 0 {
		for _, u := range s.users {
			if !u.Internal && !u.ProjectBot {
				out = append(out, u.ID)
			}
		}
		return out
	}
	seen := map[int64]bool{}
	for _, g := range s.groups {
		if g.OwnerID != saasOwner {
			continue
		}
		for _, id := range g.Members {
			if u := s.byID[id]; u.State == "active" && !u.Bot && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
