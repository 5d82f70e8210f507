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
