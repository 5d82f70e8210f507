package ui

import (
	"context"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/integrations"
)

type (
	detailsMsg struct {
		id string
		d  integrations.Details
	}
	refreshTickMsg  struct{}
	progressTickMsg struct{}
	stoppedAllMsg   struct{}
	removedMsg      struct {
		id  string
		err error
	}
	retrySyncMsg struct {
		id string
		at time.Time
	}
)

// retryPlan schedules the next attempt of a failed sync: 1 minute, doubling
// up to 30 minutes, while the wizard runs.
type retryPlan struct {
	failures int
	at       time.Time
}

// progressEvery is how often a running sync's progress is drawn.
const progressEvery = 150 * time.Millisecond

// startSync asks the manager to sync id in the background (it goes on when
// this page, or this SSH session, goes away).
func (m *Model) startSync(id string) tea.Cmd {
	if m.syncs == nil || !m.syncs.Start(id) {
		return nil
	}
	m.watching[id] = true
	return m.progressTick()
}

func (m *Model) progressTick() tea.Cmd {
	if m.progressing {
		return nil
	}
	m.progressing = true
	return tea.Tick(progressEvery, func(time.Time) tea.Msg { return progressTickMsg{} })
}

// onProgressTick draws running syncs' progress and notices ended ones.
func (m *Model) onProgressTick() tea.Cmd {
	m.progressing = false
	page, _ := m.pages[PageIntegrations].(*integrations.Model)
	var cmds []tea.Cmd
	for id := range m.watching {
		if p, ok := m.syncs.Progress(id); ok {
			if page != nil {
				page.SetLive(id, &p)
			}
			continue
		}
		delete(m.watching, id)
		if page != nil {
			page.SetLive(id, nil)
		}
		last, _ := m.syncs.Ended(id)
		cmds = append(cmds, m.loadIntegrations(), m.loadDetails(id), m.planRetry(id, last))
	}
	// Syncs started by other sessions of this server show here too.
	for _, id := range m.syncs.Running() {
		if !m.watching[id] {
			m.watching[id] = true
		}
	}
	if len(m.watching) > 0 {
		cmds = append(cmds, m.progressTick())
	}
	return tea.Batch(cmds...)
}

// running reports whether any sync this wizard owns runs (over SSH the
// server owns them: they go on when the session ends).
func (m *Model) running() bool {
	return m.syncs != nil && !m.deps.SharedSyncs && len(m.syncs.Running()) > 0
}

// stopSyncs stops every sync at its checkpoint before quitting.
func (m *Model) stopSyncs() tea.Cmd {
	syncs := m.syncs
	return func() tea.Msg {
		syncs.StopAll(5 * time.Second)
		return stoppedAllMsg{}
	}
}

// resumeSyncs restarts syncs left stopped or killed, as the page opens.
func (m *Model) resumeSyncs(rows []flows.Status) tea.Cmd {
	var cmds []tea.Cmd
	for _, r := range rows {
		if r.LastRun != nil && (r.LastRun.Status == store.RunStopped || r.LastRun.Status == store.RunRunning) && r.State == string(store.StateConnected) {
			cmds = append(cmds, m.startSync(r.ID))
		}
	}
	return tea.Batch(cmds...)
}

// loadDetails reads what the detail panel shows for one connection.
func (m *Model) loadDetails(id string) tea.Cmd {
	st, ok := m.st.(flows.SyncStore)
	if !ok || id == "" {
		return nil
	}
	return func() tea.Msg {
		ctx := context.Background()
		var d integrations.Details
		if c, err := st.Get(ctx, id); err == nil {
			for _, sc := range c.Scopes {
				d.Scopes = append(d.Scopes, textsafe.Truncate(sc, 40))
			}
		}
		d.Runs, _ = st.Runs(ctx, id, 5)
		for i := range d.Runs { // server words, drawn on screen
			d.Runs[i].Error = textsafe.Truncate(d.Runs[i].Error, 300)
			d.Runs[i].Note = textsafe.Truncate(d.Runs[i].Note, 400)
		}
		for _, r := range d.Runs {
			if r.Status == store.RunSucceeded {
				d.Seats, _ = st.Seats(ctx, r.ID)
				break
			}
		}
		return detailsMsg{id, d}
	}
}

// refreshTick reloads the page every second while it shows, so syncs run by
// other processes (the CLI, other operators) advance on screen too.
func refreshTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return refreshTickMsg{} })
}

// planRetry schedules another attempt after a failed sync (not after one
// that needs a person: a dead grant or a revoked token).
func (m *Model) planRetry(id string, last flows.Progress) tea.Cmd {
	if last.Status != store.RunFailed || strings.Contains(last.Error, "reconnect") || strings.Contains(last.Error, "revoked") ||
		strings.Contains(last.Error, "expired") || strings.Contains(last.Error, "does not recognise") {
		delete(m.retries, id)
		return nil
	}
	plan := m.retries[id]
	if plan == nil {
		plan = &retryPlan{}
		m.retries[id] = plan
	}
	wait := min(time.Minute<<plan.failures, 30*time.Minute)
	plan.failures++
	plan.at = time.Now().Add(wait)
	if page, ok := m.pages[PageIntegrations].(*integrations.Model); ok {
		page.SetRetry(id, plan.at)
	}
	at := plan.at
	return tea.Tick(wait, func(time.Time) tea.Msg { return retrySyncMsg{id: id, at: at} })
}
