//go:build linux

// Package nodump keeps decrypted secrets out of core dumps. onramp holds
// tokens and the store's data key in memory; a crash (or a signal such as
// SIGQUIT or SIGABRT) would otherwise write them to a core file, which on
// many systems lands in a world-readable place or a crash collector.
package nodump

import "golang.org/x/sys/unix"

// Protect sets the core-file size limit to zero and marks the process not
// dumpable (which also keeps other processes of the same user from reading
// its memory through ptrace or /proc/PID/mem). Called first thing in main,
// before any secret is read.
func Protect() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
