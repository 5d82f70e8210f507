package ui_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/uitest"
)

// Authorize (issue 10, item 4): when no browser opens, tab goes on to the
// device code instead of trying the browser again; shift+tab goes back.
func TestAuthorizeTabCycleAndShiftTab(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1}).Start()
	defer srv.Close()
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	deps := flows.Deps{Timeout: 5 * time.Second, OpenBrowser: func(string) error { return errors.New("no browser here") }}
	s := uitest.Start(t, ui.New(ui.Deps{Catalog: cat, Store: openStore(t), Flow: deps}), 100, 30)
	enterOAuthApp(s)
	s.WaitFor("No browser could be opened here", "[paste the address back]")
	s.Press("tab")
	s.WaitFor("[code on another device]")
	s.Press("tab") // a running code is not abandoned by one tab (issue 21, item 4)
	s.WaitFor("[code on another device]", "tab again abandons this code")
	s.Press("tab")
	s.WaitFor("[paste the address back]") // paste and device alternate; the browser is out
	s.Press("shift+tab")
	s.WaitFor("GitLab server URL", "Application ID")
}

// While the browser is being opened (it can take a while), the address is
// already on screen (issue 10, item 4).
func TestAuthorizeShowsTheAddressWhileTheBrowserOpens(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	release := make(chan struct{})
	defer close(release)
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	deps := flows.Deps{Timeout: 5 * time.Second, OpenBrowser: func(string) error { <-release; return nil }}
	s := uitest.Start(t, ui.New(ui.Deps{Catalog: cat, Store: openStore(t), Flow: deps}), 140, 40)
	enterOAuthApp(s)
	s.WaitFor("Opening your browser", "/oauth/authorize?")
}

// enterOAuthApp walks from the catalog through OAuth2's steps and fields
// (the preset URL, the demo application) and presses Authorize.
func enterOAuthApp(s *uitest.Screen) {
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "enter")
	s.WaitFor("create an OAuth application")
	s.Press("enter")
	s.WaitFor("GitLab server URL")
	s.Press("enter")
	s.Type(gitlabtest.DemoApp.UID)
	s.Press("enter")
	s.Paste(gitlabtest.DemoApp.Secret)
	s.Press("enter", "enter")
}

// A GitHub OAuth app without a client secret can only use the device code:
// the browser and paste-back ways are not offered (they would fail on the
// missing secret), the reason is said in place, and tab never abandons the
// running code (issue 21, item 4).
func TestGitHubOAuthWithoutSecretKeepsTheDeviceCode(t *testing.T) {
	gh := githubtest.Start(githubtest.Options{Members: 3})
	defer gh.Close()
	cat := flows.Catalog{github.Card(github.CardOptions{DefaultURL: gh.BaseURL})}
	deps := flows.Deps{Timeout: 5 * time.Second, OpenBrowser: func(string) error { return errors.New("no browser here") }}
	s := uitest.Start(t, ui.New(ui.Deps{Catalog: cat, Store: openStore(t), Flow: deps}), 100, 30)
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "enter") // GitHub, OAuth app (recommended)
	s.WaitFor("Before the fields")
	s.Press("enter")
	s.WaitFor("GitHub URL")
	s.Press("enter")
	s.Type(githubtest.DemoOAuthApp.ClientID)
	s.Press("enter", "enter", "enter") // no secret; scopes as suggested; authorize
	s.WaitForWithout([]string{"[code on another device]", "need the client secret", "/login/device"}, []string{"paste the address back", "browser on this machine"})
	code := s.Text()
	s.Press("tab", "tab", "tab")
	s.WaitForWithout([]string{"[code on another device]", "/login/device"}, []string{"Client secret", "abandons"})
	if !sameDeviceCode(code, s.Text()) {
		t.Fatalf("the device code changed:\n%s\n---\n%s", code, s.Text())
	}
}

// sameDeviceCode compares the lines of two screens that hold the code.
func sameDeviceCode(a, b string) bool {
	pick := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, " - ") {
				return strings.TrimSpace(l)
			}
		}
		return ""
	}
	return pick(a) != "" && pick(a) == pick(b)
}
