package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// sshServer is an `onramp serve` process with operators' keys.
type sshServer struct {
	home *home
	addr string
	keys map[string]string // operator → private key path
	log  *syncBuffer
	cmd  *exec.Cmd
}

// syncBuffer is the server's stderr, written by exec's copier while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServe(t *testing.T, operators []string, extra ...string) *sshServer {
	return startServeIn(t, newHome(t), operators, extra...)
}

// startServeIn starts `onramp serve` with home's environment (its store).
func startServeIn(t *testing.T, h *home, operators []string, extra ...string) *sshServer {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatal("the OpenSSH client is required (.ci/run installs openssh-client)")
	}
	s := &sshServer{home: h, addr: freePort(t), keys: map[string]string{}, log: &syncBuffer{}}
	var auth strings.Builder
	for _, op := range operators {
		key := filepath.Join(h.dir, op)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", op+"@laptop", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		pub, _ := os.ReadFile(key + ".pub")
		auth.Write(pub)
		s.keys[op] = key
	}
	authFile := filepath.Join(h.dir, "authorized_keys")
	os.WriteFile(authFile, []byte(auth.String()), 0o600)
	args := append([]string{"serve", "--listen", s.addr, "--authorized-keys", authFile, "--allow-host", "127.0.0.1"}, extra...)
	s.cmd = exec.Command(binary, args...)
	s.cmd.Env = h.env
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not start: %s", s.log)
	return nil
}

// sshCommand is the OpenSSH client command line for an operator.
func (s *sshServer) sshCommand(op string, extra ...string) []string {
	host, port, _ := net.SplitHostPort(s.addr)
	args := []string{"ssh", "-p", port, "-i", s.keys[op], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes"}
	return append(append(args, extra...), host)
}

// session opens an operator's interactive session inside tmux.
func (s *sshServer) session(t *testing.T, op string) *tmux {
	cmd := strings.Join(s.sshCommand(op, "-tt"), " ")
	return startTmux(t, s.home, 100, 30, cmd)
}

func (s *sshServer) store(t *testing.T) store.Backend { return s.home.open(t) }

func TestE2ESSHTwoOperators(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1})
	srv := sb.Start()
	defer srv.Close()
	s := startServe(t, []string{"alice", "bob"})

	alice, bob := s.session(t, "alice"), s.session(t, "bob")
	alice.waitFor("Which app do you want to connect?")
	bob.waitFor("Which app do you want to connect?")

	// Alice: the token path.
	alice.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	alice.waitFor("SUCCESS!")
	alice.keys("Enter")
	alice.waitFor("1 connection")

	// Bob, meanwhile in his own session: OAuth by device code (never a
	// browser on the server), and a second alias.
	bob.keys("Enter", "Enter")
	oauthFields(bob, srv.BaseURL)
	bob.waitFor("Connection Alias", "Already connected:")
	bob.keys("C-u")
	bob.typeText("team-b")
	bob.keys("Enter")
	screen := bob.waitFor("[code on another device]", "and enter the code")
	if strings.Contains(screen, "browser on this machine") {
		t.Fatal("a browser was offered on the server")
	}
	code := strings.NewReplacer(" ", "", "-", "").Replace(userCodeOnScreen.FindString(screen))
	if !sb.ApproveDevice(code, gitlabtest.RegularID) {
		t.Fatalf("no user code on Bob's screen:\n%s", screen)
	}
	bob.waitFor("SUCCESS!", "connected as team-b")
	bob.keys("Enter")

	// Both see both, with who made each.
	alice.waitFor("2 connections", "team-b")
	bob.waitFor("2 connections", "team-b")
	alice.keys("Down")
	alice.waitFor("bob@laptop")

	conns, _ := s.store(t).List(context.Background(), store.ListOptions{})
	if len(conns) != 2 {
		t.Fatalf("stored %d", len(conns))
	}
	for _, c := range conns {
		if !strings.Contains(c.CreatedBy, "@laptop (ssh:SHA256:") {
			t.Fatalf("created by %q", c.CreatedBy)
		}
	}
	logged := s.log.String()
	for _, want := range []string{"connect", "alice@laptop", "create", "team-b", "bob@laptop"} {
		if !strings.Contains(logged, want) {
			t.Fatalf("server log lacks %q:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, gitlabtest.DemoTokens.Admin) || strings.Contains(logged, gitlabtest.DemoApp.Secret) {
		t.Fatal("a secret in the server log")
	}
}

func TestE2ESSHSyncSurvivesDisconnect(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{Users: 4000, Latency: 50 * time.Millisecond})
	srv := sb.Start()
	defer srv.Close()
	s := startServe(t, []string{"alice"})
	op := s.session(t, "alice")
	op.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	op.waitFor("SUCCESS!")
	op.keys("Enter")
	op.waitFor("syncing")
	// The operator's connection drops mid-sync.
	exec.Command("tmux", "-L", op.socket, "kill-server").Run()

	again := s.session(t, "alice")
	again.waitFor("Which app do you want to connect?")
	again.keys("C-o") // the Integrations page
	again.waitFor("Integrations", "syncing")
	want := len(sb.People(0))
	again.waitFor(fmt.Sprintf("%d users,", want))
	runs, _ := s.store(t).Runs(context.Background(), conns(t, s)[0].ID, 10)
	if len(runs) != 1 || runs[0].Status != store.RunSucceeded {
		t.Fatalf("the sync restarted or failed instead of going on: %+v", runs)
	}
}

func conns(t *testing.T, s *sshServer) []store.Connection {
	c, _ := s.store(t).List(context.Background(), store.ListOptions{})
	return c
}

func TestE2ESSHRefusals(t *testing.T) {
	s := startServe(t, []string{"alice"})
	stranger := filepath.Join(s.home.dir, "stranger")
	exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger).Run()
	s.keys["stranger"] = stranger
	run := func(args ...string) string {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = s.home.env
		cmd.Stdin = strings.NewReader("")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := run(s.sshCommand("stranger", "-o", "BatchMode=yes", "-T")...); !strings.Contains(out, "Permission denied") {
		t.Fatalf("unknown key: %s", out)
	}
	if out := run(s.sshCommand("alice", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "-T")...); !strings.Contains(out, "Permission denied") {
		t.Fatalf("password auth: %s", out)
	}
	if out := run(s.sshCommand("alice", "-o", "BatchMode=yes", "-T")...); !strings.Contains(out, "needs a terminal") {
		t.Fatalf("no PTY: %s", out)
	}
	if !strings.Contains(s.log.String(), "refused key") {
		t.Fatalf("refusal not logged:\n%s", s.log)
	}
}

func TestE2ESSHSessionLimitAndShutdown(t *testing.T) {
	s := startServe(t, []string{"alice"}, "--max-sessions", "1")
	first := s.session(t, "alice")
	first.waitFor("Which app do you want to connect?")
	cmd := exec.Command(s.sshCommand("alice", "-tt", "-o", "BatchMode=yes")[0], s.sshCommand("alice", "-tt", "-o", "BatchMode=yes")[1:]...)
	cmd.Env = s.home.env
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "limit of 1 sessions") {
		t.Fatalf("second session: %s", out)
	}
	s.cmd.Process.Signal(os.Interrupt)
	first.waitFor("The onramp server is stopping")
	// After the wizard's screen is gone, the reason stays on the operator's
	// terminal above ssh's own "Connection closed" (issue 22).
	first.waitFor("onramp: the server is stopping", "Everything saved is kept", "EXITED=")
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, s.log)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(s.log.String(), "stopped") {
		t.Fatalf("log:\n%s", s.log)
	}
}

func TestE2ESSHIdleTimeoutAndConnectRate(t *testing.T) {
	s := startServe(t, []string{"alice"}, "--idle-timeout", "1s", "--connect-rate", "0.5")
	op := s.session(t, "alice")
	op.waitFor("Which app do you want to connect?")
	op.waitFor("EXITED=") // idle for a second: the server closes the session
	// Burst of 4×0.5+1 = 3 per IP, one already spent: the third quick
	// attempt after it is refused with a reason.
	var refused atomic.Bool
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := s.sshCommand("alice", "-tt", "-o", "BatchMode=yes")
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = s.home.env
			cmd.Stdin = strings.NewReader("")
			out, _ := cmd.CombinedOutput()
			if strings.Contains(string(out), "rate limit") {
				refused.Store(true)
			}
		}()
	}
	wg.Wait()
	if !refused.Load() {
		t.Fatal("rapid connection attempts were never refused")
	}
}

// TestE2ESSHLoginDuringAFlood: 300 silent connections from one address
// (127.0.0.2) hold no more than the per-IP cap of descriptors, are closed at
// the login deadline, and an operator logs in with OpenSSH meanwhile.
func TestE2ESSHLoginDuringAFlood(t *testing.T) {
	s := startServe(t, []string{"alice"}, "--login-timeout", "3s")
	pid := s.cmd.Process.Pid
	fdsBefore := openFDs(t, pid)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	floodStart := time.Now()
	for range 300 {
		c, err := dialer.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("flood dial: %v", err)
		}
		flood = append(flood, c)
	}
	time.Sleep(300 * time.Millisecond)
	n := openFDs(t, pid) - fdsBefore
	t.Logf("300 silent connections hold %d descriptors", n)
	if n > 20 {
		t.Fatalf("300 silent connections hold %d descriptors of the server", n)
	}

	op := s.session(t, "alice")
	op.waitFor("Which app do you want to connect?")

	// The admitted silent ones are closed at the login deadline (3 s from
	// their arrival): each is read until the server closes it (its SSH
	// banner, then EOF), with a second of slack.
	closedBy := floodStart.Add(4 * time.Second)
	open := 0
	for _, c := range flood {
		c.SetReadDeadline(closedBy)
		_, err := c.Read(make([]byte, 512))
		for err == nil {
			_, err = c.Read(make([]byte, 512))
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			open++
		}
	}
	if open > 0 {
		t.Fatalf("%d silent connections outlived the login deadline by seconds", open)
	}
	op.waitFor("Which app do you want to connect?") // the operator's session is untouched
}

func openFDs(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestE2ESSHDrawsWithoutATerminalSize: `ssh -tt` fed by a pipe has no
// terminal, so it asks for a 0×0 PTY and answers no query; the wizard still
// draws its first frame (at 80×24).
func TestE2ESSHDrawsWithoutATerminalSize(t *testing.T) {
	s := startServe(t, []string{"alice"})
	args := s.sshCommand("alice", "-tt")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = s.home.env
	stdin, _ := cmd.StdinPipe() // open, silent: nothing answers the terminal queries
	defer stdin.Close()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(out.String(), "Which app do you want to connect?") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no first frame: %q", out.String())
}

// `onramp serve --demo`: support staff demo over SSH — every session gets
// the sandbox GitLab, its tokens beside the field, a temporary store.
func TestE2ESSHServeDemo(t *testing.T) {
	s := startServe(t, []string{"alice"}, "--demo")
	op := s.session(t, "alice")
	op.waitFor("DEMO · sandboxes: GitLab 127.0.0.1:", "Which app do you want to connect?")
	op.keys("Enter", "Up", "Enter")
	op.waitFor("GitLab server URL", "http://127.0.0.1:")
	op.keys("Enter")
	op.waitFor("Sandbox tokens (demo only)")
	op.paste(gitlabtest.DemoTokens.Admin)
	op.keys("Enter")
	op.waitFor("SUCCESS!")
	if conns := conns(t, s); len(conns) != 0 {
		t.Fatalf("the demo wrote into the server's own store: %d connections", len(conns))
	}
}

// loginBurst logs n operators in at the same instant from `addresses`
// loopback addresses (127.0.0.10 on), each waiting for the first screen
// that shows want; it returns each login's time, and the errors.
func loginBurst(t testing.TB, addr string, signer gossh.Signer, n, addresses int, want string) ([]time.Duration, []error) {
	config := &gossh.ClientConfig{User: "op", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 60 * time.Second}
	var (
		mu    sync.Mutex
		times []time.Duration
		errs  []error
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			began := time.Now()
			err := func() error {
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i%addresses))}, Timeout: 60 * time.Second}
				raw, err := d.Dial("tcp", addr)
				if err != nil {
					return err
				}
				raw.SetDeadline(time.Now().Add(60 * time.Second))
				cc, chans, reqs, err := gossh.NewClientConn(raw, addr, config)
				if err != nil {
					raw.Close()
					return err
				}
				c := gossh.NewClient(cc, chans, reqs)
				defer c.Close()
				s, err := c.NewSession()
				if err != nil {
					return err
				}
				defer s.Close()
				s.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{})
				out, _ := s.StdoutPipe()
				if err := s.Shell(); err != nil {
					return err
				}
				return waitOutput(out, want)
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			times = append(times, time.Since(began))
		}()
	}
	close(start)
	wg.Wait()
	slices.Sort(times)
	return times, errs
}

// TestE2ESSHLoginBurstWaitsInLine (issue 22): 200 operators logging in at
// the same instant from 100 addresses all get in — past the 64 handshakes
// at once, logins wait in line instead of being closed (110 to 136 of 200
// were refused before).
func TestE2ESSHLoginBurstWaitsInLine(t *testing.T) {
	s := startServe(t, []string{"alice"}, "--max-sessions", "1000", "--connect-rate", "1000")
	key, err := os.ReadFile(s.keys["alice"])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	times, errs := loginBurst(t, s.addr, signer, 200, 100, "Which app do you want to connect?")
	if len(errs) > 0 {
		t.Fatalf("%d of 200 logins failed, the first: %v\n%s", len(errs), errs[0], s.log)
	}
	t.Logf("200 logins at once from 100 addresses: p50 %v, p95 %v, max %v", times[len(times)/2], times[len(times)*95/100], times[len(times)-1])
	// A logout is a "disconnect" line, not an ERROR.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(s.log.String(), "disconnect") < 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(s.log.String(), "ERROR") {
		t.Fatalf("logouts logged as errors:\n%s", s.log)
	}
}
