package e2e

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

// Issue 10, item 2, in a real terminal: the demo at 60×20 keeps the value to
// copy and the paste-back input on screen, PageDown (as tmux sends it)
// reveals the rest, and a window below the minimum says so.
func TestE2EDemoScrollsAt60x20(t *testing.T) {
	h := newHome(t)
	tm := startTmux(t, h, 60, 20, binary+" demo")
	tm.waitFor("DEMO · sandboxes: GitLab 127.0.0.1:", "Which app do you want to connect?")
	tm.keys("Enter", "Enter")
	tm.waitFor("1. In GitLab", "http://127.0.0.1/onramp/callback", "more below")
	tm.keys("PageDown")
	tm.waitFor("6. Copy the Application ID", "http://127.0.0.1/onramp/callback")
	tm.keys("Enter", "Enter")
	tm.typeText(gitlabtest.DemoApp.UID)
	tm.keys("Enter")
	tm.paste(gitlabtest.DemoApp.Secret)
	tm.keys("Enter", "Enter")
	tm.waitFor("enter the code", " - ") // no browser here: the device code first
	tm.keys("Tab")                      // a running code asks before it is abandoned
	tm.waitFor("tab again abandons this code")
	tm.keys("Tab")
	tm.waitFor("paste it here:", "e.g. http://127.0.0.1:")
	tm.typeText("typed-here")
	tm.waitFor("••••••••••") // the input is on screen and shows what is typed (masked)
	tm.run("resize-window", "-x", "40", "-y", "12")
	tm.waitFor("window too small (needs 50×15")
	tm.run("resize-window", "-x", "60", "-y", "20")
	tm.waitFor("paste it here:")
	tm.keys("C-c")
	tm.waitFor("Quit onramp?")
	tm.keys("y")
	tm.waitFor("EXITED=130")
}
