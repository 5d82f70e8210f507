package e2e

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Issue 22: the systemd units in contrib/ work as written. systemd-analyze
// verifies them, and each unit's ExecStart runs with the unit's own
// environment, as an unprivileged user, the way systemd would start it:
// the state directory made for that user, the key handed over through
// LoadCredential's directory.

// unit is what a test needs of a service file.
type unit struct {
	env       []string
	execStart []string
	// credentials: LoadCredential's ID → source file.
	credentials map[string]string
}

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{credentials: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch key {
		case "Environment":
			if strings.HasPrefix(value, `"`) { // one quoted assignment
				value = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(value, `"`), `"`), `\"`, `"`)
			}
			u.env = append(u.env, value)
		case "ExecStart":
			u.execStart = strings.Fields(value)
		case "LoadCredential":
			id, src, _ := strings.Cut(value, ":")
			u.credentials[id] = src
		}
	}
	return u
}

// TestSystemdUnitsVerify runs systemd-analyze verify on both units (their
// ExecStart pointed at the binary under test, which verify checks exists).
func TestSystemdUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is required (.ci/run installs systemd)")
	}
	dir := t.TempDir()
	for _, name := range []string{"onramp-worker.service", "onramp-serve.service"} {
		b, err := os.ReadFile(filepath.Join("..", "contrib", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(string(b), "/usr/local/bin/onramp", binary)), 0o644)
	}
	cmd := exec.Command("systemd-analyze", "verify", "onramp-worker.service", "onramp-serve.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// serviceRun starts units as systemd would on a machine laid out by the
// README: /var/lib/onramp (the state directory) and /etc/onramp (the key,
// the operators) are temporary directories; the process runs as nobody when
// the test runs as root.
type serviceRun struct {
	t               *testing.T
	state, etc, bin string
	uid, gid        int
	unprivileged    bool
}

func newServiceRun(t *testing.T) *serviceRun {
	root := t.TempDir()
	// The test's directories are private to root: the service's user must
	// reach the binary and its state directory through them.
	os.Chmod(filepath.Dir(root), 0o755)
	os.Chmod(root, 0o755)
	r := &serviceRun{t: t, state: filepath.Join(root, "var-lib-onramp"), etc: filepath.Join(root, "etc-onramp"), bin: filepath.Join(root, "onramp"),
		uid: os.Getuid(), gid: os.Getgid()}
	if os.Getuid() == 0 {
		r.uid, r.gid, r.unprivileged = 65534, 65534, true
	}
	b, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(r.bin, b, 0o755) // the test binary's directory is private
	os.MkdirAll(r.etc, 0o755)
	// StateDirectory=onramp, StateDirectoryMode=0750: made for the user.
	os.MkdirAll(r.state, 0o750)
	os.Chown(r.state, r.uid, r.gid)
	return r
}

// setKey writes /etc/onramp/key (root-owned: only LoadCredential reads it).
func (r *serviceRun) setKey(key string) {
	os.WriteFile(filepath.Join(r.etc, "key"), []byte(key+"\n"), 0o600)
}

// command is the unit's ExecStart with its environment: paths moved into
// the temporary layout, the credentials directory made as systemd does
// (a copy of each credential, readable by the service's user only).
func (r *serviceRun) command(u unit, extraArgs ...string) *exec.Cmd {
	creds := r.t.TempDir()
	os.Chmod(creds, 0o755)
	for id, src := range u.credentials {
		b, err := os.ReadFile(r.moved(src))
		if err != nil {
			r.t.Fatalf("LoadCredential=%s: %v", src, err)
		}
		path := filepath.Join(creds, id)
		os.WriteFile(path, b, 0o400)
		os.Chown(path, r.uid, r.gid)
	}
	env := []string{"PATH=/usr/bin:/bin", "CREDENTIALS_DIRECTORY=" + creds, "HOME=" + r.state, "LANG=C.UTF-8"}
	if coverEnv != "" {
		env = append(env, coverEnv)
	}
	for _, e := range u.env {
		env = append(env, r.moved(e))
	}
	args := []string{}
	for _, a := range u.execStart {
		args = append(args, r.moved(a))
	}
	args = append(args, extraArgs...)
	cmd := exec.Command(args[0], args[1:]...)
	if r.unprivileged {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)}}
	}
	cmd.Env = env
	cmd.Dir = r.state
	return cmd
}

func (r *serviceRun) moved(s string) string {
	s = strings.ReplaceAll(s, "/var/lib/onramp", r.state)
	s = strings.ReplaceAll(s, "/etc/onramp", r.etc)
	return strings.ReplaceAll(s, "/usr/local/bin/onramp", r.bin)
}

// cli runs an operator's command against the service's store the way the
// README says for a store file: as the service's user, with its settings
// (the key read from /etc/onramp/key, which the onramp group may read).
func (r *serviceRun) cli(u unit, stdin string, args ...string) (string, string, int) {
	os.Chmod(filepath.Join(r.etc, "key"), 0o644) // the test's stand-in for group onramp's read
	op := u
	op.env = append(append([]string(nil), u.env...), "ONRAMP_KEY_COMMAND=cat /etc/onramp/key")
	op.execStart = append([]string{"/usr/local/bin/onramp"}, args...)
	op.credentials = nil
	return runWith(r.t, r.command(op), stdin)
}

func TestSystemdWorkerUnitRunsAsWritten(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 30}).Start()
	defer srv.Close()
	r := newServiceRun(t)
	r.setKey("c3lzdGVtZC1rZXktZm9yLW9ucmFtcC10ZXN0cy0zMmI=")
	u := readUnit(t, filepath.Join("..", "contrib", "systemd", "onramp-worker.service"))

	worker := r.command(u, "--lease", "3s")
	log := &syncBuffer{}
	worker.Stderr = log
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	defer worker.Process.Kill()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(log.String(), "working") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "working") {
		t.Fatalf("the worker did not start:\n%s", log)
	}
	// The store the service made is its user's, private, in the state
	// directory; an operator reaches it as the README says.
	fi, err := os.Stat(filepath.Join(r.state, "onramp.db"))
	if err != nil || fi.Mode().Perm()&0o077 != 0 || fi.Sys().(*syscall.Stat_t).Uid != uint32(r.uid) {
		t.Fatalf("the store file: %v %v", fi, err)
	}
	if _, e, c := r.cli(u, gitlabtest.DemoTokens.Admin, "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "prod"); c != 0 {
		t.Fatalf("connect as the service's user: %d %s", c, e)
	}
	var out string
	for time.Now().Before(deadline.Add(15 * time.Second)) {
		if out, _, _ = r.cli(u, "", "status"); strings.Contains(out, " users, ") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, " users, ") {
		t.Fatalf("the service's worker did not sync:\n%s\n%s", out, log)
	}
	worker.Process.Signal(syscall.SIGTERM)
	if code, _ := waitExit(t, worker, 20*time.Second); code != 0 || !strings.Contains(log.String(), "stopped cleanly") {
		t.Fatalf("SIGTERM: exit %d\n%s", code, log)
	}

	// A key that does not open the store ends the service with 78, which
	// the unit's RestartPreventExitStatus keeps from a crash loop.
	r.setKey("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktMzI=")
	wrong := r.command(u)
	out2, _ := wrong.CombinedOutput()
	if code := wrong.ProcessState.ExitCode(); code != 78 || !strings.Contains(string(out2), "key") {
		t.Fatalf("a wrong key: exit %d\n%s", code, out2)
	}
	if !strings.Contains(readFileString(t, filepath.Join("..", "contrib", "systemd", "onramp-worker.service")), "RestartPreventExitStatus=78") {
		t.Fatal("the unit restarts on a wrong key")
	}
}

func TestSystemdServeUnitRunsAsWritten(t *testing.T) {
	r := newServiceRun(t)
	r.setKey("c3lzdGVtZC1rZXktZm9yLW9ucmFtcC10ZXN0cy0zMmI=")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	os.WriteFile(filepath.Join(r.etc, "operators"), gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	u := readUnit(t, filepath.Join("..", "contrib", "systemd", "onramp-serve.service"))
	addr := freePort(t)
	for i, a := range u.execStart {
		if a == "--listen" {
			u.execStart[i+1] = addr
		}
	}
	serve := r.command(u)
	log := &syncBuffer{}
	serve.Stderr = log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	times, errs := loginBurst(t, waitListening(t, addr, log), signer, 1, 1, "Which app do you want to connect?")
	if len(errs) > 0 || len(times) != 1 {
		t.Fatalf("login: %v\n%s", errs, log)
	}
	if !strings.Contains(log.String(), "no worker here") {
		t.Fatalf("serve ran a worker despite --concurrency 0:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(r.state, "ssh_host_ed25519")); err != nil {
		t.Fatalf("the host key is not beside the store: %v", err)
	}
	serve.Process.Signal(syscall.SIGTERM)
	if code, _ := waitExit(t, serve, 20*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, log)
	}
}

func waitListening(t *testing.T, addr string, log *syncBuffer) string {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("not listening on %s:\n%s", addr, log)
	return ""
}

func readFileString(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
