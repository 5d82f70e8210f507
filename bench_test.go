package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
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

// BenchmarkStartToFirstFrame compares onramp's first interactive frame with
// a bare Bubble Tea v2 program's, both on a real pseudo-terminal.
func BenchmarkStartToFirstFrame(b *testing.B) {
	dir := b.TempDir()
	bare := filepath.Join(dir, "bare")
	if out, err := exec.Command("go", "build", "-o", bare, "./internal/bare").CombinedOutput(); err != nil {
		b.Fatalf("build bare: %v %s", err, out)
	}
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
