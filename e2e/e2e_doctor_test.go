package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Issue 22: `onramp doctor` says what works and what does not, each line
// with the fix; exit 1 when something needs doing.

type doctorOut struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Check, Status, Message, Fix string
	} `json:"checks"`
}

func runDoctor(t *testing.T, h *home) (doctorOut, string, int) {
	t.Helper()
	text, _, code := runCLI(t, h, "", "doctor")
	out, _, jcode := runCLI(t, h, "", "doctor", "--json")
	var d doctorOut
	if err := json.Unmarshal([]byte(out), &d); err != nil || jcode != code {
		t.Fatalf("doctor --json: exit %d (text: %d): %v\n%s", jcode, code, err, out)
	}
	return d, text, code
}

// line is the doctor's check named name whose message contains want.
func (d doctorOut) line(t *testing.T, status, name, want string) {
	t.Helper()
	for _, c := range d.Checks {
		if c.Check == name && c.Status == status && strings.Contains(c.Message, want) {
			return
		}
	}
	t.Fatalf("no %s %q line with %q in %+v", status, name, want, d.Checks)
}

func TestE2EDoctorHealthy(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 20}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod")
	worker := exec.Command(binary, "worker")
	worker.Env = h.env
	log := &syncBuffer{}
	worker.Stderr = log
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { worker.Process.Kill(); worker.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), "sync done") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	d, text, code := runDoctor(t, h)
	if code != 0 || !d.OK {
		t.Fatalf("a healthy store: exit %d\n%s", code, text)
	}
	d.line(t, "ok", "store", "SQLite file "+h.store+", schema")
	d.line(t, "ok", "key", "from "+filepath.Join(h.dir, "config", "onramp", "keys"))
	d.line(t, "ok", "permissions", "store file "+h.store+" is 0600")
	d.line(t, "ok", "workers", "1 worker alive")
	d.line(t, "ok", "jobs", "no sync is overdue")
	d.line(t, "ok", "connections", "1 connection, none needs anything")
	d.line(t, "info", "host key", "`onramp serve` makes it")
	d.line(t, "info", "notify", "nobody is notified")
	if strings.Contains(text, gitlabtest.DemoTokens.Admin) {
		t.Fatal("doctor printed a token")
	}
}

func TestE2EDoctorFindsWhatNeedsDoing(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 20}).Start()
	defer srv.Close()

	// A sync due and no worker; a token that expires soon.
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.ExpiringSoon, "soon")
	d, text, code := runDoctor(t, h)
	if code != 1 || d.OK {
		t.Fatalf("exit %d\n%s", code, text)
	}
	d.line(t, "fail", "workers", "no worker runs: the syncs of 1 connection wait")
	d.line(t, "fail", "jobs", "1 sync due and no worker to run them")
	d.line(t, "warn", "connection", "soon: its token expires on")
	if !strings.Contains(text, "fix: start a worker") || !strings.Contains(text, "fix: create a new token, then onramp reconnect soon") {
		t.Fatalf("fixes missing:\n%s", text)
	}

	// The store's key is gone.
	keys, _ := filepath.Glob(filepath.Join(h.dir, "config", "onramp", "keys", "*.key"))
	if len(keys) != 1 {
		t.Fatalf("key files: %v", keys)
	}
	os.Rename(keys[0], keys[0]+".away")
	d, text, code = runDoctor(t, h)
	if code != 1 {
		t.Fatalf("missing key: exit %d\n%s", code, text)
	}
	d.line(t, "fail", "key", "does not exist")
	os.Rename(keys[0]+".away", keys[0])

	// A store file others can read.
	os.Chmod(h.store, 0o644)
	d, text, _ = runDoctor(t, h)
	d.line(t, "fail", "permissions", "is 0644: others can read it")
	if !strings.Contains(text, "fix: chmod 600 "+h.store) {
		t.Fatalf("no chmod fix:\n%s", text)
	}
}

func TestE2EDoctorDeadWorker(t *testing.T) {
	h := newHome(t)
	syncKilledMidway(t, h, 20*time.Millisecond, 2)
	d, text, code := runDoctor(t, h)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, text)
	}
	d.line(t, "fail", "jobs", "big (on sync@")
	d.line(t, "fail", "jobs", "which is gone")
	d.line(t, "fail", "workers", "no worker runs")
}

func TestE2EDoctorPostgresDown(t *testing.T) {
	h := newHome(t)
	for i, e := range h.env {
		if strings.HasPrefix(e, "ONRAMP_STORE=") {
			h.env[i] = "ONRAMP_STORE=postgres://onramp@" + freePort(t) + "/onramp"
		}
	}
	d, text, code := runDoctor(t, h)
	if code != 1 || len(d.Checks) != 1 {
		t.Fatalf("exit %d\n%s", code, text)
	}
	d.line(t, "fail", "store", "connection refused")
	if !strings.Contains(text, "pg_isready") {
		t.Fatalf("no fix:\n%s", text)
	}
}
