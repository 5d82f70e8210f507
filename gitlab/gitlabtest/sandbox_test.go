package gitlabtest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func get(t *testing.T, srv *Server, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.BaseURL+"/api/v4"+path, nil)
	req.Header.Set("Private-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("X-Gitlab-Meta") == "" {
		t.Errorf("%s: no X-Gitlab-Meta", path)
	}
	return resp, b
}

var nextLink = regexp.MustCompile(`<([^>]+)>; rel="next"`)

func TestKeysetWalksEveryoneOnce(t *testing.T) {
	sb := New(Options{Users: 950})
	srv := sb.Start()
	defer srv.Close()
	url := srv.BaseURL + "/api/v4/users?pagination=keyset&order_by=id&sort=asc&per_page=100&exclude_internal=true&without_project_bots=true"
	seen := map[float64]bool{}
	pages := 0
	for url != "" {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Private-Token", DemoTokens.Admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var users []map[string]any
		json.NewDecoder(resp.Body).Decode(&users)
		resp.Body.Close()
		for _, u := range users {
			id := u["id"].(float64)
			if seen[id] {
				t.Fatalf("user %v twice", id)
			}
			seen[id] = true
			if _, ok := u["email"]; !ok {
				t.Fatal("admin view lacks email")
			}
		}
		pages++
		url = ""
		if m := nextLink.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			url = m[1]
		}
	}
	want := 0
	for _, u := range sb.users {
		if !u.Internal && !u.ProjectBot {
			want++
		}
	}
	if len(seen) != want || pages != (want+99)/100 {
		t.Fatalf("saw %d users in %d pages, want %d", len(seen), pages, want)
	}
}

func TestOffsetHeadersAndTotalsAbove10k(t *testing.T) {
	srv := New(Options{Users: 200}).Start()
	defer srv.Close()
	resp, _ := get(t, srv, "/users?per_page=50&page=2", DemoTokens.Admin)
	h := resp.Header
	total, _ := strconv.Atoi(h.Get("X-Total"))
	if total != 210 || h.Get("X-Total-Pages") != "5" || h.Get("X-Next-Page") != "3" || h.Get("X-Prev-Page") != "1" {
		t.Fatalf("headers: %v", h)
	}
	big := New(Options{Users: 10100}).Start()
	defer big.Close()
	resp, _ = get(t, big, "/users?per_page=100", DemoTokens.Admin)
	if resp.Header.Get("X-Total") != "" || resp.Header.Get("X-Total-Pages") != "" || regexp.MustCompile(`rel="last"`).MatchString(resp.Header.Get("Link")) {
		t.Fatalf("totals not omitted above 10,000: %v", resp.Header)
	}
	resp, _ = get(t, big, "/users?per_page=100&page=501", DemoTokens.Admin)
	if resp.StatusCode != 405 {
		t.Fatalf("offset past 50,000: %d", resp.StatusCode)
	}
}

func TestBasicViewForNonAdmins(t *testing.T) {
	srv := New(Options{AdminMode: true}).Start()
	defer srv.Close()
	for _, tok := range []string{DemoTokens.NonAdmin, srv.Sandbox.AddToken(RootID, "no-mode", []string{"read_api"}, nil)} {
		_, b := get(t, srv, "/users?per_page=5", tok)
		var users []map[string]any
		json.Unmarshal(b, &users)
		if _, ok := users[0]["email"]; ok {
			t.Fatalf("basic view shows email: %s", b)
		}
		if resp, _ := get(t, srv, "/license", tok); resp.StatusCode != 403 {
			t.Fatalf("license for non-admin view: %d", resp.StatusCode)
		}
	}
	_, b := get(t, srv, "/user", DemoTokens.NonAdmin)
	var me map[string]any
	json.Unmarshal(b, &me)
	if _, ok := me["is_admin"]; ok {
		t.Fatal("is_admin present for a non-admin")
	}
	resp, b := get(t, srv, "/license", DemoTokens.Admin)
	var lic map[string]any
	json.Unmarshal(b, &lic)
	if resp.StatusCode != 200 || lic["plan"] != "ultimate" {
		t.Fatalf("license: %d %s", resp.StatusCode, b)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	srv := New(Options{RateLimit: 3, Now: func() time.Time { return now }}).Start()
	defer srv.Close()
	for i := 0; i < 3; i++ {
		resp, _ := get(t, srv, "/version", DemoTokens.Admin)
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d remaining %s", i, resp.StatusCode, resp.Header.Get("RateLimit-Remaining"))
		}
	}
	resp, b := get(t, srv, "/users", DemoTokens.Admin)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || string(b) != "Retry later\n" || resp.Header.Get("RateLimit-Remaining") != "" {
		t.Fatalf("throttled: %d %v %q", resp.StatusCode, resp.Header, b)
	}
}

func TestFaults(t *testing.T) {
	sb := New(Options{})
	srv := sb.Start()
	defer srv.Close()
	sb.InjectFault(Fault{PathPrefix: "/users", Drop: true})
	req, _ := http.NewRequest("GET", srv.BaseURL+"/api/v4/users", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("dropped connection answered")
	}
	sb.InjectFault(Fault{PathPrefix: "/users", Status: 500, Times: 2})
	for i := 0; i < 2; i++ {
		if resp, _ := get(t, srv, "/users", DemoTokens.Admin); resp.StatusCode != 500 {
			t.Fatalf("fault %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv, "/users", DemoTokens.Admin); resp.StatusCode != 200 {
		t.Fatalf("after faults: %d", resp.StatusCode)
	}
}

func TestGroupsAndSeats(t *testing.T) {
	srv := New(Options{}).Start()
	defer srv.Close()
	_, b := get(t, srv, "/groups?top_level_only=true&min_access_level=50", DemoTokens.Admin)
	var groups []map[string]any
	json.Unmarshal(b, &groups)
	if len(groups) != 2 {
		t.Fatalf("owned groups: %s", b)
	}
	resp, b := get(t, srv, "/groups/100/billable_members?per_page=100", DemoTokens.Admin)
	var members []map[string]any
	json.Unmarshal(b, &members)
	_, nb := get(t, srv, "/namespaces/100", DemoTokens.Admin)
	var ns map[string]any
	json.Unmarshal(nb, &ns)
	if resp.Header.Get("X-Total") != strconv.Itoa(len(members)) || int(ns["seats_in_use"].(float64)) != len(members) {
		t.Fatalf("billable %d, total %s, seats %v", len(members), resp.Header.Get("X-Total"), ns["seats_in_use"])
	}
	if resp, _ := get(t, srv, "/groups/100/billable_members", DemoTokens.NonAdmin); resp.StatusCode != 403 {
		t.Fatalf("billable members for a non-owner: %d", resp.StatusCode)
	}
}

func TestExpiryIsMidnightUTC(t *testing.T) {
	now := time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	sb := New(Options{Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
	srv := sb.Start()
	defer srv.Close()
	d := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	tok := sb.AddToken(RootID, "t", []string{"api"}, &d)
	if resp, _ := get(t, srv, "/user", tok); resp.StatusCode != 200 {
		t.Fatalf("before midnight: %d", resp.StatusCode)
	}
	clock.Store(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).UnixNano())
	if resp, b := get(t, srv, "/user", tok); resp.StatusCode != 401 || !regexp.MustCompile(`expired`).Match(b) {
		t.Fatalf("at midnight: %d %s", resp.StatusCode, b)
	}
}

// GitLab coerces Boolean parameters (true, True, 1, yes…) and refuses
// others by name; python-gitlab sends exclude_internal=True.
func TestBooleanParametersAsGitLab(t *testing.T) {
	srv := New(Options{Users: 5}).Start()
	defer srv.Close()
	count := func(query string) (int, int) {
		resp, b := get(t, srv, "/users?per_page=100&"+query, DemoTokens.Admin)
		var users []map[string]any
		json.Unmarshal(b, &users)
		return resp.StatusCode, len(users)
	}
	_, all := count("")
	for _, v := range []string{"true", "True", "TRUE", "1", "yes", "t", "on"} {
		if code, n := count("exclude_internal=" + v); code != 200 || n >= all {
			t.Errorf("exclude_internal=%s: %d, %d of %d users", v, code, n, all)
		}
	}
	for _, v := range []string{"false", "False", "0", "no"} {
		if code, n := count("exclude_internal=" + v); code != 200 || n != all {
			t.Errorf("exclude_internal=%s: %d, %d of %d users", v, code, n, all)
		}
	}
	resp, b := get(t, srv, "/users?exclude_internal=maybe", DemoTokens.Admin)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"error":"exclude_internal is invalid"`) {
		t.Errorf("exclude_internal=maybe: %d %s", resp.StatusCode, b)
	}
}

func TestKeysetRefusedAsGitLab(t *testing.T) {
	srv := New(Options{Users: 5}).Start()
	defer srv.Close()
	for _, q := range []string{"order_by=username", "order_by=id&sort=desc"} {
		resp, b := get(t, srv, "/users?pagination=keyset&"+q, DemoTokens.Admin)
		var body map[string]string
		json.Unmarshal(b, &body)
		if resp.StatusCode != 405 || body["error"] == "" {
			t.Errorf("keyset %s: %d %s", q, resp.StatusCode, b)
		}
	}
	legacy := New(Options{Legacy: true, Version: "16.4.0-ee", Users: 5}).Start()
	defer legacy.Close()
	if resp, b := get(t, legacy, "/users?pagination=keyset&order_by=id&sort=asc", DemoTokens.Admin); resp.StatusCode != 405 {
		t.Errorf("keyset before 16.5: %d %s", resp.StatusCode, b)
	}
}

func TestReadRoutesRefuseOtherMethods(t *testing.T) {
	srv := New(Options{Users: 5}).Start()
	defer srv.Close()
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, path := range []string{"/users", "/user", "/license", "/metadata", "/groups"} {
			req, _ := http.NewRequest(m, srv.BaseURL+"/api/v4"+path, nil)
			req.Header.Set("Private-Token", DemoTokens.Admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 {
				t.Errorf("%s %s: %d", m, path, resp.StatusCode)
			}
		}
	}
}
