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
		m.show(PageFields, fields.New(m.flow, m.th))
		if m.flow.Reconnecting != nil { // a reconnect keeps its alias
			return nil, true
		}
		return m.checkAlias(false, nil), true // says on the form whether an alias will be asked
	case common.FieldsDoneMsg:
		if m.flow.Reconnecting != nil {
			return m.advance(flows.StepFields, flows.AliasPlan{}), true
		}
		return m.checkAlias(true, nil), true
	case aliasPlanMsg:
		if msg.err != nil {
			return m.setStatus("The store could not be read: " + msg.err.Error()), true
		}
		if !msg.advance {
			if f, ok := m.pages[PageFields].(*fields.Model); ok {
				f.SetAliasAsked(msg.plan.Taken)
			}
			return nil, true
		}
		if msg.taken != nil {
			msg.plan.Needed = true
			cmd := m.advance(flows.StepFields, msg.plan)
			m.pages[PageAlias].(*alias.Model).ShowError(msg.taken)
			return cmd, true
		}
		if m.page != PageFields { // the person moved on meanwhile
			return nil, true
		}
		return m.advance(flows.StepFields, msg.plan), true
	case common.AliasDoneMsg:
		return m.advance(flows.StepAlias, flows.AliasPlan{}), true
	case authorize.FailedMsg:
		var se *flows.StepError
		if errors.As(msg.Err, &se) && se.Field == "alias" { // taken meanwhile: ask again
			return m.checkAlias(true, msg.Err), true
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
	case integrations.RotateMsg:
		return m.rotateNow(msg.ID), true
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
		alias := ""
		if page, ok := m.pages[PageIntegrations].(*integrations.Model); ok {
			for _, r := range page.Rows() {
				if r.ID == id {
					alias = r.Alias
				}
			}
		}
		return func() tea.Msg { return removedMsg{id: id, alias: alias, err: st.Delete(ctx, id)} }, true
	case common.ReconnectMsg:
		st, id := m.st, msg.ID
		return func() tea.Msg {
			conn, err := st.Get(context.Background(), id)
			return reconnectLoadedMsg{conn, err}
		}, true
	case reconnectLoadedMsg:
		return m.reconnect(msg.conn, msg.err), true
	case common.AddAnotherMsg:
		m.newFlow()
		delete(m.pages, PageFields)
		delete(m.pages, PageAlias)
		delete(m.pages, PageAuthorize)
		m.show(PageVendors, vendors.New(m.deps.Catalog, m.th))
		return m.loadIntegrations(), true
	}
	return nil, false
}

// aliasPlanMsg is the store's answer for the alias step; advance: the
// fields are done and the flow moves on with it; taken: saving failed on
// an alias taken meanwhile, so the alias step comes again with that error.
type aliasPlanMsg struct {
	plan    flows.AliasPlan
	err     error
	advance bool
	taken   error
}

// reconnectLoadedMsg carries the connection a reconnect starts from.
type reconnectLoadedMsg struct {
	conn *store.Connection
	err  error
}

// checkAlias asks the store about the alias step off the UI goroutine
// (the fields of aliasPlanMsg say what to do with the answer).
func (m *Model) checkAlias(advance bool, taken error) tea.Cmd {
	q := m.flow.AliasCheck()
	return func() tea.Msg {
		plan, err := q.Run(context.Background(), time.Now())
		return aliasPlanMsg{plan: plan, err: err, advance: advance, taken: taken}
	}
}

// advance shows the step the flow says comes after from.
func (m *Model) advance(from flows.Step, plan flows.AliasPlan) tea.Cmd {
	switch m.flow.Next(from, plan) {
	case flows.StepAlias:
		m.show(PageAlias, alias.New(m.flow, plan.Existing, plan.Default, m.th))
		return nil
	case flows.StepAuthorize:
		return m.startAuthorize()
	}
	return nil
}

func (m *Model) startAuthorize() tea.Cmd {
	if m.flow.Method.Kind == flows.MethodOAuth {
		o := oauth.New(m.flow, m.deps.Flow.Remote, m.th)
		m.show(PageAuthorize, o)
		return o.Start()
	}
	a := authorize.New(m.flow, m.th)
	m.show(PageAuthorize, a)
	return a.Start()
}

// reconnect re-authorizes a stored connection: to the form when it needs
// a credential typed again (a token, an app's secret), where only that is
// new; otherwise (an OAuth grant, an app's key pair) straight to the
// authorization.
func (m *Model) reconnect(conn *store.Connection, err error) tea.Cmd {
	if err != nil {
		return m.setStatus("The connection could not be read: " + err.Error())
	}
	m.newFlow()
	if err := m.flow.Reconnect(conn); err != nil {
		return m.setStatus(err.Error())
	}
	f := fields.New(m.flow, m.th)
	mp := method.New(m.flow.Vendor, m.th)
	mp.ForReconnect(conn.AuthMethod, m.flow.MethodSwitch)
	m.show(PageMethod, mp)
	m.show(PageFields, f)
	if key := m.flow.Retype(); key != "" {
		return f.FocusField(key)
	}
	return m.startAuthorize()
}

// leaveReconnect ends a reconnect that was backed out of: the next
// onboarding starts clean, and the person is back where the reconnect began.
func (m *Model) leaveReconnect() tea.Cmd {
	m.newFlow()
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

// stepPages maps the flow's steps onto the pages that show them.
var stepPages = [...]Page{flows.StepVendor: PageVendors, flows.StepMethod: PageMethod,
	flows.StepFields: PageFields, flows.StepAlias: PageAlias, flows.StepAuthorize: PageAuthorize}

// back goes one step back, the way the flow says; it never quits. Backing
// out of a reconnect's first step ends the reconnect.
func (m *Model) back() tea.Cmd {
	if m.page == PageIntegrations {
		m.page = PageVendors
		if _, ok := m.pages[PageVendors]; !ok {
			m.show(PageVendors, vendors.New(m.deps.Catalog, m.th))
		}
		return nil
	}
	for step, page := range stepPages {
		if page != m.page {
			continue
		}
		prev := m.flow.Back(flows.Step(step))
		if prev == flows.StepDone {
			return m.leaveReconnect()
		}
		m.page = stepPages[prev]
		return nil
	}
	return nil
}
