package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/ui/common"
)

// The smallest window the wizard draws in: below it, the focused field with
// an error, the device code or the value to copy could not all be shown, so
// the wizard says so instead of hiding them.
const (
	minWidth  = 50
	minHeight = 15
)

// tooSmall: the window is known and below the minimum (an unknown size, 0×0,
// is drawn at whatever the terminal gives).
func (m *Model) tooSmall() bool {
	return m.width > 0 && m.height > 0 && (m.width < minWidth || m.height < minHeight)
}

func (m *Model) tooSmallView() string {
	return fmt.Sprintf("window too small (needs %d×%d, this one is %d×%d)\nenlarge it to go on · ctrl+c quits", minWidth, minHeight, m.width, m.height)
}

// newBodyViewport scrolls pages taller than the window: pgup/pgdn and the
// mouse wheel only — every other key belongs to the page (arrows move
// between options, letters are typed into fields).
func newBodyViewport() viewport.Model {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{
		PageDown: key.NewBinding(key.WithKeys("pgdown")),
		PageUp:   key.NewBinding(key.WithKeys("pgup")),
	}
	vp.MouseWheelDelta = 2
	return vp
}

// isScroll reports whether a key scrolls the body rather than acting on
// the page (the wheel always scrolls).
func isScroll(k tea.KeyPressMsg) bool { return key.Matches(k, keyScroll) }

// keyScroll scrolls a page taller than the window (the wheel does too).
var keyScroll = key.NewBinding(key.WithKeys("pgup", "pgdown"))

// scroll handles a scroll key or wheel: the view stays where the person put
// it until the next key that acts on the page.
func (m *Model) scroll(msg tea.Msg) {
	m.vp, _ = m.vp.Update(msg)
	m.scrolled = true
}

// bodyLines fits the page into height lines: it scrolls when the page is
// taller, keeping the page's anchor on screen unless the person scrolled
// away, its pinned lines under it, and a marker saying what is hidden.
func (m *Model) bodyLines(pg common.Page, body string, height int) ([]string, bool) {
	if m.vpPage != m.page { // a new page starts at its top
		m.vpPage, m.scrolled = m.page, false
		m.vp.SetYOffset(0)
	}
	lines := strings.Split(body, "\n")
	var pinned []string
	if p, ok := pg.(common.Pinned); ok {
		if s := p.Pinned(); s != "" {
			pinned = append([]string{""}, strings.Split(s, "\n")...)
		}
	}
	room := height - len(pinned)
	if room < 3 { // no room for both: the page itself goes first
		pinned, room = nil, height
	}
	if len(lines) <= room {
		m.vp.SetYOffset(0)
		lines = append(lines, pinned...)
		for len(lines) < height {
			lines = append(lines, "")
		}
		return lines, false
	}
	room = max(room-1, 1) // the marker line
	// Content first: it clamps the offset with the last frame's height,
	// which a sticky field (below) made shorter.
	m.vp.SetContentLines(lines)
	m.vp.SetHeight(room) // the width is cut by View, as for every page
	if a, ok := pg.(common.Anchored); ok && !m.scrolled {
		first, last := a.Anchor()
		if first < 0 { // nothing to keep on screen
			first, last = m.vp.YOffset(), m.vp.YOffset()
		}
		// All of it when it fits; else its last line wins (the input, the
		// code, the error are last).
		off := m.vp.YOffset()
		if first < off {
			off = first
		}
		if last >= off+room {
			off = last - room + 1
		}
		m.vp.SetYOffset(off)
	}
	off := m.vp.YOffset()
	out := lines[off:min(off+room, len(lines))]
	if first, last, ok := m.stickyAnchor(pg, lines, off, room); ok {
		// The focused field stays on top while the rest scrolls under it
		// (without the field's own lines, which would show twice).
		sticky := last - first + 1
		room -= sticky
		off = min(off, len(lines)-room)
		m.vp.SetHeight(room) // so that pgdn reaches the last line
		out = append([]string(nil), lines[first:last+1]...)
		for i := off; i < len(lines) && len(out) < room+sticky; i++ {
			if i < first || i > last {
				out = append(out, lines[i])
			}
		}
	}
	out = append(out, m.th.Muted.Render(scrollMarker(off > 0, off+room < len(lines))))
	return append(out, pinned...), true
}

// stickyAnchor is the focused field's lines [first, last] when the person
// scrolled them out of the room [off, off+room): they are kept on top of
// the page (at most half the room), so that the field being typed in never
// leaves the screen.
func (m *Model) stickyAnchor(pg common.Page, lines []string, off, room int) (first, last int, ok bool) {
	a, isAnchored := pg.(common.Anchored)
	if !isAnchored || !m.scrolled {
		return 0, 0, false
	}
	first, last = a.Anchor()
	if first < 0 || last >= len(lines) || (first >= off && last < off+room) {
		return 0, 0, false
	}
	for first < last && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	return first, min(last, first+max(room/2, 1)-1), true
}

func scrollMarker(above, below bool) string {
	switch {
	case above && below:
		return "▲▼ more above and below · pgup/pgdn, mouse wheel"
	case below:
		return "▼ more below · pgdn, mouse wheel"
	default:
		return "▲ more above · pgup, mouse wheel"
	}
}
