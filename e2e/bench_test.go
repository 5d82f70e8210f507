package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"

	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// firstFrame starts bin on a pseudo-terminal and returns the time until the
// first frame shows want, and the process's resident memory once idle.
func firstFrame(b *testing.B, bin string, env []string, want string) (time.Duration, int64) {
	cmd := exec.Command(bin)
	cmd.Env = env
	start := time.Now()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	}()
	var seen bytes.Buffer
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := f.Read(buf)
		seen.Write(buf[:n])
		if strings.Contains(ansi.Strip(seen.String()), want) {
			elapsed := time.Since(start)
			time.Sleep(700 * time.Millisecond) // settle: the store opens, start-up memory is trimmed, the wizard idles
			return elapsed, rssKiB(cmd.Process.Pid)
		}
		if err != nil {
			break
		}
	}
	b.Fatalf("%s never showed %q; output: %q", bin, want, seen.String())
	return 0, 0
}

// rssParts reads a process's anonymous and file-backed resident KiB, and its
// peak resident set so far.
func rssParts(pid int) (anon, file, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			anon, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			file, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			peak, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return anon, file, peak
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// buildBare builds the bare Bubble Tea v2 program the first frame is
// compared with.
func buildBare(b *testing.B) string {
	bare := filepath.Join(b.TempDir(), "bare")
	if out, err := exec.Command("go", "build", "-o", bare, "../cmd/bare").CombinedOutput(); err != nil {
		b.Fatalf("build bare: %v %s", err, out)
	}
	return bare
}

// connectBig connects the vendor at base with token as "big" in a fresh
// home, with the real binary, and returns that home's environment.
func connectBig(b *testing.B, vendor, base, token string) []string {
	dir := b.TempDir()
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "ONRAMP_STORE=" + filepath.Join(dir, "s.db"),
		"ONRAMP_NO_KEYRING=1", "PATH=" + os.Getenv("PATH")}
	connect := exec.Command(binary, "connect", vendor, "--url", base, "--token-stdin", "--alias", "big")
	connect.Env, connect.Stdin = env, strings.NewReader(token)
	if out, err := connect.CombinedOutput(); err != nil {
		b.Fatalf("connect: %v %s", err, out)
	}
	return env
}

// BenchmarkStartToFirstFrame compares onramp's first interactive frame with
// a bare Bubble Tea v2 program's, both on a real pseudo-terminal.
func BenchmarkStartToFirstFrame(b *testing.B) {
	bare, dir := buildBare(b), b.TempDir()
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"ONRAMP_NO_KEYRING=1", "TERM=xterm-256color", "PATH=" + os.Getenv("PATH")}
	for _, c := range []struct{ name, bin string }{{"bare-bubbletea", bare}, {"onramp", binary}} {
		b.Run(c.name, func(b *testing.B) {
			var total time.Duration
			var rss int64
			for b.Loop() {
				d, r := firstFrame(b, c.bin, env, "Which app do you want to connect?")
				total += d
				rss = max(rss, r)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/first-frame")
			b.ReportMetric(float64(rss)/1024, "MiB-idle-RSS")
		})
	}
}

// BenchmarkSync100k syncs 100,000 users from a sandbox that takes 20 ms per
// page. Keyset pages come one after another, so the floor is pages × 20 ms;
// the figures are the sync's wall time against that floor and the peak RSS
// of the `onramp sync` process.
func BenchmarkSync100k(b *testing.B) {
	const latency = 20 * time.Millisecond
	srv := gitlabtest.New(gitlabtest.Options{Users: 100000, Latency: latency}).Start()
	defer srv.Close()
	people := len(srv.Sandbox.People(0))
	pages := (people + 99) / 100
	floor := time.Duration(pages+1) * latency // the pages and the license
	for b.Loop() {
		env := connectBig(b, "gitlab", srv.BaseURL, gitlabtest.DemoTokens.Admin)
		sync := exec.Command(binary, "sync", "big")
		sync.Env = env
		var out bytes.Buffer
		sync.Stdout, sync.Stderr = &out, &out
		srv.Sandbox.ResetServerTime()
		start := time.Now()
		if err := sync.Start(); err != nil {
			b.Fatal(err)
		}
		var anon, file, hwm int64
		done := make(chan error)
		go func() { done <- sync.Wait() }()
		var err error
	wait:
		for {
			select {
			case err = <-done:
				break wait
			case <-time.After(50 * time.Millisecond):
				a, f, h := rssParts(sync.Process.Pid)
				anon, file, hwm = max(anon, a), max(file, f), max(hwm, h)
			}
		}
		elapsed := time.Since(start)
		serverTime := srv.Sandbox.ServerTime()
		if err != nil || !strings.Contains(out.String(), fmt.Sprintf("%d users", people)) {
			b.Fatalf("sync: %v %s", err, out.String())
		}
		// VmHWM, sampled: the child's rusage maxrss would count the parent's
		// memory too (Go starts children with vfork, before exec).
		rss := hwm
		b.ReportMetric(elapsed.Seconds(), "s/sync")
		b.ReportMetric(float64(elapsed)/float64(floor), "x-floor")
		b.ReportMetric(float64(elapsed)/float64(serverTime), "x-server-time")
		b.ReportMetric(float64(anon)/1024, "MiB-peak-anon")
		b.ReportMetric(float64(file)/1024, "MiB-peak-file")
		b.ReportMetric(float64(rss)/1024, "MiB-peak-RSS")
		b.ReportMetric(float64(pages), "pages")
	}
}

// BenchmarkWorkers200x2000 runs the first syncs of 200 connections of
// 2,000 users each (a sandbox taking 20 ms per page) with 3 `onramp worker`
// processes of 4 syncs each. The floor is every page's 20 ms spread over the
// 12 syncs that run at once; the engine's overhead per job is the time
// beyond that floor, per job and worker slot; and each worker's peak RSS.
func BenchmarkWorkers200x2000(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchWorkers(b, "") })
	b.Run("postgres", func(b *testing.B) { benchWorkers(b, pgtest.Database(b)) })
}

// benchWorkers: 200 connections of 2,000 users, synced by 3 worker
// processes of 4 slots each, against the sandbox's floor; pgURL "" is a
// SQLite store.
func benchWorkers(b *testing.B, pgURL string) {
	const latency, conns, workers, concurrency = 20 * time.Millisecond, 200, 3, 4
	srv := gitlabtest.New(gitlabtest.Options{Users: 2000, Latency: latency}).Start()
	defer srv.Close()
	people := len(srv.Sandbox.People(0))
	requests := (people+99)/100 + 1 // the pages and the license
	floor := time.Duration(conns*requests) * latency / (workers * concurrency)
	for b.Loop() {
		dir := b.TempDir()
		h := &home{dir: dir, store: filepath.Join(dir, "s.db")}
		key := ""
		if pgURL != "" {
			h.store, key = pgtest.Database(b), "printf '%s' "+strings.Repeat("W", 43)+"="
		}
		h.env = []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "ONRAMP_STORE=" + h.store,
			"ONRAMP_KEY_COMMAND=" + key, "ONRAMP_NO_KEYRING=1", "PATH=" + os.Getenv("PATH")}
		st, err := store.Open(context.Background(), store.Options{Path: h.store, ConfigDir: filepath.Join(dir, "config", "onramp"), KeyCommand: key})
		if err != nil {
			b.Fatal(err)
		}
		for i := range conns {
			c := &store.Connection{Vendor: "gitlab", Alias: fmt.Sprintf("c%03d", i), BaseURL: srv.BaseURL, AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee"}
			c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
			if err := st.Create(context.Background(), c); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		var procs []*exec.Cmd
		for range workers {
			cmd := exec.Command(binary, "worker", "--concurrency", fmt.Sprint(concurrency))
			cmd.Env = h.env
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			procs = append(procs, cmd)
		}
		hwm := make([]int64, workers)
		all, _ := st.List(context.Background(), store.ListOptions{})
		ids := make([]string, len(all))
		for i := range all {
			ids[i] = all[i].ID
		}
		for {
			runs, err := st.LatestRunsOf(context.Background(), ids)
			if err != nil {
				b.Fatal(err)
			}
			done := 0
			for _, r := range runs {
				if r.Status == store.RunSucceeded && r.Users == people {
					done++
				}
			}
			for i, p := range procs {
				_, _, peak := rssParts(p.Process.Pid)
				hwm[i] = max(hwm[i], peak)
			}
			if done == conns {
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("%d of %d synced after 10 minutes", done, conns)
			}
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(start)
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
		st.Close()
		b.ReportMetric(elapsed.Seconds(), "s-total")
		b.ReportMetric(floor.Seconds(), "s-floor")
		b.ReportMetric(float64(elapsed)/float64(floor), "x-floor")
		b.ReportMetric(float64((elapsed-floor)*workers*concurrency)/float64(conns)/float64(time.Millisecond), "ms-overhead/job")
		b.ReportMetric(float64(slices.Max(hwm))/1024, "MiB-peak-RSS/worker")
	}
}

// tmuxFirstFrame starts bin in a fresh tmux session and returns the time
// from new-session until capture-pane first shows want: the first frame as a
// person sees it (tmux's own start-up included, for both programs alike).
func tmuxFirstFrame(b *testing.B, bin string, env []string, want string) time.Duration {
	socket := fmt.Sprintf("onramp-bench-%d", time.Now().UnixNano())
	defer exec.Command("tmux", "-L", socket, "kill-server").Run()
	var assign []string
	for _, e := range env {
		assign = append(assign, shellQuote(e))
	}
	start := time.Now()
	if out, err := exec.Command("tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24",
		"env -i "+strings.Join(assign, " ")+" "+bin).CombinedOutput(); err != nil {
		b.Fatalf("tmux: %v %s", err, out)
	}
	for time.Since(start) < 10*time.Second {
		out, _ := exec.Command("tmux", "-L", socket, "capture-pane", "-p").Output()
		if strings.Contains(string(out), want) {
			return time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("%s never showed %q in tmux", bin, want)
	return 0
}

// BenchmarkFirstFrameTmux is the first interactive frame measured the way
// a person sees it — in tmux, from new-session to the first capture-pane
// showing the catalog — for onramp (a fresh store, and an existing one) and
// a bare Bubble Tea v2 program, interleaved in one run.
func BenchmarkFirstFrameTmux(b *testing.B) {
	bare := buildBare(b)
	env := func(home string) []string {
		return []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
			"ONRAMP_NO_KEYRING=1", "TERM=xterm-256color", "PATH=" + os.Getenv("PATH")}
	}
	existing := b.TempDir()
	if out, err := exec.Command("sh", "-c", "env -i "+strings.Join(func() []string {
		var q []string
		for _, e := range env(existing) {
			q = append(q, shellQuote(e))
		}
		return q
	}(), " ")+" "+binary+" store info").CombinedOutput(); err != nil {
		b.Fatalf("existing store: %v %s", err, out)
	}
	var bareT, freshT, existT time.Duration
	for b.Loop() {
		bareT += tmuxFirstFrame(b, bare, env(b.TempDir()), "Which app do you want to connect?")
		freshT += tmuxFirstFrame(b, binary, env(b.TempDir()), "Which app do you want to connect?")
		existT += tmuxFirstFrame(b, binary, env(existing), "Which app do you want to connect?")
	}
	n := float64(b.N)
	b.ReportMetric(float64(bareT.Microseconds())/n/1000, "ms-bare")
	b.ReportMetric(float64(freshT.Microseconds())/n/1000, "ms-fresh-store")
	b.ReportMetric(float64(existT.Microseconds())/n/1000, "ms-existing-store")
	b.ReportMetric(float64(freshT)/float64(bareT), "x-bare-fresh")
	b.ReportMetric(float64(existT)/float64(bareT), "x-bare-existing")
}

// BenchmarkGitHubSync30k syncs a GitHub organization of 30,000 members
// (and its Copilot seats) from a sandbox taking 20 ms per answer, with the
// real binary, against the server's own time (its answers one after
// another).
func BenchmarkGitHubSync30k(b *testing.B) {
	const latency = 20 * time.Millisecond
	srv := githubtest.Start(githubtest.Options{Members: 30000, Latency: latency})
	defer srv.Close()
	for b.Loop() {
		env := connectBig(b, "github", srv.BaseURL, githubtest.DemoTokens.FineGrained)
		sync := exec.Command(binary, "sync", "big")
		sync.Env = env
		before, busy := srv.Requests(), srv.ServerTime()
		start := time.Now()
		out, err := sync.CombinedOutput()
		elapsed := time.Since(start)
		requests, serverTime := srv.Requests()-before, srv.ServerTime()-busy
		if err != nil || !strings.Contains(string(out), "30000 users") {
			b.Fatalf("sync: %v %s", err, out)
		}
		b.ReportMetric(elapsed.Seconds(), "s/sync")
		b.ReportMetric(float64(requests), "requests")
		b.ReportMetric(float64(elapsed)/float64(serverTime), "x-server-time")
		b.ReportMetric(float64(elapsed)/float64(time.Duration(requests)*latency), "x-latency-floor")
	}
}
