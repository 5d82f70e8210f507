package common

import (
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QR renders text as a QR code with half blocks (two modules per line), in
// the terminal's own colours so phones read it on dark and light themes.
func QR(text string) string {
	q, err := qrcode.New(text, qrcode.Low)
	if err != nil {
		return ""
	}
	bits := q.Bitmap() // includes the quiet zone; true is a dark module
	var b strings.Builder
	for y := 0; y < len(bits); y += 2 {
		for x := range bits[y] {
			top := bits[y][x]
			bottom := y+1 < len(bits) && bits[y+1][x]
			// Draw light modules (terminal foreground) on dark ones
			// (background): the usual reading for terminal QR codes.
			switch {
			case !top && !bottom:
				b.WriteRune('█')
			case !top:
				b.WriteRune('▀')
			case !bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}
