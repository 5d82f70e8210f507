package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/cli"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// worker is a running `onramp worker` process.
type worker struct {
	cmd *exec.Cmd
	log *syncBuffer
}

func startWorker(t *testing.T, h *home, extra ...string) *worker {
	t.Helper()
	w := &worker{cmd: exec.Command(binary, append([]string{"worker"}, extra...)...), log: &syncBuffer{}}
	w.cmd.Env = h.env
	w.cmd.Stderr = w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopGently(w.cmd) })
	return w
}

// statusView is `onramp status --json`'s object for one connection (the
// documented cli.Status), with its sync's fields at hand.
type statusView struct {
	cli.Status
	Job       *store.SyncJob
	LastRun   *store.SyncRun
	Live      *flows.Progress
	Sync      string // the sync in words
	Schedule  string // "24h", "off"
	State     string
	Attention string
}

// statusOf reads `onramp status --json` for one alias.
func statusOf(t *testing.T, h *home, alias string) statusView {
	t.Helper()
	out, errOut, _ := runCLI(t, h, "", "status", alias, "--json")
	var rows []cli.Status
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("status %s: %v %s %s", alias, err, out, errOut)
	}
	r := rows[0]
	return statusView{Status: r, Job: r.Sync.Job, LastRun: r.Sync.LastRun, Live: r.Sync.Progress, Sync: r.Sync.Text,
		Schedule: r.Connection.SyncEvery, State: r.Connection.State, Attention: r.Attention}
}

func waitStatus(t *testing.T, h *home, alias, what string, ok func(statusView) bool) statusView {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		s := statusOf(t, h, alias)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened: %+v (job %+v, last %+v)", what, s, s.Job, s.LastRun)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func synced(want int) func(statusView) bool {
	return func(s statusView) bool {
		return s.LastRun != nil && s.LastRun.Status == store.RunSucceeded && s.LastRun.Users == want
	}
}

// `onramp connect` then `onramp worker`: the first sync was queued with the
// connection, the worker runs it, and status shows each step.
func TestE2EConnectThenWorker(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 1500}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod")
	if s := statusOf(t, h, "prod"); s.Job == nil || s.Job.State != store.JobQueued || !strings.Contains(s.Sync, "queued") {
		t.Fatalf("before the worker: %+v", s)
	}
	w := startWorker(t, h)
	want := len(srv.Sandbox.People(0))
	s := waitStatus(t, h, "prod", "the first sync", synced(want))
	s = waitStatus(t, h, "prod", "the next sync scheduled", func(s statusView) bool { return s.Job != nil && s.Job.State == store.JobScheduled })
	if !strings.Contains(s.Sync, "next sync at") || s.Schedule != "24h" {
		t.Fatalf("after the sync: %q %q", s.Sync, s.Schedule)
	}
	out, _, _ := runCLI(t, h, "", "status")
	if !strings.Contains(out, "next sync at") || !strings.Contains(out, "every 24h") {
		t.Fatalf("status text:\n%s", out)
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	w.cmd.Wait()
	if !strings.Contains(w.log.String(), "sync done") || !strings.Contains(w.log.String(), "stopped") {
		t.Fatalf("worker log:\n%s", w.log)
	}
}

// ctrl+c on SUCCESS: the wizard ends, and the sync it had no time to run is
// still queued; the next worker runs it.
func TestE2EFirstSyncSurvivesCtrlCOnSuccess(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: 600, Latency: 300 * time.Millisecond}).Start()
	defer srv.Close()
	h := newHome(t)
	tm := startTmux(t, h, 100, 30, binary)
	tm.waitFor("Which app do you want to connect?")
	tm.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	tm.waitFor("SUCCESS!")
	tm.keys("C-c")
	tm.waitFor("EXITED=")
	conns, _ := h.open(t).List(context.Background(), store.ListOptions{})
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	startWorker(t, h)
	waitStatus(t, h, conns[0].Alias, "the first sync", synced(len(srv.Sandbox.People(0))))
}

// Two workers; the one running a sync is SIGKILLed mid-way. River rescues
// the abandoned job and the other worker resumes the same run from its
// checkpoint: the exact inventory, nobody twice.
func TestE2EKilledWorkerIsRescued(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 3000, Latency: 150 * time.Millisecond}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
	fast := []string{"--rescue-after", "3s", "--slice", "2s"}
	workers := map[int]*worker{}
	for range 2 {
		w := startWorker(t, h, fast...)
		workers[w.cmd.Process.Pid] = w
	}
	s := waitStatus(t, h, "big", "the sync under way", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 4 })
	first := s.LastRun.ID
	// Kill whichever worker runs it ("syncing on worker@host:PID").
	pid, _ := strconv.Atoi(s.Sync[strings.LastIndex(s.Sync, ":")+1:])
	victim := workers[pid]
	if victim == nil {
		t.Fatalf("the sync runs on %q, not on one of the workers", s.Sync)
	}
	victim.cmd.Process.Kill()
	victim.cmd.Wait()
	delete(workers, pid)
	killedAt := statusOf(t, h, "big").LastRun.Users
	want := len(srv.Sandbox.People(0))
	s = waitStatus(t, h, "big", "the rescued sync", synced(want))
	if s.LastRun.ID != first {
		t.Fatalf("a new run (%d) instead of the killed one (%d)", s.LastRun.ID, first)
	}
	st := h.open(t)
	var ids []store.ID
	st.Users(context.Background(), first, func(u store.InventoryUser) error { ids = append(ids, u.ID); return nil })
	if len(ids) != want {
		t.Fatalf("%d users, want %d (killed at %d)", len(ids), want, killedAt)
	}
	for _, other := range workers {
		if !strings.Contains(other.log.String(), "sync done") {
			t.Fatalf("the other worker did not finish it:\n%s", other.log)
		}
	}
}

// Three workers, thirty connections synced every 2 s: each connection's
// syncs never overlap and come a period apart.
func TestE2EThreeWorkersThirtyConnections(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 40}).Start()
	defer srv.Close()
	h := newHome(t)
	st := h.open(t)
	for i := range 30 {
		c := &store.Connection{Vendor: "gitlab", Alias: "c" + string(rune('a'+i/26)) + string(rune('a'+i%26)), BaseURL: srv.BaseURL,
			AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee"}
		c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
		if err := st.Create(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if err := st.SetSchedule(context.Background(), c.ID, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		startWorker(t, h, "--concurrency", "2")
	}
	// Three syncs each (the first and two periodic ones); River's leader
	// moves due jobs every 5 s, so how long that takes varies: up to 25 s.
	conns, _ := st.List(context.Background(), store.ListOptions{})
	runsOf := map[string][]store.SyncRun{}
	for deadline := time.Now().Add(25 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		fewest := 10
		for _, c := range conns {
			runsOf[c.Alias], _ = st.Runs(context.Background(), c.ID, 10)
			fewest = min(fewest, len(runsOf[c.Alias]))
		}
		if fewest >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 25 s with a 2 s schedule, a connection has synced only %d times", fewest)
		}
	}
	for alias, runs := range runsOf {
		for i := 0; i+1 < len(runs); i++ { // newest first
			if runs[i+1].FinishedAt == nil {
				t.Fatalf("%s: two runs at once", alias)
			}
			if gap := runs[i].StartedAt.Sub(*runs[i+1].FinishedAt); gap < 2*time.Second {
				t.Fatalf("%s: runs %s apart, inside the period", alias, gap)
			}
		}
	}
	ids := make([]string, 0, len(runsOf))
	for alias := range runsOf {
		c, _ := st.Find(context.Background(), "gitlab", alias)
		ids = append(ids, c.ID)
	}
	if jobs, _ := st.SyncJobsOf(context.Background(), ids); len(jobs) != 30 {
		t.Fatalf("%d unfinished jobs for 30 connections", len(jobs))
	}
}

// `onramp sync ALIAS --stop` from another process stops a worker's sync at a
// checkpoint; `onramp sync ALIAS` follows a sync another process runs.
func TestE2ESyncStopFromAnotherProcess(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 3000, Latency: 100 * time.Millisecond}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
	startWorker(t, h)
	waitStatus(t, h, "big", "the sync under way", func(s statusView) bool {
		return s.Live != nil && s.Live.Pages >= 2 && strings.HasPrefix(s.Sync, "syncing on worker@")
	})
	if _, e, c := runCLI(t, h, "", "sync", "big", "--stop"); c != 0 || !strings.Contains(e, "stops at its next checkpoint") {
		t.Fatalf("--stop: %d %s", c, e)
	}
	s := waitStatus(t, h, "big", "stopped", func(s statusView) bool { return s.LastRun.Status == store.RunStopped })
	if s.LastRun.Users >= len(srv.Sandbox.People(0)) {
		t.Fatal("stopped only at the end")
	}
	// Sync now: the worker (or this command) resumes it; the command follows it.
	out, e, c := runCLI(t, h, "", "sync", "big", "--json")
	if c != 0 || !strings.Contains(out, `"status":"succeeded"`) {
		t.Fatalf("sync: %d %s %s", c, out, e)
	}
}

// With a worker process: a 429 storm snoozes the sync (not failed), and a
// token that died while its sync waited (revoked) ends it after one try
// with the connection needing a reconnect — no retry loop. (An expired one:
// TestRejectedCredentialIsNotRetried in flows.)
func TestE2EWorkerRateLimitAndExpiredToken(t *testing.T) {
	storm := gitlabtest.New(gitlabtest.Options{Users: 300}).Start()
	defer storm.Close()
	plain := gitlabtest.New(gitlabtest.Options{Users: 300}).Start()
	defer plain.Close()
	h := newHome(t)
	for alias, srv := range map[string]*gitlabtest.Server{"storm": storm, "old": plain} {
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, alias)
	}
	// "old" is revoked while its sync waits; "storm" meets a rate limit.
	st := h.open(t)
	old, _ := st.Find(context.Background(), "gitlab", "old")
	plain.Sandbox.Revoke(old.Secret(store.SecretToken).Reveal())
	storm.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 429, RetryAfter: 300, Times: 1000})
	startWorker(t, h)
	s := waitStatus(t, h, "storm", "snoozed", func(s statusView) bool { return s.Job != nil && s.Job.State == store.JobSnoozed })
	if !strings.Contains(s.Sync, "snoozed until") || s.Attention != "" || s.LastRun.Status == store.RunFailed {
		t.Fatalf("rate limit: %q, attention %q, last %+v", s.Sync, s.Attention, s.LastRun)
	}
	o := waitStatus(t, h, "old", "needs reconnect", func(s statusView) bool { return s.State == string(store.StateNeedsReconnect) })
	if o.Job != nil {
		t.Fatalf("a refused credential still has a job: %+v", o.Job)
	}
	time.Sleep(1500 * time.Millisecond)
	if runs, _ := st.Runs(context.Background(), old.ID, 10); len(runs) != 1 {
		t.Fatalf("the refused credential was tried %d times", len(runs))
	}
	if _, e, c := runCLI(t, h, "", "sync", "old"); c != 1 || !strings.Contains(e, "needs to be reconnected") || !strings.Contains(e, "onramp reconnect old") {
		t.Fatalf("sync of a connection needing a reconnect: %d %s", c, e)
	}
}

// stopGently ends a long-running command as systemd would (SIGTERM, then
// SIGKILL after 10 s), so a -cover binary writes what it reached.
func stopGently(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}
