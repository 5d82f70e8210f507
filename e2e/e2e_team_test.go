package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// teamHome is one machine of a team: its own HOME and config (host key, no
// key file), the team's PostgreSQL store and key command.
func teamHome(t *testing.T, url, keyCommand string) *home {
	h := newHome(t)
	h.store, h.keyCommand = url, keyCommand
	for i, e := range h.env {
		if strings.HasPrefix(e, "ONRAMP_STORE=") {
			h.env[i] = "ONRAMP_STORE=" + url
		}
	}
	h.env = append(h.env, "ONRAMP_KEY_COMMAND="+keyCommand)
	return h
}

// TestE2ETeamOnPostgres: two `onramp serve` and two `onramp worker` on one
// PostgreSQL store. An operator on each server (OpenSSH) sees the other's
// new connection and its sync under way; one server and one worker are
// SIGKILLed mid-sync; nothing is lost and the sync finishes, exactly.
func TestE2ETeamOnPostgres(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: 8000, Latency: 150 * time.Millisecond}).Start()
	defer srv.Close()
	url := pgtest.Database(t)
	key := "printf '%s' " + strings.Repeat("K", 43) + "="
	hA, hB := teamHome(t, url, key), teamHome(t, url, key)
	fast := []string{"--rescue-after", "3s", "--slice", "2s"}
	a := startServeIn(t, hA, []string{"alice"}, fast...)
	b := startServeIn(t, hB, []string{"bob"}, fast...)
	wA, wB := startWorker(t, hA, fast...), startWorker(t, hB, fast...)

	alice := a.session(t, "alice")
	alice.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	alice.waitFor("SUCCESS!")
	alice.keys("Enter")
	alice.waitFor("Integrations", "⟳ syncing")

	bob := b.session(t, "bob")
	bob.waitFor("Which app do you want to connect?")
	bob.keys("C-o") // the Integrations page
	bob.waitFor("Integrations", "1 connection", "by alice", "⟳ syncing")

	// Kill the server Alice used and whichever worker runs the sync.
	alias := storeConns(t, hB)[0].Alias
	s := waitStatus(t, hB, alias, "the sync under way", func(s statusView) bool { return s.Live != nil && s.Live.Pages >= 3 })
	a.cmd.Process.Kill()
	a.cmd.Wait()
	victim := wA // and a worker: the one running the sync, if a worker runs it
	if pid, _ := strconv.Atoi(s.Sync[strings.LastIndex(s.Sync, ":")+1:]); pid == wB.cmd.Process.Pid {
		victim = wB
	}
	victim.cmd.Process.Kill()
	victim.cmd.Wait()

	want := len(srv.Sandbox.People(0))
	done := waitStatus(t, hB, alias, "the sync finished elsewhere", synced(want))
	if done.LastRun.ID != s.LastRun.ID {
		t.Fatalf("a new run (%d) instead of the interrupted one (%d)", done.LastRun.ID, s.LastRun.ID)
	}
	bob.waitFor(alias, "✓ "+strconv.Itoa(want)+" users")
}

func storeConns(t *testing.T, h *home) []store.Connection {
	conns, err := h.open(t).List(t.Context(), store.ListOptions{})
	if err != nil || len(conns) == 0 {
		t.Fatalf("connections: %v", err)
	}
	return conns
}

// `onramp store migrate` says what it will do, does it, and then has
// nothing left; `onramp store copy` moves a laptop's store into the team's.
func TestE2EStoreMigrateAndCopy(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	url := pgtest.Database(t)
	key := "printf '%s' " + strings.Repeat("M", 43) + "="
	team := teamHome(t, url, key)
	// Issue 22: the dry run says what `store migrate` will do (it used to
	// say onramp makes the store when first opened, then "migrated").
	out, e, c := runCLI(t, team, "", "store", "migrate", "--dry-run")
	if c != 0 || !strings.Contains(out, "holds no onramp store yet: `onramp store migrate` creates schema") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("dry run: %d %s %s", c, out, e)
	}
	if out, e, c = runCLI(t, team, "", "store", "migrate"); c != 0 || !strings.Contains(out, "✓ Created the onramp store in") {
		t.Fatalf("migrate: %d %s %s", c, out, e)
	}
	if out, _, c = runCLI(t, team, "", "store", "migrate", "--dry-run"); c != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("after: %d %s", c, out)
	}

	laptop := newHome(t)
	connectToken(t, laptop, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod")
	connectToken(t, laptop, srv.BaseURL, gitlabtest.DemoTokens.NonAdmin, "dev")
	// Without the destination's key command, the message names the copy's
	// own flag, not ONRAMP_KEY_COMMAND (set here, for another store).
	withSourceKey := *laptop
	withSourceKey.env = append(append([]string(nil), laptop.env...), "ONRAMP_KEY_COMMAND=false")
	if _, e, c = runCLI(t, &withSourceKey, "", "store", "copy", "--to", url); c == 0 || !strings.Contains(e, "--to-key-command or ONRAMP_TO_KEY_COMMAND") {
		t.Fatalf("copy without the destination's key: %d %s", c, e)
	}
	// The team store as both source and destination is said plainly, with
	// how to copy a laptop's store instead.
	if _, e, c = runCLI(t, team, "", "store", "copy", "--to", strings.Replace(url, "postgres://", "postgresql://", 1)); c != 2 ||
		!strings.Contains(e, "names the store being copied") || !strings.Contains(e, "from ONRAMP_STORE") {
		t.Fatalf("copy into itself: %d %s", c, e)
	}
	laptop.env = append(laptop.env, "ONRAMP_TO_KEY_COMMAND="+key)
	out, e, c = runCLI(t, laptop, "", "store", "copy", "--to", url)
	if c != 0 || !strings.Contains(out, "Copied 2 connections into") || !strings.Contains(out, "verified: dev, prod") && !strings.Contains(out, "verified: prod, dev") ||
		strings.Contains(out+e, gitlabtest.DemoTokens.Admin) {
		t.Fatalf("copy: %d %s %s", c, out, e)
	}
	if s := statusOf(t, team, "prod"); s.Job == nil {
		t.Fatalf("no first sync queued in the team store: %+v", s)
	}
	// doctor on the team's PostgreSQL store: its latency, the key from the
	// command, and the copied syncs waiting for a worker.
	d, text, code := runDoctor(t, team)
	if code != 1 || strings.Contains(text, strings.Repeat("M", 43)) {
		t.Fatalf("doctor: exit %d\n%s", code, text)
	}
	d.line(t, "ok", "store", "PostgreSQL")
	d.line(t, "ok", "latency", "PostgreSQL answers a query in")
	d.line(t, "ok", "key", "key command")
	d.line(t, "fail", "jobs", "2 syncs due and no worker to run them")
	if _, e, c = runCLI(t, laptop, "", "store", "copy", "--to", url); c == 0 || !strings.Contains(e, "nothing was copied") {
		t.Fatalf("second copy: %d %s", c, e)
	}
}
