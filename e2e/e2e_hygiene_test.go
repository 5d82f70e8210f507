package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// processOf finds the onramp process under a tmux pane: the pane's shell
// runs env, which runs sh, which runs the binary.
func (tm *tmux) processOf(t *testing.T) int {
	t.Helper()
	pane, _ := strconv.Atoi(strings.TrimSpace(tm.run("display-message", "-p", "#{pane_pid}")))
	queue := []int{pane}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if exe, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); exe == binary {
			return pid
		}
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
		for _, f := range strings.Fields(string(b)) {
			child, _ := strconv.Atoi(f)
			queue = append(queue, child)
		}
	}
	t.Fatal("no onramp process under the pane")
	return 0
}

// The running wizard can write no core file: a crash would otherwise dump
// the tokens and the store key it holds.
func TestE2ENoCoreDumps(t *testing.T) {
	h := newHome(t)
	tm := startTmux(t, h, 80, 24, "ulimit -c unlimited; "+binary)
	tm.waitFor("Which app do you want to connect?")
	pid := tm.processOf(t)
	limits, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "limits"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(line); f[4] != "0" || f[5] != "0" {
				t.Fatalf("core files allowed: %s", line)
			}
			return
		}
	}
	t.Fatalf("no core limit in %s", limits)
}

// `onramp demo 2>file`: the wizard draws on the terminal itself, not into
// the file (issue 10, item 7).
func TestE2EDemoWithStderrRedirected(t *testing.T) {
	h := newHome(t)
	log := filepath.Join(h.dir, "err.log")
	tm := startTmux(t, h, 100, 30, binary+" demo 2>"+log)
	tm.waitFor("Which app do you want to connect?", "DEMO · sandboxes: GitLab")
	tm.keys("C-c")
	tm.waitFor("EXITED=")
}

// A closed terminal (SIGHUP) or SIGTERM ends the demo cleanly: its
// temporary store and key are removed (issue 10, item 8).
func TestE2EDemoCleansUpOnHangUp(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		h := newHome(t)
		tmp := filepath.Join(h.dir, "tmp")
		os.MkdirAll(tmp, 0o700)
		h.env = append(h.env, "TMPDIR="+tmp)
		tm := startTmux(t, h, 100, 30, binary+" demo")
		tm.waitFor("Which app do you want to connect?")
		if left, _ := filepath.Glob(filepath.Join(tmp, "onramp-demo-*")); len(left) != 1 {
			t.Fatalf("the demo's store is not in TMPDIR: %v", left)
		}
		syscall.Kill(tm.processOf(t), sig)
		tm.waitFor("EXITED=")
		if left, _ := filepath.Glob(filepath.Join(tmp, "onramp-demo-*")); len(left) != 0 {
			t.Fatalf("%s left the demo's store behind: %v", sig, left)
		}
	}
}
