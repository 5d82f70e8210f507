package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/uitest"
)

// hostileWizard runs the wizard against a sandbox behind gitlabtest.Hostile.
func hostileWizard(t *testing.T, keep func(string) bool, d flows.Deps) (*uitest.Screen, *gitlabtest.Server) {
	sb := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: 20, DeviceInterval: 1})
	srv := sb.StartHostile(keep)
	t.Cleanup(srv.Close)
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	if d.Timeout == 0 {
		d.Timeout = 5 * time.Second
	}
	m := ui.New(ui.Deps{Catalog: cat, Store: openStore(t), Flow: d, Worker: true})
	return uitest.Start(t, m, 100, 30), srv
}

func scanRaw(t *testing.T, s *uitest.Screen) {
	t.Helper()
	raw := s.Raw()
	if at := gitlabtest.UnsafeStyled(raw); at != "" {
		t.Fatalf("server text reached the terminal raw at %s", at)
	}
	if !strings.Contains(raw, "EVIL") {
		t.Fatal("the payload never reached the screen: the test exercises nothing")
	}
}

// Names, versions, token names, plans and errors from a hostile server are
// drawn escaped: summary, Integrations page, details, error messages.
func TestWizardHostileServerTextIsEscaped(t *testing.T) {
	s, _ := hostileWizard(t, gitlabtest.Functional, flows.Deps{})
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter", "up", "enter")
	s.WaitFor("GitLab server URL")
	s.Press("enter")
	s.Paste(gitlabtest.DemoTokens.Blocked + "\n")
	s.Press("enter")
	s.WaitFor("blocked")
	s.Press("ctrl+u")
	s.Paste(gitlabtest.DemoTokens.Admin + "\n")
	s.Press("enter")
	s.WaitFor("SUCCESS!", "@rootEVIL")
	s.Press("enter")
	s.WaitFor("Integrations", "users")
	scanRaw(t, s)
}

// A device authorization whose address and code are forged is refused in
// the wizard too, and its words are escaped.
func TestWizardHostileDeviceAuthorization(t *testing.T) {
	s, srv := hostileWizard(t, func(key string) bool { return key == "device_code" || key == "access_token" }, flows.Deps{Remote: true})
	enterOAuthApp(s)
	s.WaitFor("will not show")
	if strings.Contains(s.Text(), srv.BaseURL+"/oauth/device") && !strings.Contains(s.Text(), `EVIL\x1b`) {
		t.Fatal("the forged address is on screen unescaped")
	}
	scanRaw(t, s)
}
