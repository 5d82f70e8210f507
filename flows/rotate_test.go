package flows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/store"
)

// rotEnv is a sandbox and a store holding connections verified as the
// wizard would (so each knows how its token rotates).
type rotEnv struct {
	srv *gitlabtest.Server
	st  store.Backend
	s   *Syncer
}

func newRotEnv(t testing.TB, o gitlabtest.Options) *rotEnv {
	srv := gitlabtest.New(o).Start()
	t.Cleanup(srv.Close)
	st, _ := openSyncStore(t)
	return &rotEnv{srv: srv, st: st, s: &Syncer{Store: st, Catalog: catalog.Default()}}
}

// connect verifies token against the sandbox and stores it as alias.
func (e *rotEnv) connect(t *testing.T, alias, token string) *store.Connection {
	t.Helper()
	hc, _ := httpx.New(httpx.Options{})
	v, err := catalog.Default().Vendor("gitlab").Connector.Verify(context.Background(), connector.VerifyRequest{
		Method: store.AuthToken, Address: gitlabAddress(t, e.srv.BaseURL), Values: map[string]string{FieldToken: token}, HTTP: hc, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Connection{Vendor: "gitlab", Alias: alias, BaseURL: v.BaseURL, AuthMethod: store.AuthToken, Account: v.Account,
		Scopes: v.Scopes, TokenName: v.TokenName, ExpiresAt: v.ExpiresAt, ServerVersion: v.ServerVersion, Rotation: v.Rotation}
	c.SetSecret(store.SecretToken, store.Secret(token))
	if err := e.st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// rotatingToken adds a token of root's that may rotate, expiring in days.
func (e *rotEnv) rotatingToken(days int) string {
	exp := time.Now().AddDate(0, 0, days)
	return e.srv.Sandbox.AddToken(gitlabtest.RootID, "onramp", []string{"api", "admin_mode"}, &exp)
}

func (e *rotEnv) ask(t *testing.T, id string) {
	t.Helper()
	now := time.Now().UTC()
	if _, err := e.st.Update(context.Background(), id, func(c *store.Connection) error {
		c.Rotation.RequestedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *rotEnv) get(t *testing.T, id string) *store.Connection {
	t.Helper()
	c, err := e.st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *rotEnv) noFamilyRevoked(t *testing.T) {
	t.Helper()
	if n := e.srv.Sandbox.FamilyRevocations(); n != 0 {
		t.Fatalf("%d token families revoked", n)
	}
}

func TestRotateNowRotatesInTheSyncAndSyncsWithTheSuccessor(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{})
	old := e.rotatingToken(90)
	c := e.connect(t, "prod", old)
	if !c.CanRotate() || c.Rotation.Kind != "personal" || c.Rotation.LifetimeDays != 90 || c.Rotation.LeadDays != 7 || c.Rotation.TokenID == 0 {
		t.Fatalf("rotation: %+v", c.Rotation)
	}
	e.ask(t, c.ID)
	run, err := e.s.Sync(context.Background(), c.ID, nil)
	if err != nil || run.Status != store.RunSucceeded {
		t.Fatalf("sync: %v %+v", err, run)
	}
	after := e.get(t, c.ID)
	fresh := after.Secret(store.SecretToken).Reveal()
	switch {
	case fresh == old || !e.srv.Sandbox.TokenActive(fresh) || e.srv.Sandbox.TokenActive(old):
		t.Fatalf("old active %v, new active %v", e.srv.Sandbox.TokenActive(old), e.srv.Sandbox.TokenActive(fresh))
	case after.Rotation.InFlight != nil || after.Rotation.RequestedAt != nil || after.Rotation.LastRotated == nil || after.Rotation.TokenID == c.Rotation.TokenID:
		t.Fatalf("rotation after: %+v", after.Rotation)
	case connector.DaysLeft(*after.ExpiresAt, time.Now()) != 90:
		t.Fatalf("new expiry %s: not the same 90-day lifetime", after.ExpiresAt)
	case e.srv.Sandbox.Rotations() != 1:
		t.Fatalf("%d rotations", e.srv.Sandbox.Rotations())
	}
	e.noFamilyRevoked(t)
	if line := connector.RenewalLine(after.Rotation, after.ExpiresAt); !strings.HasPrefix(line, "itself on "+after.ExpiresAt.AddDate(0, 0, -7).Format("2006-01-02")) {
		t.Fatalf("renewal line %q", line)
	}
}

func TestAutomaticRotationComesLeadDaysBeforeExpiry(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{})
	old := e.rotatingToken(10)
	c := e.connect(t, "prod", old)
	now := time.Now()
	if !c.RotationDue(c.ExpiresAt.AddDate(0, 0, -7)) || c.RotationDue(c.ExpiresAt.AddDate(0, 0, -7).Add(-time.Second)) || c.RotationDue(now) {
		t.Fatalf("due at %s (expires %s)", c.RotatesAt(), c.ExpiresAt)
	}
	if _, err := e.s.Sync(context.Background(), c.ID, nil); err != nil || e.srv.Sandbox.Rotations() != 0 {
		t.Fatalf("rotated 10 days before expiry: %v %d", err, e.srv.Sandbox.Rotations())
	}
	// A longer lead (onramp rotate --auto 14d): due now, through the
	// expiry watcher, which asks for the sync that carries it.
	if _, err := e.st.Update(context.Background(), c.ID, func(c *store.Connection) error { c.Rotation.LeadDays = 14; return nil }); err != nil {
		t.Fatal(err)
	}
	// Its first sync out of the way, the next is a day off; the watcher
	// brings it forward.
	if err := e.st.StopSync(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	if job, _ := e.st.SyncJob(context.Background(), c.ID); job == nil || job.At.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("the next sync is not a day off: %+v", job)
	}
	e.s.checkExpiry(context.Background())
	if job, err := e.st.SyncJob(context.Background(), c.ID); err != nil || job == nil || job.At.After(time.Now().Add(time.Second)) {
		t.Fatalf("the watcher asked for no sync: %+v %v", job, err)
	}
	if _, err := e.s.Sync(context.Background(), c.ID, nil); err != nil || e.srv.Sandbox.Rotations() != 1 {
		t.Fatalf("not rotated with a 14-day lead: %v %d", err, e.srv.Sandbox.Rotations())
	}
	after := e.get(t, c.ID)
	if after.Secret(store.SecretToken).Reveal() == old || after.RotationDue(time.Now()) {
		t.Fatalf("old token still stored, or the successor due at once (expires %s)", after.ExpiresAt)
	}
	if days := connector.DaysLeft(*after.ExpiresAt, time.Now()); days != 28 {
		t.Fatalf("successor lives %d days; want twice the lead", days)
	}
	e.noFamilyRevoked(t)
}

func TestTokensThatCannotRotateSayWhy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		scopes  []string
		want    string
	}{
		{"read_api only", "", []string{"read_api", "read_user"}, "lacks the api scope"},
		{"self_rotate on 17.9", "17.9.0-ee", []string{"read_api", "self_rotate"}, ""},
		{"read_api on 17.9", "17.9.0-ee", []string{"read_api"}, "create one with read_api and self_rotate"},
		{"api on 16.9", "16.9.2-ee", []string{"api"}, "cannot rotate a token (16.10 can)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRotEnv(t, gitlabtest.Options{Version: tc.version})
			exp := time.Now().AddDate(0, 0, 30)
			c := e.connect(t, "x", e.srv.Sandbox.AddToken(gitlabtest.RootID, "t", tc.scopes, &exp))
			if c.Rotation == nil || !strings.Contains(c.Rotation.Cannot, tc.want) || (tc.want == "") != c.CanRotate() {
				t.Fatalf("rotation %+v", c.Rotation)
			}
		})
	}
}

func TestRefusedRotationKeepsTheTokenAndSaysWhy(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{MaxTokenLifetimeDays: 30})
	old := e.rotatingToken(20)
	c := e.connect(t, "prod", old)
	far := time.Now().UTC().AddDate(0, 0, 100).Truncate(24 * time.Hour)
	if _, err := e.st.Update(context.Background(), c.ID, func(c *store.Connection) error {
		now := time.Now()
		c.Rotation.RequestedAt, c.Rotation.Expires = &now, &far
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if run, err := e.s.Sync(context.Background(), c.ID, nil); err != nil || run.Status != store.RunSucceeded {
		t.Fatalf("sync after a refused rotation: %v", err)
	}
	after := e.get(t, c.ID)
	if after.Secret(store.SecretToken).Reveal() != old || !strings.Contains(after.Rotation.LastRefusal, "Expiration date must be before") ||
		after.Rotation.InFlight != nil || after.Rotation.RequestedAt != nil || after.State != store.StateConnected {
		t.Fatalf("after: %+v %s", after.Rotation, after.State)
	}
	if after.RotationDue(time.Now().AddDate(0, 0, 19)) {
		t.Fatal("a refused rotation is tried again automatically until someone changes something")
	}
	e.noFamilyRevoked(t)
}

// The answer is lost: a witness (root's other token) tells whether GitLab
// rotated it; without one the connection says it needs reconnecting. The
// old token is never sent again either way.
func TestLostAnswerIsSettledWithoutSendingTheToken(t *testing.T) {
	for _, tc := range []struct {
		name             string
		rotated, witness bool
		wantState        store.State
		wantReason       string
	}{
		{"not rotated, witness", false, true, store.StateConnected, ""},
		{"rotated, witness", true, true, store.StateNeedsReconnect, "GitLab rotated the token but its answer was lost"},
		{"rotated, no witness", true, false, store.StateNeedsReconnect, "nothing else can tell whether GitLab rotated the token"},
		{"not rotated, no witness", false, false, store.StateNeedsReconnect, "onramp rotate prod --resume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRotEnv(t, gitlabtest.Options{})
			old := e.rotatingToken(5)
			c := e.connect(t, "prod", old)
			if tc.witness {
				e.connect(t, "witness", gitlabtest.DemoTokens.Admin)
			}
			if tc.rotated {
				e.srv.Sandbox.SetRotateHold(gitlabtest.RotateHold{DropAnswer: true})
			} else {
				e.srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/personal_access_tokens/self/rotate", Drop: true})
			}
			e.ask(t, c.ID)
			_, err := e.s.Sync(context.Background(), c.ID, nil)
			after := e.get(t, c.ID)
			if after.State != tc.wantState || !strings.Contains(after.StateReason, tc.wantReason) || after.Rotation.InFlight != nil {
				t.Fatalf("state %s %q (sync: %v)", after.State, after.StateReason, err)
			}
			if tc.wantState == store.StateConnected && (err != nil || after.Secret(store.SecretToken).Reveal() != old) {
				t.Fatalf("the unrotated token goes on: %v", err)
			}
			if !tc.rotated && !e.srv.Sandbox.TokenActive(old) {
				t.Fatal("the old token was revoked")
			}
			e.noFamilyRevoked(t)
		})
	}
}

// A process that marked a rotation and died: the next holder of the sync
// finds the mark and settles it without sending the token.
func TestNextHolderSettlesADeadHoldersMark(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{})
	old := e.rotatingToken(5)
	c := e.connect(t, "prod", old)
	e.connect(t, "witness", gitlabtest.DemoTokens.Admin)
	if _, err := e.st.Update(context.Background(), c.ID, func(c *store.Connection) error {
		c.Rotation.InFlight = &store.RotationMark{Holder: "worker@gone:1:abc", Since: time.Now(), Old: store.Fingerprint(old)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Sync(context.Background(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
	// The witness said the token was never rotated: the mark is gone, and
	// (5 days before expiry, past the lead) the rotation ran again.
	after := e.get(t, c.ID)
	if after.Rotation.InFlight != nil || e.srv.Sandbox.Rotations() != 1 || after.Secret(store.SecretToken).Reveal() == old {
		t.Fatalf("after: %+v, %d rotations", after.Rotation, e.srv.Sandbox.Rotations())
	}
	e.noFamilyRevoked(t)
}

// Two workers race for one connection whose rotation is due: one rotation.
func TestTwoWorkersRotateOnce(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{Latency: 5 * time.Millisecond})
	c := e.connect(t, "prod", e.rotatingToken(5))
	ctx := context.Background()
	var workers []store.Worker
	for _, id := range []string{"worker@a:1", "worker@b:2"} {
		s := &Syncer{Store: e.st, Catalog: catalog.Default(), ExpiryEvery: 50 * time.Millisecond}
		w, err := s.RunWorker(ctx, store.WorkerConfig{ID: id, PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
	}
	defer func() {
		for _, w := range workers {
			w.Stop(ctx)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for e.srv.Sandbox.Rotations() == 0 || e.get(t, c.ID).Rotation.InFlight != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no rotation: %+v", e.get(t, c.ID).Rotation)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // both watchers look again
	if n := e.srv.Sandbox.Rotations(); n != 1 {
		t.Fatalf("%d rotations", n)
	}
	if got := e.get(t, c.ID); !e.srv.Sandbox.TokenActive(got.Secret(store.SecretToken).Reveal()) {
		t.Fatal("the stored token is not the active one")
	}
	e.noFamilyRevoked(t)
}

// A rotation asked for while a sync runs happens at its next checkpoint:
// page requests in flight finish first, the rest carry the successor, and
// the inventory is whole.
func TestRotationDuringASync(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{Users: 3000, Latency: 15 * time.Millisecond})
	old := e.rotatingToken(90)
	c := e.connect(t, "prod", old)
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := e.s.Sync(context.Background(), c.ID, func(p Progress) {
			if p.Pages == 3 {
				once.Do(func() { e.ask(t, c.ID) })
			}
		})
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after := e.get(t, c.ID)
	runs, _ := e.st.Runs(context.Background(), c.ID, 1)
	if e.srv.Sandbox.Rotations() != 1 || after.Secret(store.SecretToken).Reveal() == old || len(runs) != 1 || runs[0].Users != len(e.srv.Sandbox.People(0)) {
		t.Fatalf("%d rotations, run %+v", e.srv.Sandbox.Rotations(), runs)
	}
	e.noFamilyRevoked(t)
}

// Group and project access tokens rotate through their own addresses.
func TestGroupAndProjectTokensRotate(t *testing.T) {
	for _, kind := range []string{"group", "project"} {
		t.Run(kind, func(t *testing.T) {
			e := newRotEnv(t, gitlabtest.Options{})
			exp := time.Now().AddDate(0, 0, 60)
			old := e.srv.Sandbox.AddAccessToken(kind, 100, []string{"api"}, &exp)
			c := e.connect(t, kind, old)
			if c.Rotation.Kind != kind || c.Rotation.Of != 100 {
				t.Fatalf("rotation %+v", c.Rotation)
			}
			e.ask(t, c.ID)
			if _, err := e.s.Sync(context.Background(), c.ID, nil); err != nil {
				t.Fatal(err)
			}
			if got := e.get(t, c.ID); e.srv.Sandbox.Rotations() != 1 || !e.srv.Sandbox.TokenActive(got.Secret(store.SecretToken).Reveal()) || e.srv.Sandbox.TokenActive(old) {
				t.Fatalf("%d rotations; %+v", e.srv.Sandbox.Rotations(), got.Rotation)
			}
			e.noFamilyRevoked(t)
		})
	}
}

// A GitLab that cannot be reached (connection refused): the request never
// left, so the mark goes, nothing is recorded as refused, and the rotation
// is asked again once GitLab answers.
func TestUnreachedGitLabLeavesTheRotationAskedFor(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{})
	old := e.rotatingToken(60)
	c := e.connect(t, "prod", old)
	e.ask(t, c.ID)
	e.srv.Close()
	if _, err := e.s.Sync(context.Background(), c.ID, nil); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("sync against a closed port: %v", err)
	}
	after := e.get(t, c.ID)
	if after.Rotation.InFlight != nil || after.Rotation.RequestedAt == nil || after.Rotation.LastRefusal != "" || after.State != store.StateConnected {
		t.Fatalf("after: %+v %s %q", after.Rotation, after.State, after.StateReason)
	}
}

// A token revoked on GitLab, asked to rotate: GitLab's 401 marks the
// connection "needs reconnect" in its words, and the sync stops there.
func TestRevokedTokenAskedToRotate(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{})
	old := e.rotatingToken(60)
	c := e.connect(t, "prod", old)
	e.ask(t, c.ID)
	e.srv.Sandbox.Revoke(old)
	_, err := e.s.Sync(context.Background(), c.ID, nil)
	after := e.get(t, c.ID)
	if !errors.Is(err, ErrNeedsReconnect) || after.State != store.StateNeedsReconnect || !strings.Contains(after.StateReason, "revoked") ||
		!strings.Contains(after.Rotation.LastRefusal, "revoked") {
		t.Fatalf("sync: %v; %s %q %+v", err, after.State, after.StateReason, after.Rotation)
	}
	if runs, _ := e.st.Runs(context.Background(), c.ID, 1); len(runs) != 0 {
		t.Fatalf("a sync ran with a revoked token: %+v", runs)
	}
}

// One token stored under two aliases: rotating it for one would revoke it
// for the other, so it is not rotated, and both say why.
func TestSharedTokenIsNotRotated(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{})
	token := e.rotatingToken(60)
	c := e.connect(t, "prod", token)
	e.connect(t, "prod-again", token)
	e.ask(t, c.ID)
	if _, err := e.s.Sync(context.Background(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
	after := e.get(t, c.ID)
	if e.srv.Sandbox.Rotations() != 0 || !strings.Contains(after.Rotation.LastRefusal, "stored as prod-again too") || after.Rotation.RequestedAt != nil {
		t.Fatalf("%d rotations; %+v", e.srv.Sandbox.Rotations(), after.Rotation)
	}
}

// An instance whose maximum lifetime is now shorter than the token's:
// the automatic rotation is capped at the maximum GitLab names.
func TestAutomaticRotationIsCappedAtTheInstancesMaximum(t *testing.T) {
	e := newRotEnv(t, gitlabtest.Options{MaxTokenLifetimeDays: 30})
	old := e.rotatingToken(60) // made before the administrator lowered the maximum
	c := e.connect(t, "prod", old)
	e.ask(t, c.ID)
	if _, err := e.s.Sync(context.Background(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
	after := e.get(t, c.ID)
	if e.srv.Sandbox.Rotations() != 1 || after.Secret(store.SecretToken).Reveal() == old || after.Rotation.LastRefusal != "" {
		t.Fatalf("%d rotations; %+v", e.srv.Sandbox.Rotations(), after.Rotation)
	}
	if days := connector.DaysLeft(*after.ExpiresAt, time.Now()); days != 30 || after.Rotation.LifetimeDays != 30 {
		t.Fatalf("successor lives %d days (lifetime %d); the maximum is 30", days, after.Rotation.LifetimeDays)
	}
	e.noFamilyRevoked(t)
}
