package githubtest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	gh "github.com/google/go-github/v75/github"
)

// The sandbox satisfies software onramp did not write: google/go-github
// (test-only) walks what onramp reads — the user, its organizations,
// members by role through its own Link pagination, Copilot seats — decodes
// into its own types, reads the rate headers, and recognises GitHub's error,
// rate-limit and secondary-limit answers as its own error types.
func TestGoGitHubClientAgainstTheSandbox(t *testing.T) {
	srv := Start(Options{Members: 230})
	defer srv.Close()
	ctx := context.Background()
	c := goGitHub(t, srv, DemoTokens.Classic)
	me, resp, err := c.Users.Get(ctx, "")
	if err != nil || me.GetLogin() != "octo-admin" || resp.Rate.Limit != 5000 || resp.Rate.Remaining != 4999 || resp.TokenExpiration.IsZero() {
		t.Fatalf("user: %v %+v %+v", err, me, resp)
	}
	orgs, _, err := c.Organizations.List(ctx, "", &gh.ListOptions{PerPage: 100})
	if err != nil || len(orgs) != 2 || orgs[0].GetLogin() != "sandbox-co" {
		t.Fatalf("orgs: %v %v", err, orgs)
	}
	for _, role := range []string{"admin", "member"} {
		opts := &gh.ListMembersOptions{Role: role, ListOptions: gh.ListOptions{PerPage: 50}}
		n, pages := 0, 0
		for {
			users, resp, err := c.Organizations.ListMembers(ctx, "sandbox-co", opts)
			if err != nil {
				t.Fatal(err)
			}
			n += len(users)
			pages++
			if resp.NextPage == 0 {
				if role == "member" && resp.LastPage != 0 {
					t.Fatal("last page still links a last page")
				}
				break
			}
			opts.Page = resp.NextPage
		}
		if want := map[string]int{"admin": 3, "member": 227}[role]; n != want || (role == "member" && pages != 5) {
			t.Fatalf("%s: %d in %d pages", role, n, pages)
		}
	}
	seats, _, err := c.Copilot.ListCopilotSeats(ctx, "sandbox-co", &gh.ListOptions{PerPage: 100})
	if err != nil || seats.TotalSeats == 0 || len(seats.Seats) == 0 || seats.Seats[0].GetPlanType() != "business" {
		t.Fatalf("seats: %v %+v", err, seats)
	}
	if _, _, err := c.Copilot.ListCopilotSeats(ctx, "sandbox-labs", nil); !notFound(err) {
		t.Fatalf("no Copilot: %v", err)
	}

	bad := goGitHub(t, srv, DemoTokens.Revoked)
	var er *gh.ErrorResponse
	if _, _, err := bad.Users.Get(ctx, ""); !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized || er.Message != "Bad credentials" {
		t.Fatalf("bad token: %v", err)
	}

	limited := Start(Options{RateLimit: 1})
	defer limited.Close()
	lc := goGitHub(t, limited, DemoTokens.Classic)
	lc.Users.Get(ctx, "")
	var rle *gh.RateLimitError
	if _, _, err := lc.Users.Get(ctx, ""); !errors.As(err, &rle) || rle.Rate.Remaining != 0 {
		t.Fatalf("primary limit: %v", err)
	}
	secondary := Start(Options{SecondaryEvery: 2})
	defer secondary.Close()
	sc := goGitHub(t, secondary, DemoTokens.Classic)
	sc.Users.Get(ctx, "")
	var abuse *gh.AbuseRateLimitError
	if _, _, err := sc.Users.Get(ctx, ""); !errors.As(err, &abuse) || abuse.GetRetryAfter() <= 0 {
		t.Fatalf("secondary limit: %v", err)
	}
}

// goGitHub is go-github pointed at the sandbox as an Enterprise Server.
func goGitHub(t *testing.T, srv *Server, token string) *gh.Client {
	c, err := gh.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(srv.BaseURL+"/api/v3/", srv.BaseURL+"/api/uploads/")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func notFound(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == http.StatusNotFound
}
