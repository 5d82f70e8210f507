package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/cli"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// These tests build the real binary and drive it: in tmux, as a person
// would, and as a script would.

var binary string

// coverEnv is GOCOVERDIR=… for every command a test runs ("" when the
// binary is built without coverage): a -cover binary run without it warns
// on stderr.
var coverEnv string

func TestMain(m *testing.M) {
	if addr := os.Getenv("ONRAMP_REFERENCE_WISH"); addr != "" {
		runReferenceWish(addr) // this process is the reference SSH server
		return
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "onramp-e2e-*")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "onramp")
	build := []string{"build", "-o", binary}
	// Tests run a binary built with -cover, so what they reach is counted;
	// benchmarks time the binary as shipped.
	coverDir := ""
	if flag.Lookup("test.bench").Value.String() == "" {
		coverDir = cmp.Or(os.Getenv("ONRAMP_E2E_COVERDIR"), filepath.Join(dir, "cover"))
		if err := os.MkdirAll(coverDir, 0o777); err != nil {
			panic(err)
		}
		os.Chmod(coverDir, 0o777) // the systemd test runs the binary as another user
		coverEnv = "GOCOVERDIR=" + coverDir
		build = append(build, "-cover", "-coverpkg=github.com/onramp-dev/onramp/...")
	}
	if out, err := exec.Command("go", append(build, "..")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	if coverDir != "" && testing.Verbose() {
		out, _ := exec.Command("go", "tool", "covdata", "percent", "-i", coverDir).CombinedOutput()
		fmt.Printf("what the end-to-end tests reached (go tool covdata percent):\n%s", out)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// home is an isolated HOME/XDG environment with the store inside it.
type home struct {
	dir   string
	store string
	env   []string
	// keyCommand opens a shared store (every machine of a team has it).
	keyCommand string
}

func newHome(t *testing.T) *home {
	dir := t.TempDir()
	h := &home{dir: dir, store: filepath.Join(dir, "data", "onramp.db")}
	h.env = []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data-home"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"ONRAMP_STORE=" + h.store, "ONRAMP_NO_KEYRING=1", "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "LANG=C.UTF-8"}
	if coverEnv != "" {
		h.env = append(h.env, coverEnv)
	}
	return h
}

func (h *home) open(t *testing.T) store.Backend {
	st, err := store.Open(context.Background(), store.Options{Path: h.store, ConfigDir: filepath.Join(h.dir, "config", "onramp"), KeyCommand: h.keyCommand})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// tmux is one tmux server with one window running a command.
type tmux struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, h *home, w, hgt int, command string) *tmux {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is required (.ci/run installs it)")
	}
	tm := &tmux{t: t, socket: fmt.Sprintf("onramp-e2e-%d", rand.Int64())}
	args := []string{"-L", tm.socket, "-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(hgt)}
	// The environment goes through env(1): tmux's -e does not win over the
	// shell's own PATH.
	var assign []string
	for _, e := range h.env {
		assign = append(assign, shellQuote(e))
	}
	args = append(args, "env -i "+strings.Join(assign, " ")+" sh -c "+shellQuote(command+"; echo EXITED=$?; sleep 30"))
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (tm *tmux) run(args ...string) string {
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v %s", args, err, out)
	}
	return string(out)
}

func (tm *tmux) screen() string { return tm.run("capture-pane", "-p") }

func (tm *tmux) waitFor(want ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = tm.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	tm.t.Fatalf("screen never showed %q:\n%s", want, s)
	return ""
}

func (tm *tmux) keys(keys ...string) {
	for _, k := range keys {
		tm.run("send-keys", k)
		time.Sleep(30 * time.Millisecond)
	}
}

func (tm *tmux) typeText(s string) { tm.run("send-keys", "-l", s) }

// onboardToken walks the wizard's token path from the first screen: vendor,
// method (up from the preselected OAuth2), URL and a pasted token.
func (tm *tmux) onboardToken(base, token string) {
	tm.t.Helper()
	tm.waitFor("Which app do you want to connect?")
	tm.keys("Enter", "Up", "Enter")
	tm.waitFor("GitLab server URL")
	tm.keys("C-u")
	tm.typeText(base)
	tm.keys("Enter")
	tm.paste(token)
	tm.keys("Enter")
}

// paste sends text as a bracketed paste, the way a terminal pastes.
func (tm *tmux) paste(s string) {
	tm.run("set-buffer", s)
	tm.run("paste-buffer", "-p")
}

func TestE2EWizardInTmux(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true}).Start()
	defer srv.Close()
	h := newHome(t)
	out := filepath.Join(h.dir, "stdout.txt")
	tm := startTmux(t, h, 80, 24, binary+" > "+out)

	tm.waitFor("Which app do you want to connect?", "GitLab", "Inventory of users and seats")
	tm.keys("Enter")
	tm.waitFor("How should onramp sign in to GitLab?", "API access token", "OAuth2 (Recommended)")
	tm.keys("Up", "Enter")
	tm.waitFor("GitLab server URL", "https://gitlab.com")
	tm.keys("C-u")
	tm.typeText(srv.BaseURL)
	tm.keys("Enter")
	tm.waitFor("› Access token", "personal_access_tokens?name=onramp")
	tm.paste(gitlabtest.DemoTokens.ExpiringSoon + "\n")
	tm.keys("Enter")
	s := tm.waitFor("SUCCESS!", "@root", "administrator", "expires on", "in 6 days")
	if strings.Contains(s, gitlabtest.DemoTokens.ExpiringSoon) {
		t.Fatal("token on screen")
	}
	tm.keys("Enter")
	tm.waitFor("Integrations", "1 connection", "users, just now")
	tm.keys("q")
	tm.waitFor("EXITED=0")

	conns, _ := h.open(t).List(context.Background(), store.ListOptions{})
	if len(conns) != 1 || conns[0].BaseURL != srv.BaseURL || conns[0].Account.Username != "root" {
		t.Fatalf("stored: %+v", conns)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != conns[0].Alias {
		t.Fatalf("stdout %q, want the alias %q", b, conns[0].Alias)
	}
}

func TestE2EWizardFailureThenFixIn60x20(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	h := newHome(t)
	tm := startTmux(t, h, 60, 20, binary)
	tm.waitFor("Which app do you want to connect?")
	tm.keys("Enter", "Up", "Enter")
	tm.waitFor("GitLab server URL")
	tm.keys("C-u")
	tm.typeText(srv.BaseURL)
	tm.keys("Enter")
	tm.paste(gitlabtest.DemoTokens.Revoked)
	tm.keys("Enter")
	tm.waitFor("This token was revoked", "› Access token")
	tm.keys("C-u")
	tm.paste(gitlabtest.DemoTokens.Admin)
	tm.keys("Enter")
	tm.waitFor("SUCCESS!")
	tm.keys("C-c")
	tm.waitFor("EXITED=0")
}

func TestE2EAbortExits130(t *testing.T) {
	h := newHome(t)
	tm := startTmux(t, h, 80, 24, binary)
	tm.waitFor("Which app do you want to connect?")
	tm.keys("Enter", "Up", "Enter")
	tm.waitFor("GitLab server URL")
	tm.typeText("x")
	tm.keys("C-c")
	tm.waitFor("Quit onramp?")
	tm.keys("y")
	tm.waitFor("EXITED=130")
}

func TestE2EDemo(t *testing.T) {
	h := newHome(t)
	tm := startTmux(t, h, 100, 30, binary+" demo")
	tm.waitFor("DEMO · sandboxes: GitLab 127.0.0.1:")
	tm.keys("Enter", "Up", "Enter")
	tm.waitFor("GitLab server URL", "http://127.0.0.1:")
	tm.keys("Enter")
	tm.waitFor("Sandbox tokens (demo only)")
	tm.paste(gitlabtest.DemoTokens.FewScopes)
	tm.keys("Enter")
	tm.waitFor("scopes do not allow reading the API")
	tm.keys("C-u")
	tm.paste(gitlabtest.DemoTokens.Admin)
	tm.keys("Enter")
	tm.waitFor("SUCCESS!")
	tm.keys("Enter")
	tm.waitFor("1 connection", "users, just now") // the demo's sync is slowed down to be watched
	tm.keys("q")
	tm.waitFor("EXITED=0", "demo store was temporary")
}

// connectToken connects a token with `onramp connect`, as a script would.
func connectToken(t *testing.T, h *home, base, token, alias string) {
	t.Helper()
	if _, e, c := runCLI(t, h, token, "connect", "gitlab", "--url", base, "--token-stdin", "--alias", alias); c != 0 {
		t.Fatalf("connect %s: exit %d: %s", alias, c, e)
	}
}

// runCLI runs the binary with stdin, returning stdout, stderr and exit code.
func runCLI(t *testing.T, h *home, stdin string, args ...string) (string, string, int) {
	cmd := exec.Command(binary, args...)
	cmd.Env = h.env
	return runWith(t, cmd, stdin)
}

// commandTimeout bounds one command run by a test.
const commandTimeout = 3 * time.Minute

// runWith runs cmd with stdin, returning stdout, stderr and exit code.
func runWith(t *testing.T, cmd *exec.Cmd, stdin string) (string, string, int) {
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A command that hangs fails its test, naming itself, rather than
	// the whole package at go test's timeout.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	hung := time.AfterFunc(commandTimeout, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !hung.Stop() {
		t.Fatalf("%s hung for %s and was killed; it printed: %s %s", strings.Join(cmd.Args, " "), commandTimeout, out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestE2EConnectCommand(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	h := newHome(t)
	secrets := []string{gitlabtest.DemoTokens.Admin, gitlabtest.DemoTokens.Expired, gitlabtest.DemoTokens.NonAdmin}
	var all strings.Builder
	run := func(stdin string, args ...string) (string, string, int) {
		o, e, c := runCLI(t, h, stdin, args...)
		all.WriteString(o + e)
		return o, e, c
	}

	out, errOut, code := run(gitlabtest.DemoTokens.Admin+"\n", "connect", "gitlab", "--url", srv.BaseURL+"/api/v4/", "--token-stdin", "--json")
	if code != cli.ExitOK {
		t.Fatalf("connect: %d %s", code, errOut)
	}
	var res cli.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Connection.Account.Username != "root" || !res.Connection.Account.Admin || len(res.Summary) < 5 {
		t.Fatalf("json: %v %s", err, out)
	}

	// Same summary in text; a second GitLab needs --alias.
	_, errOut, code = run(gitlabtest.DemoTokens.NonAdmin+"\n", "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin")
	if code != cli.ExitUsage || !strings.Contains(errOut, "--alias") {
		t.Fatalf("second without alias: %d %s", code, errOut)
	}
	tokFile := filepath.Join(h.dir, "token")
	os.WriteFile(tokFile, []byte(gitlabtest.DemoTokens.NonAdmin+"\n"), 0o600)
	out, errOut, code = run("", "connect", "gitlab", "--url", srv.BaseURL, "--token-file", tokFile, "--alias", "Team-B")
	if code != 0 || !strings.Contains(out, "Connected GitLab as Team-B") || !strings.Contains(out, "Account") || !strings.Contains(errOut, "not an administrator") {
		t.Fatalf("text connect: %d\n%s\n%s", code, out, errOut)
	}

	// Failures: one line with the reason, non-zero.
	_, errOut, code = run(gitlabtest.DemoTokens.Expired+"\n", "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "x")
	if code != cli.ExitFailure || !strings.Contains(errOut, "expired") || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
		t.Fatalf("expired: %d %q", code, errOut)
	}
	_, errOut, code = run("", "connect", "gitlab", "--url", srv.BaseURL, "--token", gitlabtest.DemoTokens.Admin)
	if code != cli.ExitUsage || !strings.Contains(errOut, "visible to every user") {
		t.Fatalf("token in argv: %d %s", code, errOut)
	}

	// list, show, store info, remove.
	out, _, code = run("", "list", "--json")
	var rows []struct{ Alias string }
	json.Unmarshal([]byte(out), &rows)
	if code != 0 || len(rows) != 2 {
		t.Fatalf("list: %d %s", code, out)
	}
	out, _, _ = run("", "list") // piped: tab-separated, no header (gh's convention)
	if strings.Contains(out, "ALIAS") || strings.Count(out, "\n") != 2 || !strings.Contains(out, "Team-B\tGitLab\t") {
		t.Fatalf("list text: %q", out)
	}
	out, _, code = run("", "show", "team-b")
	if code != 0 || !strings.Contains(out, "glpat-…") || !strings.Contains(out, "@bob") {
		t.Fatalf("show: %d %s", code, out)
	}
	out, _, code = run("", "show", "team-b", "--json")
	if code != 0 || !strings.Contains(out, `"token": "glpat-…`) {
		t.Fatalf("show json: %d %s", code, out)
	}
	_, _, code = run("", "show", "nope")
	if code != cli.ExitNotFound {
		t.Fatalf("show missing: %d", code)
	}
	out, _, code = run("", "store", "info", "--json")
	var info store.Info
	json.Unmarshal([]byte(out), &info)
	if code != 0 || info.Connections != 2 || info.Key.Source != store.KeySourceFile || info.Path != h.store {
		t.Fatalf("store info: %d %s", code, out)
	}
	_, errOut, code = run("", "remove", "team-b")
	if code != cli.ExitUsage || !strings.Contains(errOut, "--yes") {
		t.Fatalf("remove without a terminal: %d %s", code, errOut)
	}
	_, _, code = run("", "remove", "team-b", "--yes")
	if code != 0 {
		t.Fatalf("remove: %d", code)
	}
	_, _, code = run("", "remove", "team-b", "--yes")
	if code != cli.ExitNotFound {
		t.Fatalf("remove twice: %d", code)
	}
	_, _, code = run("", "frobnicate")
	if code != cli.ExitUsage {
		t.Fatalf("unknown command: %d", code)
	}

	for _, s := range secrets {
		if strings.Contains(all.String(), s) {
			t.Fatalf("a token appeared in the output")
		}
	}
}

func TestE2ERemoveAsksInATerminal(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod")
	tm := startTmux(t, h, 140, 10, binary+" remove prod")
	tm.waitFor("Remove the gitlab connection \"prod\"", "[y/N]")
	tm.keys("n", "Enter")
	tm.waitFor("EXITED=130")
	if _, err := h.open(t).Find(context.Background(), "gitlab", "prod"); err != nil {
		t.Fatal("removed after no")
	}
}

func TestE2ENoColorAnd256Colours(t *testing.T) {
	for _, c := range []struct {
		name, env string
		colour    bool
	}{{"NO_COLOR", "NO_COLOR=1", false}, {"256", "TERM=screen-256color", true}} {
		t.Run(c.name, func(t *testing.T) {
			h := newHome(t)
			h.env = append(h.env, c.env)
			tm := startTmux(t, h, 80, 24, binary)
			tm.waitFor("Which app do you want to connect?")
			tm.keys("Enter", "Up", "Enter")
			tm.waitFor("› GitLab server URL")
			styled := tm.run("capture-pane", "-p", "-e")
			hasColour := strings.Contains(styled, "[38;") || strings.Contains(styled, ";38;")
			if hasColour != c.colour {
				t.Fatalf("colour codes present: %v, want %v:\n%q", hasColour, c.colour, styled)
			}
			if !strings.Contains(styled, "›") {
				t.Fatal("focus marker missing: without colour the focus must still show")
			}
		})
	}
}

// TestE2EInsideScreen runs the wizard inside GNU screen (itself in tmux):
// TERM=screen, screen's own terminal emulation in between.
func TestE2EInsideScreen(t *testing.T) {
	if _, err := exec.LookPath("screen"); err != nil {
		t.Fatal("GNU screen is required (.ci/run installs it)")
	}
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	h := newHome(t)
	h.env = append(h.env, "SCREENDIR="+filepath.Join(h.dir, "screens"))
	os.MkdirAll(filepath.Join(h.dir, "screens"), 0o700)
	tm := startTmux(t, h, 90, 26, "screen -q -S onramp-e2e "+binary)
	tm.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	tm.waitFor("SUCCESS!", "@root")
	tm.keys("Enter")
	tm.waitFor("1 connection", "users, just now")
	tm.keys("q")
	tm.waitFor("EXITED=0")
}
