package e2e

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
// 100 loopback addresses, to onramp serve, to the reference wish server
// (reference_wish_test.go) and, when ONRAMP_SOFT_SERVE names a soft-serve
// binary (`soft`; the module proxy does not serve it, build it from its
// source), to soft-serve — all in the same run. Each login is a handshake,
// public-key authentication, a PTY session and its first screen. It
// reports each p95, onramp's ratio to each, and the CPU each server spent
// per login; it fails if any login was refused.
func BenchmarkSSHLoginBurst(b *testing.B) {
	dir := b.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	pub := gossh.MarshalAuthorizedKey(signer.PublicKey())
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	type subject struct {
		name, want, addr string
		pid              int
		p95              []time.Duration
		cpu              time.Duration
	}
	start := func(name, want string, cmd *exec.Cmd, addr string) *subject {
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		config := &gossh.ClientConfig{User: "op", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()}
		for i := 0; i < 500; i++ {
			if c, err := gossh.Dial("tcp", addr, config); err == nil {
				c.Close()
				return &subject{name: name, want: want, addr: addr, pid: cmd.Process.Pid}
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.Fatalf("%s did not start", name)
		return nil
	}
	addr := freePort(b)
	onramp := exec.Command(binary, "serve", "--listen", addr, "--authorized-keys", filepath.Join(dir, "authorized_keys"), "--max-sessions", "1000", "--connect-rate", "1000")
	onramp.Env = []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "ONRAMP_STORE=" + filepath.Join(dir, "s.db"), "ONRAMP_NO_KEYRING=1"}
	subjects := []*subject{start("onramp", "Which app do you want to connect?", onramp, addr)}
	addr = freePort(b)
	reference := exec.Command(os.Args[0])
	reference.Env = []string{"HOME=" + dir, "ONRAMP_REFERENCE_WISH=" + addr}
	subjects = append(subjects, start("bare-wish", "Which app do you want to connect?", reference, addr))
	if soft := os.Getenv("ONRAMP_SOFT_SERVE"); soft != "" {
		addr = freePort(b)
		cmd := exec.Command(soft, "serve")
		cmd.Env = []string{"HOME=" + dir, "SOFT_SERVE_DATA_PATH=" + filepath.Join(dir, "soft"), "SOFT_SERVE_INITIAL_ADMIN_KEYS=" + strings.TrimSpace(string(pub)),
			"SOFT_SERVE_SSH_LISTEN_ADDR=" + addr, "SOFT_SERVE_HTTP_LISTEN_ADDR=" + freePort(b), "SOFT_SERVE_GIT_LISTEN_ADDR=" + freePort(b),
			"SOFT_SERVE_STATS_LISTEN_ADDR=" + freePort(b)}
		subjects = append(subjects, start("soft-serve", "Repositories", cmd, addr))
	}
	time.Sleep(300 * time.Millisecond)
	for b.Loop() {
		for _, s := range subjects {
			before := cpuTime(s.pid)
			times, errs := loginBurst(b, s.addr, signer, 200, 100, s.want)
			if len(errs) > 0 {
				b.Fatalf("%s: %d of 200 logins failed, the first: %v", s.name, len(errs), errs[0])
			}
			s.cpu += cpuTime(s.pid) - before
			s.p95 = append(s.p95, times[len(times)*95/100])
		}
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	ours := median(subjects[0].p95)
	for _, s := range subjects {
		p95 := median(s.p95)
		b.ReportMetric(float64(p95.Microseconds())/1000, "ms-p95-"+s.name)
		b.ReportMetric(float64(s.cpu.Microseconds())/1000/float64(len(s.p95)*200), "cpu-ms/login-"+s.name)
		if s != subjects[0] {
			b.ReportMetric(float64(ours)/float64(p95), "onramp/"+s.name)
		}
	}
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
