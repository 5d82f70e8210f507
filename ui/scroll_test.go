package ui_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/cli/demo"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/uitest"
)

// Issue 10, item 2: at the sizes the README promises nothing is hidden —
// long pages scroll, and the focused field, the value to copy and any error
// stay on screen.

// startSized runs the wizard as `onramp demo` lays it out (the banner, the
// sandbox's tokens and application beside the fields) at w×h; no browser
// opens.
func startSized(t *testing.T, w, h int) *uitest.Screen {
	t.Helper()
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1, AdminMode: true}).Start()
	t.Cleanup(srv.Close)
	deps := flows.Deps{Timeout: 5 * time.Second, OpenBrowser: func(string) error { return errors.New("no browser here") }}
	gh := githubtest.Start(githubtest.Options{Members: 30})
	t.Cleanup(gh.Close)
	m := ui.New(ui.Deps{Catalog: demo.Catalog(srv.BaseURL, gh.BaseURL, "http://127.0.0.1:9"), Banner: demo.Banner(srv.BaseURL, gh.BaseURL, "http://127.0.0.1:9"), Store: openStore(t), Flow: deps})
	return uitest.Start(t, m, w, h)
}

const redirectURI = "http://127.0.0.1/onramp/callback"

func TestOAuthStepsKeepTheRedirectURIOnScreenAt60x20(t *testing.T) {
	s := startSized(t, 60, 20)
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "enter")
	// The value to copy is on screen with the first steps; the last step is
	// below, and the page says so.
	s.WaitForWithout([]string{"create an OAuth application", "1. In GitLab", redirectURI, "more below"}, []string{"6. Copy the Application ID"})
	s.Press("pgdown")
	s.WaitForWithout([]string{"6. Copy the Application ID", redirectURI, "more above"}, []string{"1. In GitLab"})
	s.Press("pgup")
	s.WaitFor("1. In GitLab", redirectURI)
}

func TestOAuthFieldsAt60x20With64CharacterApplicationID(t *testing.T) {
	if len(gitlabtest.DemoApp.UID) != 64 {
		t.Fatalf("the demo application's ID has %d characters; GitLab's have 64", len(gitlabtest.DemoApp.UID))
	}
	s := startSized(t, 60, 20)
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "enter")
	s.WaitFor("create an OAuth application")
	s.Press("enter")
	s.WaitFor("GitLab server URL", redirectURI)
	s.Press("enter", "enter") // no Application ID: an error under it
	s.WaitFor("› Application ID", "Application ID is required", redirectURI)
	s.Type(gitlabtest.DemoApp.UID)
	s.Press("tab", "tab") // the last field, Scopes, is below the first screen
	s.WaitFor("› Scopes", "read_api read_user admin_mode", redirectURI)
	s.Press("shift+tab", "shift+tab")
	s.WaitFor("› Application ID", gitlabtest.DemoApp.UID[len(gitlabtest.DemoApp.UID)-20:], redirectURI)
	// The demo's application (shown in the help below the fields) is
	// reached by scrolling, and the focused field stays on screen above it
	// (issue 21, item 5: it used to scroll away).
	s.Press("pgdown")
	s.WaitForWithout([]string{"Sandbox application", "› Application ID", redirectURI}, []string{"GitLab server URL"})
	s.Press("pgdown", "pgdown")
	s.WaitFor("› Application ID", "more above", redirectURI)
	s.Press("end")
	s.WaitFor("› Application ID", redirectURI)
}

func TestTokenStepsReachableAt80x24(t *testing.T) {
	s := startSized(t, 80, 24)
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "up", "enter")
	s.WaitFor("GitLab server URL", "Access token")
	s.Press("tab")
	// Every sandbox token is beside the field (issue 21, item 3).
	t1 := gitlabtest.DemoTokens
	s.WaitFor("› Access token", "more below", t1.Admin, t1.ExpiringSoon, t1.NonAdmin, t1.Expired, t1.FewScopes, t1.Revoked, t1.Blocked)
	s.Press("pgdown", "pgdown")
	s.WaitFor("3. Name it", "4. Scopes: read_api and read_user", "6. Select Create personal access token")
	// The mouse wheel scrolls too, under the focused field.
	for range 12 {
		s.TM.Send(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	}
	s.WaitForWithout([]string{"Connect GitLab", "› Access token", "more below"}, []string{"6. Select Create", "more above"})
	for range 12 {
		s.TM.Send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	}
	s.WaitFor("› Access token", "6. Select Create personal access token")
	if n := strings.Count(s.Text(), "› Access token"); n != 1 {
		t.Fatalf("the focused field shows %d times:\n%s", n, s.Text())
	}
}

func TestPasteBackAndDeviceCodeOnScreenAt60x20(t *testing.T) {
	s := startSized(t, 60, 20)
	enterOAuthApp(s)
	s.WaitFor("paste it here:") // the chosen way is above: the window is too short for the address
	s.Paste("http://127.0.0.1:1/onramp/callback?state=forged&code=x")
	s.Press("enter")
	// The input, what was pasted into it (masked: it holds a code) and its
	// error are all visible.
	text := waitText(s, "••••••••", "state does not match")
	if !strings.Contains(text, "paste it here") {
		t.Fatalf("the paste-back prompt scrolled away:\n%s", text)
	}
	s.Press("tab")
	s.WaitFor("[code on another device]", "enter the code", "/oauth/device")
}

func TestDeviceCodeAndErrorsAtTheMinimumSize(t *testing.T) {
	s := startSized(t, 50, 15)
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "up", "enter")
	s.WaitFor("GitLab server URL")
	s.Press("enter")
	s.Paste(gitlabtest.DemoTokens.Expired)
	s.Press("enter")
	s.WaitFor("› Access token", "This token has expired", "Create a new token")

	d := startSized(t, 50, 15)
	enterOAuthApp(d)
	d.WaitFor("paste it here:")
	d.Press("tab")
	d.WaitFor("[code on another device]", "/oauth/device", " - ") // the spaced code: A B C D - E F G H
}

func TestWindowTooSmallSaysSo(t *testing.T) {
	s := startSized(t, 40, 12)
	s.WaitFor("window too small (needs 50×15")
	s.Press("enter") // not acted on: it could not be seen
	s.TM.Send(tea.WindowSizeMsg{Width: 40, Height: 12})
	s.WaitFor("window too small")
	s.Press("ctrl+c")
}

// waitText waits for want and returns the screen then.
func waitText(s *uitest.Screen, want ...string) string {
	s.WaitFor(want...)
	return s.Text()
}
