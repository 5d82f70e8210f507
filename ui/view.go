package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// steps are the wizard's stations for the breadcrumb.
var steps = []Page{PageVendors, PageMethod, PageFields, PageAlias, PageAuthorize}

// reconnectSteps are a reconnect's: the vendor and alias stay as they are.
var reconnectSteps = []Page{PageMethod, PageFields, PageAuthorize}

func (m *Model) header() string {
	title := m.th.Header.Render("onramp")
	if m.page == PageIntegrations {
		return title + m.th.Crumb.Render("  Integrations")
	}
	stations, what := steps, "Add integration"
	if r := m.flow.Reconnecting; r != nil {
		// A reconnect keeps its vendor and alias: its stations are the rest,
		// and every screen of it says which connection it is about.
		stations, what = reconnectSteps, "Reconnect "+textsafe.Line(r.Alias)
		title += m.th.CrumbHere.Render("  " + what)
	}
	var crumbs []string
	here := 0
	for i, p := range stations {
		name := p.String()
		if p == m.page {
			here = i
			crumbs = append(crumbs, m.th.CrumbHere.Render(name))
		} else {
			crumbs = append(crumbs, m.th.Crumb.Render(name))
		}
	}
	full := title + "  " + strings.Join(crumbs, m.th.Crumb.Render(" › "))
	if common.Width(full) <= m.width-2 {
		return full
	}
	if m.flow.Reconnecting != nil {
		return title + m.th.Crumb.Render(" · ") + m.th.CrumbHere.Render(stepOf(here+1, len(stations))+" "+m.page.String())
	}
	return title + m.th.Crumb.Render("  "+what+" · step ") + m.th.CrumbHere.Render(
		stepOf(here+1, len(stations))+" "+m.page.String())
}

func stepOf(i, n int) string { return string(rune('0'+i)) + "/" + string(rune('0'+n)) }

func (m *Model) footer() string {
	if m.quitting {
		return m.th.Muted.Render("Stopping the sync at a checkpoint…") + "\n"
	}
	if m.confirm {
		q := "Quit onramp? What you typed will be lost."
		if m.confirmSync {
			q = "A sync is running. Stop it and quit? It resumes from its checkpoint next time."
		}
		return m.th.Warning.Render(theme.Warn+" "+q) + " " + m.th.Key.Render("[y/n]") + "\n"
	}
	keys := m.pages[m.page].Keys()
	if m.showKeys {
		keys = []key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("any key", "back"))}
	} else if m.keysHelpable() {
		keys = append(keys, keyAllKeys)
	}
	bar := m.help.ShortHelpView(keys)
	if m.status != "" {
		return m.th.Success.Render(common.Truncate(m.status, m.width-2)) + "\n" + bar
	}
	return "\n" + bar
}

// View is the last frame, drawn again only when a message may have
// changed it.
func (m *Model) View() tea.View {
	if m.frame == nil {
		v := m.draw()
		m.frame = &v
	}
	return *m.frame
}

func (m *Model) draw() tea.View {
	if m.closed {
		v := tea.NewView("")
		v.AltScreen = true
		return v
	}
	var b strings.Builder
	b.WriteString(m.header())
	b.WriteString("\n")
	if m.deps.Banner != "" {
		b.WriteString(m.th.Badge.Render(m.deps.Banner) + "\n")
	}
	b.WriteString("\n")
	_, bodyH := m.bodySize()
	var body string
	pg := m.pages[m.page]
	if m.tooSmall() {
		return m.smallView()
	}
	if m.stErr != nil {
		body = m.th.Error.Render(common.Wrap(theme.Fail+" The credential store could not be opened:\n"+textsafe.Line(m.stErr.Error()), m.width-2)) +
			"\n\n" + m.th.Muted.Render("Fix it and start onramp again (`onramp store info` shows where it lives). ctrl+c quits.")
	} else if m.showKeys {
		body = m.keysView()
	} else {
		body = pg.View()
	}
	var lines []string
	var scrolls bool
	if m.stErr != nil || m.showKeys {
		lines, scrolls = m.bodyLines(nil, body, bodyH)
	} else {
		lines, scrolls = m.bodyLines(pg, body, bodyH)
	}
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteString("\n")
	b.WriteString(m.footer())
	// A one-column margin, and no line may overflow however narrow the
	// terminal (an overflowing line wraps and pushes the layout off screen).
	// Done by hand: a lipgloss Render of the whole screen measures every
	// grapheme of every line, which costs more than the rest of the frame.
	all := strings.Split(b.String(), "\n")
	limit := max(m.width-2, 1)
	for i, l := range all {
		if len(l) > limit { // bytes ≥ columns, so short lines need no measuring
			l = common.Truncate(l, limit)
		}
		all[i] = " " + l
	}
	v := tea.NewView(strings.Join(all, "\n"))
	v.AltScreen = true
	v.WindowTitle = "onramp"
	if scrolls {
		// The wheel scrolls only pages that need it: elsewhere the terminal
		// keeps its own mouse, so text can be selected without shift.
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

// smallView replaces the screen when the window is below the minimum.
func (m *Model) smallView() tea.View {
	msg := m.tooSmallView()
	if m.confirm {
		msg = m.footer()
	}
	lines := append([]string{""}, strings.Split(common.Wrap(msg, max(m.width-2, 1)), "\n")...)
	for i, l := range lines {
		lines[i] = " " + common.Truncate(l, max(m.width-2, 1))
	}
	for len(lines) < m.height {
		lines = append(lines, "")
	}
	v := tea.NewView(strings.Join(lines[:min(len(lines), max(m.height, 1))], "\n"))
	v.AltScreen = true
	v.WindowTitle = "onramp"
	return v
}

// keyAllKeys shows every key of the screen (the bar shows what fits).
var keyAllKeys = key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys"))

// keysHelpable: ? shows all keys on screens where it is not typed text
// (fields, filters and pasted addresses take "?" as a character).
func (m *Model) keysHelpable() bool {
	return m.page == PageMethod || m.page == PageIntegrations || (m.page == PageAuthorize && m.succeeded())
}

// keysView lists every key of the current screen with what it does.
func (m *Model) keysView() string {
	var b strings.Builder
	b.WriteString(m.th.Title.Render("Keys on this screen") + "\n\n")
	for _, k := range m.pages[m.page].Keys() {
		h := k.Help()
		b.WriteString("  " + m.th.Key.Render(fmt.Sprintf("%-12s", h.Key)) + " " + h.Desc + "\n")
	}
	b.WriteString("  " + m.th.Key.Render(fmt.Sprintf("%-12s", "ctrl+c")) + " quit (asks first when something would be lost)\n")
	return b.String()
}
