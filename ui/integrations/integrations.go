// Package integrations is the Integrations page: every stored connection.
package integrations

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// Model lists connections.
type Model struct {
	common.Intent
	rows    []flows.Integration
	cursor  int
	offset  int
	focusID string // the connection just made, highlighted
	loadErr error
	width   int
	height  int
	th      theme.Theme
}

// New shows rows; focusID (may be empty) is selected.
func New(rows []flows.Integration, loadErr error, focusID string, th theme.Theme) *Model {
	m := &Model{rows: rows, loadErr: loadErr, focusID: focusID, th: th}
	for i, r := range rows {
		if r.ID == focusID {
			m.cursor = i
		}
	}
	return m
}

func (m *Model) SetTheme(th theme.Theme) { m.th = th }
func (m *Model) SetSize(w, h int)        { m.width, m.height = w, h; m.scroll() }

func (m *Model) Keys() []key.Binding {
	ks := []key.Binding{common.KeyUp, key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add another"))}
	if len(m.rows) > 0 {
		ks = append(ks, key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reconnect")))
	}
	return append(ks, key.NewBinding(key.WithKeys("q"), key.WithHelp("q/ctrl+c", "quit")))
}

func (m *Model) visible() int { return max(m.height-6, 1) }

func (m *Model) scroll() {
	n := m.visible()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+n {
		m.offset = m.cursor - n + 1
	}
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch k.String() {
	case "up", "k":
		m.cursor = max(m.cursor-1, 0)
	case "down", "j":
		m.cursor = min(m.cursor+1, max(len(m.rows)-1, 0))
	case "a", "n":
		m.Set(common.AddAnotherMsg{})
		return m, nil
	case "r":
		if sel := m.selected(); sel != nil {
			m.Set(common.ReconnectMsg{ID: sel.ID})
		}
		return m, nil
	case "q":
		return m, tea.Quit
	}
	m.scroll()
	return m, nil
}

type column struct {
	title string
	min   int
	value func(flows.Integration) string
}

var columns = []column{
	{"ALIAS", 10, func(r flows.Integration) string { return r.Alias }},
	{"VENDOR", 6, func(r flows.Integration) string { return r.Vendor }},
	{"HOST", 12, func(r flows.Integration) string { return r.Host }},
	{"ACCOUNT", 8, func(r flows.Integration) string {
		if r.Admin {
			return r.Account + " (admin)"
		}
		return r.Account
	}},
	{"AUTH", 5, func(r flows.Integration) string { return r.AuthID }},
	{"EXPIRES", 10, func(r flows.Integration) string {
		if r.ExpiresAt == nil {
			return "never"
		}
		return r.ExpiresAt.Format("2006-01-02")
	}},
	{"STATE", 9, func(r flows.Integration) string { return stateText(r) }},
}

func stateText(r flows.Integration) string {
	switch r.State {
	case "connected":
		return theme.OK + " connected"
	case "needs_reconnect":
		return theme.Warn + " needs reconnect"
	case "expired":
		return theme.Fail + " expired"
	}
	return theme.Fail + " " + r.State
}

// layout picks the columns that fit and their widths: narrow terminals drop
// vendor, auth and then host, in that order.
func layout(rows []flows.Integration, width int) ([]column, []int) {
	drop := [][]string{nil, {"VENDOR"}, {"VENDOR", "AUTH"}, {"VENDOR", "AUTH", "HOST"}}
	for _, d := range drop {
		var cols []column
		var widths []int
		total := 0
		for _, c := range columns {
			if contains(d, c.title) {
				continue
			}
			w := len(c.title)
			for _, r := range rows {
				w = max(w, common.Width(c.value(r)))
			}
			cols = append(cols, c)
			widths = append(widths, w)
			total += w + 2
		}
		if total <= width || len(d) == 3 {
			// Shrink the widest columns to fit, never below their minimum.
			for total > width {
				i := widest(widths, cols)
				if i < 0 {
					break
				}
				widths[i]--
				total--
			}
			return cols, widths
		}
	}
	return nil, nil
}

func widest(widths []int, cols []column) int {
	best := -1
	for i, w := range widths {
		if w > cols[i].min && (best < 0 || w > widths[best]) {
			best = i
		}
	}
	return best
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func pad(s string, w int) string {
	s = common.Truncate(s, w)
	return s + strings.Repeat(" ", max(w-common.Width(s), 0))
}

func (m *Model) View() string {
	width := max(m.width, 20)
	var b strings.Builder
	b.WriteString(m.th.Title.Render("Integrations"))
	b.WriteString(m.th.Muted.Render(fmt.Sprintf("  %d connection(s)", len(m.rows))) + "\n\n")
	if m.loadErr != nil {
		b.WriteString(m.th.Error.Render(common.Wrap(theme.Fail+" The store could not be read: "+m.loadErr.Error(), width)))
		return b.String()
	}
	if len(m.rows) == 0 {
		b.WriteString(m.th.Muted.Render("No connections yet. Press a to add one."))
		return b.String()
	}
	cols, widths := layout(m.rows, width-2)
	var head []string
	for i, c := range cols {
		head = append(head, pad(c.title, widths[i]))
	}
	b.WriteString("  " + m.th.Muted.Render(strings.Join(head, "  ")) + "\n")
	end := min(m.offset+m.visible(), len(m.rows))
	for i := m.offset; i < end; i++ {
		r := m.rows[i]
		var cells []string
		for j, c := range cols {
			cells = append(cells, pad(c.value(r), widths[j]))
		}
		line := strings.Join(cells, "  ")
		switch {
		case i == m.cursor:
			b.WriteString(m.th.Focused.Render(theme.Pointer+" ") + m.th.Focused.Render(line))
		case r.State != "connected":
			b.WriteString("  " + m.th.Warning.Render(line))
		default:
			b.WriteString("  " + line)
		}
		b.WriteString("\n")
	}
	if sel := m.selected(); sel != nil && sel.Reason != "" {
		b.WriteString("\n" + m.th.Warning.Render(common.Wrap(theme.Warn+" "+sel.Alias+": "+sel.Reason, width)))
	} else if sel != nil {
		b.WriteString("\n" + m.th.Muted.Render(common.Wrap(fmt.Sprintf("%s · %s · %s · %s · expires %s · created by %s",
			sel.Alias, sel.Vendor, sel.AuthMethod, sel.Host, sel.Expires, sel.CreatedBy), width)))
	}
	return strings.TrimRight(b.String(), "\n")
}

func (m *Model) selected() *flows.Integration {
	if m.cursor < len(m.rows) {
		return &m.rows[m.cursor]
	}
	return nil
}
