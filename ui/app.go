// Package ui is the Bubble Tea wizard: one root model with a page enum that
// walks vendor, auth method, fields, alias and authorize, then shows the
// Integrations page. Each page is its own package; every page is backed by
// the same flows.Connect and the same store.
package ui

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/integrations"
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
	// Worker: the wizard runs due syncs in this process while it is open
	// (a laptop needs no daemon for its first sync). Over SSH the server's
	// worker runs them, and a session's end stops nothing.
	Worker bool
	// WorkerID names this process in "syncing on …"; flows.WorkerID by
	// default.
	WorkerID string
}

type storeReadyMsg struct {
	st  store.Store
	err error
}

// integrationsMsg is the Integrations page read from the store: every
// connection, or (partial) only the rows in view, refreshed.
type integrationsMsg struct {
	rows    []flows.Status
	err     error
	partial bool
}

type clearStatusMsg struct{ seq int }

// ServerStoppingMsg tells a session that the SSH server is shutting down.
type ServerStoppingMsg struct{}

// Model is the root model.
type Model struct {
	deps      Deps
	st        store.Store
	stErr     error
	pending   tea.Msg // a step waiting for the store to open
	flow      *flows.Connect
	page      Page
	pages     map[Page]common.Page
	th        theme.Theme
	help      help.Model
	width     int
	height    int
	status    string
	statusSeq int
	confirm   bool
	// Aborted is set when the person quit before finishing (exit 130).
	Aborted bool
	// made lists the connections made or reconnected in this run, in order
	// (Created says them).
	made []madeConn
	// worker runs syncs in this process (Deps.Worker), once the store is open.
	worker store.Worker
	// runningHere: a sync runs in this process's worker (quitting asks).
	runningHere    bool
	workerStarting bool
	// showKeys: ? shows every key of the screen instead of the screen.
	showKeys bool
	// quitting: waiting for syncs to record their checkpoints.
	quitting bool
	// closed: the program is ending; the last frame is blank (see exit).
	closed      bool
	confirmSync bool
	ticking     bool
	// fullAt is when the page last read every connection: between full
	// reads, a refresh reads only the rows in view.
	fullAt time.Time
	// frame is the last View, drawn again only after a message that may
	// change it (changesNothing); sized is the last size the pages were
	// given (width and height start at 80×24 before any).
	frame *tea.View
	sized [2]int
	// vp scrolls a page taller than the window (scroll.go); scrolled: the
	// person moved it, so it stays put until a key acts on the page again;
	// vpPage: the page it scrolls (another page starts at the top).
	vp       viewport.Model
	scrolled bool
	vpPage   Page
}

// madeConn is a connection made or reconnected in this run.
type madeConn struct{ id, alias string }

// Created lists the aliases of the connections made or reconnected in this
// run and still there, once each: what the wizard prints on stdout for
// scripts.
func (m *Model) Created() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range m.made {
		if !seen[c.id] {
			seen[c.id] = true
			out = append(out, c.alias)
		}
	}
	return out
}

// New builds the wizard.
func New(d Deps) *Model {
	m := &Model{deps: d, st: d.Store, th: theme.New(true), help: help.New(), width: 80, height: 24, pages: map[Page]common.Page{}, vp: newBodyViewport()}
	if m.deps.WorkerID == "" {
		m.deps.WorkerID = flows.WorkerID("wizard")
	}
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
	self := m.deps.WorkerID
	m.fullAt = time.Now()
	return func() tea.Msg {
		if !ok {
			return integrationsMsg{err: errors.New("this store keeps no inventory")}
		}
		rows, err := flows.Statuses(context.Background(), ss, cat, now(), self)
		return integrationsMsg{rows: rows, err: err}
	}
}

// fullEvery is how often a refresh reads every connection (new ones made
// by other operators appear); in between it reads the rows in view.
const fullEvery = 5 * time.Second

// refreshIntegrations reloads the rows in view (their jobs and last syncs,
// by key), or the whole page every fullEvery.
func (m *Model) refreshIntegrations() tea.Cmd {
	page, ok := m.pages[PageIntegrations].(*integrations.Model)
	ss, isSync := m.st.(flows.SyncStore)
	if !ok || !isSync || time.Since(m.fullAt) >= fullEvery {
		return m.loadIntegrations()
	}
	conns := page.Visible()
	cat, now, self := m.deps.Catalog, m.deps.Flow.Now, m.deps.WorkerID
	if now == nil {
		now = time.Now
	}
	return func() tea.Msg {
		rows, err := flows.StatusesOf(context.Background(), ss, cat, now(), self, conns)
		return integrationsMsg{rows: rows, err: err, partial: true}
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

// changesNothing reports messages that leave the screen as it is: a
// session's start brings the environment, the colour profile (the renderer
// adapts colours, not the pages) and the same size twice, and drawing the
// wizard again for each was a third of what a login over SSH cost.
func changesNothing(m *Model, msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.EnvMsg, tea.ColorProfileMsg:
		return true
	case tea.WindowSizeMsg:
		return m.frame != nil && m.sized == [2]int{msg.Width, msg.Height}
	}
	return false
}

func (m *Model) show(p Page, pg common.Page) {
	m.page = p
	m.pages[p] = pg
	pg.SetSize(m.bodySize())
	pg.SetTheme(m.th)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if changesNothing(m, msg) {
		return m, nil // the last frame stands (see frame)
	}
	m.frame = nil
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height, m.sized = msg.Width, msg.Height, [2]int{msg.Width, msg.Height}
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
		m.flow.UseStore(m.st)
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
		if ok && msg.partial {
			var cmds []tea.Cmd
			changed := page.UpdateRows(msg.rows, msg.err)
			m.noteRunningHere(page.Rows())
			for _, id := range changed {
				if id == page.SelectedID() {
					cmds = append(cmds, m.loadDetails(id))
				}
			}
			if m.page == PageIntegrations && !m.ticking {
				m.ticking = true
				cmds = append(cmds, refreshTick(anyRunning(page.Rows())))
			}
			return m, tea.Batch(cmds...)
		}
		if msg.partial { // the page is gone: nothing to update
			return m, nil
		}
		if !ok {
			return m, m.startWorker(msg.rows)
		}
		m.noteRunningHere(msg.rows)
		cmds := []tea.Cmd{m.startWorker(msg.rows)}
		first := page.SelectedID() == "" && len(msg.rows) > 0
		changed := page.SetRows(msg.rows, msg.err)
		if first {
			cmds = append(cmds, m.loadDetails(page.SelectedID()))
		}
		for _, id := range changed { // a sync began or ended: its details (runs, seats) changed
			if id == page.SelectedID() {
				cmds = append(cmds, m.loadDetails(id))
			}
		}
		if m.page == PageIntegrations && !m.ticking {
			m.ticking = true
			cmds = append(cmds, refreshTick(anyRunning(msg.rows)))
		}
		return m, tea.Batch(cmds...)
	case RefreshMsg:
		m.ticking = false
		if m.page != PageIntegrations {
			return m, nil
		}
		return m, m.refreshIntegrations()
	case detailsMsg:
		if page, ok := m.pages[PageIntegrations].(*integrations.Model); ok {
			page.SetDetails(msg.id, msg.d)
		}
		return m, nil
	case stoppedAllMsg:
		m.worker = nil
		return m, m.exit()
	case workerMsg:
		m.workerStarting = false
		if msg.err != nil {
			return m, m.setStatus("Syncs cannot run in this process: " + msg.err.Error())
		}
		m.worker = msg.w
		if m.quitting { // it started while quitting: stop it first, so no job is left running
			return m, m.stopWorker()
		}
		return m, nil
	case removedMsg:
		if msg.err != nil {
			return m, m.setStatus("Could not remove: " + msg.err.Error())
		}
		m.made = slices.DeleteFunc(m.made, func(c madeConn) bool { return c.id == msg.id })
		return m, tea.Batch(m.setStatus("Removed "+cmp.Or(textsafe.Truncate(msg.alias, 40), "the connection")+"."), m.loadIntegrations())
	case clearStatusMsg:
		if msg.seq == m.statusSeq {
			m.status = ""
		}
		return m, nil
	case common.StatusMsg:
		return m, m.setStatus(string(msg))
	case ServerStoppingMsg:
		m.status = "The onramp server is stopping. Everything saved is kept; syncs resume when it is back."
		return m, tea.Tick(1500*time.Millisecond, func(time.Time) tea.Msg { return exitMsg{} })
	case exitMsg:
		return m, m.exit()
	case tea.MouseWheelMsg:
		m.scroll(msg)
		return m, nil
	case tea.KeyPressMsg:
		if m.quitting {
			return m, nil
		}
		if m.confirm {
			return m.updateConfirm(msg)
		}
		if key.Matches(msg, common.KeyQuit) {
			return m, m.quit(true)
		}
		if m.tooSmall() { // nothing typed where it cannot be seen
			return m, nil
		}
		if isScroll(msg) {
			m.scroll(msg)
			return m, nil
		}
		m.scrolled = false
		if m.showKeys { // any key closes the list of keys
			m.showKeys = false
			return m, nil
		}
		if key.Matches(msg, keyAllKeys) && m.keysHelpable() {
			m.showKeys = true
			return m, nil
		}
		if key.Matches(msg, common.KeyOverview) && m.page == PageVendors && m.st != nil {
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

// actorContext names who acts, for the store's records and the server log.
func (m *Model) actorContext() context.Context {
	if m.deps.Flow.Actor == "" {
		return context.Background()
	}
	return store.WithActor(context.Background(), m.deps.Flow.Actor)
}

// compile-time check
var _ tea.Model = (*Model)(nil)
