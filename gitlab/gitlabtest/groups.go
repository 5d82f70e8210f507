package gitlabtest

import (
	"net/http"
	"strconv"
	"time"
)

// listGroups answers GET /groups (top_level_only, min_access_level=50 for owned).
func (s *Sandbox) listGroups(w http.ResponseWriter, r *http.Request, tok *Token) {
	q := r.URL.Query()
	if _, ok := boolParam(w, q, "top_level_only"); !ok { // every sandbox group is top-level
		return
	}
	s.mu.Lock()
	var out []map[string]any
	for _, g := range s.groups {
		owner := g.OwnerID == tok.UserID
		if q.Get("min_access_level") == "50" && !owner {
			continue
		}
		if !owner && !contains(g.Members, tok.UserID) {
			continue
		}
		out = append(out, map[string]any{"id": g.ID, "name": g.Name, "path": g.Path, "full_path": g.Path,
			"parent_id": nil, "visibility": "private", "web_url": s.webBase() + "/groups/" + g.Path})
	}
	s.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	s.offsetHeaders(w, r, q, len(out), 1, clampPerPage(q.Get("per_page")))
	writeJSON(w, 200, out)
}

func (s *Sandbox) group(id string) *Group {
	n, _ := strconv.ParseInt(id, 10, 64)
	for i := range s.groups {
		if s.groups[i].ID == n || s.groups[i].Path == id {
			return &s.groups[i]
		}
	}
	return nil
}

// billableMembers answers GET /groups/:id/billable_members (owners only).
func (s *Sandbox) billableMembers(w http.ResponseWriter, r *http.Request, tok *Token, id string) {
	q := r.URL.Query()
	s.mu.Lock()
	g := s.group(id)
	if g == nil {
		s.mu.Unlock()
		writeJSON(w, 404, map[string]string{"message": "404 Group Not Found"})
		return
	}
	if g.OwnerID != tok.UserID {
		s.mu.Unlock()
		writeJSON(w, 403, map[string]string{"message": "403 Forbidden"})
		return
	}
	var billable []*User
	for _, id := range g.Members {
		if u := s.byID[id]; u.State == "active" && !u.Bot {
			billable = append(billable, u)
		}
	}
	perPage := clampPerPage(q.Get("per_page"))
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	lo, hi := offsetWindow(len(billable), page, perPage)
	out := make([]map[string]any, 0, hi-lo)
	for _, u := range billable[lo:hi] {
		out = append(out, map[string]any{
			"id": u.ID, "username": u.Username, "name": u.Name, "state": u.State,
			"avatar_url": "", "web_url": s.webBase() + "/" + u.Username,
			"last_activity_on": dateOrNil(u.LastActivityOn), "membership_type": "group_member",
			"removable": true, "created_at": u.CreatedAt.Format(time.RFC3339Nano), "is_last_owner": u.ID == g.OwnerID,
			"last_login_at": timeOrNil(u.LastSignInAt),
		})
	}
	s.mu.Unlock()
	s.offsetHeaders(w, r, q, len(billable), page, perPage)
	writeJSON(w, 200, out)
}

// namespace answers GET /namespaces/:id with the seat figures.
func (s *Sandbox) namespace(w http.ResponseWriter, tok *Token, id string) {
	s.mu.Lock()
	g := s.group(id)
	if g == nil || (g.OwnerID != tok.UserID && !contains(g.Members, tok.UserID)) {
		s.mu.Unlock()
		writeJSON(w, 404, map[string]string{"message": "404 Namespace Not Found"})
		return
	}
	seats := 0
	for _, id := range g.Members {
		if u := s.byID[id]; u.State == "active" && !u.Bot {
			seats++
		}
	}
	body := map[string]any{"id": g.ID, "name": g.Name, "path": g.Path, "kind": "group", "full_path": g.Path,
		"parent_id": nil, "plan": g.Plan, "seats_in_use": seats, "max_seats_used": seats + 2,
		"billable_members_count": seats, "trial": false, "trial_ends_on": nil}
	s.mu.Unlock()
	writeJSON(w, 200, body)
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
