package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Issue 23: events reach a webhook once for the whole team, however many
// workers run, and a receiver that was down gets them later; no event, log
// line or argument carries a secret.

// receiver is a webhook on 127.0.0.1 that answers 503 until up.
type receiver struct {
	mu     sync.Mutex
	up     bool
	events []map[string]any
	bodies []string
	failed int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		r.failed++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var e map[string]any
	json.Unmarshal(b, &e)
	r.events, r.bodies = append(r.events, e), append(r.bodies, string(b))
}

func (r *receiver) count(kind, alias string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		c, _ := e["connection"].(map[string]any)
		if e["event"] == kind && c["alias"] == alias {
			n++
		}
	}
	return n
}

func TestE2ENotificationsOnceForTheTeam(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 30}).Start()
	defer srv.Close()
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	const secretPath = "/services/T0001/B0002/hooksecretXYZ123"
	h := newHome(t)
	urlFile := filepath.Join(h.dir, "webhook")
	os.WriteFile(urlFile, []byte(hook.URL+secretPath+"\n"), 0o600)

	revocable := srv.Sandbox.AddToken(gitlabtest.RootID, "revocable", []string{"read_api", "read_user"}, nil)
	connectToken(t, h, srv.BaseURL, revocable, "prod")
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.ExpiringSoon, "soon")

	var logs []*syncBuffer
	for range 2 {
		w := exec.Command(binary, "worker", "--notify", "@"+urlFile)
		w.Env = h.env
		log := &syncBuffer{}
		w.Stderr = log
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { w.Process.Signal(os.Interrupt); w.Wait() }()
		logs = append(logs, log)
	}
	// The receiver is down until a delivery has failed against it: the
	// expiry warning waits for it.
	waitFor(t, "a delivery tried while the receiver is down", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if rcv.failed > 0 {
			rcv.up = true
		}
		return rcv.up
	})

	srv.Sandbox.Revoke(revocable)
	runCLI(t, h, "", "sync", "prod") // fails: the token is revoked
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && (rcv.count("needs_reconnect", "prod") == 0 || rcv.count("credential_expires_soon", "soon") == 0) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // time for a duplicate to arrive, if there were one
	if n := rcv.count("needs_reconnect", "prod"); n != 1 {
		t.Errorf("%d needs_reconnect events for prod, want 1", n)
	}
	if n := rcv.count("credential_expires_soon", "soon"); n != 1 {
		t.Errorf("%d expiry events for soon, want 1", n)
	}
	rcv.mu.Lock()
	all := strings.Join(rcv.bodies, "\n")
	rcv.mu.Unlock()
	for _, secret := range []string{revocable, gitlabtest.DemoTokens.ExpiringSoon, "hooksecretXYZ123"} {
		if strings.Contains(all, secret) || strings.Contains(logs[0].String()+logs[1].String(), secret) {
			t.Errorf("a secret (%.10s…) in an event or a log", secret)
		}
	}
	if !strings.Contains(all, `"text":"onramp: GitLab connection prod`) || !strings.Contains(all, "onramp reconnect prod") {
		t.Errorf("events:\n%s", all)
	}
	if t.Failed() {
		t.Fatalf("events:\n%s\nlogs:\n%s\n%s", all, logs[0], logs[1])
	}
	// status says the connection was notified.
	if _, e, _ := runCLI(t, h, "", "status"); !strings.Contains(e, "prod: needs reconnect") || !strings.Contains(e, "(notified ") {
		t.Fatalf("status:\n%s", e)
	}
}

// --notify-command runs the command with the event on stdin, once.
func TestE2ENotifyCommand(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 5}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.ExpiringSoon, "soon")
	out := filepath.Join(h.dir, "events.ndjson")
	w := exec.Command(binary, "worker", "--notify-command", "cat >> '"+out+"'; echo >> '"+out+"'; env | grep -c ONRAMP_STORE >> '"+out+"'; true")
	w.Env = h.env
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Signal(os.Interrupt); w.Wait() }()
	var got string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(out)
		// the command's last write is the count of ONRAMP_STORE lines
		if got = string(b); strings.Contains(got, "credential_expires_soon") && strings.HasSuffix(got, "\n0\n") {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"event":"credential_expires_soon"`) || lines[1] != "0" {
		t.Fatalf("the command got:\n%s", got)
	}
}

// doctor says where events go, and when they do not get there.
func TestE2EDoctorSaysWhereEventsGo(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 5}).Start()
	defer srv.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer hook.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod")
	w := exec.Command(binary, "worker", "--notify", "-")
	w.Env, w.Stdin = h.env, strings.NewReader(hook.URL+"/secret-path\n")
	log := &syncBuffer{}
	w.Stderr = log
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Signal(os.Interrupt); w.Wait() }()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(log.String(), "sync done") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	d, _, _ := runDoctor(t, h)
	d.line(t, "ok", "notify", "events go to http://127.0.0.1:")
	for _, c := range d.Checks {
		if strings.Contains(c.Message, "secret-path") {
			t.Fatalf("doctor shows the webhook's path: %+v", c)
		}
	}
}
