package e2e

import (
	"bufio"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/cli"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

var syncingCount = regexp.MustCompile(`syncing (\d+)`)

// TestE2EIntegrationsShowSyncProgress: after onboarding, the first sync
// starts by itself; the Integrations page shows it advancing, then its counts.
func TestE2EIntegrationsShowSyncProgress(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 3000, Latency: 40 * time.Millisecond}).Start()
	defer srv.Close()
	h := newHome(t)
	tm := startTmux(t, h, 100, 30, binary)
	tm.onboardToken(srv.BaseURL, gitlabtest.DemoTokens.Admin)
	tm.waitFor("SUCCESS!")
	tm.keys("Enter")
	seen := map[int]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		if m := syncingCount.FindStringSubmatch(tm.screen()); m != nil {
			n, _ := strconv.Atoi(m[1])
			seen[n] = true
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(seen) < 2 {
		t.Fatalf("progress never advanced on screen: %v\n%s", seen, tm.screen())
	}
	want := len(srv.Sandbox.People(0))
	tm.waitFor(strconv.Itoa(want)+" users, just now", "Seats (license, ultimate)")
	tm.keys("q")
	tm.waitFor("EXITED=0")
}

// TestE2ESyncCLI: sync --json streams NDJSON events; inventory prints the
// snapshot; status exits non-zero when a connection needs attention.
func TestE2ESyncCLI(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 1500}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "big")
	out, errOut, code := runCLI(t, h, "", "sync", "big", "--json")
	if code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}
	var last map[string]any
	events := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("not NDJSON: %q", sc.Text())
		}
		events++
	}
	want := len(srv.Sandbox.People(0))
	if events < 3 || last["status"] != "succeeded" || int(last["users"].(float64)) != want {
		t.Fatalf("%d events, last %v", events, last)
	}
	out, _, code = runCLI(t, h, "", "inventory", "big")
	if code != 0 || strings.Count(out, "\n") != want || !strings.Contains(out, "root@example.com") { // piped: no header
		t.Fatalf("inventory: %d, %d lines", code, strings.Count(out, "\n"))
	}
	out, _, code = runCLI(t, h, "", "inventory", "big", "--json")
	var inv struct {
		Users []struct{ ID int64 }
		Seats []struct{ Plan string }
	}
	if err := json.Unmarshal([]byte(out), &inv); code != 0 || err != nil || len(inv.Users) != want || len(inv.Seats) == 0 || inv.Seats[0].Plan != "ultimate" {
		t.Fatalf("inventory json: exit %d, %v, %d users", code, err, len(inv.Users))
	}
	out, _, code = runCLI(t, h, "", "status")
	if code != 0 || !strings.Contains(out, strconv.Itoa(want)+" users") {
		t.Fatalf("status: %d %s", code, out)
	}
	// A connection that needs attention: status says so and exits 1.
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.ExpiringSoon, "soon")
	_, errOut, code = runCLI(t, h, "", "status", "--json")
	if code != cli.ExitFailure || !strings.Contains(errOut, "needs attention") {
		t.Fatalf("status with attention: %d %s", code, errOut)
	}
	if _, _, code = runCLI(t, h, "", "inventory", "soon"); code != cli.ExitNotFound {
		t.Fatalf("inventory before any sync: %d", code)
	}
}

// A non-admin token's inventory cannot say who is a bot or an administrator:
// never "no" for what is unknown — "?" on a terminal, an empty field when
// piped (the tab-separated convention; issue 21, item 7).
func TestE2EInventoryUnknownIsNotNo(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 10}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.NonAdmin, "basic")
	if _, e, c := runCLI(t, h, "", "sync", "basic"); c != 0 {
		t.Fatal(e)
	}
	out, _, code := runCLI(t, h, "", "inventory", "basic")
	if code != 0 {
		t.Fatalf("inventory: %d", code)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(line, "\t"); len(f) == 9 && f[1] == "root" {
			if seat, bot, admin := f[5], f[6], f[7]; seat != "" || bot != "" || admin != "" {
				t.Fatalf("root in the basic view: %q", line)
			}
			return
		}
	}
	t.Fatalf("no root row:\n%s", out)
}
