package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// Liveness: a sync whose process dies, freezes or is interrupted is taken
// over in seconds, never written twice, and `onramp sync` says what it is
// doing. Each test runs on both stores.

func forBothStores(t *testing.T, test func(t *testing.T, h *home)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newHome(t)) })
	t.Run("postgres", func(t *testing.T) {
		test(t, teamHome(t, pgtest.Database(t), "printf '%s' "+strings.Repeat("L", 43)+"="))
	})
}

// syncProc is a running `onramp sync ALIAS --json`, its events read as
// they come.
type syncProc struct {
	cmd    *exec.Cmd
	events chan flows.Progress
	stderr *syncBuffer
}

func startSync(t *testing.T, h *home, alias string) *syncProc {
	t.Helper()
	p := &syncProc{cmd: exec.Command(binary, "sync", alias, "--json"), events: make(chan flows.Progress, 1000), stderr: &syncBuffer{}}
	p.cmd.Env = h.env
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e flows.Progress
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				p.events <- e
			}
		}
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// waitPages reads events until the sync has saved pages pages.
func (p *syncProc) waitPages(t *testing.T, pages int) flows.Progress {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-p.events:
			if !ok {
				t.Fatalf("onramp sync ended before %d pages:\n%s", pages, p.stderr)
			}
			if e.Pages >= pages {
				return e
			}
		case <-deadline:
			t.Fatalf("no page %d within a minute:\n%s", pages, p.stderr)
		}
	}
}

// inventoryIDs reads a finished run's users: their ids, each once.
func inventoryIDs(t *testing.T, h *home, runID int64) map[int64]int {
	t.Helper()
	seen := map[int64]int{}
	err := h.open(t).Users(context.Background(), runID, func(u store.InventoryUser) error {
		id, _ := strconv.ParseInt(string(u.ID), 10, 64)
		seen[id]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

func exactInventory(t *testing.T, h *home, s statusView, want int) {
	t.Helper()
	if s.LastRun == nil || s.LastRun.Status != store.RunSucceeded || s.LastRun.Users != want {
		t.Fatalf("last run %+v, want %d users", s.LastRun, want)
	}
	ids := inventoryIDs(t, h, s.LastRun.ID)
	if len(ids) != want {
		t.Fatalf("%d users stored, want %d", len(ids), want)
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return code, time.Since(start)
	case <-time.After(within):
		t.Fatalf("%v still running %s later", cmd.Args, within)
	}
	return 0, 0
}

// syncKilledMidway connects "big" to a sandbox of 3,000 users answering
// with latency, and SIGKILLs an `onramp sync` of it once pages are saved;
// it gives the sandbox (closed with the test) and the last event seen.
func syncKilledMidway(t *testing.T, h *home, latency time.Duration, pages int) (*gitlabtest.Server, flows.Progress) {
	t.Helper()
	srv := gitlabtest.New(gitlabtest.Options{Users: 3000, Latency: latency}).Start()
	t.Cleanup(srv.Close)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
	p := startSync(t, h, "big")
	at := p.waitPages(t, pages)
	p.cmd.Process.Kill()
	p.cmd.Wait()
	return srv, at
}

func pidOf(sync string) int {
	pid, _ := strconv.Atoi(sync[strings.LastIndex(sync, ":")+1:])
	return pid
}

// `onramp sync` SIGKILLed mid-sync: the next `onramp sync` takes it over at
// once, says so, and finishes the same run exactly.
func TestE2EKilledSyncIsTakenOverByTheNext(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv, at := syncKilledMidway(t, h, 80*time.Millisecond, 4)
		if s := statusOf(t, h, "big"); s.Job == nil || !s.Job.HolderGone || !strings.Contains(s.Sync, "is gone") {
			t.Fatalf("after the kill: %q %+v", s.Sync, s.Job)
		}
		// Nobody runs to take it over: status says so, and exits 1.
		if _, errOut, code := runCLI(t, h, "", "status", "big"); code != 1 || !strings.Contains(errOut, "died running its sync and no worker runs") {
			t.Fatalf("status after the kill: exit %d: %s", code, errOut)
		}
		start := time.Now()
		out, errOut, code := runCLI(t, h, "", "sync", "big")
		if code != 0 || !strings.Contains(errOut, "is gone: taking the sync over here") || !strings.Contains(out, "✓ Synced big") {
			t.Fatalf("exit %d after %s:\n%s\n%s", code, time.Since(start), out, errOut)
		}
		s := statusOf(t, h, "big")
		if s.LastRun.ID != at.RunID {
			t.Fatalf("a new run %d instead of resuming %d", s.LastRun.ID, at.RunID)
		}
		exactInventory(t, h, s, len(srv.Sandbox.People(0)))
	})
}

// `onramp sync ALIAS --json | head -1`: SIGPIPE ends the runner like ctrl+c:
// stopped at its checkpoint, the job back in the shared queue, which a
// worker then finishes exactly.
func TestE2ESyncIntoAClosedPipeReleasesTheJob(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv := gitlabtest.New(gitlabtest.Options{Users: 2000, Latency: 80 * time.Millisecond}).Start()
		defer srv.Close()
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
		cmd := exec.Command("sh", "-c", shellQuote(binary)+" sync big --json | (head -c 1 >/dev/null; sleep 1)")
		cmd.Env = h.env
		errb := &syncBuffer{}
		cmd.Stderr = errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitExit(t, cmd, 20*time.Second)
		s := statusOf(t, h, "big")
		if s.Job == nil || s.Job.State != store.JobQueued || s.Job.Attempt != 0 || s.LastRun == nil || s.LastRun.Status != store.RunStopped {
			t.Fatalf("after the pipe closed: %q job %+v run %+v\n%s", s.Sync, s.Job, s.LastRun, errb)
		}
		if !strings.Contains(errb.String(), "goes back to the queue") {
			t.Fatalf("stderr:\n%s", errb)
		}
		startWorker(t, h)
		s = waitStatus(t, h, "big", "the released sync", synced(len(srv.Sandbox.People(0))))
		exactInventory(t, h, s, len(srv.Sandbox.People(0)))
	})
}

// `onramp sync one --json` runs one's job and no other: every event is
// one's, the last is one's outcome, and two's first sync still waits,
// untouched.
func TestE2ESyncRunsOnlyItsConnection(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv := gitlabtest.New(gitlabtest.Options{Users: 300}).Start()
		defer srv.Close()
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "one")
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "two")
		one, two := statusOf(t, h, "one"), statusOf(t, h, "two")
		out, errOut, code := runCLI(t, h, "", "sync", "one", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var last flows.Progress
		for _, l := range lines {
			if err := json.Unmarshal([]byte(l), &last); err != nil || last.ConnectionID != one.Connection.ID {
				t.Fatalf("an event not of one (%s): %s", one.Connection.ID, l)
			}
		}
		if last.Status != store.RunSucceeded {
			t.Fatalf("last line: %+v", last)
		}
		after := statusOf(t, h, "two")
		if after.LastRun != nil || after.Job == nil || after.Job.ID != two.Job.ID || after.Job.State != store.JobQueued || after.Job.Attempt != 0 {
			t.Fatalf("two was touched: job %+v run %+v", after.Job, after.LastRun)
		}
	})
}

// A worker frozen (SIGSTOP) past its lease: another worker takes the sync
// over; thawed (SIGCONT), the frozen one finds its writes refused and stops.
// The inventory is exact, nobody twice, and stays finished.
func TestE2EFrozenWorkerIsFenced(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv := gitlabtest.New(gitlabtest.Options{Users: 4000, Latency: 80 * time.Millisecond}).Start()
		defer srv.Close()
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
		lease := []string{"--lease", "2s"}
		a := startWorker(t, h, lease...)
		s := waitStatus(t, h, "big", "the sync under way on A", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 3 })
		if pidOf(s.Sync) != a.cmd.Process.Pid {
			t.Fatalf("runs on %q", s.Sync)
		}
		freeze(t, h, a.cmd)
		b := startWorker(t, h, lease...)
		frozenAt := time.Now()
		s = waitStatus(t, h, "big", "B took it over", func(s statusView) bool {
			return s.Job != nil && s.Job.State == store.JobRunning && pidOf(s.Job.Worker) == b.cmd.Process.Pid
		})
		took := time.Since(frozenAt)
		if s.Job.TakenFrom == "" || pidOf(s.Job.TakenFrom) != a.cmd.Process.Pid {
			t.Fatalf("taken from %q", s.Job.TakenFrom)
		}
		waitStatus(t, h, "big", "B's progress", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 8 })
		a.cmd.Process.Signal(syscall.SIGCONT)
		want := len(srv.Sandbox.People(0))
		s = waitStatus(t, h, "big", "the sync finished", synced(want))
		exactInventory(t, h, s, want)
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(a.log.String(), "lease had lapsed") || !strings.Contains(a.log.String(), "this one stops without writing") {
			if time.Now().After(deadline) {
				t.Fatalf("the thawed worker never noticed:\n%s", a.log)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // whatever the thawed worker still had in hand
		s = statusOf(t, h, "big")
		exactInventory(t, h, s, want)
		if strings.Contains(b.log.String(), "taken over by another process") {
			t.Fatalf("the live holder was fenced:\n%s", b.log)
		}
		t.Logf("taken over %s after the freeze (lease 2 s)", took.Round(100*time.Millisecond))
	})
}

// `onramp sync` on a sync a worker runs follows it, saying who runs it;
// ctrl+c ends the follower at once and the sync goes on.
func TestE2EFollowerInterrupted(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv := gitlabtest.New(gitlabtest.Options{Users: 4000, Latency: 100 * time.Millisecond}).Start()
		defer srv.Close()
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
		w := startWorker(t, h)
		waitStatus(t, h, "big", "the sync under way", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 2 })
		p := startSync(t, h, "big")
		e := p.waitPages(t, 3)
		if e.Worker == "" || pidOf(e.Worker) != w.cmd.Process.Pid {
			t.Fatalf("event without its worker: %+v", e)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(p.stderr.String(), "following it here") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGINT)
		code, took := waitExit(t, p.cmd, 5*time.Second)
		if code != 130 || took > 2*time.Second || !strings.Contains(p.stderr.String(), "stopped following") {
			t.Fatalf("exit %d after %s:\n%s", code, took, p.stderr)
		}
		if s := statusOf(t, h, "big"); s.Job == nil || s.Job.State != store.JobRunning || pidOf(s.Job.Worker) != w.cmd.Process.Pid {
			t.Fatalf("the sync did not go on: %+v", s.Job)
		}
	})
}

// --stop when the process running the sync is dead: it stops at once, at
// its checkpoint, and the next periodic sync is scheduled.
func TestE2EStopWithADeadHolder(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		syncKilledMidway(t, h, 100*time.Millisecond, 3)
		_, errOut, code := runCLI(t, h, "", "sync", "big", "--stop")
		if code != 0 || !strings.Contains(errOut, "is gone") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		s := statusOf(t, h, "big")
		if s.LastRun.Status != store.RunStopped || s.Job == nil || s.Job.State != store.JobScheduled || s.Attention != "" {
			t.Fatalf("after --stop: %q job %+v run %+v attention %q", s.Sync, s.Job, s.LastRun, s.Attention)
		}
	})
}

// The wizard SIGKILLed while its worker runs the first sync: a worker
// started afterwards takes it over at once and finishes it exactly.
func TestE2EKilledWizardSyncIsTakenOver(t *testing.T) {
	forBothStores(t, testKilledWizardSyncIsTakenOver)
}

func testKilledWizardSyncIsTakenOver(t *testing.T, h *home) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: 3000, Latency: 100 * time.Millisecond}).Start()
	defer srv.Close()
	tm := startTmux(t, h, 100, 30, binary)
	tm.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	tm.waitFor("SUCCESS!")
	tm.keys("Enter")
	tm.waitFor("Integrations", "⟳ syncing")
	alias := storeConns(t, h)[0].Alias
	s := waitStatus(t, h, alias, "the wizard's sync under way", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 3 })
	if !strings.HasPrefix(s.Job.Worker, "wizard@") {
		t.Fatalf("runs on %q", s.Job.Worker)
	}
	syscall.Kill(pidOf(s.Job.Worker), syscall.SIGKILL)
	tm.waitFor("EXITED=")
	start := time.Now()
	w := startWorker(t, h)
	s = waitStatus(t, h, alias, "the worker took it over", func(s statusView) bool {
		return s.Job != nil && s.Job.State == store.JobRunning && pidOf(s.Job.Worker) == w.cmd.Process.Pid
	})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("taken over %s after the worker started", took)
	}
	want := len(srv.Sandbox.People(0))
	exactInventory(t, h, waitStatus(t, h, alias, "the sync finished", synced(want)), want)
}

// Three workers, thirty connections, one worker SIGKILLed (and replaced)
// every few seconds: every connection ends with its exact inventory.
func TestE2EWorkersKilledWhileThirtyConnectionsSync(t *testing.T) {
	forBothStores(t, func(t *testing.T, h *home) {
		srv := gitlabtest.New(gitlabtest.Options{Users: 2500, Latency: 60 * time.Millisecond}).Start()
		defer srv.Close()
		var aliases []string
		for i := range 30 {
			a := fmt.Sprintf("c%02d", i)
			connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, a)
			aliases = append(aliases, a)
		}
		workers := []*worker{startWorker(t, h), startWorker(t, h), startWorker(t, h)}
		want := len(srv.Sandbox.People(0))
		done := func() bool {
			out, _, _ := runCLI(t, h, "", "status", "--json")
			var rows []statusRow
			json.Unmarshal([]byte(out), &rows)
			n := 0
			for _, r := range rows {
				if r.Sync.LastRun != nil && r.Sync.LastRun.Status == store.RunSucceeded && r.Sync.LastRun.Users == want {
					n++
				}
			}
			return n == len(aliases)
		}
		kills := 0
		deadline := time.Now().Add(4 * time.Minute)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("not all connections synced after %d kills", kills)
			}
			if kills < 8 {
				time.Sleep(1200 * time.Millisecond)
				victim := workers[kills%len(workers)]
				victim.cmd.Process.Kill()
				victim.cmd.Wait()
				workers[kills%len(workers)] = startWorker(t, h)
				kills++
				continue
			}
			time.Sleep(300 * time.Millisecond)
		}
		for _, a := range aliases {
			exactInventory(t, h, statusOf(t, h, a), want)
		}
		if kills < 3 {
			t.Fatalf("only %d kills before every sync finished: the test did not kill enough", kills)
		}
		t.Logf("%d kills", kills)
	})
}

// statusRow is the part of `status --json` the loops above read.
type statusRow struct {
	Sync struct {
		LastRun *store.SyncRun `json:"last_run"`
	} `json:"sync"`
}

// A worker on PostgreSQL listens for jobs (no "poll only" warning) and says
// that it stopped cleanly; a sync asked for starts without waiting for a
// poll, and SIGTERM gives the running sync back to the queue.
func TestE2EWorkerOnPostgresListensAndStopsCleanly(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 3000, Latency: 100 * time.Millisecond}).Start()
	defer srv.Close()
	h := teamHome(t, pgtest.Database(t), "printf '%s' "+strings.Repeat("P", 43)+"=")
	w := startWorker(t, h)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.log.String(), "working") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
	waitStatus(t, h, "big", "the sync under way", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 2 })
	w.cmd.Process.Signal(syscall.SIGTERM)
	if code, _ := waitExit(t, w.cmd, 30*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, w.log)
	}
	log := w.log.String()
	for _, bad := range []string{"poll only", "Hard stop", "cancelling all work"} {
		if strings.Contains(log, bad) {
			t.Fatalf("the log says %q:\n%s", bad, log)
		}
	}
	if !strings.Contains(log, "stopped cleanly") {
		t.Fatalf("no clean stop in the log:\n%s", log)
	}
	if s := statusOf(t, h, "big"); s.Job == nil || s.Job.State != store.JobQueued || s.Job.Attempt != 0 || s.LastRun.Status != store.RunStopped {
		t.Fatalf("after SIGTERM: %q job %+v run %+v", s.Sync, s.Job, s.LastRun)
	}
}

// freeze stops cmd (SIGSTOP) at a moment it does not hold SQLite's write
// lock. A process frozen inside a write transaction holds the lock until it
// thaws or dies — no other process can write meanwhile, and takeover waits
// for it (SQLite has one writer; the README says so) — which is not what
// these tests are about. PostgreSQL's stores are frozen at once.
func freeze(t *testing.T, h *home, cmd *exec.Cmd) {
	t.Helper()
	if strings.HasPrefix(h.store, "postgres") {
		cmd.Process.Signal(syscall.SIGSTOP)
		return
	}
	probe, err := sql.Open("sqlite", "file:"+h.store+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	for range 1000 {
		cmd.Process.Signal(syscall.SIGSTOP)
		tx, err := probe.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE: the write lock, or busy at once
		if err == nil {
			tx.Rollback()
			return
		}
		cmd.Process.Signal(syscall.SIGCONT)
		time.Sleep(3 * time.Millisecond)
	}
	t.Fatal("the process never let go of the store's write lock")
}
