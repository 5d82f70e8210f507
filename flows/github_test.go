package flows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"path/filepath"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// newGitHubEnv stores a GitHub token connection to a sandbox.
func newGitHubEnv(t testing.TB, o githubtest.Options, token string) (*syncEnv, *githubtest.Server) {
	srv := githubtest.Start(o)
	t.Cleanup(srv.Close)
	st, opt := openSyncStore(t)
	c := &store.Connection{Vendor: "github", Alias: "gh", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken}
	c.SetSecret(store.SecretToken, store.Secret(token))
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return &syncEnv{st: st, opt: opt, id: c.ID, s: &Syncer{Store: st, Catalog: catalog.Default()}}, srv
}

// members counts the people in the sandbox's organizations (one person
// in two organizations is one).
func members(srv *githubtest.Server) int {
	ids := map[int64]bool{}
	for _, o := range srv.Orgs {
		for _, m := range o.Members {
			ids[m.ID] = true
		}
	}
	return len(ids)
}

// Issue 14: GitHub goes through the same flow as GitLab — the card's
// fields, verification, summary, saving — and its first sync reads every
// member of every organization, owners marked, and the Copilot seats.
func TestGitHubConnectThenSync(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 180})
	defer srv.Close()
	st := testStore(t)
	cat := Catalog{github.Card(github.CardOptions{DefaultURL: srv.BaseURL})}
	c := NewConnect(Deps{Catalog: cat, Store: st, Timeout: 5 * time.Second})
	if err := c.ChooseVendor("github"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseMethod(store.AuthToken); err != nil {
		t.Fatal(err)
	}
	if c.Values[FieldURL] != srv.BaseURL {
		t.Fatalf("default URL %q", c.Values[FieldURL])
	}
	if err := c.SetValue(FieldToken, githubtest.DemoTokens.FineGrained); err != nil {
		t.Fatal(err)
	}
	v, err := c.Authorize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	summary := ""
	for _, it := range v.Summary() {
		summary += it.Label + ": " + it.Value + "\n"
	}
	for _, want := range []string{"Account: @octo-admin (Octo Admin), not an administrator", "Version: GitHub Enterprise Server",
		"Scopes: fine-grained token", "Expires: ", "(in 30 days)"} {
		if !strings.Contains(summary, want) {
			t.Fatalf("summary lacks %q:\n%s", want, summary)
		}
	}
	if len(v.Warnings) == 0 || !strings.Contains(v.Warnings[len(v.Warnings)-1].Message, "1 organization: sandbox-co.") {
		t.Fatalf("warnings: %+v", v.Warnings)
	}
	conn, err := c.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if conn.Vendor != "github" || !strings.HasPrefix(conn.Alias, "127.0.0.1-") || conn.Secret(store.SecretToken).Reveal() != githubtest.DemoTokens.FineGrained {
		t.Fatalf("saved: %+v", conn)
	}

	s := &Syncer{Store: st, Catalog: cat}
	run, err := s.Sync(context.Background(), conn.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	owners, bots := 0, 0
	st.Users(context.Background(), run.ID, func(u store.InventoryUser) error {
		if u.Admin {
			owners++
		}
		if u.Bot {
			bots++
		}
		return nil
	})
	if want := len(srv.Orgs[0].Members); run.Users != want || owners != 3 || bots == 0 || run.View != "org" { // the token reads sandbox-co only
		t.Fatalf("run %+v: %d owners, %d bots", run, owners, bots)
	}
	seats, _ := st.Seats(context.Background(), run.ID)
	if len(seats) != 1 || seats[0].Plan != "Copilot Business" || run.Note != "" {
		t.Fatalf("seats %+v, note %q", seats, run.Note)
	}
}

// Failures say what happened and what to do, on the field to fix.
func TestGitHubFailuresExplained(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 20})
	defer srv.Close()
	cat := Catalog{github.Card(github.CardOptions{DefaultURL: srv.BaseURL})}
	for _, c := range []struct{ token, msg, hint string }{
		{githubtest.DemoTokens.Revoked, "GitHub does not accept this token (Bad credentials)", "has not expired or been revoked"},
		{githubtest.DemoTokens.NoOrgScope, "lacks the read:org scope (it has repo)", "tick read:org"},
		{githubtest.DemoTokens.SSO, "sandbox-labs uses SAML single sign-on", "/orgs/sandbox-labs/sso"},
	} {
		flow := NewConnect(Deps{Catalog: cat, Store: testStore(t), Timeout: 5 * time.Second})
		flow.ChooseVendor("github")
		flow.ChooseMethod(store.AuthToken)
		flow.SetValue(FieldToken, c.token)
		_, err := flow.Authorize(context.Background())
		var se *StepError
		if !errors.As(err, &se) || se.Field != FieldToken || !strings.Contains(se.Message, c.msg) || !strings.Contains(se.Hint, c.hint) {
			t.Errorf("%s: %+v", c.token, se)
		}
	}
}

// Secondary rate limits are waited out; a stopped sync resumes from its
// checkpoint to the exact membership.
func TestGitHubSyncSecondaryLimitsAndResume(t *testing.T) {
	e, srv := newGitHubEnv(t, githubtest.Options{Members: 600, SecondaryEvery: 4, Latency: 5 * time.Millisecond}, githubtest.DemoTokens.Classic)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := e.s.Sync(ctx, e.id, func(p Progress) {
		if p.Pages == 3 {
			cancel()
		}
	})
	if err == nil || !strings.Contains(err.Error(), "resumes from page") {
		t.Fatalf("stop: %v", err)
	}
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[store.ID]bool{}
	e.st.Users(context.Background(), run.ID, func(u store.InventoryUser) error {
		if seen[u.ID] {
			t.Fatalf("%s twice", u.Username)
		}
		seen[u.ID] = true
		return nil
	})
	if len(seen) != members(srv) || run.Users != members(srv) || run.Retries == 0 {
		t.Fatalf("%d users (want %d), %d retries", len(seen), members(srv), run.Retries)
	}
}

// A spent primary limit puts the sync aside until GitHub's reset (snoozed,
// not failed); a revoked token ends it with the connection needing a
// reconnect, after one try.
func TestGitHubPrimaryLimitSnoozesAndRevokedTokenStops(t *testing.T) {
	e, _ := newGitHubEnv(t, githubtest.Options{Members: 600, RateLimit: 3, Window: time.Hour}, githubtest.DemoTokens.Classic)
	e.startWorker(t, "worker@test:1")
	j := e.waitJob(t, "snoozed", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobSnoozed })
	if d := time.Until(j.At); d < 50*time.Minute {
		t.Fatalf("snoozed for only %s", d)
	}
	if run := lastRun(t, e); run.Status == store.RunFailed {
		t.Fatalf("the rate limit failed the sync: %+v", run)
	}

	r, _ := newGitHubEnv(t, githubtest.Options{Members: 20}, githubtest.DemoTokens.Revoked)
	r.startWorker(t, "worker@test:2")
	r.waitJob(t, "given up", func(j *store.SyncJob) bool { return j == nil })
	c, _ := r.st.Get(context.Background(), r.id)
	if c.State != store.StateNeedsReconnect || !strings.Contains(c.StateReason, "Bad credentials") {
		t.Fatalf("after a revoked token: %s %q", c.State, c.StateReason)
	}
}

// A server that sends onramp elsewhere (a page link to another port, a
// redirect to another host) is misconfigured: the sync fails at once with
// what happened and what to fix, and is not retried before its next
// periodic sync.
func TestMisconfiguredServerIsNotRetried(t *testing.T) {
	for name, hostile := range map[string]githubtest.Hostile{
		"link to another port":     {LinkBase: "http://127.0.0.1:1"},
		"redirect to another host": {RedirectMembers: "http://evil.example/members"},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newGitHubEnv(t, githubtest.Options{Members: 250, Hostile: hostile}, githubtest.DemoTokens.Classic)
			e.startWorker(t, "worker@test:1")
			j := e.waitJob(t, "the sync ended", func(j *store.SyncJob) bool { return j != nil && j.State == store.JobScheduled })
			run := lastRun(t, e)
			if run.Status != store.RunFailed || !strings.Contains(run.Error, "sent onramp elsewhere") || j.Reason != store.ReasonPeriodic {
				t.Fatalf("run %+v, job %+v", run, j)
			}
			if runs, _ := e.st.Runs(context.Background(), e.id, 10); len(runs) != 1 {
				t.Fatalf("%d runs: retried", len(runs))
			}
		})
	}
}

// A server that never stops paging, or sends a page it already sent, ends
// the sync at a named limit: failed at once, its checkpoint dropped (the
// next sync starts over), whatever the vendor.
func TestHostileServersMeetTheLimits(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		hostile githubtest.Hostile
		limits  Limits
		now     func() time.Time
		want    string
	}{
		"endless members":       {githubtest.Hostile{EndlessMembers: true}, Limits{Pages: 40}, nil, "limit of 40 pages in one sync"},
		"too many users":        {githubtest.Hostile{EndlessMembers: true}, Limits{Users: 1500}, nil, "limit of 1,500 users in one sync"},
		"too many bytes":        {githubtest.Hostile{EndlessMembers: true}, Limits{Bytes: 1 << 20}, nil, "limit of 1 MiB read from the server"},
		"too long":              {githubtest.Hostile{EndlessMembers: true}, Limits{RunTime: time.Hour}, func() time.Time { return time.Now().Add(2 * time.Hour) }, "limit of 1h0m0s for one sync"},
		"a page sent twice":     {githubtest.Hostile{RepeatMembersPage: true}, Limits{}, nil, "sent a page it had already sent"},
		"endless organizations": {githubtest.Hostile{EndlessOrgs: true}, Limits{}, nil, "limit of 1000 pages of organizations"},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newGitHubEnv(t, githubtest.Options{Members: 250, Hostile: c.hostile}, githubtest.DemoTokens.Classic)
			e.s.Limits, e.s.Now = c.limits, c.now
			_, err := e.s.Sync(ctx, e.id, nil)
			var limit *connector.LimitError
			if !errors.As(err, &limit) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v", err)
			}
			var final *store.FinalError
			if !errors.As(Outcome(ctx, ctx, err), &final) {
				t.Fatal("a limit is retried")
			}
			if run := lastRun(t, e); run.Status != store.RunFailed || run.Checkpoint != "" || !strings.Contains(run.Error, c.want) {
				t.Fatalf("run %+v", run)
			}
		})
	}
}

// Names carrying NUL, escape, C1 and bidi bytes (an organization's, its
// members') sync on both stores — PostgreSQL refuses NUL in text — and are
// stored sanitized, notes included.
func TestWeirdNamesSyncOnBothStores(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 30, Hostile: githubtest.Hostile{WeirdNames: true}})
	defer srv.Close()
	for name, opts := range map[string]store.Options{
		"sqlite":   {Path: filepath.Join(t.TempDir(), "s.db"), ConfigDir: filepath.Join(t.TempDir(), "cfg")},
		"postgres": {Path: pgtest.Database(t), ConfigDir: filepath.Join(t.TempDir(), "cfg")},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			c := &store.Connection{Vendor: "github", Alias: "gh", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken}
			c.SetSecret(store.SecretToken, store.Secret(githubtest.DemoTokens.Classic))
			if err := st.Create(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			run, err := (&Syncer{Store: st, Catalog: catalog.Default()}).Sync(context.Background(), c.ID, nil)
			if err != nil || run.Status != store.RunSucceeded || !strings.Contains(run.Note, `weird\x00\x1b]52`) {
				t.Fatalf("%+v %v", run, err)
			}
			weird := 0
			st.Users(context.Background(), run.ID, func(u store.InventoryUser) error {
				if strings.ContainsAny(u.Username, "\x00\x1b\u009b\u202e") {
					t.Errorf("stored raw: %q", u.Username)
				}
				if strings.HasPrefix(u.Username, "weird") {
					weird++
				}
				return nil
			})
			if weird == 0 {
				t.Fatal("the weird organization's members are missing")
			}
		})
	}
}

// Issue 21, item 10: an organization GitHub withholds for SAML SSO
// (partial results) is named at connect time and in every sync's note; the
// inventory is never called complete.
func TestSSOWithheldOrganizationIsNamed(t *testing.T) {
	e, srv := newGitHubEnv(t, githubtest.Options{Members: 30}, githubtest.DemoTokens.SSOPartial)
	v, err := catalog.Default().Vendor("github").Connector.Verify(context.Background(), VerifyRequest{HTTP: srv.Client(), Now: time.Now(), Address: githubAddress(t, srv.BaseURL),
		Values: map[string]string{FieldToken: githubtest.DemoTokens.SSOPartial}})
	if err != nil {
		t.Fatal(err)
	}
	var withheld string
	for _, w := range v.Warnings {
		if w.Code == "sso_withheld" {
			withheld = w.Message + " " + w.Action
		}
	}
	if !strings.Contains(withheld, "GitHub withheld 1 organization") || !strings.Contains(withheld, "9001") || !strings.Contains(withheld, "Configure SSO") {
		t.Fatalf("warnings %+v", v.Warnings)
	}
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil || !strings.Contains(run.Note, "withheld 1 organization") {
		t.Fatalf("%+v %v", run, err)
	}
}
