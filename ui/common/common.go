// Package common holds what every screen shares: the page contract, the
// messages screens send the root model, key bindings and small renderers.
package common

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/onramp-dev/onramp/ui/theme"
)

// Page is one screen. The root model owns the pages and routes messages.
type Page interface {
	Update(tea.Msg) (Page, tea.Cmd)
	View() string
	SetSize(width, height int)
	SetTheme(theme.Theme)
	// Keys are the bindings the help bar shows for this page.
	Keys() []key.Binding
}

// Messages screens send to the root model.
type (
	// BackMsg: go back one step.
	BackMsg struct{}
	// VendorChosenMsg: a vendor card was picked.
	VendorChosenMsg struct{ ID string }
	// MethodChosenMsg: an auth method was picked; Switch: on a reconnect,
	// the person said yes to changing the connection's method.
	MethodChosenMsg struct {
		ID     string
		Switch bool
	}
	// FieldsDoneMsg: every field is filled and checked.
	FieldsDoneMsg struct{}
	// AliasDoneMsg: the alias is set and free.
	AliasDoneMsg struct{}
	// OpenIntegrationsMsg: show the Integrations page.
	OpenIntegrationsMsg struct{}
	// AddAnotherMsg: start a new onboarding.
	AddAnotherMsg struct{}
	// ReconnectMsg: authorize a stored connection again.
	ReconnectMsg struct{ ID string }
	// StatusMsg: a short note for the status line (e.g. "copied").
	StatusMsg string
)

// Intent is embedded by pages to ask the root model for navigation. The root
// reads it right after the page's Update, in the same event, so keys typed
// ahead of a page change (paste, fast typists, tests) land on the new page.
type Intent struct{ msg tea.Msg }

// Set records the navigation message.
func (i *Intent) Set(msg tea.Msg) { i.msg = msg }

// Take returns and clears the pending navigation message.
func (i *Intent) Take() tea.Msg {
	m := i.msg
	i.msg = nil
	return m
}

// Cmd wraps a message as a command.
func Cmd(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// Shared bindings.
var (
	KeyQuit     = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
	KeyCopy     = key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy link"))
	KeyRetry    = key.NewBinding(key.WithKeys("r", "enter"), key.WithHelp("r", "retry"))
	KeyOverview = key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "integrations"))
	// The authorization pages' (token and OAuth).
	KeyCancel         = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
	KeyBackToFields   = key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back to the fields"))
	KeyToIntegrations = key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "go to Integrations"))
)

// Hyperlink renders text as an OSC 8 link; terminals without OSC 8 show
// just the text, so the URL itself should be the text where it matters.
func Hyperlink(url, text string) string {
	return ansi.SetHyperlink(url) + text + ansi.ResetHyperlink()
}

// Wrap word-wraps s to width (ANSI-aware).
func Wrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Wordwrap(s, width, "")
}

// WrapHard wraps and then breaks words longer than width (URLs).
func WrapHard(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Wrap(s, width, "")
}

// HardWrap breaks s at exactly width columns, ignoring word boundaries (URLs).
func HardWrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Hardwrap(s, width, true)
}

// Sentence capitalises the first letter of a message (Go errors start lower-case).
func Sentence(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// Indent prefixes every line of s.
func Indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// Width is the display width of s.
func Width(s string) int { return lipgloss.Width(s) }

// Truncate cuts s to width with an ellipsis.
func Truncate(s string, width int) string { return ansi.Truncate(s, width, "…") }

// Anchored pages name the body lines that must stay on screen when the page
// is taller than the window (the focused field with its error, the code to
// type); the root scrolls to them after every key that is not a scroll key.
// A negative first line means nothing needs keeping.
type Anchored interface {
	Anchor() (first, last int)
}

// Pinned pages keep a few lines under the scrolled body, always visible:
// the value the person must copy into the vendor's UI.
type Pinned interface {
	Pinned() string
}

// Lines counts the lines written to b so far: the index of the line the
// next write starts on (for Anchor).
func Lines(b *strings.Builder) int { return strings.Count(b.String(), "\n") }
