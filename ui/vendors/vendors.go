// Package vendors is the first screen: the catalog's vendor cards, filtered
// by typing.
package vendors

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// cardHeight is the rows one card takes: border, name, description, border.
const cardHeight = 4

// Model is the vendor picker.
type Model struct {
	common.Intent
	catalog flows.Catalog
	hay     []string // lower-cased searchable text per vendor, built once
	shown   []int    // indexes into catalog matching the filter
	cursor  int      // index into shown
	offset  int      // first shown card on screen
	filter  textinput.Model
	width   int
	height  int
	th      theme.Theme
	stored  int // connections in the store, for the hint line
	// cards caches rendered cards by catalog index and selection: borders
	// and truncation cost more than anything else on this screen.
	cards map[cardKey]string
}

type cardKey struct {
	index    int
	selected bool
}

// New builds the picker over a catalog.
func New(cat flows.Catalog, th theme.Theme) *Model {
	f := textinput.New()
	f.Prompt = "Filter: "
	f.Placeholder = "type to filter vendors"
	f.Focus()
	m := &Model{catalog: cat, filter: f, th: th}
	for _, v := range cat {
		m.hay = append(m.hay, strings.ToLower(v.ID+" "+v.Name+" "+v.Description+" "+strings.Join(v.Keywords, " ")))
	}
	m.SetTheme(th)
	m.applyFilter()
	return m
}

// SetStored tells the picker how many connections exist (for the hint).
func (m *Model) SetStored(n int) { m.stored = n }

func (m *Model) SetTheme(th theme.Theme) {
	m.th = th
	m.cards = nil
	s := textinput.DefaultStyles(th.IsDark)
	s.Focused.Prompt = th.Label
	m.filter.SetStyles(s)
}

func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.cards = nil
	m.filter.SetWidth(max(w-10, 10))
	m.scroll()
}

// keys are the page's keys: Update matches them and the help bar shows
// them. Letters are not among them: they type into the filter.
var keys = struct {
	Up, Down, Choose, Clear key.Binding
}{
	Up:     key.NewBinding(key.WithKeys("up", "ctrl+p"), key.WithHelp("↑/↓", "move")),
	Down:   key.NewBinding(key.WithKeys("down", "ctrl+n")),
	Choose: key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "choose")),
	Clear:  key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "clear filter")),
}

func (m *Model) Keys() []key.Binding {
	ks := []key.Binding{keys.Up, keys.Choose, keys.Clear}
	if m.stored > 0 {
		ks = append(ks, common.KeyOverview)
	}
	return append(ks, common.KeyQuit)
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filter.Value() }

// Selected is the vendor under the cursor, or nil when none matches.
func (m *Model) Selected() *flows.Vendor {
	if len(m.shown) == 0 {
		return nil
	}
	return m.catalog[m.shown[m.cursor]]
}

func (m *Model) applyFilter() {
	words := strings.Fields(strings.ToLower(m.filter.Value()))
	m.shown = m.shown[:0]
	for i, h := range m.hay {
		ok := true
		for _, w := range words {
			if !strings.Contains(h, w) {
				ok = false
				break
			}
		}
		if ok {
			m.shown = append(m.shown, i)
		}
	}
	m.cursor = min(m.cursor, max(len(m.shown)-1, 0))
	m.scroll()
}

func (m *Model) visibleCards() int { return max((m.height-3)/cardHeight, 1) }

func (m *Model) scroll() {
	n := m.visibleCards()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+n {
		m.offset = m.cursor - n + 1
	}
	m.offset = max(min(m.offset, len(m.shown)-n), 0)
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, keys.Up):
			if m.cursor > 0 {
				m.cursor--
				m.scroll()
			}
			return m, nil
		case key.Matches(k, keys.Down):
			if m.cursor < len(m.shown)-1 {
				m.cursor++
				m.scroll()
			}
			return m, nil
		case key.Matches(k, keys.Choose):
			if v := m.Selected(); v != nil {
				m.Set(common.VendorChosenMsg{ID: v.ID})
			}
			return m, nil
		case key.Matches(k, keys.Clear):
			if m.filter.Value() != "" {
				m.filter.SetValue("")
				m.applyFilter()
			}
			return m, nil
		}
	}
	before := m.filter.Value()
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	if m.filter.Value() != before {
		m.applyFilter()
	}
	return m, cmd
}

// card renders (or recalls) one vendor card.
func (m *Model) card(index int, selected bool) string {
	k := cardKey{index, selected}
	if c, ok := m.cards[k]; ok {
		return c
	}
	v := m.catalog[index]
	cardWidth := max(m.width-2, 20)
	var methods []string
	for _, am := range v.Methods {
		n := am.Name
		if am.Recommended {
			n += " (Recommended)"
		}
		methods = append(methods, n)
	}
	pointer, style := "  ", m.th.Card
	if selected {
		pointer, style = m.th.Focused.Render(theme.Pointer+" "), m.th.CardOn
	}
	inner := cardWidth - 4
	head := m.th.Title.Render(v.Name) + m.th.Muted.Render("  "+strings.Join(methods, " · "))
	body := lipgloss.JoinVertical(lipgloss.Left,
		common.Truncate(head, inner),
		common.Truncate(m.th.Muted.Render(v.Description), inner))
	c := lipgloss.JoinHorizontal(lipgloss.Center, pointer, style.Width(cardWidth).Render(body))
	if m.cards == nil {
		m.cards = map[cardKey]string{}
	}
	m.cards[k] = c
	return c
}

func (m *Model) View() string {
	var b strings.Builder
	b.WriteString(m.th.Title.Render("Which app do you want to connect?"))
	b.WriteString("\n")
	b.WriteString(m.filter.View())
	b.WriteString("\n")
	if len(m.shown) == 0 {
		b.WriteString("\n")
		b.WriteString(m.th.Muted.Render(fmt.Sprintf("No vendor matches %q. Press esc to clear the filter.", m.filter.Value())))
		return b.String()
	}
	end := min(m.offset+m.visibleCards(), len(m.shown))
	for i := m.offset; i < end; i++ {
		b.WriteString(m.card(m.shown[i], i == m.cursor))
		b.WriteString("\n")
	}
	if len(m.shown) > m.visibleCards() {
		b.WriteString(m.th.Muted.Render(fmt.Sprintf("  %d–%d of %d vendors", m.offset+1, end, len(m.shown))))
	}
	return strings.TrimRight(b.String(), "\n")
}
