package main

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/github/githubtest"
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
