//go:build unix

package store

import (
	"errors"
	"syscall"
)

// pidAlive reports whether a process of this host has the pid (one that
// exists but is not ours to signal counts as alive).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
