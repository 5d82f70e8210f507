// Package integrations is the Integrations page: every stored connection with
// its state and its sync — running with progress, done with counts, or failed
// with the reason — and the selected connection's details and actions.
package integrations

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// Model lists connections.
type Model struct {
	common.Intent
	rows []flows.Status
	// focus is the connection to select when its row arrives (one just made).
	focus   string
	details map[string]Details
	cursor  int
	offset  int
	confirm string // id of a connection to remove, awaiting y/n
	loadErr error
	now     func() time.Time
	width   int
	height  int
	th      theme.Theme
}

// Details are what the detail panel shows beyond the row.
type Details struct {
	Scopes []string
	Runs   []store.SyncRun
	Seats  []store.Seats
}

// Messages the page asks the root for.
type (
	// SyncNowMsg: s was pressed: a sync now, or (Running) stop the running one.
	SyncNowMsg struct {
		ID      string
		Running bool
	}
	RemoveMsg struct{ ID string }
	// RotateMsg: t was pressed on a token that may rotate.
	RotateMsg struct{ ID string }
	// SelectedMsg: the selection moved; the root loads its details.
	SelectedMsg struct{ ID string }
)

// New shows rows; focusID (may be empty) is selected.
func New(rows []flows.Status, loadErr error, focusID string, th theme.Theme) *Model {
	m := &Model{rows: rows, focus: focusID, loadErr: loadErr, th: th, details: map[string]Details{}, now: time.Now}
	for i, r := range rows {
		if r.ID == focusID {
			m.cursor = i
		}
	}
	return m
}

// SetRows replaces the rows (a reload), keeping the selection. It returns
// the connections whose last sync changed (one ended, or a new one began),
// whose details need reading again.
func (m *Model) SetRows(rows []flows.Status, err error) (changed []string) {
	sel := m.SelectedID()
	if m.focus != "" {
		sel, m.focus = m.focus, ""
	}
	was := map[string]string{}
	for _, r := range m.rows {
		was[r.ID] = runKey(r)
	}
	m.rows, m.loadErr = rows, err
	for i, r := range rows {
		if r.ID == sel {
			m.cursor = i
		}
		if k, ok := was[r.ID]; ok && k != runKey(r) {
			changed = append(changed, r.ID)
		}
	}
	m.cursor = min(m.cursor, max(len(rows)-1, 0))
	m.scroll()
	return changed
}

// UpdateRows refreshes the rows given (those in view), by id, leaving the
// others; like SetRows, it returns the connections whose last sync changed.
func (m *Model) UpdateRows(rows []flows.Status, err error) (changed []string) {
	m.loadErr = err
	if err != nil {
		return nil
	}
	fresh := make(map[string]flows.Status, len(rows))
	for _, r := range rows {
		fresh[r.ID] = r
	}
	for i, r := range m.rows {
		if f, ok := fresh[r.ID]; ok {
			if runKey(f) != runKey(r) {
				changed = append(changed, r.ID)
			}
			m.rows[i] = f
		}
	}
	return changed
}

// Visible is the connections of the rows in view (and the selected one):
// those a refresh reads.
func (m *Model) Visible() []store.Connection {
	var out []store.Connection
	end := min(m.offset+m.tableRows(), len(m.rows))
	for i := m.offset; i < end; i++ {
		if c := m.rows[i].Connection; c != nil {
			out = append(out, *c)
		}
	}
	if m.cursor < len(m.rows) && (m.cursor < m.offset || m.cursor >= end) && m.rows[m.cursor].Connection != nil {
		out = append(out, *m.rows[m.cursor].Connection)
	}
	return out
}

// Rows are the rows as last read (those out of view as of the last full
// read).
func (m *Model) Rows() []flows.Status { return m.rows }

// runKey identifies a row's last sync and how it stands.
func runKey(r flows.Status) string {
	if r.LastRun == nil {
		return ""
	}
	return fmt.Sprint(r.LastRun.ID, r.LastRun.Status)
}

func running(r flows.Status) bool { return r.Job != nil && r.Job.State == store.JobRunning }

// SetDetails records a connection's details.
func (m *Model) SetDetails(id string, d Details) { m.details[id] = d }

// SelectedID is the selected connection's id.
func (m *Model) SelectedID() string {
	if m.cursor < len(m.rows) {
		return m.rows[m.cursor].ID
	}
	return ""
}

func (m *Model) SetTheme(th theme.Theme) { m.th = th }
func (m *Model) SetSize(w, h int)        { m.width, m.height = w, h; m.scroll() }

// keys are the page's keys: Update matches them and the help bar shows
// them, so the two cannot disagree.
var keys = struct {
	Up, Down, Add, Sync, Stop, Rotate, Reconnect, Remove, Quit, Confirm, Keep key.Binding
}{
	Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/↓", "move")),
	Down:      key.NewBinding(key.WithKeys("down", "j")),
	Add:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add")),
	Sync:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sync now")),
	Stop:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "stop sync")),
	Rotate:    key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "rotate token")),
	Reconnect: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reconnect")),
	Remove:    key.NewBinding(key.WithKeys("d", "delete"), key.WithHelp("d", "remove")),
	Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	Confirm:   key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "remove")),
	Keep:      key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "keep")),
}

func (m *Model) Keys() []key.Binding {
	if m.confirm != "" {
		return []key.Binding{keys.Confirm, keys.Keep}
	}
	ks := []key.Binding{keys.Up, keys.Add}
	if sel := m.selected(); sel != nil {
		sync := keys.Sync
		if running(*sel) {
			sync = keys.Stop
		}
		ks = append(ks, sync)
		if sel.Rotates {
			ks = append(ks, keys.Rotate)
		}
		ks = append(ks, keys.Reconnect, keys.Remove)
	}
	return append(ks, keys.Quit)
}

// tableRows is how many rows the table gets: the rest is the detail panel.
func (m *Model) tableRows() int { return max(min(len(m.rows), (m.height-4)/3), 1) }

// scroll keeps the selected row in view, and no row hidden above while
// there is room for it (a window that grew shows the rows again).
func (m *Model) scroll() {
	n := m.tableRows()
	m.offset = min(m.offset, max(len(m.rows)-n, 0))
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
	if m.confirm != "" {
		switch {
		case key.Matches(k, keys.Confirm):
			m.Set(RemoveMsg{ID: m.confirm})
			m.confirm = ""
		case key.Matches(k, keys.Keep):
			m.confirm = ""
		}
		return m, nil
	}
	before := m.cursor
	switch {
	case key.Matches(k, keys.Up):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(k, keys.Down):
		m.cursor = min(m.cursor+1, max(len(m.rows)-1, 0))
	case key.Matches(k, keys.Add):
		m.Set(common.AddAnotherMsg{})
	case key.Matches(k, keys.Sync):
		sel := m.selected()
		switch {
		case sel == nil:
		case sel.State == string(store.StateNeedsReconnect) && !running(*sel):
			return m, common.Cmd(common.StatusMsg(sel.Alias + " needs to be reconnected before it can sync: press r."))
		default:
			m.Set(SyncNowMsg{ID: sel.ID, Running: running(*sel)})
		}
	case key.Matches(k, keys.Rotate):
		if sel := m.selected(); sel != nil && sel.Rotates {
			m.Set(RotateMsg{ID: sel.ID})
		}
	case key.Matches(k, keys.Reconnect):
		if id := m.SelectedID(); id != "" {
			m.Set(common.ReconnectMsg{ID: id})
		}
	case key.Matches(k, keys.Remove):
		m.confirm = m.SelectedID()
	case key.Matches(k, keys.Quit):
		m.Set(QuitMsg{})
	}
	m.scroll()
	if m.cursor != before {
		m.Set(SelectedMsg{ID: m.SelectedID()})
	}
	return m, nil
}

// QuitMsg asks the root to quit (it asks first when a sync is running).
type QuitMsg struct{}

type column struct {
	title string
	min   int
	value func(*Model, flows.Status) string
	// reserve is the width the column is laid out with at least, whatever
	// its values now: the STATE text changes as syncs run, and the other
	// columns must not come and go with it.
	reserve int
}

// stateWidth fits the longest usual state ("✓ 12345 users, 59 minutes ago").
const stateWidth = 30

var columns = []column{
	{title: "ALIAS", min: 10, value: func(_ *Model, r flows.Status) string { return r.Alias }},
	{title: "VENDOR", min: 6, value: func(_ *Model, r flows.Status) string { return r.Vendor }},
	{title: "HOST", min: 12, value: func(_ *Model, r flows.Status) string { return r.Host }},
	{title: "ACCOUNT", min: 8, value: func(_ *Model, r flows.Status) string {
		if r.Admin {
			return r.Account + " (admin)"
		}
		return r.Account
	}},
	{title: "AUTH", min: 5, value: func(_ *Model, r flows.Status) string { return r.AuthID }},
	{title: "EXPIRES", min: 10, value: func(_ *Model, r flows.Status) string {
		if r.ExpiresAt == nil {
			return "never"
		}
		return r.ExpiresAt.Format("2006-01-02")
	}},
	{title: "SYNC", min: 4, value: func(_ *Model, r flows.Status) string { return strings.TrimPrefix(r.Schedule, "every ") }},
	{title: "STATE", min: 14, value: func(m *Model, r flows.Status) string { return m.stateText(r) }, reserve: stateWidth},
}

// stateText is the one-cell state: the running sync first, then the
// connection, then the last sync and the job waiting.
func (m *Model) stateText(r flows.Status) string {
	if p := r.Live; p != nil {
		if f := p.Fraction(); f >= 0 {
			return fmt.Sprintf("⟳ syncing %.0f%%", f*100)
		}
		return fmt.Sprintf("⟳ syncing %d", p.Users)
	}
	if running(r) {
		return "⟳ syncing"
	}
	switch r.State {
	case string(store.StateNeedsReconnect):
		return theme.Warn + " needs reconnect"
	case "expired":
		return theme.Fail + " expired"
	case string(store.StateError):
		return theme.Fail + " error"
	}
	if run := r.LastRun; run != nil {
		switch run.Status {
		case store.RunSucceeded:
			return fmt.Sprintf("%s %d users, %s", theme.OK, run.Users, humanize.Ago(*run.FinishedAt, m.now()))
		case store.RunFailed:
			if j := r.Job; j != nil && j.State == store.JobRetrying {
				return fmt.Sprintf("%s failed · retry %s", theme.Fail, humanize.At(j.At, m.now()))
			}
			return theme.Fail + " sync failed"
		case store.RunStopped, store.RunRunning: // a stopped or interrupted run resumes
			if j := r.Job; j != nil && j.State == store.JobQueued {
				return fmt.Sprintf("‖ at %d, queued", run.Users)
			}
			return fmt.Sprintf("‖ stopped at %d", run.Users)
		}
	}
	if j := r.Job; j != nil && j.State == store.JobQueued {
		return "… queued"
	}
	return theme.OK + " connected"
}

// layout picks the columns that fit: narrow terminals drop vendor, auth,
// then host.
func (m *Model) layout(width int) ([]column, []int) {
	drop := [][]string{nil, {"VENDOR"}, {"VENDOR", "AUTH"}, {"VENDOR", "AUTH", "HOST"}, {"VENDOR", "AUTH", "HOST", "EXPIRES"}}
	for _, d := range drop {
		var cols []column
		var widths []int
		total := 0
		for _, c := range columns {
			if contains(d, c.title) {
				continue
			}
			w := max(len(c.title), c.reserve)
			for _, r := range m.rows {
				w = max(w, common.Width(c.value(m, r)))
			}
			cols = append(cols, c)
			widths = append(widths, w)
			total += w + 2
		}
		if total <= width || len(d) == 4 {
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
	b.WriteString(m.th.Muted.Render("  "+humanize.Count(len(m.rows), "connection")) + "\n\n")
	if m.loadErr != nil {
		b.WriteString(m.th.Error.Render(common.Wrap(theme.Fail+" The store could not be read: "+m.loadErr.Error(), width)))
		return b.String()
	}
	if len(m.rows) == 0 {
		b.WriteString(m.th.Muted.Render("No connections yet. Press a to add one."))
		return b.String()
	}
	cols, widths := m.layout(width - 2)
	var head []string
	for i, c := range cols {
		head = append(head, pad(c.title, widths[i]))
	}
	b.WriteString("  " + m.th.Muted.Render(strings.Join(head, "  ")) + "\n")
	if m.offset > 0 {
		b.WriteString("  " + m.th.Muted.Render(fmt.Sprintf("▲ %d more above", m.offset)) + "\n")
	}
	end := min(m.offset+m.tableRows(), len(m.rows))
	for i := m.offset; i < end; i++ {
		r := m.rows[i]
		var cells []string
		for j, c := range cols {
			cells = append(cells, pad(c.value(m, r), widths[j]))
		}
		line := strings.Join(cells, "  ")
		switch {
		case i == m.cursor:
			b.WriteString(m.th.Focused.Render(theme.Pointer+" ") + m.th.Focused.Render(line))
		case r.Attention != "":
			b.WriteString("  " + m.th.Warning.Render(line))
		default:
			b.WriteString("  " + line)
		}
		b.WriteString("\n")
	}
	if below := len(m.rows) - end; below > 0 {
		b.WriteString("  " + m.th.Muted.Render(fmt.Sprintf("▼ %d more below", below)) + "\n")
	}
	if sel := m.selected(); sel != nil {
		b.WriteString("\n" + m.detailView(*sel, width))
	}
	return strings.TrimRight(b.String(), "\n")
}

func (m *Model) selected() *flows.Status {
	if m.cursor < len(m.rows) {
		return &m.rows[m.cursor]
	}
	return nil
}

// detailView is the selected connection: its sync, account, scopes, expiry,
// seats and last runs, and the removal question when asked.
func (m *Model) detailView(r flows.Status, width int) string {
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	if m.confirm == r.ID {
		add(m.th.Warning.Render(common.Wrap(fmt.Sprintf("%s Remove %s (%s)? Its stored credentials and inventory are deleted. [y/n]", theme.Warn, r.Alias, r.Host), width)))
	}
	if p := r.Live; p != nil {
		add(m.th.Label.Render("Sync ") + m.progressBar(*p, max(width-50, 10)))
	}
	if r.Attention != "" {
		add(m.th.Warning.Render(common.Truncate(theme.Warn+" "+r.Attention, width)))
	}
	// Wrapped, not cut: the expiry is at the end of the line ("in …").
	add(m.th.Muted.Render(common.Wrap("Sync: "+r.Sync+" · "+r.Schedule, width)))
	add(m.th.Muted.Render(common.Wrap(fmt.Sprintf("%s · %s · %s · %s · expires %s", r.Vendor, r.AuthMethod, r.Host, r.Account, r.Expires), width)))
	if r.Renews != "" {
		add(m.th.Muted.Render(common.Wrap("Renews "+r.Renews, width)))
	}
	add(m.th.Muted.Render(common.Wrap("Added by "+r.CreatedBy, width)))
	d := m.details[r.ID]
	if len(d.Scopes) > 0 {
		add(m.th.Muted.Render("Scopes: " + strings.Join(d.Scopes, ", ")))
	}
	for _, s := range d.Seats {
		used, of := "?", "unlimited"
		if s.Used != nil {
			used = fmt.Sprint(*s.Used)
		}
		if s.Seats != nil {
			of = fmt.Sprint(*s.Seats)
		}
		add(m.th.Muted.Render(common.Truncate(fmt.Sprintf("Seats (%s, %s): %s used of %s", s.Scope, s.Plan, used, of), width)))
	}
	shown := 0
	for _, run := range d.Runs {
		if r.Live != nil && run.Status == store.RunRunning {
			continue // the bar above is the running one
		}
		if shown++; shown > 3 {
			break
		}
		add(m.th.Muted.Render(common.Truncate("Sync "+runLine(run, m.now()), width)))
	}
	if r.LastRun != nil && r.LastRun.Note != "" {
		add(m.th.Muted.Render(common.Wrap("Note: "+r.LastRun.Note, width)))
	}
	if n := r.Notified; n != nil {
		add(m.th.Muted.Render(common.Truncate("Notified "+humanize.At(n.At, m.now())+": "+n.Kind, width)))
	}
	return strings.Join(lines, "\n")
}

func runLine(r store.SyncRun, now time.Time) string {
	switch r.Status {
	case store.RunSucceeded:
		return fmt.Sprintf("%s: %d users, %s, %s", humanize.Ago(*r.FinishedAt, now), r.Users, humanize.Count(r.Pages, "page"), humanize.Count(r.Retries, "retry"))
	case store.RunFailed:
		return fmt.Sprintf("failed %s: %s", humanize.Ago(*r.FinishedAt, now), r.Error)
	case store.RunStopped:
		return fmt.Sprintf("stopped at %d users (resumes from its checkpoint)", r.Users)
	}
	return fmt.Sprintf("running since %s: %d users", humanize.Ago(r.StartedAt, now), r.Users)
}

// progressBar draws a determinate bar when the total is known, else an
// indeterminate one (GitLab omits totals above 10,000).
func (m *Model) progressBar(p flows.Progress, width int) string {
	counts := fmt.Sprintf(" %s · %s · %.0f/s", humanize.Count(p.Users, "user"), humanize.Count(p.Pages, "page"), p.Rate)
	if f := p.Fraction(); f >= 0 {
		filled := int(f * float64(width))
		eta := ""
		if p.ETA > 0 {
			eta = " · ETA " + p.ETA.Round(time.Second).String()
		}
		return m.th.Focused.Render(strings.Repeat("█", filled)) + m.th.Muted.Render(strings.Repeat("░", width-filled)) +
			fmt.Sprintf(" %3.0f%%", f*100) + counts + eta
	}
	pos := p.Pages % width
	bar := []rune(strings.Repeat("░", width))
	for i := pos; i < min(pos+5, width); i++ {
		bar[i] = '█'
	}
	return m.th.Focused.Render(string(bar)) + counts
}
