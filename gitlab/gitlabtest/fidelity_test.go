package gitlabtest

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/oauth2"
)

// The sandbox is checked with software onramp did not write: GitLab's
// official Go client, on every API endpoint the sandbox serves, decoding
// into its own types. If the sandbox drifts from what real clients expect
// (field names and types, pagination headers, keyset links, error bodies),
// this fails.

func officialClient(t *testing.T, srv *Server, token string, oauth bool) *gl.Client {
	t.Helper()
	opts := []gl.ClientOptionFunc{gl.WithBaseURL(srv.BaseURL + "/api/v4"), gl.WithoutRetries(),
		gl.WithHTTPClient(&http.Client{Timeout: 10 * time.Second})}
	var c *gl.Client
	var err error
	if oauth {
		c, err = gl.NewAuthSourceClient(gl.OAuthTokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})}, opts...)
	} else {
		c, err = gl.NewClient(token, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOfficialClientInstance(t *testing.T) {
	sb := New(Options{Users: 230, Prefix: "/gitlab"})
	srv := sb.Start()
	defer srv.Close()
	c := officialClient(t, srv, DemoTokens.Admin, false)

	md, _, err := c.Metadata.GetMetadata()
	if err != nil || md.Version != "17.6.1-ee" || !md.Enterprise {
		t.Fatalf("metadata: %+v %v", md, err)
	}
	v, _, err := c.Version.GetVersion()
	if err != nil || v.Version != md.Version || v.Revision == "" {
		t.Fatalf("version: %+v %v", v, err)
	}
	me, _, err := c.Users.CurrentUser()
	if err != nil || me.Username != "root" || !me.IsAdmin || me.CreatedAt == nil {
		t.Fatalf("current user: %+v %v", me, err)
	}
	pat, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessToken()
	if err != nil || !pat.Active || pat.Revoked || !slices.Contains(pat.Scopes, "read_api") || pat.UserID != me.ID {
		t.Fatalf("token self: %+v %v", pat, err)
	}
	lic, _, err := c.License.GetLicense()
	if err != nil || lic.Plan == "" || lic.ExpiresAt == nil || lic.ActiveUsers == 0 {
		t.Fatalf("license: %+v %v", lic, err)
	}

	people := sb.People(0)
	yes := true
	// Keyset, as onramp walks it: every person once, following Link.
	keyset := &gl.ListUsersOptions{ListOptions: gl.ListOptions{Pagination: "keyset", OrderBy: "id", Sort: "asc", PerPage: 100},
		ExcludeInternal: &yes, WithoutProjectBots: &yes}
	var ids []int64
	for u, err := range gl.Scan2(func(p gl.PaginationOptionFunc) ([]*gl.User, *gl.Response, error) {
		return c.Users.ListUsers(keyset, p)
	}) {
		if err != nil {
			t.Fatalf("keyset users: %v", err)
		}
		if u.Email == "" || u.CreatedAt == nil {
			t.Fatalf("admin view lacks fields: %+v", u)
		}
		ids = append(ids, u.ID)
	}
	if !slices.Equal(ids, people) {
		t.Fatalf("keyset: %d users, want %d", len(ids), len(people))
	}
	// Offset, with the page headers the client reads.
	offset := &gl.ListUsersOptions{ListOptions: gl.ListOptions{PerPage: 50}, ExcludeInternal: &yes, WithoutProjectBots: &yes}
	users, resp, err := c.Users.ListUsers(offset)
	if err != nil || len(users) != 50 || resp.TotalItems != int64(len(people)) || resp.NextPage != 2 || resp.TotalPages != int64((len(people)+49)/50) {
		t.Fatalf("offset page 1: %d users, total %d, next %d, pages %d, %v", len(users), resp.TotalItems, resp.NextPage, resp.TotalPages, err)
	}
	ids = ids[:0]
	for u, err := range gl.Scan2(func(p gl.PaginationOptionFunc) ([]*gl.User, *gl.Response, error) {
		return c.Users.ListUsers(offset, p)
	}) {
		if err != nil {
			t.Fatalf("offset users: %v", err)
		}
		ids = append(ids, u.ID)
	}
	if !slices.Equal(ids, people) {
		t.Fatalf("offset: %d users, want %d", len(ids), len(people))
	}

	// An error answer the client can read: a keyset order GitLab lacks.
	bad := &gl.ListUsersOptions{ListOptions: gl.ListOptions{Pagination: "keyset", OrderBy: "username"}}
	_, resp, err = c.Users.ListUsers(bad)
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != 405 || er.Message == "" {
		t.Fatalf("unsupported keyset order: %v", err)
	}

	// A PAT revokes itself; afterwards it is refused as GitLab does.
	temp := sb.AddToken(RootID, "temporary", []string{"api"}, nil)
	tc := officialClient(t, srv, temp, false)
	if _, err := tc.PersonalAccessTokens.RevokePersonalAccessTokenSelf(); err != nil {
		t.Fatalf("revoke self: %v", err)
	}
	if _, resp, err := tc.Users.CurrentUser(); err == nil || resp.StatusCode != 401 {
		t.Fatalf("revoked token still works: %v", err)
	}
}

func TestOfficialClientGitLabComAndOAuth(t *testing.T) {
	sb := New(Options{Users: 120})
	srv := sb.Start()
	defer srv.Close()
	access, _ := sb.IssueTokens(DemoApp.UID, RootID, []string{"read_api", "read_user"})
	c := officialClient(t, srv, access, true) // Bearer, as onramp's OAuth connections call
	me, _, err := c.Users.CurrentUser()
	if err != nil || me.Username != "root" {
		t.Fatalf("oauth current user: %+v %v", me, err)
	}
	top, owner := true, gl.Ptr(gl.OwnerPermissions)
	groups, _, err := c.Groups.ListGroups(&gl.ListGroupsOptions{TopLevelOnly: &top, MinAccessLevel: owner})
	if err != nil || len(groups) == 0 {
		t.Fatalf("owned groups: %v %v", groups, err)
	}
	var members []int64
	for _, g := range groups {
		ns, _, err := c.Namespaces.GetNamespace(g.ID)
		if err != nil || ns.FullPath != g.FullPath || ns.Plan == "" || ns.SeatsInUse == nil {
			t.Fatalf("namespace %d: %+v %v", g.ID, ns, err)
		}
		for m, err := range gl.Scan2(func(p gl.PaginationOptionFunc) ([]*gl.BillableGroupMember, *gl.Response, error) {
			return c.Groups.ListBillableGroupMembers(g.ID, &gl.ListBillableGroupMembersOptions{ListOptions: gl.ListOptions{PerPage: 20}}, p)
		}) {
			if err != nil {
				t.Fatalf("billable members of %s: %v", g.FullPath, err)
			}
			if m.State == "active" && !slices.Contains(members, m.ID) {
				members = append(members, m.ID)
			}
		}
	}
	for _, id := range sb.People(RootID) {
		if !slices.Contains(members, id) {
			t.Fatalf("billable members lack person %d", id)
		}
	}
}
