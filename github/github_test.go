package github

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/github/githubtest"
)

func client(t *testing.T, srv *githubtest.Server, token string) *Client {
	t.Helper()
	base, err := NormalizeURL(srv.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{HTTP: http.DefaultClient, Base: base, Token: token}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "https://api.github.com",
		"github.com":                     "https://api.github.com",
		"https://github.com/":            "https://api.github.com",
		"https://api.github.com":         "https://api.github.com",
		"github.example.com":             "https://github.example.com/api/v3",
		"https://ghe.example.com/api/v3": "https://ghe.example.com/api/v3",
		"http://127.0.0.1:8080/":         "http://127.0.0.1:8080/api/v3",
	} {
		b, err := NormalizeURL(in)
		if err != nil || b.API != want {
			t.Errorf("%q: %q %v, want %q", in, b.API, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "https://u:p@github.com", "https://x/?q=1"} {
		if _, err := NormalizeURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestVerifyTokens(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 30, Enterprise: true})
	defer srv.Close()
	ctx := context.Background()

	v, err := Verify(ctx, client(t, srv, githubtest.DemoTokens.Classic))
	if err != nil {
		t.Fatal(err)
	}
	if v.Login != "octo-admin" || !v.ScopesKnown || strings.Join(v.Scopes, ",") != "read:org,repo" || v.ExpiresAt == nil ||
		strings.Join(v.Orgs, ",") != "sandbox-co,sandbox-labs" || v.Product != "Enterprise Server 3.14.2" {
		t.Fatalf("classic: %+v", v)
	}
	v, err = Verify(ctx, client(t, srv, githubtest.DemoTokens.FineGrained))
	if err != nil || v.ScopesKnown || v.ExpiresAt == nil || time.Until(*v.ExpiresAt) < 20*24*time.Hour || strings.Join(v.Orgs, ",") != "sandbox-co" {
		t.Fatalf("fine-grained: %+v %v", v, err)
	}

	_, err = Verify(ctx, client(t, srv, githubtest.DemoTokens.Revoked))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindCredential || !e.CredentialRejected() || e.Message != "Bad credentials" || e.Field() != connector.FieldToken {
		t.Fatalf("revoked: %v", err)
	}
	_, err = Verify(ctx, client(t, srv, githubtest.DemoTokens.NoOrgScope))
	var se *ScopeError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "read:org") {
		t.Fatalf("no read:org: %v", err)
	}
	_, err = Verify(ctx, client(t, srv, githubtest.DemoTokens.SSO))
	if !errors.As(err, &e) || e.Kind != KindSSO || e.Org != "sandbox-labs" || !strings.Contains(e.Hint(), "/orgs/sandbox-labs/sso") {
		t.Fatalf("SSO: %v (%+v)", err, e)
	}
}

// An SSO address on another host than the GitHub's (a hostile server's) is
// never shown; the hint still says what to do.
func TestSSOAddressOnlyOnTheServersHost(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{SSOURL: "https://evil.example/login?next=x"})
	defer srv.Close()
	_, err := Verify(context.Background(), client(t, srv, githubtest.DemoTokens.SSO))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindSSO || e.SSO != "" || strings.Contains(err.Error()+e.Hint(), "evil.example") || e.Hint() == "" {
		t.Fatalf("SSO elsewhere: %v (%+v) hint %q", err, e, e.Hint())
	}
}

// The whole inventory: both organizations, owners then members, every
// page followed through Link, resumable from any checkpoint.
func TestInventoryPagesAndResume(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 250})
	defer srv.Close()
	ctx := context.Background()
	read := func(inv *Inventory, from string, stopAfter int) (users []string, admins int, cp string) {
		cp = from
		for n := 0; ; n++ {
			p, err := inv.Page(ctx, cp)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Decode(); err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Users {
				users = append(users, u.Username)
				if u.Admin {
					admins++
				}
			}
			cp = p.Next
			if cp == "" || n+1 == stopAfter {
				return
			}
		}
	}
	all, admins, _ := read(&Inventory{C: client(t, srv, githubtest.DemoTokens.Classic)}, "", 0)
	if len(all) != 290 || admins != 4 {
		t.Fatalf("%d users, %d owners; want 290 and 4", len(all), admins)
	}
	// Stop after two pages, go on from the checkpoint with a new reader.
	first, _, cp := read(&Inventory{C: client(t, srv, githubtest.DemoTokens.Classic)}, "", 2)
	rest, _, _ := read(&Inventory{C: client(t, srv, githubtest.DemoTokens.Classic)}, cp, 0)
	if got := append(first, rest...); strings.Join(got, ",") != strings.Join(all, ",") {
		t.Fatalf("resumed: %d users, want %d", len(got), len(all))
	}
	seats, note, err := (&Inventory{C: client(t, srv, githubtest.DemoTokens.Classic)}).Seats(ctx)
	if err != nil || len(seats) != 1 || seats[0].Scope != "sandbox-co" || seats[0].Plan != "Copilot Business" ||
		*seats[0].Seats == 0 || *seats[0].Used == 0 || *seats[0].Used >= *seats[0].Seats || !strings.Contains(note, "sandbox-labs") {
		t.Fatalf("seats %+v note %q err %v", seats, note, err)
	}
}

// Rate limits: a secondary limit (retry-after) is waited out in place; a
// spent primary limit whose reset is far off comes back as an error
// carrying the wait, for the job queue.
func TestRateLimits(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 250, SecondaryEvery: 3})
	defer srv.Close()
	c := client(t, srv, githubtest.DemoTokens.Classic)
	var waited []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	inv := &Inventory{C: c}
	n := 0
	for cp := ""; ; {
		p, err := inv.Page(context.Background(), cp)
		if err != nil {
			t.Fatal(err)
		}
		p.Decode()
		n += len(p.Users)
		if cp = p.Next; cp == "" {
			break
		}
	}
	if n != 290 || c.Retries() == 0 || len(waited) != c.Retries() || waited[0] < time.Second {
		t.Fatalf("%d users, %d retries, waits %v", n, c.Retries(), waited)
	}

	spent := githubtest.Start(githubtest.Options{RateLimit: 20, Window: time.Hour})
	defer spent.Close()
	c = client(t, spent, githubtest.DemoTokens.Classic)
	paced := 0
	c.sleep = func(context.Context, time.Duration) error { paced++; return nil }
	for range 20 {
		if _, err := c.Get(context.Background(), "/user", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Get(context.Background(), "/user", nil)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited || e.RetryAfter() < 50*time.Minute {
		t.Fatalf("spent limit: %v (%+v)", err, e)
	}
	if paced != 2 { // nearly spent (2, then 1 left): the rest of the window was spread out
		t.Fatal("no pacing as the budget ran out")
	}
}

// A hundred organizations are probed several at a time: verification takes
// a few round trips' time, not a hundred.
func TestOrganizationProbesRunConcurrently(t *testing.T) {
	const latency = 100 * time.Millisecond
	srv := githubtest.Start(githubtest.Options{Latency: latency, Hostile: githubtest.Hostile{ExtraOrgs: 98}})
	defer srv.Close()
	start := time.Now()
	v, err := Verify(context.Background(), client(t, srv, githubtest.DemoTokens.Classic))
	took := time.Since(start)
	if err != nil || len(v.Orgs) != 100 {
		t.Fatalf("%v %+v", err, v)
	}
	if took > 30*latency { // one after another: 100 probes and more
		t.Fatalf("verification took %s for 100 organizations", took)
	}
}

// A token that reads 20,000 organizations is verified in seconds: every
// page of them read (the summary counts them all), a bounded number probed.
func TestTwentyThousandOrganizations(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Latency: 5 * time.Millisecond, Hostile: githubtest.Hostile{ExtraOrgs: 20000}})
	defer srv.Close()
	start := time.Now()
	v, err := Verify(context.Background(), client(t, srv, githubtest.DemoTokens.Classic))
	if err != nil || len(v.Orgs) != 20002 {
		t.Fatalf("%v: %d organizations", err, len(v.Orgs))
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("verification took %s", took)
	}
}

// A server that keeps failing until the deadline: the error says what it
// last answered, not only that time ran out.
func TestDeadlineKeepsTheServersWords(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Hostile: githubtest.Hostile{MembersStatus: 502}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Verify(ctx, client(t, srv, githubtest.DemoTokens.Classic))
	var e *Error
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &e) || e.Status != 502 || !strings.Contains(err.Error(), "fails on purpose") {
		t.Fatalf("%v", err)
	}
}

// The organizations warning fits the kind of token: a classic token reads
// every organization of its account, a fine-grained one only its owner
// (issue 21, item 6: the classic token got the fine-grained words).
func TestOrganizationsWarningFitsTheToken(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 5})
	defer srv.Close()
	for token, want := range map[string]string{
		githubtest.DemoTokens.Classic:     "classic token reads every organization",
		githubtest.DemoTokens.FineGrained: "fine-grained token reads only its resource owner",
	} {
		v, err := Card(CardOptions{}).Connector.Verify(context.Background(), connector.VerifyRequest{
			HTTP: http.DefaultClient, Address: client(t, srv, "").Base, Values: map[string]string{connector.FieldToken: token}, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, w := range v.Warnings {
			found = found || w.Code == "organizations" && strings.Contains(w.Action, want)
		}
		if !found {
			t.Errorf("%.12s…: no %q in %+v", token, want, v.Warnings)
		}
	}
}
