// Package uitest runs a Bubble Tea model under teatest and keeps an emulated
// screen of its output, so tests wait on what a person would see rather than
// on the renderer's diffed byte stream.
package uitest

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/charmbracelet/x/vt"
)

// Screen is a running model and its emulated terminal.
type Screen struct {
	t    testing.TB
	TM   *teatest.TestModel
	emu  *vt.SafeEmulator
	done atomic.Bool
	mu   sync.Mutex
	raw  bytes.Buffer // every byte the program wrote
}

// Start runs m in a w×h terminal.
func Start(t testing.TB, m tea.Model, w, h int) *Screen {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	s := &Screen{t: t, TM: tm, emu: vt.NewSafeEmulator(w, h)}
	go io.Copy(io.Discard, s.emu) // the emulator answers queries on its input side; drain it
	go s.pump(tm.Output())
	t.Cleanup(func() {
		s.done.Store(true)
		tm.Quit()
	})
	return s
}

// pump copies the program's output into the emulator, turning LF into CRLF
// as a terminal's line discipline would.
func (s *Screen) pump(r io.Reader) {
	buf := make([]byte, 32<<10)
	for !s.done.Load() {
		n, err := r.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.raw.Write(buf[:n])
			s.mu.Unlock()
			s.emu.Write(bytes.ReplaceAll(buf[:n], []byte("\n"), []byte("\r\n")))
		}
		if err != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// Raw is everything the program has written so far, escape sequences and
// all (tests scan it for sequences it must never contain).
func (s *Screen) Raw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// Text is the screen's plain text now.
func (s *Screen) Text() string { return ansi.Strip(s.emu.Render()) }

// WaitFor waits until every want is on screen.
func (s *Screen) WaitFor(want ...string) {
	s.t.Helper()
	s.WaitForWithout(want, nil)
}

// WaitForWithout waits until every want is on screen and none of gone is.
func (s *Screen) WaitForWithout(want, gone []string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		text := s.Text()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(text, w)
		}
		for _, g := range gone {
			ok = ok && !strings.Contains(text, g)
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("screen never showed %q without %q; it shows:\n%s", want, gone, s.Text())
}

// Type types text as key presses.
func (s *Screen) Type(text string) { s.TM.Type(text) }

// Paste sends text as one bracketed paste.
func (s *Screen) Paste(text string) { s.TM.Send(tea.PasteMsg{Content: text}) }

// Press sends named keys: "enter", "esc", "tab", "shift+tab", "up", "down",
// "backspace", "pgup", "pgdown", "ctrl+c", "ctrl+u", "ctrl+y", "ctrl+n", or a single rune.
func (s *Screen) Press(keys ...string) {
	for _, k := range keys {
		s.TM.Send(Key(k))
	}
}

// Key builds the key press message for a name.
func Key(name string) tea.KeyPressMsg {
	switch name {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	}
	if c, ok := strings.CutPrefix(name, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: rune(c[0]), Mod: tea.ModCtrl}
	}
	r := []rune(name)[0]
	return tea.KeyPressMsg{Code: r, Text: name}
}
