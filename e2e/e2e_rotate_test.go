package e2e

import (
	"context"
	"database/sql"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// `onramp rotate`: now, automatic on and off, a refusal in GitLab's
// words, a token that cannot rotate saying why; no family revoked.
func TestE2ERotateCommand(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{MaxTokenLifetimeDays: 60}).Start()
	defer srv.Close()
	h := newHome(t)
	out, errOut, code := runCLI(t, h, gitlabtest.DemoTokens.Rotating, "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "prod")
	if code != 0 || !strings.Contains(out+errOut, "Renews") || !strings.Contains(out+errOut, "7 days before it expires") {
		t.Fatalf("connect: %d %s %s", code, out, errOut)
	}
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "readonly")

	_, errOut, code = runCLI(t, h, "", "rotate", "prod")
	if code != 0 || !strings.Contains(errOut, "Rotated: prod's new token expires on") {
		t.Fatalf("rotate: %d %s", code, errOut)
	}
	if srv.Sandbox.Rotations() != 1 || srv.Sandbox.TokenActive(gitlabtest.DemoTokens.Rotating) {
		t.Fatalf("%d rotations; old token active: %v", srv.Sandbox.Rotations(), srv.Sandbox.TokenActive(gitlabtest.DemoTokens.Rotating))
	}
	if s := statusOf(t, h, "prod"); s.LastRun == nil || s.LastRun.Status != store.RunSucceeded || s.State != "connected" {
		t.Fatalf("the sync after the rotation: %+v %s", s.LastRun, s.State)
	}

	_, errOut, code = runCLI(t, h, "", "rotate", "prod", "--expires", "400d")
	if code != 1 || !strings.Contains(errOut, "was not rotated: GitLab refused to rotate the token: 400 Bad request - Expiration date must be before") {
		t.Fatalf("rotate beyond the maximum: %d %s", code, errOut)
	}
	if _, errOut, code = runCLI(t, h, "", "rotate", "prod", "--auto", "off"); code != 0 || !strings.Contains(errOut, "automatic rotation is off") {
		t.Fatalf("--auto off: %d %s", code, errOut)
	}
	if _, errOut, code = runCLI(t, h, "", "rotate", "prod", "--auto", "14d"); code != 0 || !strings.Contains(errOut, "14 days before it expires") {
		t.Fatalf("--auto 14d: %d %s", code, errOut)
	}
	if _, errOut, code = runCLI(t, h, "", "rotate", "readonly"); code != 1 || !strings.Contains(errOut, "cannot renew itself: the token lacks the api scope") {
		t.Fatalf("a token that cannot rotate: %d %s", code, errOut)
	}
	if n := srv.Sandbox.FamilyRevocations(); n != 0 {
		t.Fatalf("%d families revoked", n)
	}
}

// SIGKILL at each point of the protocol: the next `onramp sync` leaves a
// connection that works, or one that says why it needs reconnecting —
// never a family revoked by onramp.
func TestE2ERotationSurvivesSIGKILL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hold    gitlabtest.RotateHold
		witness bool
		// killWhen says when the rotating process is killed.
		killWhen  func(t *testing.T, h *home, srv *gitlabtest.Server) func() func()
		wantState string
		wantWords string
	}{
		{"before the request", gitlabtest.RotateHold{Before: 20 * time.Second}, true, afterMark, "connected", ""},
		{"after GitLab rotated, before the answer", gitlabtest.RotateHold{After: 20 * time.Second}, true, afterRotation, "needs_reconnect", "GitLab rotated the token but"},
		{"after the answer, before the commit", gitlabtest.RotateHold{After: time.Second}, false, commitBlocked, "needs_reconnect", "nothing else can tell whether GitLab rotated the token"},
		{"after the commit", gitlabtest.RotateHold{}, false, afterCommit, "connected", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := gitlabtest.New(gitlabtest.Options{Users: 200}).Start()
			defer srv.Close()
			h := newHome(t)
			connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Rotating, "prod")
			if tc.witness {
				connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "root")
			}
			srv.Sandbox.SetRotateHold(tc.hold)
			before := tc.killWhen(t, h, srv)
			cmd := exec.Command(binary, "rotate", "prod")
			cmd.Env = h.env
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			afterKill := before() // waits for the point
			cmd.Process.Kill()
			<-done
			afterKill()
			srv.Sandbox.SetRotateHold(gitlabtest.RotateHold{})

			_, errOut, _ := runCLI(t, h, "", "sync", "prod")
			s := statusOf(t, h, "prod")
			if s.State != tc.wantState || !strings.Contains(s.Connection.Reason, tc.wantWords) {
				t.Fatalf("after: %s %q (sync said %s)", s.State, s.Connection.Reason, errOut)
			}
			if tc.wantState == "connected" && (s.LastRun == nil || s.LastRun.Status != store.RunSucceeded) {
				t.Fatalf("no working sync after: %+v %s", s.LastRun, errOut)
			}
			if n := srv.Sandbox.FamilyRevocations(); n != 0 {
				t.Fatalf("%d families revoked", n)
			}
		})
	}
}

// connection reads alias from the store, as another process would.
func connection(t *testing.T, h *home, alias string) *store.Connection {
	st := h.open(t)
	defer st.Close()
	c, err := st.Find(context.Background(), "gitlab", alias)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func nothing() {}

func afterMark(t *testing.T, h *home, srv *gitlabtest.Server) func() func() {
	return func() func() {
		waitFor(t, "the request held by GitLab", func() bool { return srv.Sandbox.RotateRequests() == 1 })
		return nothing
	}
}

func afterRotation(t *testing.T, h *home, srv *gitlabtest.Server) func() func() {
	return func() func() {
		waitFor(t, "the rotation", func() bool { return srv.Sandbox.Rotations() == 1 })
		return nothing
	}
}

func afterCommit(t *testing.T, h *home, srv *gitlabtest.Server) func() func() {
	return func() func() {
		waitFor(t, "the commit", func() bool { r := connection(t, h, "prod").Rotation; return r != nil && r.LastRotated != nil })
		return nothing
	}
}

// commitBlocked holds the store's write lock once the mark is committed,
// so the answer cannot be: the process dies with the successor in memory.
func commitBlocked(t *testing.T, h *home, srv *gitlabtest.Server) func() func() {
	return func() func() {
		waitFor(t, "the mark", func() bool { r := connection(t, h, "prod").Rotation; return r != nil && r.InFlight != nil })
		db, err := sql.Open("sqlite", h.store)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the rotation", func() bool { return srv.Sandbox.Rotations() == 1 })
		time.Sleep(1500 * time.Millisecond) // the answer arrives; its commit waits for the lock
		return func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		}
	}
}

// A worker frozen mid-sync past its lease; another takes the sync over and
// rotates the token in it; thawed, the frozen worker must not send the old
// token (GitLab would revoke the successor): its requests ask its lease
// first and it stops. (Whether a thawed worker would have sent one without
// that is a race this test cannot force: it passed 2 of 2 runs with the
// guard taken out. store's TestLeaseHeld pins the guard itself.)
func TestE2EFrozenWorkerSendsNoRotatedToken(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv := gitlabtest.New(gitlabtest.Options{Users: 4000, Latency: 80 * time.Millisecond}).Start()
		defer srv.Close()
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Rotating, "big")
		lease := []string{"--lease", "2s"}
		a := startWorker(t, h, lease...)
		waitStatus(t, h, "big", "the sync under way on A", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 3 })
		freeze(t, h, a.cmd)
		b := startWorker(t, h, lease...)
		waitStatus(t, h, "big", "B took it over", func(s statusView) bool {
			return s.Job != nil && s.Job.State == store.JobRunning && pidOf(s.Job.Worker) == b.cmd.Process.Pid && s.Live != nil
		})
		if _, errOut, code := runCLI(t, h, "", "rotate", "big"); code != 0 || !strings.Contains(errOut, "Rotated") {
			t.Fatalf("rotate: %d %s", code, errOut)
		}
		a.cmd.Process.Signal(syscall.SIGCONT)
		waitFor(t, "the thawed worker stopping", func() bool { return strings.Contains(a.log.String(), "this one stops without writing") })
		time.Sleep(time.Second) // whatever it still had in hand
		if n := srv.Sandbox.FamilyRevocations(); n != 0 || srv.Sandbox.Rotations() != 1 {
			t.Fatalf("%d families revoked, %d rotations; A's log:\n%s", n, srv.Sandbox.Rotations(), a.log)
		}
		if c := connection(t, h, "big"); !srv.Sandbox.TokenActive(c.Secret(store.SecretToken).Reveal()) {
			t.Fatal("the stored token is not active")
		}
	})
}
