package gitlabtest

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Token rotation as GitLab does it (gitlab.md): POST …/self/rotate (16.10+)
// with scope api, or self_rotate (17.9+), revokes the token and answers its
// successor, linked to it in a family; the old token used again revokes
// the whole family.

// RotateHold delays a rotation on the server: Before holds the request
// before anything rotates (a client that leaves meanwhile rotates
// nothing), After holds the answer once the token has rotated. Tests stop
// a client inside either window.
// DropAnswer closes the connection once the token has rotated: the client
// never learns the successor.
type RotateHold struct {
	Before, After time.Duration
	DropAnswer    bool
}

// SetRotateHold sets how rotations are held from now on.
func (s *Sandbox) SetRotateHold(h RotateHold) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateHold = h
}

// Rotations counts the rotations the sandbox made; FamilyRevocations the
// times a rotated token was used again and its whole family revoked.
func (s *Sandbox) Rotations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotations
}

// FamilyRevocations: see Rotations.
func (s *Sandbox) FamilyRevocations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.familyRevocations
}

// TokenActive reports whether the token is known, not revoked, not expired.
func (s *Sandbox) TokenActive(value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	return t != nil && !t.Revoked && (t.ExpiresAt == nil || s.opts.Now().Before(*t.ExpiresAt))
}

// reuseLocked handles a revoked token sent again: one that was rotated
// revokes its family (GitLab 16.3+).
func (s *Sandbox) reuseLocked(t *Token) {
	if t.successor == nil {
		return
	}
	hit := false
	for _, o := range s.tokens {
		if o.family == t.family && !o.Revoked {
			o.Revoked, hit = true, true
		}
	}
	if hit {
		s.familyRevocations++
	}
}

var rotatePath = regexp.MustCompile(`^/(?:personal_access_tokens|(groups|projects)/(\d+)/access_tokens)/self/rotate$`)

// RotateRequests counts the rotation requests that arrived (answered or
// held), so a test can wait for one.
func (s *Sandbox) RotateRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotateRequests
}

// rotate answers POST …/self/rotate.
func (s *Sandbox) rotate(w http.ResponseWriter, r *http.Request, tok *Token, m []string) {
	s.mu.Lock()
	s.rotateRequests++
	s.mu.Unlock()
	if !versionAtLeast(s.opts.Version, 16, 10) {
		writeJSON(w, 404, map[string]string{"error": "404 Not Found"})
		return
	}
	if tok.OAuth {
		writeJSON(w, 400, map[string]string{"message": "400 Bad request - not a personal access token"})
		return
	}
	scopes := []string{"api"}
	if versionAtLeast(s.opts.Version, 17, 9) {
		scopes = append(scopes, "self_rotate")
	}
	if !s.needScope(w, tok, scopes...) {
		return
	}
	s.mu.Lock()
	user := s.byID[tok.UserID]
	s.mu.Unlock()
	if m[1] != "" && !strings.HasPrefix(user.Username, strings.TrimSuffix(m[1], "s")+"_"+m[2]+"_bot") {
		writeJSON(w, 404, map[string]string{"message": "404 Not Found"})
		return
	}
	now := s.opts.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	limit := today.AddDate(0, 0, s.maxLifetimeDays())
	expires := today.AddDate(0, 0, 7) // GitLab's default for a rotation without a date
	if v := r.FormValue("expires_at"); v != "" {
		d, err := time.Parse("2006-01-02", v)
		switch {
		case err != nil:
			writeJSON(w, 400, map[string]string{"error": "expires_at is invalid"})
			return
		case !d.After(today):
			writeJSON(w, 400, map[string]string{"message": "400 Bad request - Expiration date must be in the future"})
			return
		case d.After(limit):
			writeJSON(w, 400, map[string]string{"message": "400 Bad request - Expiration date must be before " + limit.AddDate(0, 0, 1).Format("2006-01-02")})
			return
		}
		expires = d
	}
	s.mu.Lock()
	hold := s.rotateHold
	s.mu.Unlock()
	if hold.Before > 0 {
		select {
		case <-time.After(hold.Before):
		case <-r.Context().Done():
			return // the client left before anything rotated
		}
	}
	s.mu.Lock()
	if tok.Revoked { // rotated meanwhile by another request
		s.reuseLocked(tok)
		s.mu.Unlock()
		writeJSON(w, 401, map[string]string{"error": "invalid_token", "error_description": "Token was revoked. You have to re-authorize from the user."})
		return
	}
	s.nextTok++
	value := fmt.Sprintf("glpat-sbx%02d%s", s.nextTok, randomSuffix(17))
	next := s.addTokenLocked(value, tok.UserID, tok.Name, tok.Scopes, &expires)
	next.family = tok.family
	tok.Revoked, tok.successor = true, next
	s.rotations++
	body := tokenJSON(next, now)
	s.mu.Unlock()
	body["token"] = value
	if hold.After > 0 {
		select { // rotated; the answer is late, or never read
		case <-time.After(hold.After):
		case <-r.Context().Done():
			return
		}
	}
	if hold.DropAnswer {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	writeJSON(w, 200, body)
}

// tokenByID answers GET /personal_access_tokens/:id: an administrator may
// read any token, a user their own.
func (s *Sandbox) tokenByID(w http.ResponseWriter, tok *Token, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *Token
	for _, t := range s.tokens {
		if t.ID == id && !t.OAuth {
			found = t
		}
	}
	if err != nil || found == nil || (!s.byID[tok.UserID].Admin && found.UserID != tok.UserID) {
		writeJSON(w, 404, map[string]string{"message": "404 Personal Access Token Not Found"})
		return
	}
	writeJSON(w, 200, tokenJSON(found, s.opts.Now()))
}

func (s *Sandbox) maxLifetimeDays() int {
	if s.opts.MaxTokenLifetimeDays > 0 {
		return s.opts.MaxTokenLifetimeDays
	}
	return 365
}

// versionAtLeast reports whether version (like "17.6.1-ee") is at least
// major.minor.
func versionAtLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}

// AddAccessToken makes a group's or project's access token (kind "group"
// or "project"): a bot user named as GitLab names them, and its token.
func (s *Sandbox) AddAccessToken(kind string, of int64, scopes []string, expires *time.Time) string {
	s.mu.Lock()
	u := User{ID: s.users[len(s.users)-1].ID + 1, Username: fmt.Sprintf("%s_%d_bot_%s", kind, of, randomSuffix(8)), Name: kind + " bot",
		State: "active", Bot: true, ProjectBot: kind == "project", CreatedAt: s.opts.Now()}
	u.Email = u.Username + "@noreply.example.com"
	s.users = append(s.users, u)
	for i := range s.users { // the slice may have moved
		s.byID[s.users[i].ID] = &s.users[i]
	}
	s.mu.Unlock()
	return s.AddToken(u.ID, kind+" token", scopes, expires)
}
