//go:build !linux

package lean

// Trim does nothing where the kernel's paging is not known to need it.
func Trim() {}
