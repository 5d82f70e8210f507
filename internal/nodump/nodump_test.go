//go:build linux

package nodump

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain runs Protect in a child of the test binary, so the test process
// itself stays dumpable for the race detector and debuggers.
func TestMain(m *testing.M) {
	if os.Getenv("NODUMP_CHILD") != "" {
		if err := Protect(); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		var lim unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		if dumpable != 0 || lim.Cur != 0 || lim.Max != 0 {
			os.Stderr.WriteString("still dumpable")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestProtect(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NODUMP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, strings.TrimSpace(string(out)))
	}
}
