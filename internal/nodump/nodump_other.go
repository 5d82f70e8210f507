//go:build unix && !linux

package nodump

import "golang.org/x/sys/unix"

// Protect sets the core-file size limit to zero (other systems have no
// PR_SET_DUMPABLE).
func Protect() error {
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}
