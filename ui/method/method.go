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

func (m *Model) SetSize(w, h int)            { m.width = w }
func (m *Model) SetTheme(th theme.Theme)     { m.th = th }
func (m *Model) Selected() *flows.AuthMethod { return &m.vendor.Methods[m.cursor] }

func (m *Model) Keys() []key.Binding {
	return []key.Binding{common.KeyUp, key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")), common.KeyBack, common.KeyQuit}
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch k.String() {
	case "up", "k", "ctrl+p":
		m.cursor = max(m.cursor-1, 0)
	case "down", "j", "ctrl+n":
		m.cursor = min(m.cursor+1, len(m.vendor.Methods)-1)
	case "enter", "tab", "space":
		m.Set(common.MethodChosenMsg{ID: m.Selected().ID})
		return m, nil
	case "esc", "shift+tab":
		m.Set(common.BackMsg{})
		return m, nil
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
	return strings.TrimRight(b.String(), "\n")
}
