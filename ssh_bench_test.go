package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// BenchmarkSSHSessions opens N concurrent sessions to `onramp serve`; each
// waits for the first screen and types into the filter. It reports the
// p50/p95 time to first frame and the server's memory per idle session.
func BenchmarkSSHSessions(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		// burst: every session connects at the same instant (a worst case:
		// the benchmark's own 200 SSH clients share the 2 cores);
		// paced: operators arriving 100 per second, all staying connected.
		for _, pace := range []time.Duration{0, 10 * time.Millisecond} {
			name := fmt.Sprintf("sessions=%d/burst", n)
			if pace > 0 {
				name = fmt.Sprintf("sessions=%d/paced-100-per-s", n)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					benchSessions(b, n, pace)
				}
			})
		}
	}
}

func benchSessions(b *testing.B, n int, pace time.Duration) {
	dir := b.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	os.WriteFile(filepath.Join(dir, "authorized_keys"), gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600)
	addr := freePort(b)
	cmd := exec.Command(binary, "serve", "--listen", addr, "--authorized-keys", filepath.Join(dir, "authorized_keys"),
		"--max-sessions", "1000", "--connect-rate", "1000")
	cmd.Env = []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "ONRAMP_STORE=" + filepath.Join(dir, "s.db"), "ONRAMP_NO_KEYRING=1"}
	log := &syncBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	config := &gossh.ClientConfig{User: "op", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
	var client *gossh.Client
	for i := 0; i < 200; i++ {
		var err error
		if client, err = gossh.Dial("tcp", addr, config); err == nil {
			client.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	base := rssKiB(cmd.Process.Pid)

	type result struct {
		first time.Duration
		err   error
	}
	results := make(chan result, n)
	var hold sync.WaitGroup
	release := make(chan struct{})
	for range n {
		time.Sleep(pace)
		hold.Add(1)
		go func() {
			defer hold.Done()
			start := time.Now()
			c, err := gossh.Dial("tcp", addr, config)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer c.Close()
			s, err := c.NewSession()
			if err != nil {
				results <- result{err: err}
				return
			}
			defer s.Close()
			s.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{})
			out, _ := s.StdoutPipe()
			in, _ := s.StdinPipe()
			if err := s.Shell(); err != nil {
				results <- result{err: err}
				return
			}
			if err := waitOutput(out, "Which app do you want to connect?"); err != nil {
				results <- result{err: err}
				return
			}
			first := time.Since(start)
			in.Write([]byte("zz")) // a filter nothing matches: the screen must change
			if err := waitOutput(out, "No vendor matches"); err != nil {
				results <- result{err: err}
				return
			}
			results <- result{first: first}
			go io.Copy(io.Discard, out)
			<-release // stay connected, idle, while memory is measured
		}()
	}
	var firsts []time.Duration
	for range n {
		r := <-results
		if r.err != nil {
			b.Fatalf("session: %v\n%s", r.err, log.String())
		}
		firsts = append(firsts, r.first)
	}
	time.Sleep(time.Second)
	loaded := rssKiB(cmd.Process.Pid)
	close(release)
	hold.Wait()
	slices.Sort(firsts)
	b.ReportMetric(float64(firsts[len(firsts)/2].Microseconds())/1000, "ms-p50-first-frame")
	b.ReportMetric(float64(firsts[len(firsts)*95/100].Microseconds())/1000, "ms-p95-first-frame")
	b.ReportMetric(float64(loaded-base)/1024/float64(n), "MiB/idle-session")
}

// waitOutput reads r until want appears (ANSI sequences stripped by
// looking at the plain letters), or 30 s pass.
func waitOutput(r io.Reader, want string) error {
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := r.Read(buf)
		seen.Write(buf[:n])
		if strings.Contains(seen.String(), want) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("never saw %q", want)
}

// BenchmarkSSHLoginBurst (issue 22): 200 logins at the same instant from
// 100 loopback addresses, to onramp serve and to the reference wish server
// (reference_wish_test.go) in the same run; each login is a handshake,
// public-key authentication, a PTY session and its first screen. It reports
// both p95s and their ratio, and fails if any login was refused.
func BenchmarkSSHLoginBurst(b *testing.B) {
	dir := b.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	os.WriteFile(filepath.Join(dir, "authorized_keys"), gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600)
	pids := map[string]int{}
	start := func(args []string, env []string) string {
		addr := freePort(b)
		cmd := exec.Command(args[0], append(args[1:], "--listen", addr)...)
		if args[0] != binary {
			cmd = exec.Command(args[0])
			env = append(env, "ONRAMP_REFERENCE_WISH="+addr)
		}
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for i := 0; i < 500; i++ {
			if c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "op", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
				HostKeyCallback: gossh.InsecureIgnoreHostKey()}); err == nil {
				c.Close()
				pids[addr] = cmd.Process.Pid
				return addr
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.Fatalf("%s did not start", args[0])
		return ""
	}
	onramp := start([]string{binary, "serve", "--authorized-keys", filepath.Join(dir, "authorized_keys"), "--max-sessions", "1000", "--connect-rate", "1000"},
		[]string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "ONRAMP_STORE=" + filepath.Join(dir, "s.db"), "ONRAMP_NO_KEYRING=1"})
	reference := start([]string{os.Args[0]}, []string{"HOME=" + dir})
	time.Sleep(300 * time.Millisecond)
	var ours, theirs []time.Duration
	cpu := map[string]time.Duration{}
	for b.Loop() {
		for _, s := range []struct {
			addr string
			into *[]time.Duration
		}{{onramp, &ours}, {reference, &theirs}} {
			before := cpuTime(pids[s.addr])
			times, errs := loginBurst(b, s.addr, signer, 200, 100, "Which app do you want to connect?")
			if len(errs) > 0 {
				b.Fatalf("%s: %d of 200 logins failed, the first: %v", s.addr, len(errs), errs[0])
			}
			cpu[s.addr] += cpuTime(pids[s.addr]) - before
			*s.into = append(*s.into, times[len(times)*95/100])
		}
	}
	n := float64(len(ours) * 200)
	b.ReportMetric(float64(cpu[onramp].Microseconds())/1000/n, "cpu-ms/login-onramp")
	b.ReportMetric(float64(cpu[reference].Microseconds())/1000/n, "cpu-ms/login-reference")
	slices.Sort(ours)
	slices.Sort(theirs)
	p95, ref := ours[len(ours)/2], theirs[len(theirs)/2]
	b.ReportMetric(float64(p95.Microseconds())/1000, "ms-p95-onramp")
	b.ReportMetric(float64(ref.Microseconds())/1000, "ms-p95-reference")
	b.ReportMetric(float64(p95)/float64(ref), "p95-ratio")
}

// cpuTime is a process's user and system time so far (/proc/PID/stat,
// in clock ticks of 10 ms).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
