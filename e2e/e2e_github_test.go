package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/cli"
	"github.com/onramp-dev/onramp/github/githubtest"
)

// Issue 14: the demo's second card, GitHub, onboarded in a real terminal
// through the same screens: token, summary, Integrations with its sync and
// Copilot seats.
func TestE2EGitHubInTheDemo(t *testing.T) {
	h := newHome(t)
	tm := startTmux(t, h, 100, 30, binary+" demo --latency 5ms")
	tm.waitFor("Which app do you want to connect?", "GitHub  Personal access token")
	tm.typeText("copilot") // the filter finds the card
	tm.waitFor("GitHub  Personal access token")
	tm.keys("Enter")
	tm.waitFor("How should onramp sign in to GitHub?", "OAuth app (Recommended)")
	tm.keys("Up", "Enter") // the token, not the preselected OAuth app
	tm.waitFor("GitHub URL", "Personal access token")
	tm.keys("Enter")
	tm.waitFor("Sandbox tokens (demo only)")
	tm.paste(githubtest.DemoTokens.SSO)
	tm.keys("Enter")
	tm.waitFor("sandbox-labs uses SAML single sign-on", "Configure SSO")
	tm.keys("C-u")
	tm.paste(githubtest.DemoTokens.FineGrained)
	tm.keys("Enter")
	tm.waitFor("SUCCESS!", "GitHub is connected", "@octo-admin", "fine-grained token", "1 organization: sandbox-co")
	tm.keys("Enter")
	tm.waitFor("Integrations", "600 users, just now", "Seats (sandbox-co, Copilot Business)")
	tm.keys("q")
	tm.waitFor("EXITED=0")
}

// The command line connects, syncs, lists the inventory and refuses to
// pretend it revoked a GitHub token; a sync SIGKILLed mid-run is resumed by
// a worker to the exact membership.
func TestE2EGitHubCommandLine(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 3000, Latency: 15 * time.Millisecond, SecondaryEvery: 11})
	defer srv.Close()
	h := newHome(t)
	out, e, code := runCLI(t, h, githubtest.DemoTokens.Classic+"\n", "connect", "github", "--url", srv.BaseURL, "--token-stdin", "--alias", "octo", "--json")
	var res cli.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Connection.Vendor != "github" || res.Connection.Account.Username != "octo-admin" {
		t.Fatalf("connect: %d %s %s", code, out, e)
	}

	// Kill a sync mid-run (a few pages in).
	cmd := exec.Command(binary, "sync", "octo", "--json")
	cmd.Env = h.env
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() }) // never hang the suite
	sc := bufio.NewScanner(stdout)
	pages := 0
	for sc.Scan() {
		var p struct{ Pages int }
		json.Unmarshal(sc.Bytes(), &p)
		if pages = p.Pages; pages >= 4 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	guard.Stop()
	if pages < 4 {
		t.Fatalf("the sync never got 4 pages in (%d)", pages)
	}
	// SIGKILL leaves the job "running" until River rescues it; a worker
	// with a short rescue threshold takes it up and finishes the same run.
	startWorker(t, h, "--rescue-after", "8s", "--slice", "6s")
	want := 0
	for _, o := range srv.Orgs {
		want += len(o.Members)
	}
	want-- // octo-admin is in both organizations: one person
	s := waitStatus(t, h, "octo", "the resumed sync finished", synced(want))
	if s.LastRun.Retries == 0 {
		t.Fatal("secondary rate limits were not retried")
	}
	out, _, code = runCLI(t, h, "", "inventory", "octo")
	if code != 0 || strings.Count(out, "\n") != want || !strings.Contains(out, "octo-admin\t") {
		t.Fatalf("inventory: %d, %d lines", code, strings.Count(out, "\n"))
	}

	_, e, code = runCLI(t, h, "", "remove", "octo", "--yes", "--revoke")
	if code != cli.ExitFailure || !strings.Contains(e, "delete it at "+srv.BaseURL+"/settings/personal-access-tokens") {
		t.Fatalf("revoke: %d %s", code, e)
	}
	if _, _, code = runCLI(t, h, "", "show", "octo"); code != 0 {
		t.Fatal("a failed revoke deleted the connection")
	}
	if _, e, code = runCLI(t, h, "", "remove", "octo", "--yes", "--revoke", "--force"); code != 0 {
		t.Fatalf("remove --force: %d %s", code, e)
	}
}

// githubOAuthFields walks the wizard from the catalog through GitHub's OAuth
// app form (its intro first) at base, with secret ("" for none).
func githubOAuthFields(tm *tmux, base, secret string) {
	tm.waitFor("Which app do you want to connect?", "GitHub  Personal access token · OAuth app")
	tm.typeText("github")
	tm.keys("Enter")
	tm.waitFor("How should onramp sign in to GitHub?", "OAuth app (Recommended)")
	tm.keys("Enter")
	tm.waitFor("create an OAuth application in GitHub", "Authorization callback URL", "http://127.0.0.1/onramp/callback", "Enable Device Flow")
	tm.keys("Enter")
	tm.waitFor("› GitHub URL")
	tm.keys("C-u")
	tm.typeText(base)
	tm.keys("Enter")
	tm.waitFor("› Client ID")
	tm.typeText(githubtest.DemoOAuthApp.ClientID)
	tm.keys("Enter")
	tm.waitFor("› Client secret", "empty for the device code way")
	if secret != "" {
		tm.paste(secret)
	}
	tm.keys("Enter")
	tm.waitFor("› Scopes")
	tm.keys("Enter")
}

// Issue 14: GitHub's device flow in a real terminal over "SSH" (no browser
// here): the OAuth app's client id only, the code on screen approved on the
// sandbox's /login/device, the summary, and the first sync on the
// Integrations page.
func TestE2EGitHubOAuthDeviceFlowInTmux(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 90, DeviceInterval: 1})
	defer srv.Close()
	h := newHome(t)
	h.env = append(h.env, "SSH_CONNECTION=127.0.0.1 50000 127.0.0.1 22")
	tm := startTmux(t, h, 100, 30, binary)
	githubOAuthFields(tm, srv.BaseURL, "")
	s := tm.waitFor("[code on another device]", "and enter the code", srv.BaseURL+"/login/device")
	code := strings.NewReplacer(" ", "", "-", "").Replace(userCodeOnScreen.FindString(s))
	if len(code) != 8 || !srv.ApproveDevice(code) {
		t.Fatalf("no user code on screen:\n%s", s)
	}
	tm.waitFor("SUCCESS!", "GitHub is connected", "@octo-admin", "OAuth app "+githubtest.DemoOAuthApp.ClientID, "read:org")
	tm.keys("Enter")
	tm.waitFor("Integrations", "129 users, just now") // 90 + 40, octo-admin in both
	tm.keys("q")
	tm.waitFor("EXITED=0")
}

// The command line authorizes a GitHub OAuth app by device code, syncs
// with it, and revokes it only with the app's secret: without one it says
// where to revoke and keeps the connection.
func TestE2EGitHubOAuthCommandLine(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 60, DeviceInterval: 1})
	defer srv.Close()
	h := newHome(t)
	stdout, errText, err := runApprovingDevice(h, func(code string) { srv.ApproveDevice(code) },
		"connect", "github", "--auth", "oauth", "--url", srv.BaseURL, "--client-id", githubtest.DemoOAuthApp.ClientID, "--flow", "device", "--alias", "gh-app")
	if err != nil || !strings.Contains(stdout, "Connected GitHub as gh-app") || !strings.Contains(errText, "Waiting for the approval in GitHub") {
		t.Fatalf("connect: %v\n%s%s", err, errText, stdout)
	}
	if _, e, code := runCLI(t, h, "", "sync", "gh-app"); code != 0 {
		t.Fatalf("sync: %d %s", code, e)
	}
	out, _, _ := runCLI(t, h, "", "inventory", "gh-app")
	if n := strings.Count(out, "\n"); n != 60+40-1 {
		t.Fatalf("inventory: %d people", n)
	}
	_, e, code := runCLI(t, h, "", "remove", "gh-app", "--yes", "--revoke")
	if code != cli.ExitFailure || !strings.Contains(e, srv.BaseURL+"/settings/applications") {
		t.Fatalf("revoke without the secret: %d %s", code, e)
	}
	if _, e, code = runCLI(t, h, "", "remove", "gh-app", "--yes", "--revoke", "--force"); code != 0 {
		t.Fatalf("remove --force: %d %s", code, e)
	}
	if strings.Contains(stdout+errText+out+e, "gho_") {
		t.Fatal("an access token reached the output")
	}
}

// The browser flow with PKCE for GitHub: headless Chromium is the system
// browser, loads the sandbox's consent page (which approves itself) and
// follows the redirect to the wizard's loopback listener.
func TestE2EGitHubOAuthBrowserWithChromium(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 30, AutoApprove: true})
	defer srv.Close()
	h := newHome(t)
	chromiumAsBrowser(t, h)
	tm := startTmux(t, h, 100, 30, binary)
	githubOAuthFields(tm, srv.BaseURL, githubtest.DemoOAuthApp.Secret)
	tm.waitFor("SUCCESS!", "GitHub is connected", "@octo-admin")
	if srv.IssuedTokens() != 1 {
		t.Fatalf("%d tokens issued", srv.IssuedTokens())
	}
}

// Issue 21, item 10: an organization withheld for SAML SSO is named by
// connect, by the sync and by `status`, with where to authorize the token.
func TestE2EGitHubWithheldOrganizationInStatus(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 20})
	defer srv.Close()
	h := newHome(t)
	_, e, code := runCLI(t, h, githubtest.DemoTokens.SSOPartial+"\n", "connect", "github", "--url", srv.BaseURL, "--token-stdin", "--alias", "octo")
	// GitHub names a withheld organization by its id only (X-GitHub-SSO:
	// partial-results; organizations=9001).
	if code != 0 || !strings.Contains(e, "withheld 1 organization") || !strings.Contains(e, "id 9001") {
		t.Fatalf("connect: exit %d\n%s", code, e)
	}
	if out, e, code := runCLI(t, h, "", "sync", "octo"); code != 0 || !strings.Contains(e, "id 9001") {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, e)
	}
	_, e, _ = runCLI(t, h, "", "status")
	if !strings.Contains(e, "octo: GitHub withheld 1 organization") || !strings.Contains(e, "Configure SSO") {
		t.Fatalf("status does not name the withheld organization:\n%s", e)
	}
}
