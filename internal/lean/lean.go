//go:build linux

// Package lean keeps onramp's idle resident memory down. Go binaries are
// large, and Linux maps file pages up to 64 KiB at a time around every fault,
// so start-up (package init, opening the store, migrations, the first
// render) leaves most of the 20 MB executable resident although the idle
// wizard uses a fraction of it. Trim, called once the wizard is idle, drops
// the executable's read-only pages from this process's page tables (advising
// random access, so they come back one page at a time when touched). Only
// read-only file pages: their contents are always re-readable from the file,
// so this is always safe, and nothing is freed that is in use.
package lean

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Trim applies the advice to the executable's read-only mappings.
func Trim() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00a43000 r-xp 00000000 08:01 1234 /path/to/exe
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		madvise(uintptr(start), uintptr(end-start), syscall.MADV_RANDOM)
		madvise(uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
	}
}

func madvise(addr, length uintptr, advice int) {
	syscall.Syscall(syscall.SYS_MADVISE, addr, length, uintptr(advice))
}
