// Package ui is the Bubble Tea wizard: one root model with a page enum that
// walks vendor, auth method, fields, alias and authorize, then shows the
// Integrations page. Each page is its own package; every page is backed by
// the same flows.Connect and the same store.
package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/alias"
	"github.com/onramp-dev/onramp/ui/authorize"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/fields"
	"github.com/onramp-dev/onramp/ui/integrations"
	"github.com/onramp-dev/onramp/ui/method"
	"github.com/onramp-dev/onramp/ui/oauth"
	"github.com/onramp-dev/onramp/ui/theme"
	"github.com/onramp-dev/onramp/ui/vendors"
)

// Page names a screen.
type Page int

const (
	PageVendors Page = iota
	PageMethod
	PageFields
	PageAlias
	PageAuthorize
	PageIntegrations
)

var pageNames = [...]string{"Vendor", "Auth method", "Fields", "Alias", "Authorize", "Integrations"}

func (p Page) String() string { return pageNames[p] }

// Deps are what the wizard needs.
type Deps struct {
	Catalog flows.Catalog
	// OpenStore opens the store off the UI goroutine, so a slow keyring never
	// delays the first frame. Store, when set, is used as is.
	OpenStore func(context.Context) (store.Store, error)
	Store     store.Store
	Flow      flows.Deps // Catalog and Store are filled in
	// Banner is an extra header line (the demo's sandbox address).
	Banner string
	// Start is the first page: PageVendors or PageIntegrations.
	Start Page
	// OnIdle runs once, shortly after start-up settles (the store is open
	// and the first frames are drawn): the CLI trims start-up memory there.
	OnIdle func()
	// Syncs runs background syncs; the wizard makes its own when nil.
	Syncs *flows.SyncManager
	// SharedSyncs: the syncs belong to a server (onramp serve) and go on
	// when this session quits, so quitting does not ask about them.
	SharedSyncs bool
}

type storeReadyMsg struct {
	st  store.Store
	err error
}

type integrationsMsg struct {
	rows []flows.Status
	err  error
}

type clearStatusMsg struct{ seq int }

// ServerStoppingMsg tells a session that the SSH server is shutting down.
type ServerStoppingMsg struct{}

// Model is the root model.
type Model struct {
	deps    Deps
	st      store.Store
	stErr   error
	pending tea.Msg // a step waiting for the store to open
	flow    *flows.Connect
	page    Page
	// aliasShown remembers whether the alias step was part of this run, so
	// going back from Authorize lands where the person came from.
	aliasShown bool
	pages      map[Page]common.Page
	th         theme.Theme
	help       help.Model
	width      int
	height     int
	status     string
	statusSeq  int
	confirm    bool
	// Aborted is set when the person quit before finishing (exit 130).
	Aborted bool
	// Created lists aliases connected in this run.
	Created     []string
	syncs       *flows.SyncManager
	watching    map[string]bool // syncs whose progress this page draws
	progressing bool            // a progress tick is pending
	retries     map[string]*retryPlan
	// quitting: waiting for syncs to record their checkpoints.
	quitting    bool
	confirmSync bool
	ticking     bool
}

// New builds the wizard.
func New(d Deps) *Model {
	m := &Model{deps: d, st: d.Store, th: theme.New(true), help: help.New(), width: 80, height: 24, pages: map[Page]common.Page{},
		syncs: d.Syncs, watching: map[string]bool{}, retries: map[string]*retryPlan{}}
	m.help.Styles = help.DefaultStyles(true)
	m.newFlow()
	m.page = PageVendors
	m.pages[PageVendors] = vendors.New(d.Catalog, m.th)
	if d.Start == PageIntegrations {
		m.page = PageIntegrations
		m.pages[PageIntegrations] = integrations.New(nil, nil, "", m.th)
	}
	return m
}

func (m *Model) newFlow() {
	fd := m.deps.Flow
	fd.Catalog, fd.Store = m.deps.Catalog, m.st
	m.flow = flows.NewConnect(fd)
}

// Flow exposes the current onboarding (tests inspect it).
func (m *Model) Flow() *flows.Connect { return m.flow }

// Current is the page shown.
func (m *Model) Current() Page { return m.page }

// PageModel returns a page's model (tests inspect it).
func (m *Model) PageModel(p Page) common.Page { return m.pages[p] }

func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if m.st == nil && m.deps.OpenStore != nil {
		open := m.deps.OpenStore
		cmds = append(cmds, func() tea.Msg {
			st, err := open(context.Background())
			return storeReadyMsg{st, err}
		})
	} else if m.st != nil {
		cmds = append(cmds, m.storeReady())
	}
	return tea.Batch(cmds...)
}

// storeReady counts connections (for the vendor page hint) and, when the
// wizard starts on Integrations, loads it.
func (m *Model) storeReady() tea.Cmd {
	if ss, ok := m.st.(flows.SyncStore); ok && m.syncs == nil {
		m.syncs = flows.NewSyncManager(&flows.Syncer{Store: ss, Catalog: m.deps.Catalog, Now: m.deps.Flow.Now, NewHTTP: m.deps.Flow.NewHTTP})
	}
	cmds := []tea.Cmd{m.loadIntegrations()}
	if idle := m.deps.OnIdle; idle != nil {
		m.deps.OnIdle = nil
		cmds = append(cmds, tea.Tick(300*time.Millisecond, func(time.Time) tea.Msg {
			idle()
			return nil
		}))
	}
	return tea.Batch(cmds...)
}

func (m *Model) loadIntegrations() tea.Cmd {
	st, cat, now := m.st, m.deps.Catalog, m.deps.Flow.Now
	if now == nil {
		now = time.Now
	}
	ss, ok := st.(flows.SyncStore)
	return func() tea.Msg {
		if !ok {
			return integrationsMsg{nil, errors.New("this store keeps no inventory")}
		}
		rows, err := flows.Statuses(context.Background(), ss, cat, now())
		return integrationsMsg{rows, err}
	}
}

func (m *Model) setStatus(s string) tea.Cmd {
	m.statusSeq++
	m.status = s
	seq := m.statusSeq
	return tea.Tick(4*time.Second, func(time.Time) tea.Msg { return clearStatusMsg{seq} })
}

func (m *Model) bodySize() (int, int) {
	extra := 0
	if m.deps.Banner != "" {
		extra = 1
	}
	return max(m.width-2, 10), max(m.height-4-extra, 3) // header+blank, footer 2
}

func (m *Model) show(p Page, pg common.Page) {
	m.page = p
	m.pages[p] = pg
	pg.SetSize(m.bodySize())
	pg.SetTheme(m.th)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(max(m.width-2, 10))
		w, h := m.bodySize()
		for _, pg := range m.pages {
			pg.SetSize(w, h)
		}
		return m, nil
	case tea.BackgroundColorMsg:
		m.th = theme.New(msg.IsDark())
		m.help.Styles = help.DefaultStyles(msg.IsDark())
		for _, pg := range m.pages {
			pg.SetTheme(m.th)
		}
		return m, nil
	case storeReadyMsg:
		m.st, m.stErr = msg.st, msg.err
		if m.stErr != nil {
			return m, nil
		}
		m.newFlowKeepingChoices()
		cmd := m.storeReady()
		if p := m.pending; p != nil {
			m.pending = nil
			return m, tea.Batch(cmd, common.Cmd(p))
		}
		return m, cmd
	case integrationsMsg:
		if v, ok := m.pages[PageVendors].(*vendors.Model); ok {
			v.SetStored(len(msg.rows))
		}
		page, ok := m.pages[PageIntegrations].(*integrations.Model)
		if !ok {
			return m, nil
		}
		first := page.SelectedID() == "" && len(msg.rows) > 0
		page.SetRows(msg.rows, msg.err)
		var cmds []tea.Cmd
		if first {
			cmds = append(cmds, m.resumeSyncs(msg.rows), m.loadDetails(page.SelectedID()))
		}
		if m.syncs != nil && len(m.syncs.Running()) > 0 {
			cmds = append(cmds, m.progressTick())
		}
		if m.page == PageIntegrations && !m.ticking {
			m.ticking = true
			cmds = append(cmds, refreshTick())
		}
		return m, tea.Batch(cmds...)
	case refreshTickMsg:
		m.ticking = false
		if m.page != PageIntegrations {
			return m, nil
		}
		return m, m.loadIntegrations()
	case progressTickMsg:
		return m, m.onProgressTick()
	case detailsMsg:
		if page, ok := m.pages[PageIntegrations].(*integrations.Model); ok {
			page.SetDetails(msg.id, msg.d)
		}
		return m, nil
	case stoppedAllMsg:
		return m, tea.Quit
	case removedMsg:
		delete(m.retries, msg.id)
		if msg.err != nil {
			return m, m.setStatus("Could not remove: " + msg.err.Error())
		}
		return m, tea.Batch(m.setStatus("Removed."), m.loadIntegrations())
	case retrySyncMsg:
		if r := m.retries[msg.id]; r != nil && r.at.Equal(msg.at) {
			return m, m.startSync(msg.id)
		}
		return m, nil
	case clearStatusMsg:
		if msg.seq == m.statusSeq {
			m.status = ""
		}
		return m, nil
	case common.StatusMsg:
		return m, m.setStatus(string(msg))
	case ServerStoppingMsg:
		m.status = "The onramp server is stopping. Everything saved is kept; syncs resume when it is back."
		return m, tea.Tick(1500*time.Millisecond, func(time.Time) tea.Msg { return tea.QuitMsg{} })
	case tea.KeyPressMsg:
		if m.quitting {
			return m, nil
		}
		if m.confirm {
			return m.updateConfirm(msg)
		}
		if msg.String() == "ctrl+c" {
			return m, m.quit(true)
		}
		if msg.String() == "ctrl+o" && m.page == PageVendors && m.st != nil {
			return m, common.Cmd(common.OpenIntegrationsMsg{})
		}
	}
	if cmd, handled := m.route(msg); handled {
		return m, cmd
	}
	pg := m.pages[m.page]
	next, cmd := pg.Update(msg)
	m.pages[m.page] = next
	// Navigation asked for by the page happens now, in this same event.
	if in, ok := next.(interface{ Take() tea.Msg }); ok {
		if intent := in.Take(); intent != nil {
			navCmd, _ := m.route(intent)
			return m, tea.Batch(cmd, navCmd)
		}
	}
	return m, cmd
}

// newFlowKeepingChoices rebuilds the flow around the now-open store,
// keeping anything chosen or typed while it opened.
func (m *Model) newFlowKeepingChoices() {
	old := m.flow
	m.newFlow()
	m.flow.Vendor, m.flow.Method = old.Vendor, old.Method
	for k, v := range old.Values {
		m.flow.Values[k] = v
	}
	m.flow.WantAlias, m.flow.Alias = old.WantAlias, old.Alias
	for p, pg := range m.pages {
		switch p {
		case PageFields:
			m.pages[p] = fields.New(m.flow, m.th)
			m.pages[p].SetSize(m.bodySize())
		default:
			_ = pg
		}
	}
}

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
		if err := m.flow.ChooseMethod(msg.ID); err != nil {
			return m.setStatus(err.Error()), true
		}
		f := fields.New(m.flow, m.th)
		need, _ := m.flow.AliasNeeded(context.Background())
		f.SetAliasAsked(need && !m.flow.WantAlias)
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
		var first tea.Cmd
		if m.flow.Saved != nil {
			m.Created = append(m.Created, m.flow.Saved.Alias)
			focus = m.flow.Saved.ID
			first = m.startSync(focus) // the first sync starts by itself
		}
		m.show(PageIntegrations, integrations.New(nil, nil, focus, m.th))
		return tea.Batch(m.loadIntegrations(), first, m.loadDetails(focus)), true
	case integrations.SyncNowMsg:
		delete(m.retries, msg.ID)
		return m.startSync(msg.ID), true
	case integrations.SelectedMsg:
		return m.loadDetails(msg.ID), true
	case integrations.QuitMsg:
		return m.quit(false), true
	case integrations.RemoveMsg:
		// Stop its sync first (off the UI goroutine), then delete.
		st, syncs, id, ctx := m.st, m.syncs, msg.ID, m.actorContext()
		return func() tea.Msg {
			if syncs != nil {
				syncs.Stop(id)
			}
			return removedMsg{id: id, err: st.Delete(ctx, id)}
		}, true
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
	m.show(PageMethod, method.New(m.flow.Vendor, m.th))
	m.show(PageFields, f)
	if conn.AuthMethod == store.AuthOAuth {
		return m.startAuthorize()
	}
	return f.FocusField("token")
}

// back goes one step back; it never quits.
func (m *Model) back() tea.Cmd {
	switch m.page {
	case PageMethod:
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

// steps are the wizard's stations for the breadcrumb.
var steps = []Page{PageVendors, PageMethod, PageFields, PageAlias, PageAuthorize}

func (m *Model) header() string {
	title := m.th.Header.Render("onramp")
	if m.page == PageIntegrations {
		return title + m.th.Crumb.Render("  Integrations")
	}
	var crumbs []string
	here := 0
	for i, p := range steps {
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
	return title + m.th.Crumb.Render("  Add integration · step ") + m.th.CrumbHere.Render(
		stepOf(here+1, len(steps))+" "+m.page.String())
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
	bar := m.help.ShortHelpView(keys)
	if m.status != "" {
		return m.th.Success.Render(common.Truncate(m.status, m.width-2)) + "\n" + bar
	}
	return "\n" + bar
}

func (m *Model) View() tea.View {
	var b strings.Builder
	b.WriteString(m.header())
	b.WriteString("\n")
	if m.deps.Banner != "" {
		b.WriteString(m.th.Badge.Render(m.deps.Banner) + "\n")
	}
	b.WriteString("\n")
	_, bodyH := m.bodySize()
	var body string
	if m.stErr != nil {
		body = m.th.Error.Render(common.Wrap(theme.Fail+" The credential store could not be opened:\n"+textsafe.Line(m.stErr.Error()), m.width-2)) +
			"\n\n" + m.th.Muted.Render("Fix it and start onramp again (`onramp store info` shows where it lives). ctrl+c quits.")
	} else {
		body = m.pages[m.page].View()
	}
	lines := strings.Split(body, "\n")
	if len(lines) > bodyH {
		lines = lines[:bodyH]
	}
	for len(lines) < bodyH {
		lines = append(lines, "")
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
	return v
}

// actorContext names who acts, for the store's records and the server log.
func (m *Model) actorContext() context.Context {
	if m.deps.Flow.Actor == "" {
		return context.Background()
	}
	return store.WithActor(context.Background(), m.deps.Flow.Actor)
}

// compile-time check
var _ tea.Model = (*Model)(nil)
