package ui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/onramp-dev/onramp/ui/fields"
	"github.com/onramp-dev/onramp/ui/vendors"
)

// Leaving: what would be lost, and the question asked before.

func (m *Model) succeeded() bool {
	a, ok := m.pages[PageAuthorize].(interface{ Succeeded() bool })
	return ok && a.Succeeded() && m.page == PageAuthorize
}

// dirty reports whether quitting would lose something typed.
func (m *Model) dirty() bool {
	switch m.page {
	case PageFields, PageAlias:
		if f, ok := m.pages[PageFields].(*fields.Model); ok && f.Dirty() {
			return true
		}
		return m.page == PageAlias
	case PageAuthorize:
		return !m.succeeded()
	case PageVendors:
		v := m.pages[PageVendors].(*vendors.Model)
		return v.Filter() != ""
	}
	return false
}

// quit leaves, asking first when something typed would be lost or a sync
// is running (a stopped sync resumes from its checkpoint later).
func (m *Model) quit(abort bool) tea.Cmd {
	if m.dirty() || m.running() {
		m.confirm, m.confirmSync = true, m.running()
		return nil
	}
	m.Aborted = abort && m.page != PageIntegrations && !m.succeeded()
	return tea.Quit
}

func (m *Model) updateConfirm(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "y", "Y", "ctrl+c":
		m.Aborted = m.dirty()
		m.confirm = false
		if m.running() {
			m.quitting = true
			return m, m.stopSyncs()
		}
		return m, tea.Quit
	case "n", "N", "esc":
		m.confirm = false
	}
	return m, nil
}
