package main

import (
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Quitting after the window was resized leaves the shell screen as it was,
// the way less does: no table lines from the Integrations page (issue 10,
// item 10).
func TestE2EQuitAfterResizeRestoresTheScreen(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true}).Start()
	defer srv.Close()
	h := newHome(t)
	tm := startTmux(t, h, 100, 30, "printf 'before onramp\\n'; "+binary)
	tm.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	tm.waitFor("SUCCESS!")
	tm.keys("Enter")
	tm.waitFor("Integrations", "1 connection")
	for _, size := range [][2]string{{"70", "20"}, {"120", "40"}, {"60", "18"}, {"100", "30"}} {
		tm.run("resize-window", "-x", size[0], "-y", size[1])
		time.Sleep(150 * time.Millisecond)
	}
	tm.waitFor("Integrations")
	tm.keys("q")
	if s := tm.screen(); strings.Contains(s, "Stop it and quit?") {
		tm.keys("y")
	}
	s := tm.waitFor("EXITED=0")
	for _, leftover := range []string{"─", "│", "Integrations", "STATE", "onramp  Vendor"} {
		if strings.Contains(s, leftover) {
			t.Fatalf("the shell screen kept %q after quitting:\n%s", leftover, s)
		}
	}
	if !strings.Contains(s, "before onramp") {
		t.Fatalf("the shell screen lost what was on it:\n%s", s)
	}
}
