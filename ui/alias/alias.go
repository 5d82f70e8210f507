// Package alias asks for a Connection Alias when the company has more than
// one instance (or the person asked to name the connection).
package alias

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// Model is the alias prompt.
type Model struct {
	common.Intent
	flow     *flows.Connect
	input    textinput.Model
	existing []flows.Integration // the vendor's connections, to tell them apart
	// suggested: the input holds onramp's alias untouched, which then
	// follows the URL (it is derived again when the connection is saved).
	suggested common.Suggestion
	err       string
	hint      string
	width     int
	th        theme.Theme
}

// New prefills the alias typed before, else the default derived from the host.
func New(flow *flows.Connect, existing []flows.Integration, defaultAlias string, th theme.Theme) *Model {
	in := textinput.New()
	in.Prompt = "  "
	in.CharLimit = 64
	in.Placeholder = defaultAlias
	v := flow.Alias
	if v == "" {
		v = defaultAlias
	}
	in.SetValue(v)
	in.Focus()
	m := &Model{flow: flow, input: in, existing: existing, th: th}
	m.suggested.Pending = flow.Alias == "" && v != ""
	m.SetTheme(th)
	return m
}

func (m *Model) SetTheme(th theme.Theme) {
	m.th = th
	m.input.SetStyles(m.suggested.Styles(textinput.DefaultStyles(th.IsDark)))
}

func (m *Model) SetSize(w, h int) {
	m.width = w
	m.input.SetWidth(max(w-6, 10))
}

// keys are the page's keys: Update matches them and the help bar shows
// them; every other key types into the alias.
var keys = struct{ Next, Back key.Binding }{
	Next: key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "authorize")),
	Back: key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back")),
}

func (m *Model) Keys() []key.Binding { return []key.Binding{keys.Next, keys.Back, common.KeyQuit} }

// ShowError puts a failure (an alias taken meanwhile) under the input.
func (m *Model) ShowError(err error) {
	var se *flows.StepError
	if errors.As(err, &se) {
		m.err, m.hint = se.Message, se.Hint
		return
	}
	m.err, m.hint = err.Error(), ""
}

// Value is what the input holds.
func (m *Model) Value() string { return m.input.Value() }

// typed is the alias the flow keeps: "" while onramp's suggestion stands.
func (m *Model) typed(v string) string {
	if m.suggested.Pending {
		return ""
	}
	return v
}

// checkedMsg is the store's verdict on an alias typed.
type checkedMsg struct {
	value string
	err   error
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	if c, ok := msg.(checkedMsg); ok {
		m.flow.KeepAlias(m.typed(c.value))
		if c.err != nil {
			m.ShowError(c.err)
			return m, nil
		}
		m.Set(common.AliasDoneMsg{})
		return m, nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, keys.Next):
			// Checked against the store off the UI goroutine.
			m.err, m.hint = "", ""
			value, check := strings.TrimSpace(m.input.Value()), m.flow.AliasChecker()
			return m, func() tea.Msg { return checkedMsg{value, check(context.Background(), value)} }
		case key.Matches(k, keys.Back):
			m.flow.KeepAlias(m.typed(m.input.Value()))
			m.Set(common.BackMsg{})
			return m, nil
		}
	}
	if m.suggested.Pending {
		m.suggested.Intercept(&m.input, msg)
		m.SetTheme(m.th)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m *Model) View() string {
	width := max(m.width, 20)
	var b strings.Builder
	b.WriteString(m.th.Title.Render("Connection Alias"))
	b.WriteString("\n")
	intro := "Name this connection so you can tell it apart from the others."
	if len(m.existing) > 0 {
		intro = "Your company already has " + humanize.Count(len(m.existing), m.flow.Vendor.Name+" connection") +
			". Give this one an alias to tell them apart."
	}
	b.WriteString(m.th.Muted.Render(common.Wrap(intro, width)))
	b.WriteString("\n\n" + m.th.Focused.Render(theme.Pointer+" Alias") + m.th.Muted.Render("  letters, digits, . _ - (up to 64)") + "\n")
	b.WriteString(m.input.View())
	if h := m.suggested.Hint(); h != "" {
		b.WriteString("\n" + m.th.Muted.Render(common.Truncate("  "+h, width)))
	}
	if m.err != "" {
		b.WriteString("\n" + common.Indent(m.th.Error.Render(common.Wrap(theme.Fail+" "+common.Sentence(m.err), width-4)), "  "))
		if m.hint != "" {
			b.WriteString("\n" + common.Indent(m.th.Muted.Render(common.Wrap(m.hint, width-6)), "    "))
		}
	}
	if len(m.existing) > 0 {
		b.WriteString("\n\n" + m.th.Label.Render("Already connected:"))
		for i, c := range m.existing {
			if i == 5 {
				b.WriteString("\n" + m.th.Muted.Render(fmt.Sprintf("  … and %d more", len(m.existing)-5)))
				break
			}
			b.WriteString("\n" + m.th.Muted.Render(common.Truncate(fmt.Sprintf("  %s %-20s %s  %s", theme.Bullet, c.Alias, c.Host, c.Account), width)))
		}
	}
	return b.String()
}
