package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Against a server whose member pages never end, `onramp sync` holds two
// pages at a time: its peak memory stays flat however long it runs (the
// limits then end it; here it is stopped first).
func TestE2EMemoryFlatAgainstANeverEndingServer(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Hostile: githubtest.Hostile{EndlessMembers: true}})
	defer srv.Close()
	h := newHome(t)
	if _, e, code := runCLI(t, h, githubtest.DemoTokens.Classic+"\n", "connect", "github", "--url", srv.BaseURL, "--token-stdin", "--alias", "endless"); code != 0 {
		t.Fatalf("connect: %d %s", code, e)
	}
	cmd := exec.Command(binary, "sync", "endless", "--json")
	cmd.Env = h.env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	peakAt := func(d time.Duration) int64 {
		time.Sleep(d)
		_, _, peak := rssParts(cmd.Process.Pid)
		return peak
	}
	early := peakAt(4 * time.Second)
	late := peakAt(8 * time.Second)
	users := statusOf(t, h, "endless").LastRun.Users
	cmd.Process.Signal(syscall.SIGINT)
	if users < 20000 {
		t.Fatalf("only %d users synced: the test proves nothing", users)
	}
	if late-early > 8*1024 || late > 96*1024 {
		t.Fatalf("peak RSS grew from %d KiB to %d KiB over %d users", early, late, users)
	}
	t.Logf("peak RSS %d KiB after 4 s, %d KiB after 12 s (%d users)", early, late, users)
}

// Issue 21, item 8: status --watch prints the page again at its interval
// until ctrl+c; list --limit stops at N.
func TestE2EStatusWatchAndListLimit(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 50}).Start()
	defer srv.Close()
	h := newHome(t)
	for _, alias := range []string{"a", "b", "c"} {
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, alias)
	}
	if out, _, code := runCLI(t, h, "", "list", "--limit", "2"); code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("list --limit 2: %d\n%s", code, out)
	}
	cmd := exec.Command(binary, "status", "--watch=1s")
	cmd.Env = h.env
	out := &syncBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two refreshes of the three rows", func() bool { return strings.Count(out.String(), "queued for a worker") >= 6 })
	cmd.Process.Signal(syscall.SIGINT)
	code, _ := waitExit(t, cmd, 5*time.Second)
	if code != 130 || strings.Count(out.String(), "queued for a worker") < 6 { // 3 rows, at least twice
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// Issue 21, item 7: on a terminal, list and status fit its width (the
// widest columns are cut with "…") instead of wrapping every row.
func TestE2EListAndStatusFitTheTerminal(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 5}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "production-gitlab-with-a-long-alias")
	for _, cmd := range []string{"list", "status"} {
		tm := startTmux(t, h, 60, 20, binary+" "+cmd)
		s := tm.waitFor("EXITED=")
		lines := strings.Split(s, "\n")
		header := -1
		for i, l := range lines {
			if strings.HasPrefix(l, "ALIAS") {
				header = i
			}
		}
		// The header and its row are one line each: the row does not wrap
		// onto the next line, and the long alias is cut with "…".
		if header < 0 || !strings.HasPrefix(lines[header+1], "prod") || !strings.Contains(lines[header+1], "…") ||
			strings.HasPrefix(lines[header+2], " ") {
			t.Fatalf("%s at 60 columns:\n%s", cmd, s)
		}
	}
}

// Issue 21, item 8: `onramp sync --all` syncs every connection, says how
// each ended, and exits 1 when one did not sync (a revoked token); --json
// events name each connection by its alias.
func TestE2ESyncAll(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 120}).Start()
	defer srv.Close()
	h := newHome(t)
	for _, alias := range []string{"a", "b"} {
		connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, alias)
	}
	doomed := srv.Sandbox.AddToken(gitlabtest.RootID, "doomed", []string{"read_api", "read_user"}, nil)
	connectToken(t, h, srv.BaseURL, doomed, "c")
	if out, errOut, code := runCLI(t, h, "", "sync", "--all", "--concurrency", "2"); code != 0 ||
		!strings.Contains(out, "✓ Synced a: 121 users") || !strings.Contains(out, "✓ Synced b: 121 users") || !strings.Contains(out, "✓ Synced c:") {
		t.Fatalf("sync --all: exit %d\n%s\n%s", code, out, errOut)
	}
	srv.Sandbox.Revoke(doomed)
	out, errOut, code := runCLI(t, h, "", "sync", "--all", "--json")
	if code != 1 || !strings.Contains(errOut, "✗ c:") || !strings.Contains(errOut, "1 of 3 connections did not sync") {
		t.Fatalf("sync --all with a revoked token: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, alias := range []string{"a", "b", "c"} {
		if !strings.Contains(out, `"alias":"`+alias+`"`) {
			t.Fatalf("no event names %s:\n%s", alias, out)
		}
	}
	// c now needs reconnecting: it is skipped, and said so.
	if _, errOut, code := runCLI(t, h, "", "sync", "--all"); code != 1 || !strings.Contains(errOut, "skipped c: it needs to be reconnected") {
		t.Fatalf("third sync --all: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runCLI(t, h, "", "sync", "--all", "a"); code != 2 || !strings.Contains(errOut, "give no alias") {
		t.Fatalf("sync --all a: exit %d\n%s", code, errOut)
	}
}
