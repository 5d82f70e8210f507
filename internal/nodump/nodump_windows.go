//go:build !unix

package nodump

// Protect: Windows writes no core files unless a debugger or WER is set up
// to; nothing to do here.
func Protect() error { return nil }
