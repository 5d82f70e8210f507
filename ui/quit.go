package ui

import (
	"charm.land/bubbles/v2/key"
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
// runs in this process (a stopped sync resumes from its checkpoint later).
// This process's worker is stopped on the way out.
func (m *Model) quit(abort bool) tea.Cmd {
	if m.dirty() || m.runningHere {
		m.confirm, m.confirmSync = true, m.runningHere
		return nil
	}
	m.Aborted = abort && m.page != PageIntegrations && !m.succeeded()
	return m.leave()
}

// leave stops this process's worker (if any), then quits: no job may be
// left "running" by a process that is gone (it would wait for River's
// rescue). A worker still starting is stopped as soon as it has.
func (m *Model) leave() tea.Cmd {
	switch {
	case m.workerStarting:
		m.quitting = true
		return nil
	case m.worker == nil:
		return m.exit()
	}
	m.quitting = true
	return m.stopWorker()
}

func (m *Model) updateConfirm(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, quitKeys.Yes):
		m.Aborted = m.dirty()
		m.confirm = false
		return m, m.leave()
	case key.Matches(k, quitKeys.No):
		m.confirm = false
	}
	return m, nil
}

// quitKeys answer the footer's "Quit onramp? [y/n]".
var quitKeys = struct{ Yes, No key.Binding }{
	Yes: key.NewBinding(key.WithKeys("y", "Y", "ctrl+c")),
	No:  key.NewBinding(key.WithKeys("n", "N", "esc")),
}

// exitMsg ends the program once its last frame is drawn.
type exitMsg struct{}

// exit draws a blank last frame, then quits. Leaving the alternate screen
// restores the shell's screen; a terminal that lost that screen on a resize
// (or never had one) is left blank rather than holding the wizard's lines.
func (m *Model) exit() tea.Cmd {
	m.closed, m.frame = true, nil
	return tea.Quit
}
