package gitlabtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Token is a personal access token known to the sandbox.
type Token struct {
	ID        int64
	Value     string
	Name      string
	UserID    int64
	Scopes    []string
	ExpiresAt *time.Time // a date: the token dies at 00:00 UTC on it
	Revoked   bool
	CreatedAt time.Time
	LastUsed  *time.Time
	// OAuth access tokens: Expiry is exact (7200 s after issue), AppUID the
	// application, and supersedes the refresh token this one replaced, which
	// GitLab revokes when this token is first used.
	OAuth      bool
	Expiry     time.Time
	AppUID     string
	supersedes *refreshToken
	// family links a personal token to those it was rotated from and to;
	// successor is the token this one was rotated into.
	family    int64
	successor *Token
}

// AddToken registers a token for userID and returns its value. expires is a
// date (its time of day is ignored); nil means the instance maximum, 365 days.
func (s *Sandbox) AddToken(userID int64, name string, scopes []string, expires *time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextTok++
	value := fmt.Sprintf("glpat-sbx%02d%s", s.nextTok, randomSuffix(17))
	s.addTokenLocked(value, userID, name, scopes, expires)
	return value
}

func (s *Sandbox) addTokenLocked(value string, userID int64, name string, scopes []string, expires *time.Time) *Token {
	now := s.opts.Now().UTC()
	if expires == nil {
		d := now.AddDate(0, 0, 365)
		expires = &d
	}
	d := time.Date(expires.Year(), expires.Month(), expires.Day(), 0, 0, 0, 0, time.UTC)
	t := &Token{ID: int64(len(s.tokens) + 1), Value: value, Name: name, UserID: userID, Scopes: scopes, ExpiresAt: &d, CreatedAt: now}
	t.family = t.ID
	s.tokens[value] = t
	return t
}

// Revoke revokes a token, as its owner would in GitLab's settings.
func (s *Sandbox) Revoke(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[value]; t != nil {
		t.Revoked = true
	}
}

func tokenFrom(r *http.Request) string {
	if v := r.Header.Get("Private-Token"); v != "" {
		return v
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return v
	}
	return r.URL.Query().Get("private_token")
}

// authenticate finds the request's token, answering as GitLab does when it
// is unknown, expired or revoked, or its user is blocked.
func (s *Sandbox) authenticate(r *http.Request) (*Token, func(http.ResponseWriter)) {
	value := tokenFrom(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	if t == nil {
		return nil, func(w http.ResponseWriter) { writeJSON(w, 401, map[string]string{"message": "401 Unauthorized"}) }
	}
	if t.Revoked {
		s.reuseLocked(t)
		return nil, func(w http.ResponseWriter) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."`)
			writeJSON(w, 401, map[string]string{"error": "invalid_token", "error_description": "Token was revoked. You have to re-authorize from the user."})
		}
	}
	if t.OAuth && t.supersedes != nil {
		s.revokeRefreshLocked(t.supersedes) // revoke-on-use of the previous pair
		t.supersedes = nil
	}
	if (t.ExpiresAt != nil && !s.opts.Now().Before(*t.ExpiresAt)) || (t.OAuth && !s.opts.Now().Before(t.Expiry)) {
		return nil, func(w http.ResponseWriter) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."`)
			writeJSON(w, 401, map[string]string{"error": "invalid_token", "error_description": "Token is expired. You can either do re-authorization or token refresh."})
		}
	}
	u := s.byID[t.UserID]
	switch u.State {
	case "blocked":
		return nil, func(w http.ResponseWriter) {
			writeJSON(w, 403, map[string]string{"message": "403 Forbidden - Your account has been blocked."})
		}
	case "deactivated":
		return nil, func(w http.ResponseWriter) {
			writeJSON(w, 403, map[string]string{"message": "403 Forbidden - Your account has been deactivated by your administrator. Please log back in from a web browser to reactivate your account."})
		}
	}
	now := s.opts.Now()
	t.LastUsed = &now
	return t, nil
}

// needScope answers 403 insufficient_scope unless tok has one of scopes.
func (s *Sandbox) needScope(w http.ResponseWriter, tok *Token, scopes ...string) bool {
	if hasAnyScope(tok, scopes...) {
		return true
	}
	writeJSON(w, 403, map[string]string{
		"error":             "insufficient_scope",
		"error_description": "The request requires higher privileges than provided by the access token.",
		"scope":             strings.Join(scopes, " "),
	})
	return false
}

func (s *Sandbox) tokenSelf(w http.ResponseWriter, r *http.Request, tok *Token) {
	if tok.OAuth {
		writeJSON(w, 400, map[string]string{"message": "400 Bad request - not a personal access token"})
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		body := tokenJSON(tok, s.opts.Now())
		s.mu.Unlock()
		writeJSON(w, 200, body)
	case http.MethodDelete:
		s.mu.Lock()
		tok.Revoked = true
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, 405, map[string]string{"message": "405 Method Not Allowed"})
	}
}

func tokenJSON(t *Token, now time.Time) map[string]any {
	var exp any
	if t.ExpiresAt != nil {
		exp = t.ExpiresAt.Format("2006-01-02")
	}
	expired := t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
	return map[string]any{
		"id": t.ID, "name": t.Name, "revoked": t.Revoked, "created_at": t.CreatedAt.Format(time.RFC3339Nano),
		"description": "", "scopes": t.Scopes, "user_id": t.UserID, "last_used_at": t.LastUsed,
		"active": !t.Revoked && !expired, "expires_at": exp, "expired": expired,
	}
}

// rateWindow is a fixed one-minute window per token.
type rateWindow struct {
	start time.Time
	count int
}

// allow applies the sandbox's rate limit, with GitLab's headers.
func (s *Sandbox) allow(w http.ResponseWriter, tok *Token, path string) bool {
	if s.opts.RateLimit <= 0 {
		return true
	}
	now := s.opts.Now()
	s.mu.Lock()
	win := s.windows[tok.Value]
	if win == nil || now.Sub(win.start) >= time.Minute {
		win = &rateWindow{start: now}
		s.windows[tok.Value] = win
	}
	win.count++
	count, reset := win.count, win.start.Add(time.Minute)
	s.mu.Unlock()
	if count > s.opts.RateLimit {
		retry := int(reset.Sub(now).Seconds()) + 1
		// GitLab leaves RateLimit-* off throttled answers of the Users,
		// Groups and Projects APIs.
		if !strings.HasPrefix(path, "/users") && !strings.HasPrefix(path, "/groups") {
			setRateHeaders(w, s.opts.RateLimit, 0, count, reset)
		}
		writeThrottled(w, retry, now)
		return false
	}
	setRateHeaders(w, s.opts.RateLimit, s.opts.RateLimit-count, count, reset)
	return true
}

func setRateHeaders(w http.ResponseWriter, limit, remaining, observed int, reset time.Time) {
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Observed", strconv.Itoa(observed))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
}

func writeThrottled(w http.ResponseWriter, retryAfter int, now time.Time) {
	if retryAfter <= 0 {
		retryAfter = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	w.Header().Set("RateLimit-ResetTime", now.Add(time.Duration(retryAfter)*time.Second).UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write([]byte("Retry later\n"))
}
