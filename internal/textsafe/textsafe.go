// Package textsafe makes untrusted text (server answers, error bodies, labels
// other operators typed) safe to draw in a terminal.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Line returns s with every control that could move the cursor, change
// colours, hide text or reorder it (C0, DEL, C1 including the 8-bit CSI,
// bidi overrides and isolates) replaced by a visible escape, invalid UTF-8
// replaced by U+FFFD, and newlines and tabs folded to spaces.
func Line(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case isBidi(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// Truncate sanitizes s and cuts it to at most n runes, marking the cut.
func Truncate(s string, n int) string {
	s = Line(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

func isBidi(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// IsPlainASCII reports whether s is printable ASCII only: nothing in it can
// change what a terminal shows, and no letter can pass for another.
func IsPlainASCII(s string) bool { return isPlain(s) }

// isPlain is the fast path: printable ASCII only.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// JSON escapes, in encoded JSON, what encoding/json leaves raw and a
// terminal acts on: DEL, C1 controls (the 8-bit CSI among them) and bidi
// overrides and isolates, as \uXXXX. They can stand only inside strings (the
// rest of JSON is ASCII), so the document means the same; a script that
// prints a field gets the escape, not the control.
func JSON(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x7f {
			if out != nil {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidi(r) {
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		} else if out != nil {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	if out == nil {
		return b
	}
	return out
}
