package ui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/alias"
	"github.com/onramp-dev/onramp/ui/authorize"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/fields"
	"github.com/onramp-dev/onramp/ui/integrations"
	"github.com/onramp-dev/onramp/ui/method"
	"github.com/onramp-dev/onramp/ui/oauth"
	"github.com/onramp-dev/onramp/ui/vendors"
)

// Navigation: the messages pages send, and where each leads.

// route handles the messages pages send; true when handled here.
func (m *Model) route(msg tea.Msg) (tea.Cmd, bool) {
	needsStore := false
	switch msg.(type) {
	case common.MethodChosenMsg, common.FieldsDoneMsg, common.OpenIntegrationsMsg:
		needsStore = true
	}
	if needsStore && m.st == nil {
		if m.stErr == nil {
			m.pending = msg
			return m.setStatus("Opening the credential store…"), true
		}
		return nil, true
	}

	switch msg := msg.(type) {
	case common.BackMsg:
		return m.back(), true
	case common.VendorChosenMsg:
		if err := m.flow.ChooseVendor(msg.ID); err != nil {
			return m.setStatus(err.Error()), true
		}
		m.show(PageMethod, method.New(m.flow.Vendor, m.th))
		return nil, true
	case common.MethodChosenMsg:
		if msg.Switch {
			m.flow.ConfirmMethodSwitch(msg.ID)
		}
		if err := m.flow.ChooseMethod(msg.ID); err != nil {
			return m.setStatus(err.Error()), true
		}
		f := fields.New(m.flow, m.th)
		if m.flow.Reconnecting == nil { // a reconnect keeps its alias
			need, _ := m.flow.AliasNeeded(context.Background())
			f.SetAliasAsked(need && !m.flow.WantAlias)
		}
		m.show(PageFields, f)
		return nil, true
	case common.FieldsDoneMsg:
		if m.flow.Reconnecting != nil { // the alias stays as it is
			m.aliasShown = false
			return m.startAuthorize(), true
		}
		need, err := m.flow.AliasNeeded(context.Background())
		if err != nil {
			return m.setStatus("The store could not be read: " + err.Error()), true
		}
		m.aliasShown = need
		if need {
			return m.showAlias(), true
		}
		m.flow.Alias = ""
		return m.startAuthorize(), true
	case common.AliasDoneMsg:
		return m.startAuthorize(), true
	case authorize.FailedMsg:
		var se *flows.StepError
		if errors.As(msg.Err, &se) && se.Field == "alias" {
			cmd := m.showAlias()
			m.pages[PageAlias].(*alias.Model).ShowError(msg.Err)
			return cmd, true
		}
		f := m.pages[PageFields].(*fields.Model)
		m.page = PageFields
		return f.ShowError(msg.Err), true
	case common.OpenIntegrationsMsg:
		focus := ""
		if m.flow.Saved != nil { // its first sync was enqueued with it
			m.made = append(m.made, madeConn{m.flow.Saved.ID, m.flow.Saved.Alias})
			focus = m.flow.Saved.ID
		}
		m.show(PageIntegrations, integrations.New(nil, nil, focus, m.th))
		return tea.Batch(m.loadIntegrations(), m.loadDetails(focus)), true
	case integrations.SyncNowMsg:
		return m.syncNow(msg.ID, msg.Running), true
	case syncAskedMsg:
		if msg.err != nil {
			return m.setStatus("The sync could not be asked for: " + msg.err.Error()), true
		}
		return m.loadIntegrations(), true
	case integrations.SelectedMsg:
		return m.loadDetails(msg.ID), true
	case integrations.QuitMsg:
		return m.quit(false), true
	case integrations.RemoveMsg:
		// Off the UI goroutine; deleting cancels its sync job too.
		st, id, ctx := m.st, msg.ID, m.actorContext()
		return func() tea.Msg { return removedMsg{id: id, err: st.Delete(ctx, id)} }, true
	case common.ReconnectMsg:
		return m.reconnect(msg.ID), true
	case common.AddAnotherMsg:
		m.newFlow()
		m.aliasShown = false
		delete(m.pages, PageFields)
		delete(m.pages, PageAlias)
		delete(m.pages, PageAuthorize)
		m.show(PageVendors, vendors.New(m.deps.Catalog, m.th))
		return m.loadIntegrations(), true
	}
	return nil, false
}

func (m *Model) showAlias() tea.Cmd {
	ctx := context.Background()
	var existing []flows.Integration
	if rows, err := flows.Integrations(ctx, m.st, m.deps.Catalog, time.Now()); err == nil {
		for _, r := range rows {
			if r.Vendor == m.flow.Vendor.Name {
				existing = append(existing, r)
			}
		}
	}
	m.show(PageAlias, alias.New(m.flow, existing, m.flow.DefaultAlias(ctx), m.th))
	return nil
}

func (m *Model) startAuthorize() tea.Cmd {
	if m.flow.Method.ID == store.AuthOAuth {
		o := oauth.New(m.flow, m.deps.Flow.Remote, m.th)
		m.show(PageAuthorize, o)
		return o.Start()
	}
	a := authorize.New(m.flow, m.th)
	m.show(PageAuthorize, a)
	return a.Start()
}

// reconnect re-authorizes a stored connection: OAuth goes straight to the
// authorization; a token connection to the form, where only the token is new.
func (m *Model) reconnect(id string) tea.Cmd {
	conn, err := m.st.Get(context.Background(), id)
	if err != nil {
		return m.setStatus("The connection could not be read: " + err.Error())
	}
	m.newFlow()
	if err := m.flow.Reconnect(conn); err != nil {
		return m.setStatus(err.Error())
	}
	m.aliasShown = false
	f := fields.New(m.flow, m.th)
	mp := method.New(m.flow.Vendor, m.th)
	mp.ForReconnect(conn.AuthMethod, m.flow.MethodSwitch)
	m.show(PageMethod, mp)
	m.show(PageFields, f)
	if conn.AuthMethod == store.AuthOAuth {
		return m.startAuthorize()
	}
	return f.FocusField(flows.FieldToken)
}

// leaveReconnect ends a reconnect that was backed out of: the next
// onboarding starts clean, and the person is back where the reconnect began.
func (m *Model) leaveReconnect() tea.Cmd {
	m.newFlow()
	m.aliasShown = false
	delete(m.pages, PageMethod)
	delete(m.pages, PageFields)
	delete(m.pages, PageAlias)
	delete(m.pages, PageAuthorize)
	pg, ok := m.pages[PageIntegrations]
	if !ok {
		pg = integrations.New(nil, nil, "", m.th)
	}
	m.show(PageIntegrations, pg)
	return m.loadIntegrations()
}

// back goes one step back; it never quits. Backing out of a reconnect's
// first step ends the reconnect.
func (m *Model) back() tea.Cmd {
	switch m.page {
	case PageMethod:
		if m.flow.Reconnecting != nil {
			return m.leaveReconnect()
		}
		m.page = PageVendors
	case PageFields:
		m.page = PageMethod
	case PageAlias:
		m.page = PageFields
	case PageAuthorize:
		if m.aliasShown {
			m.page = PageAlias
		} else {
			m.page = PageFields
		}
	case PageIntegrations:
		m.page = PageVendors
		if _, ok := m.pages[PageVendors]; !ok {
			m.show(PageVendors, vendors.New(m.deps.Catalog, m.th))
		}
	}
	return nil
}
