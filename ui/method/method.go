// Package method is the auth-method choice for the chosen vendor.
package method

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// Model lists the vendor's auth methods, each with when to choose it.
type Model struct {
	common.Intent
	vendor *flows.Vendor
	cursor int
	width  int
	th     theme.Theme
	// question, on a reconnect, is what to ask before a method is chosen
	// ("" when none is needed); asking is the question on screen.
	question func(id string) string
	asking   string
}

// New shows vendor's methods, with the recommended one preselected.
func New(vendor *flows.Vendor, th theme.Theme) *Model {
	m := &Model{vendor: vendor, th: th}
	for i, am := range vendor.Methods {
		if am.Recommended {
			m.cursor = i
		}
	}
	return m
}

// ForReconnect preselects the reconnected connection's method and asks
// question (the flow's MethodSwitch) before another is chosen.
func (m *Model) ForReconnect(current string, question func(id string) string) {
	for i, am := range m.vendor.Methods {
		if am.ID == current {
			m.cursor = i
		}
	}
	m.question = question
}

func (m *Model) SetSize(w, h int)            { m.width = w }
func (m *Model) SetTheme(th theme.Theme)     { m.th = th }
func (m *Model) Selected() *flows.AuthMethod { return &m.vendor.Methods[m.cursor] }

// keys are the page's keys: Update matches them and the help bar shows them.
var keys = struct {
	Up, Down, Choose, Back, Yes, No key.Binding
}{
	Up:     key.NewBinding(key.WithKeys("up", "k", "ctrl+p"), key.WithHelp("↑/↓", "move")),
	Down:   key.NewBinding(key.WithKeys("down", "j", "ctrl+n")),
	Choose: key.NewBinding(key.WithKeys("enter", "tab", "space"), key.WithHelp("enter", "choose")),
	Back:   key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back")),
	Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "switch")),
	No:     key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "keep")),
}

func (m *Model) Keys() []key.Binding {
	if m.asking != "" {
		return []key.Binding{keys.Yes, keys.No}
	}
	return []key.Binding{keys.Up, keys.Choose, keys.Back, common.KeyQuit}
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	if m.asking != "" {
		switch {
		case key.Matches(k, keys.Yes):
			m.asking = ""
			m.Set(common.MethodChosenMsg{ID: m.Selected().ID, Switch: true})
		case key.Matches(k, keys.No):
			m.asking = ""
		}
		return m, nil
	}
	switch {
	case key.Matches(k, keys.Up):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(k, keys.Down):
		m.cursor = min(m.cursor+1, len(m.vendor.Methods)-1)
	case key.Matches(k, keys.Choose):
		if m.question != nil {
			if m.asking = m.question(m.Selected().ID); m.asking != "" {
				return m, nil
			}
		}
		m.Set(common.MethodChosenMsg{ID: m.Selected().ID})
	case key.Matches(k, keys.Back):
		m.Set(common.BackMsg{})
	}
	return m, nil
}

func (m *Model) View() string {
	var b strings.Builder
	b.WriteString(m.th.Title.Render("How should onramp sign in to " + m.vendor.Name + "?"))
	b.WriteString("\n\n")
	width := max(m.width-6, 20)
	for i, am := range m.vendor.Methods {
		mark, name := "○", m.th.Label.Render(am.Name)
		prefix := "  "
		if i == m.cursor {
			mark, prefix = "●", m.th.Focused.Render(theme.Pointer+" ")
			name = m.th.Focused.Render(am.Name)
		}
		if am.Recommended {
			name += m.th.Badge.Render(" (Recommended)")
		}
		b.WriteString(prefix + mark + " " + name + "\n")
		b.WriteString(common.Indent(m.th.Muted.Render(common.Wrap(am.Summary, width)), "    "))
		b.WriteString("\n\n")
	}
	out := strings.TrimRight(b.String(), "\n")
	if m.asking != "" {
		out += "\n\n" + m.th.Warning.Render(common.Wrap(theme.Warn+" "+m.asking+" [y/n]", width))
	}
	return out
}
