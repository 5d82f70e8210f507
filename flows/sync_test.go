package flows

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/store"
)

type syncEnv struct {
	srv *gitlabtest.Server
	st  store.Backend
	opt store.Options
	id  string
	s   *Syncer
}

// newSyncEnv stores a token connection to a sandbox; base overrides the
// stored address (gitlab.com mode), reached through a dialer that always
// lands on the sandbox.
func newSyncEnv(t testing.TB, o gitlabtest.Options, token, base string) *syncEnv {
	srv := gitlabtest.New(o).Start()
	t.Cleanup(srv.Close)
	st, opt := openSyncStore(t)
	if base == "" {
		base = srv.BaseURL
	}
	c := &store.Connection{Vendor: "gitlab", Alias: "sync", BaseURL: base, AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee"}
	if o.Legacy {
		c.ServerVersion = o.Version
	}
	c.SetSecret(store.SecretToken, store.Secret(token))
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	s := &Syncer{Store: st, Catalog: catalog.Default()}
	if base != srv.BaseURL {
		s.NewHTTP = func(o httpx.Options) (*http.Client, error) {
			o.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
			return httpx.New(o)
		}
	}
	return &syncEnv{srv: srv, st: st, opt: opt, id: c.ID, s: s}
}

// openSyncStore opens a fresh store file, and the options a helper
// process reopens it with.
func openSyncStore(t testing.TB) (store.Backend, store.Options) {
	dir := t.TempDir()
	opt := store.Options{Path: filepath.Join(dir, "s.db"), ConfigDir: filepath.Join(dir, "cfg")}
	st, err := store.Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, opt
}

func (e *syncEnv) snapshot(t testing.TB, runID int64) []int64 {
	var ids []int64
	seen := map[int64]bool{}
	e.st.Users(context.Background(), runID, func(u store.InventoryUser) error {
		id, err := strconv.ParseInt(string(u.ID), 10, 64)
		if err != nil || seen[id] {
			t.Fatalf("user %q twice, or not GitLab's: %v", u.ID, err)
		}
		seen[id] = true
		ids = append(ids, id)
		return nil
	})
	return ids
}

func sameIDs(t testing.TB, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("inventory has %d users, the server %d (first difference near %v)", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []int64) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("index %d: %d vs %d", i, a[i], b[i])
		}
	}
	return "the end"
}

func TestSyncAdminView(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 2500}, gitlabtest.DemoTokens.Admin, "")
	var events []Progress
	run, err := e.s.Sync(context.Background(), e.id, func(p Progress) { events = append(events, p) })
	if err != nil {
		t.Fatal(err)
	}
	want := e.srv.Sandbox.People(0)
	sameIDs(t, e.snapshot(t, run.ID), want)
	if run.View != "admin" || run.Note != "" || run.Status != store.RunSucceeded || run.Pages != (len(want)+99)/100 {
		t.Fatalf("run %+v", run)
	}
	last := events[len(events)-1]
	if last.Status != store.RunSucceeded || len(last.Seats) != 1 || last.Seats[0].Plan != "ultimate" || *last.Seats[0].Used == 0 {
		t.Fatalf("last event %+v", last)
	}
	if len(events) < run.Pages+1 {
		t.Fatalf("%d events for %d pages", len(events), run.Pages)
	}
	var seats int
	e.st.Users(context.Background(), run.ID, func(u store.InventoryUser) error {
		if u.Seat != nil && *u.Seat {
			seats++
		}
		return nil
	})
	if seats == 0 {
		t.Fatal("no seat usage in the admin view")
	}
}

func TestSyncBasicViewSaysWhatIsMissing(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 1200, AdminMode: true}, gitlabtest.DemoTokens.NonAdmin, "")
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, e.snapshot(t, run.ID), e.srv.Sandbox.People(0))
	if run.View != "basic" || !strings.Contains(run.Note, "basic view") || !strings.Contains(run.Note, "license needs an administrator") {
		t.Fatalf("run %+v", run)
	}
}

func TestSyncGitLabComMode(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 600}, gitlabtest.DemoTokens.Admin, "http://gitlab.com")
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, e.snapshot(t, run.ID), e.srv.Sandbox.People(gitlabtest.RootID))
	seats, _ := e.st.Seats(context.Background(), run.ID)
	if run.View != "saas" || len(seats) != 2 || seats[0].Scope != "acme" {
		t.Fatalf("run %+v seats %+v", run, seats)
	}
}

func TestSyncLegacyOffsetPagination(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 700, Legacy: true, Version: "16.2.0-ee"}, gitlabtest.DemoTokens.Admin, "")
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, e.snapshot(t, run.ID), e.srv.Sandbox.People(0))
	if run.Total == nil || *run.Total != len(e.srv.Sandbox.People(0)) {
		t.Fatalf("offset total %v", run.Total)
	}
}

func TestSyncSurvivesFaults(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 1500}, gitlabtest.DemoTokens.Admin, "")
	sb := e.srv.Sandbox
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 429, RetryAfter: 1})
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 500, Times: 2})
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Drop: true})
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 502})
	start := time.Now()
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, e.snapshot(t, run.ID), sb.People(0))
	// 429, 500, 500, a dropped connection, 502: net/http itself may retry
	// the dropped idempotent GET on a reused connection, so 4 or 5.
	if run.Retries < 4 {
		t.Fatalf("retries %d, want at least 4", run.Retries)
	}
	if time.Since(start) < time.Second {
		t.Fatal("Retry-After not honoured")
	}
}

func TestSyncGivesUpOnAuthErrors(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 100}, gitlabtest.DemoTokens.Revoked, "")
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err == nil || !strings.Contains(err.Error(), "revoked") || run.Status != store.RunFailed || run.Retries != 0 {
		t.Fatalf("revoked token: %v %+v", err, run)
	}
	var give *store.GiveUpError
	if out := Outcome(context.Background(), context.Background(), err); !errors.As(out, &give) {
		t.Fatalf("a revoked token is retried: %v", out)
	}
	if c, _ := e.st.Get(context.Background(), e.id); c.State != store.StateNeedsReconnect {
		t.Fatalf("state %s", c.State)
	}
}

func TestSyncStopAndResume(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 2000, Latency: 10 * time.Millisecond}, gitlabtest.DemoTokens.Admin, "")
	ctx, cancel := context.WithCancel(context.Background())
	var stopped *store.SyncRun
	_, err := e.s.Sync(ctx, e.id, func(p Progress) {
		if p.Pages == 5 {
			cancel()
		}
	})
	if err == nil || !strings.Contains(err.Error(), "resumes from page") {
		t.Fatalf("stop: %v", err)
	}
	runs, _ := e.st.Runs(context.Background(), e.id, 1)
	stopped = &runs[0]
	if stopped.Status != store.RunStopped {
		t.Fatalf("status %s", stopped.Status)
	}
	var first Progress
	run, err := e.s.Sync(context.Background(), e.id, func(p Progress) {
		if first.RunID == 0 {
			first = p
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Resumed || run.ID != stopped.ID || first.Pages < 5 {
		t.Fatalf("not resumed: %+v", first)
	}
	sameIDs(t, e.snapshot(t, run.ID), e.srv.Sandbox.People(0))
}

// TestSyncSIGKILLThenResume kills a syncing process mid-run; the next sync
// resumes from the checkpoint: nobody duplicated, nobody missing.
func TestSyncSIGKILLThenResume(t *testing.T) {
	e := newSyncEnv(t, gitlabtest.Options{Users: 6000, Latency: 15 * time.Millisecond}, gitlabtest.DemoTokens.Admin, "")
	pages := func() int {
		runs, _ := e.st.Runs(context.Background(), e.id, 1)
		if len(runs) == 0 {
			return 0
		}
		return runs[0].Pages
	}
	for round := 0; round < 3; round++ {
		before := pages()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ONRAMP_SYNC_HELPER=1", "ONRAMP_TEST_STORE="+e.opt.Path, "ONRAMP_TEST_CONFIG="+e.opt.ConfigDir, "ONRAMP_TEST_ID="+e.id)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it mid-sync: a few pages after where the last one stopped.
		deadline := time.Now().Add(10 * time.Second)
		for pages() < before+3+round && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	runs, _ := e.st.Runs(context.Background(), e.id, 5)
	if len(runs) != 1 || runs[0].Status != store.RunRunning || runs[0].Pages == 0 {
		t.Fatalf("after kills: %+v", runs)
	}
	run, err := e.s.Sync(context.Background(), e.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != runs[0].ID {
		t.Fatal("the killed run was not resumed")
	}
	sameIDs(t, e.snapshot(t, run.ID), e.srv.Sandbox.People(0))
	if run.Users != len(e.srv.Sandbox.People(0)) {
		t.Fatalf("counted %d users", run.Users)
	}
}

func syncHelper() int {
	st, err := store.Open(context.Background(), store.Options{Path: os.Getenv("ONRAMP_TEST_STORE"), ConfigDir: os.Getenv("ONRAMP_TEST_CONFIG")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := &Syncer{Store: st, Catalog: catalog.Default()}
	if _, err := s.Sync(context.Background(), os.Getenv("ONRAMP_TEST_ID"), nil); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Either vendor's misconfiguration (GitLab: a page link off its
// external_url) ends the sync at once, unretried.
func TestMisconfigurationIsFinal(t *testing.T) {
	ctx := context.Background()
	err := Outcome(ctx, ctx, &gitlab.Error{Kind: gitlab.KindRedirect, Host: "gitlab.example.com", Detail: "a page link pointed outside https://gitlab.example.com/sub"})
	var final *store.FinalError
	if !errors.As(err, &final) {
		t.Fatalf("%T %v", err, err)
	}
	if err := Outcome(ctx, ctx, &gitlab.Error{Kind: gitlab.KindServer, Status: 502}); errors.As(err, &final) {
		t.Fatal("a server error made final")
	}
}

// A stored address its vendor no longer reads fails the sync with the
// vendor's words, rather than syncing somewhere else.
func TestUnreadableStoredAddressFailsTheSync(t *testing.T) {
	st, _ := openSyncStore(t)
	c := &store.Connection{Vendor: "gitlab", Alias: "odd", BaseURL: "ftp://gitlab.example.com", AuthMethod: store.AuthToken}
	c.SetSecret(store.SecretToken, "glpat-x")
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	s := &Syncer{Store: st, Catalog: catalog.Default()}
	run, err := s.Sync(context.Background(), c.ID, nil)
	if err == nil || run == nil || run.Status != store.RunFailed || !strings.Contains(run.Error, "ftp") {
		t.Fatalf("run %+v, err %v", run, err)
	}
}
