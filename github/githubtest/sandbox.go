// Package githubtest is a sandbox GitHub on loopback for the demo and the
// tests: the REST endpoints onramp reads, answered the way GitHub documents
// them — Bearer tokens (classic with X-OAuth-Scopes, fine-grained without),
// token expiry headers, page/per_page with Link, x-ratelimit-* on every
// answer, a spent primary limit as 403 with x-ratelimit-remaining 0, and
// secondary limits with retry-after — and OAuth apps: the device flow, the
// browser flow with PKCE, and token revocation.
package githubtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DemoTokens are the sandbox's tokens: each shows one case.
var DemoTokens = struct {
	Classic, FineGrained, NoOrgScope, Revoked, SSO string
	// SSOPartial is not authorized for sandbox-labs's SAML SSO: GitHub
	// leaves it out of /user/orgs and says so (partial-results).
	SSOPartial string
}{
	SSOPartial:  "ghp_sbxSSOPartial9Lk4Rt8Wn7mQpB3cD5x",
	Classic:     "ghp_sbxClassic7mQp2Xv9Lk4Rt8WnB3cD5eF6",
	FineGrained: "github_pat_11SBX0FINE0GRAINED_7mQp2Xv9Lk4Rt8Wn",
	NoOrgScope:  "ghp_sbxNoOrgScope4Rt8Wn7mQp2Xv9LkB3c",
	Revoked:     "ghp_sbxRevoked9Lk4Rt8Wn7mQp2XvB3cD5e",
	SSO:         "ghp_sbxNeedsSSO2Xv9Lk4Rt8Wn7mQpB3cD5",
}

// Options shape a sandbox.
type Options struct {
	// Members of the first organization (sandbox-co; 3 of them owners);
	// the second (sandbox-labs) has 40. 250 when 0.
	Members int
	// Latency is added to every answer.
	Latency time.Duration
	// RateLimit is the primary limit per window (5000 when 0); Window is
	// the window's length (1 hour when 0). A spent limit answers 403 with
	// x-ratelimit-remaining 0 until the window resets.
	RateLimit int
	Window    time.Duration
	// SecondaryEvery: every Nth API request is refused by a secondary rate
	// limit (403, retry-after: RetryAfter seconds, 1 when 0).
	SecondaryEvery int
	RetryAfter     int
	// Enterprise answers as GitHub Enterprise Server (its version header).
	Enterprise bool
	// DeviceInterval is the device flow's polling interval in seconds (5,
	// GitHub's, when 0); DeviceExpiresIn its codes' life (900 s when 0).
	DeviceInterval, DeviceExpiresIn int
	// AutoApprove makes the browser consent page submit itself.
	AutoApprove bool
	// RestrictOAuthApps names organizations that restrict OAuth apps and
	// have not approved the sandbox's: an OAuth app token reading them is
	// refused (403), as GitHub does.
	RestrictOAuthApps []string
	// SSOURL is the SAML authorization address an SSO-protected answer
	// names (X-GitHub-SSO); the sandbox's own page when "". A hostile
	// server names another host's.
	SSOURL string
	// Hostile makes the sandbox misbehave as a broken or hostile server
	// does, for the tests that attack onramp.
	Hostile Hostile
}

// Hostile is how a hostile sandbox misbehaves.
type Hostile struct {
	// LinkBase starts the addresses in Link headers instead of the
	// sandbox's own (another port: an Enterprise Server whose hostname
	// setting is wrong).
	LinkBase string
	// RedirectMembers answers member lists with a 302 to this address.
	RedirectMembers string
	// ExtraOrgs adds this many small organizations.
	ExtraOrgs int
	// MembersStatus answers member lists with this status (502: a server
	// that keeps failing).
	MembersStatus int
	// EndlessMembers: member lists never end (each page new members).
	EndlessMembers bool
	// RepeatMembersPage: a member list's next page is the page itself.
	RepeatMembersPage bool
	// EndlessOrgs: the organization list never ends.
	EndlessOrgs bool
	// MembersAnswer, when set, gives the body and Link header of every
	// member list (the fuzzer's bytes).
	MembersAnswer func() (body []byte, link string)
	// WeirdNames adds an organization (without Copilot) whose name, and so
	// its members' logins, carry NUL, escape, C1 and bidi bytes.
	WeirdNames bool
}

// Weird is the text WeirdNames plants.
const Weird = "\x00\x1b]52;c;aGk=\x07\u009b2J\u202eexe"

// Org is an organization of the sandbox.
type Org struct {
	Login   string
	Members []Member
	Copilot bool
	// byRole and seated are Members filtered once (answers slice them).
	byRole map[string][]Member
	seated []Member
}

// Member is a person in an organization.
type Member struct {
	Login string
	ID    int64
	Owner bool
	Bot   bool
	// Copilot: a seat is assigned; Active: used in the last 30 days.
	Copilot, Active bool
}

// Server is a running sandbox.
type Server struct {
	*httptest.Server
	BaseURL string // the web address to type (the API is under /api/v3)
	Orgs    []Org

	opts        Options
	mu          sync.Mutex
	requests    int
	serverTime  time.Duration
	used        int
	windowStart time.Time
	oauth       oauthState
}

// Start runs a sandbox on 127.0.0.1.
func Start(o Options) *Server {
	if o.Members == 0 {
		o.Members = 250
	}
	if o.RateLimit == 0 {
		o.RateLimit = 5000
	}
	if o.Window == 0 {
		o.Window = time.Hour
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = 1
	}
	if o.DeviceInterval == 0 {
		o.DeviceInterval = 5
	}
	if o.DeviceExpiresIn == 0 {
		o.DeviceExpiresIn = 900
	}
	s := &Server{opts: o, Orgs: []Org{seed("sandbox-co", o.Members, 3, 1000, true), seed("sandbox-labs", 40, 1, 500000, false)},
		windowStart: time.Now(), oauth: newOAuthState()}
	for i := range o.Hostile.ExtraOrgs {
		s.Orgs = append(s.Orgs, seed(fmt.Sprintf("sandbox-x%05d", i), 2, 1, 1_000_000+int64(i)*10, false))
	}
	if o.Hostile.WeirdNames { // its members' logins carry its name
		s.Orgs = append(s.Orgs, seed("weird"+Weird, 3, 1, 2_000_000, false))
	}
	// Assigned before it serves: handlers read s.URL.
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Start()
	s.BaseURL = s.Server.URL
	return s
}

func seed(login string, n, owners int, firstID int64, copilot bool) Org {
	o := Org{Login: login, Copilot: copilot}
	for i := 0; i < n; i++ {
		m := Member{Login: fmt.Sprintf("%s-user%04d", strings.TrimPrefix(login, "sandbox-"), i), ID: firstID + int64(i), Owner: i < owners}
		if i == 0 {
			m.Login = "octo-admin"
			m.ID = 1
		}
		if i%25 == 24 {
			m.Login, m.Bot = fmt.Sprintf("%s-bot%d[bot]", strings.TrimPrefix(login, "sandbox-"), i), true
		}
		m.Copilot = copilot && i%5 != 4 && !m.Bot
		m.Active = m.Copilot && i%2 == 0
		o.Members = append(o.Members, m)
	}
	o.byRole = map[string][]Member{"all": o.Members}
	for _, m := range o.Members {
		role := "member"
		if m.Owner {
			role = "admin"
		}
		o.byRole[role] = append(o.byRole[role], m)
		if m.Copilot {
			o.seated = append(o.seated, m)
		}
	}
	return o
}

// Requests is how many API requests were answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

type token struct {
	scopes  string // X-OAuth-Scopes; "-" for none (fine-grained)
	expires string // github-authentication-token-expiration
	sso     bool
	// ssoPartial: sandbox-labs is withheld from its organization list.
	ssoPartial bool
	// org: a fine-grained token's resource owner, the one organization it
	// reads ("": every organization the user is in).
	org string
	// app: issued to an OAuth app.
	app bool
}

func tokens() map[string]token {
	return map[string]token{
		DemoTokens.Classic:     {scopes: "read:org, repo", expires: time.Now().UTC().AddDate(0, 0, 90).Format("2006-01-02") + " 00:00:00 UTC"},
		DemoTokens.FineGrained: {scopes: "-", expires: time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02") + " 00:00:00 UTC", org: "sandbox-co"},
		DemoTokens.NoOrgScope:  {scopes: "repo"},
		DemoTokens.SSO:         {scopes: "read:org", sso: true},
		DemoTokens.SSOPartial:  {scopes: "read:org", ssoPartial: true},
	}
}

// ServerTime is the time spent answering API requests, latency included:
// a client can go no faster than this, one request after another.
func (s *Server) ServerTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverTime
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		s.mu.Lock()
		s.serverTime += time.Since(start)
		s.mu.Unlock()
	}()
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	if s.serveOAuth(w, r) {
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v3")
	if !ok {
		http.NotFound(w, r) // other web pages are not served
		return
	}
	h := w.Header()
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("SBX:%d", time.Now().UnixNano()))
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if s.opts.Enterprise {
		h.Set("X-GitHub-Enterprise-Version", "3.14.2")
	}
	if !s.admit(w) {
		return
	}
	if rest, ok := strings.CutPrefix(path, "/applications/"); ok && r.Method == http.MethodDelete && strings.HasSuffix(rest, "/token") {
		app := strings.TrimSuffix(rest, "/token")
		s.revokeToken(w, r, app)
		return
	}
	if r.Method != http.MethodGet {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(auth, "token ")
	}
	tok, known := tokens()[raw]
	if !known {
		s.mu.Lock()
		tok, known = s.oauth.issued[raw]
		s.mu.Unlock()
	}
	if !ok || !known {
		s.fail(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if tok.scopes != "-" {
		h.Set("X-OAuth-Scopes", tok.scopes)
		h.Set("X-Accepted-OAuth-Scopes", "")
	}
	if tok.expires != "" {
		h.Set("Github-Authentication-Token-Expiration", tok.expires)
	}
	q := r.URL.Query()
	switch {
	case path == "/user":
		s.json(w, map[string]any{"login": "octo-admin", "id": 1, "name": "Octo Admin", "type": "User", "site_admin": false})
	case path == "/user/orgs":
		out := []map[string]any{}
		if s.opts.Hostile.EndlessOrgs { // page after page of new organizations
			from, to, _ := s.paginate(w, r, math.MaxInt32)
			for i := from; i < to; i++ {
				out = append(out, map[string]any{"login": fmt.Sprintf("ghost-org-%09d", i), "id": 90_000_000 + i})
			}
			s.json(w, out)
			return
		}
		var mine []int
		for i, o := range s.Orgs {
			switch {
			case tok.ssoPartial && o.Login == "sandbox-labs": // withheld, and said so (GitHub's partial results)
				h.Set("X-GitHub-SSO", fmt.Sprintf("partial-results; organizations=%d", 9000+i))
			case tok.org == "" || tok.org == o.Login:
				mine = append(mine, i)
			}
		}
		from, to, ok := s.paginate(w, r, len(mine))
		if !ok {
			return
		}
		for _, i := range mine[from:to] {
			o := s.Orgs[i]
			out = append(out, map[string]any{"login": o.Login, "id": 9000 + i, "url": s.URL + "/api/v3/orgs/" + o.Login})
		}
		s.json(w, out)
	case strings.HasPrefix(path, "/orgs/"):
		parts := strings.Split(strings.TrimPrefix(path, "/orgs/"), "/")
		org := s.org(parts[0])
		if org == nil || (tok.org != "" && tok.org != org.Login) {
			s.fail(w, http.StatusNotFound, "Not Found")
			return
		}
		if tok.app && slices.Contains(s.opts.RestrictOAuthApps, org.Login) {
			s.failDoc(w, http.StatusForbidden, "Although you appear to have the correct authorization credentials, the `"+org.Login+
				"` organization has enabled OAuth App access restrictions, meaning that data access to third-parties is limited. "+
				"For more information on these restrictions, including how to enable this app, visit https://docs.github.com/articles/restricting-access-to-your-organization-s-data/",
				"https://docs.github.com/articles/restricting-access-to-your-organization-s-data/")
			return
		}
		if tok.sso && org.Login == "sandbox-labs" {
			h.Set("X-GitHub-SSO", "required; url="+cmp.Or(s.opts.SSOURL, s.URL+"/orgs/sandbox-labs/sso?authorization_request=SBX"))
			s.fail(w, http.StatusForbidden, "Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.")
			return
		}
		switch strings.Join(parts[1:], "/") {
		case "members":
			s.members(w, r, org, q)
		case "copilot/billing/seats":
			s.seats(w, r, org, q)
		default:
			s.fail(w, http.StatusNotFound, "Not Found")
		}
	default:
		s.fail(w, http.StatusNotFound, "Not Found")
	}
}

// admit counts the request against the limits and refuses it when one is
// spent.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.windowStart) >= s.opts.Window {
		s.windowStart, s.used = now, 0
	}
	s.requests++
	reset := s.windowStart.Add(s.opts.Window)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if s.opts.SecondaryEvery > 0 && s.requests%s.opts.SecondaryEvery == 0 {
		h.Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.RateLimit-s.used))
		h.Set("Retry-After", strconv.Itoa(s.opts.RetryAfter))
		s.failDoc(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID SBX.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
		return false
	}
	if s.used >= s.opts.RateLimit {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(s.used))
		s.failDoc(w, http.StatusForbidden, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID SBX.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit")
		return false
	}
	s.used++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.RateLimit-s.used))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.used))
	return true
}

func (s *Server) org(login string) *Org {
	for i := range s.Orgs {
		if strings.EqualFold(s.Orgs[i].Login, login) {
			return &s.Orgs[i]
		}
	}
	return nil
}

// paginate answers page/per_page (30 and at most 100, as GitHub) with Link.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, n int) (from, to int, ok bool) {
	q := r.URL.Query()
	per, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			s.fail(w, http.StatusUnprocessableEntity, "Invalid request.")
			return 0, 0, false
		}
		per = min(max(p, 1), 100)
	}
	if v := q.Get("page"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 {
			p = 1
		}
		page = p
	}
	last := max((n+per-1)/per, 1)
	link := func(p int, rel string) string {
		u := *r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		return "<" + cmp.Or(s.opts.Hostile.LinkBase, s.URL) + u.Path + "?" + u.RawQuery + `>; rel="` + rel + `"`
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	from = min((page-1)*per, n)
	return from, min(from+per, n), true
}

func (s *Server) members(w http.ResponseWriter, r *http.Request, org *Org, q url.Values) {
	if to := s.opts.Hostile.RedirectMembers; to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	if status := s.opts.Hostile.MembersStatus; status != 0 {
		s.fail(w, status, "Server Error: the sandbox fails on purpose")
		return
	}
	if answer := s.opts.Hostile.MembersAnswer; answer != nil {
		body, link := answer()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if link != "" {
			w.Header().Set("Link", link)
		}
		w.Write(body)
		return
	}
	role := q.Get("role")
	if role == "" {
		role = "all"
	}
	if role != "all" && role != "admin" && role != "member" {
		s.fail(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	list := org.byRole[role]
	n := len(list)
	if s.opts.Hostile.EndlessMembers {
		n = math.MaxInt32
	}
	from, to, ok := s.paginate(w, r, n)
	if !ok {
		return
	}
	if s.opts.Hostile.RepeatMembersPage && to < n {
		w.Header().Set("Link", "<"+s.URL+r.URL.RequestURI()+`>; rel="next"`)
	}
	out := make([]map[string]any, 0, to-from)
	for i := from; i < to; i++ {
		m := Member{Login: fmt.Sprintf("ghost%09d", i), ID: 100_000_000 + int64(i)}
		if i < len(list) {
			m = list[i]
		}
		typ := "User"
		if m.Bot {
			typ = "Bot"
		}
		out = append(out, map[string]any{"login": m.Login, "id": m.ID, "type": typ, "site_admin": false,
			"url": s.URL + "/api/v3/users/" + m.Login})
	}
	s.json(w, out)
}

func (s *Server) seats(w http.ResponseWriter, r *http.Request, org *Org, q url.Values) {
	if !org.Copilot {
		s.fail(w, http.StatusNotFound, "Copilot Business is not enabled for this organization.")
		return
	}
	list := org.seated
	from, to, ok := s.paginate(w, r, len(list))
	if !ok {
		return
	}
	seats := make([]map[string]any, 0, to-from)
	now := time.Now().UTC()
	for i, m := range list[from:to] {
		var last any
		if m.Active {
			last = now.Add(-time.Duration(i%20+1) * 24 * time.Hour).Format(time.RFC3339)
		} else if i%3 == 0 {
			last = now.AddDate(0, -3, 0).Format(time.RFC3339)
		}
		seats = append(seats, map[string]any{"created_at": now.AddDate(0, -6, 0).Format(time.RFC3339), "last_activity_at": last,
			"plan_type": "business", "assignee": map[string]any{"login": m.Login, "id": m.ID, "type": "User"}})
	}
	s.json(w, map[string]any{"total_seats": len(list), "seats": seats})
}

func (s *Server) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.failDoc(w, status, msg, "https://docs.github.com/rest")
}

// failDoc answers GitHub's error body; clients tell rate limits apart by
// its documentation_url, as go-github does.
func (s *Server) failDoc(w http.ResponseWriter, status int, msg, doc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)})
}
