package e2e

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// consent plays the person on GitLab's consent page: it posts the form for
// authURL and returns the address GitLab sends the browser to.
func consent(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(authURL))
	if err != nil {
		t.Fatal(err)
	}
	form := u.Query()
	form.Set("decision", "approve")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent for %s: %d", authURL, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// oauthFields fills the OAuth form (after the intro) in tmux.
func oauthFields(tm *tmux, base string) {
	tm.waitFor("create an OAuth application", "http://127.0.0.1/onramp/callback")
	tm.keys("Enter")
	tm.waitFor("› GitLab server URL")
	tm.keys("C-u")
	tm.typeText(base)
	tm.keys("Enter")
	tm.waitFor("› Application ID")
	tm.typeText(gitlabtest.DemoApp.UID)
	tm.keys("Enter")
	tm.paste(gitlabtest.DemoApp.Secret)
	tm.keys("Enter", "Enter")
}

func storedOAuth(t *testing.T, h *home) *store.Connection {
	st := h.open(t)
	conns, _ := st.List(context.Background(), store.ListOptions{})
	if len(conns) != 1 || conns[0].AuthMethod != store.AuthOAuth {
		t.Fatalf("stored: %+v", conns)
	}
	c, _ := st.Get(context.Background(), conns[0].ID)
	if c.Secret(store.SecretRefreshToken) == "" || c.Secret(store.SecretAccessToken) == "" {
		t.Fatal("tokens not stored")
	}
	return c
}

// TestE2EOAuthBrowserWithChromium: the wizard opens "the browser" (an
// xdg-open on PATH that starts headless Chromium); Chromium loads GitLab's
// consent page, which is approved, and follows the redirect to the wizard's
// loopback listener; the wizard moves on by itself.
// chromiumAsBrowser makes headless Chromium the system browser of h: an
// xdg-open on its PATH starts it, and DISPLAY makes it a desktop session,
// where the browser flow is the default.
func chromiumAsBrowser(t *testing.T, h *home) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is required (.ci/run installs it)")
	}
	bin := filepath.Join(h.dir, "bin")
	os.MkdirAll(bin, 0o755)
	profile, err := os.MkdirTemp("", "onramp-chromium-*")
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n" + chromium + " --headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run " +
		"--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" + profile +
		" \"$1\" >" + filepath.Join(h.dir, "chromium.log") + " 2>&1 &\n"
	os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755)
	t.Cleanup(func() {
		// Chromium and its helpers all carry the profile path: kill them and
		// wait until they are gone before removing the profile.
		for i := 0; i < 50 && exec.Command("pgrep", "-f", profile).Run() == nil; i++ {
			exec.Command("pkill", "-KILL", "-f", profile).Run()
			time.Sleep(100 * time.Millisecond)
		}
		os.RemoveAll(profile)
	})
	for i, e := range h.env {
		if strings.HasPrefix(e, "PATH=") {
			h.env[i] = "PATH=" + bin + ":" + os.Getenv("PATH")
		}
	}
	h.env = append(h.env, "DISPLAY=:99")
}

func TestE2EOAuthBrowserWithChromium(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AutoApprove: true}).Start()
	defer srv.Close()
	h := newHome(t)
	chromiumAsBrowser(t, h)

	tm := startTmux(t, h, 100, 30, binary)
	tm.waitFor("Which app do you want to connect?")
	tm.keys("Enter")
	tm.waitFor("OAuth2 (Recommended)")
	tm.keys("Enter")
	oauthFields(tm, srv.BaseURL)
	tm.waitFor("SUCCESS!", "@root", "renewed automatically")
	storedOAuth(t, h)
	var chrome bool
	for _, ua := range srv.Sandbox.ConsentPageAgents() {
		chrome = chrome || strings.Contains(ua, "HeadlessChrome")
	}
	if !chrome {
		t.Fatalf("the consent page was not loaded by Chromium: %q", srv.Sandbox.ConsentPageAgents())
	}
}

var userCodeOnScreen = regexp.MustCompile(`([A-Z0-9] ){4}- ([A-Z0-9] ){3}[A-Z0-9]`)

// userCodeLine is the device code as the command line prints it.
var userCodeLine = regexp.MustCompile(`^\s+([A-Z0-9]{4})-([A-Z0-9]{4})$`)

// runApprovingDevice runs onramp with args and, as the person would, approves
// each device code it prints on stderr; it returns stdout and stderr.
func runApprovingDevice(h *home, approve func(code string), args ...string) (string, string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = h.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", "", err
	}
	var stdout, errText strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		errText.WriteString(line + "\n")
		if m := userCodeLine.FindStringSubmatch(line); m != nil {
			approve(m[1] + m[2])
		}
	}
	err = cmd.Wait()
	return stdout.String(), errText.String(), err
}

// TestE2EOAuthDeviceOverSSH: no display (an SSH session): the device code is
// shown, approved on "the phone", and the wizard finishes.
func TestE2EOAuthDeviceOverSSH(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1}).Start()
	defer srv.Close()
	h := newHome(t)
	h.env = append(h.env, "SSH_CONNECTION=127.0.0.1 50000 127.0.0.1 22")
	tm := startTmux(t, h, 100, 30, binary)
	tm.waitFor("Which app do you want to connect?")
	tm.keys("Enter", "Enter")
	oauthFields(tm, srv.BaseURL)
	s := tm.waitFor("[code on another device]", "and enter the code", "/oauth/device")
	code := strings.NewReplacer(" ", "", "-", "").Replace(userCodeOnScreen.FindString(s))
	if len(code) != 8 || !srv.Sandbox.ApproveDevice(code, gitlabtest.RootID) {
		t.Fatalf("no user code on screen:\n%s", s)
	}
	tm.waitFor("SUCCESS!")
	storedOAuth(t, h)
}

// authURLOnScreen joins the hard-wrapped authorization address.
func authURLOnScreen(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Open this address") {
			var b strings.Builder
			for _, next := range lines[i+1:] {
				next = strings.TrimSpace(next)
				if next == "" {
					break
				}
				b.WriteString(next)
			}
			return b.String()
		}
	}
	return ""
}

// TestE2EOAuthPasteBackAndFallback: a server without the device grant (before
// 17.2) falls back to paste-back with a note; the address the browser ended
// on is pasted into the wizard.
func TestE2EOAuthPasteBackAndFallback(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Legacy: true, Version: "16.11.2-ee"}).Start()
	defer srv.Close()
	h := newHome(t)
	h.env = append(h.env, "SSH_TTY=/dev/pts/9")
	tm := startTmux(t, h, 120, 40, binary)
	tm.waitFor("Which app do you want to connect?")
	tm.keys("Enter", "Enter")
	oauthFields(tm, srv.BaseURL)
	s := tm.waitFor("has no device authorization", "[paste the address back]", "ssh -L")
	authURL := authURLOnScreen(s)
	final := consent(t, authURL)
	tm.paste("http://127.0.0.1:1/onramp/callback?code=x&state=forged")
	tm.keys("Enter")
	tm.waitFor("belongs to another authorization")
	tm.keys("C-u")
	tm.paste(final)
	tm.keys("Enter")
	tm.waitFor("SUCCESS!")
	storedOAuth(t, h)
}

// TestE2EOAuthCLI: connect --auth oauth by paste-back from a script, then
// reconnect by device code, then remove --revoke.
func TestE2EOAuthCLI(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1}).Start()
	defer srv.Close()
	h := newHome(t)
	debugLog := filepath.Join(h.dir, "http.log")
	h.env = append(h.env, "ONRAMP_DEBUG_HTTP="+debugLog)
	var all strings.Builder

	cmd := exec.Command(binary, "connect", "gitlab", "--auth", "oauth", "--url", srv.BaseURL, "--client-id", gitlabtest.DemoApp.UID,
		"--client-secret-stdin", "--flow", "paste", "--alias", "gl-oauth")
	cmd.Env = h.env
	stdin, _ := cmd.StdinPipe()
	stderr, _ := cmd.StderrPipe()
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte(gitlabtest.DemoApp.Secret + "\n"))
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		if strings.HasPrefix(strings.TrimSpace(line), "http") && strings.Contains(line, "/oauth/authorize?") {
			stdin.Write([]byte("not an address\n" + consent(t, line) + "\n"))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("connect: %v\n%s", err, all.String())
	}
	all.WriteString(stdout.String())
	if !strings.Contains(stdout.String(), "Connected GitLab as gl-oauth") || !strings.Contains(all.String(), "✗ paste the whole address") {
		t.Fatalf("connect output:\n%s", all.String())
	}
	before := storedOAuth(t, h)

	outText, errText, err := runApprovingDevice(h, func(code string) { srv.Sandbox.ApproveDevice(code, gitlabtest.RootID) }, "reconnect", "gl-oauth", "--flow", "device")
	all.WriteString(errText + outText)
	if err != nil {
		t.Fatalf("reconnect: %v\n%s", err, all.String())
	}
	after := storedOAuth(t, h)
	if after.ID != before.ID || after.Alias != "gl-oauth" || after.Secret(store.SecretRefreshToken) == before.Secret(store.SecretRefreshToken) {
		t.Fatal("reconnect did not replace the grant in place")
	}

	o, e, code := runCLI(t, h, "", "remove", "gl-oauth", "--yes", "--revoke")
	all.WriteString(o + e)
	if code != 0 || !strings.Contains(e, "Revoked") {
		t.Fatalf("remove --revoke: %d %s", code, e)
	}
	req, _ := http.NewRequest("GET", srv.BaseURL+"/oauth/token/info", nil)
	req.Header.Set("Authorization", "Bearer "+after.Secret(store.SecretAccessToken).Reveal())
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("token still valid after --revoke: %d", resp.StatusCode)
	}
	logged, _ := os.ReadFile(debugLog)
	if !strings.Contains(string(logged), "POST "+srv.BaseURL+"/oauth/token") {
		t.Fatalf("debug log missing requests:\n%s", logged)
	}
	for _, secret := range []string{gitlabtest.DemoApp.Secret, before.Secret(store.SecretAccessToken).Reveal(), after.Secret(store.SecretRefreshToken).Reveal()} {
		if strings.Contains(all.String(), secret) || strings.Contains(string(logged), secret) {
			t.Fatal("a secret appeared in the output or the debug log")
		}
	}
}

// TestE2ERevokeToken: remove --revoke on a token connection revokes it at
// GitLab; a failing revoke keeps the local copy unless --force.
func TestE2ERevokeToken(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{})
	srv := sb.Start()
	defer srv.Close()
	h := newHome(t)
	tok := sb.AddToken(gitlabtest.RootID, "to-revoke", []string{"api"}, nil)
	if _, e, c := runCLI(t, h, tok, "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "a"); c != 0 {
		t.Fatal(e)
	}
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/personal_access_tokens/self", Status: 503})
	if _, e, c := runCLI(t, h, "", "remove", "a", "--yes", "--revoke"); c != 1 || !strings.Contains(e, "local copy is kept") {
		t.Fatalf("failed revoke: %d %s", c, e)
	}
	if _, _, c := runCLI(t, h, "", "show", "a"); c != 0 {
		t.Fatal("deleted although the revoke failed")
	}
	if _, e, c := runCLI(t, h, "", "remove", "a", "--yes", "--revoke"); c != 0 {
		t.Fatalf("revoke: %s", e)
	}
	req, _ := http.NewRequest("GET", srv.BaseURL+"/api/v4/user", nil)
	req.Header.Set("Private-Token", tok)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("token alive after revoke: %d", resp.StatusCode)
	}
}
