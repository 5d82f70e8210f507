package e2e

import (
	"database/sql"
	"fmt"
	"io"
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
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// Issue 23: a worker with --metrics serves Prometheus metrics, /healthz and
// /readyz.

// startMonitoredWorker starts `onramp worker --metrics 127.0.0.1:0` and
// returns it, its log and the address it serves on.
func startMonitoredWorker(t *testing.T, h *home, extra ...string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"worker", "--metrics", "127.0.0.1:0"}, extra...)...)
	cmd.Env = h.env
	log := &syncBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopGently(cmd) })
	addr := regexp.MustCompile(`address=http://(127\.0\.0\.1:\d+)/metrics`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := addr.FindStringSubmatch(log.String()); m != nil {
			return cmd, log, m[1]
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("no metrics address in the log:\n%s", log)
	return nil, nil, ""
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue is the value of the sample whose name and labels start line.
func metricValue(text, line string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, line+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(l, line+" "), &v)
			return v, true
		}
	}
	return 0, false
}

func TestE2EWorkerMetrics(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 250}).Start()
	defer srv.Close()
	h := newHome(t)
	_, wlog, addr := startMonitoredWorker(t, h)
	code, before := get(t, "http://"+addr+"/metrics")
	if code != 200 || !strings.Contains(before, "go_goroutines") || !strings.Contains(before, "process_resident_memory_bytes") {
		t.Fatalf("scrape: %d\n%s", code, before)
	}
	if v, _ := metricValue(before, `onramp_workers_alive`); v != 1 {
		t.Fatalf("workers alive %v\n%s", v, before)
	}
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod")
	var after string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, after = get(t, "http://"+addr+"/metrics")
		if v, _ := metricValue(after, `onramp_syncs_finished_total{outcome="succeeded",vendor="gitlab"}`); v == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := h.open(t)
	conns, err := st.List(t.Context(), store.ListOptions{})
	if err != nil || len(conns) != 1 || conns[0].ExpiresAt == nil {
		t.Fatalf("connection: %v %+v", err, conns)
	}
	runs, err := st.Runs(t.Context(), conns[0].ID, 5)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %+v", err, runs)
	}
	for line, want := range map[string]float64{
		`onramp_syncs_started_total{vendor="gitlab"}`:                              1,
		`onramp_syncs_finished_total{outcome="succeeded",vendor="gitlab"}`:         1,
		`onramp_sync_duration_seconds_count{outcome="succeeded",vendor="gitlab"}`:  1,
		`onramp_synced_users_total{vendor="gitlab"}`:                               float64(runs[0].Users),
		`onramp_fetched_pages_total{vendor="gitlab"}`:                              float64(runs[0].Pages),
		`onramp_connections{state="connected",vendor="gitlab"}`:                    1,
		`onramp_credential_expiry_timestamp_seconds{alias="prod",vendor="gitlab"}`: float64(conns[0].ExpiresAt.Unix()),
		`onramp_sync_jobs{state="queued"}`:                                         0,
		`onramp_store_up`:                                                          1,
	} {
		if v, ok := metricValue(after, line); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", line, v, ok, want)
		}
	}
	if t.Failed() {
		t.Fatalf("worker log:\n%s\nscrape:\n%s", wlog, after)
	}
	// Lint the exposition with Prometheus's own tool.
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(after)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	if strings.Contains(after, gitlabtest.DemoTokens.Admin) {
		t.Fatal("a token in the metrics")
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("readyz: %d %q", code, body)
	}
}

// /healthz goes unhealthy when the store cannot be reached (its database
// dropped under the worker).
func TestE2EWorkerHealthWhenTheStoreGoes(t *testing.T) {
	dbURL := pgtest.Database(t)
	h := teamHome(t, dbURL, "printf '%s' "+strings.Repeat("H", 43)+"=")
	if out, e, c := runCLI(t, h, "", "store", "migrate"); c != 0 {
		t.Fatalf("migrate: %s %s", out, e)
	}
	_, log, addr := startMonitoredWorker(t, h)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, _ := get(t, "http://"+addr+"/readyz"); code == 200 {
			break
		}
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 || !strings.Contains(log.String(), "working") {
		t.Fatalf("healthz before: %d\n%s", code, log)
	}
	defer func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", log)
		}
	}()
	u, _ := url.Parse(dbURL)
	admin, err := sql.Open("pgx", os.Getenv("ONRAMP_TEST_PG"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`DROP DATABASE ` + strings.TrimPrefix(u.Path, "/") + ` WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		if code, body = get(t, "http://"+addr+"/healthz"); code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "the store cannot be read") {
		t.Fatalf("healthz with the store gone: %d %q", code, body)
	}
	if _, scrape := get(t, "http://"+addr+"/metrics"); !strings.Contains(scrape, "onramp_store_up 0") {
		t.Fatalf("store_up:\n%s", scrape)
	}
}

// serve --metrics counts its sessions and the logins it refused.
func TestE2EServeMetrics(t *testing.T) {
	s := startServe(t, []string{"alice", "mallory"}, "--metrics", "127.0.0.1:0")
	addr := regexp.MustCompile(`address=http://(127\.0\.0\.1:\d+)/metrics`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		m = addr.FindStringSubmatch(s.log.String())
	}
	if m == nil {
		t.Fatalf("no metrics address:\n%s", s.log)
	}
	// mallory's key is not authorized: remove it from the file.
	os.WriteFile(filepath.Join(s.home.dir, "authorized_keys"), []byte(readFileString(t, s.keys["alice"]+".pub")), 0o600)
	if out, _ := exec.Command(s.sshCommand("mallory", "-o", "BatchMode=yes", "-tt")[0], s.sshCommand("mallory", "-o", "BatchMode=yes", "-tt")[1:]...).CombinedOutput(); !strings.Contains(string(out), "Permission denied") {
		t.Fatalf("mallory got in: %s", out)
	}
	op := s.session(t, "alice")
	op.waitFor("Which app do you want to connect?")
	_, scrape := get(t, "http://"+m[1]+"/metrics")
	for line, want := range map[string]float64{
		`onramp_ssh_sessions`:                           1,
		`onramp_ssh_logins_refused_total{reason="key"}`: 1,
		`onramp_workers_alive`:                          1,
	} {
		if v, ok := metricValue(scrape, line); !ok || v < want || line == "onramp_ssh_sessions" && v != want {
			t.Errorf("%s = %v (present %v), want %v", line, v, ok, want)
		}
	}
	if t.Failed() {
		t.Fatalf("scrape:\n%s", scrape)
	}
}
