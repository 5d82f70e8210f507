package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/integrations"
)

// syncJob is a sync running in this process, in the background: it goes
// on while the person moves around the wizard.
type syncJob struct {
	last   flows.Progress
	cancel context.CancelFunc
	events chan flows.Progress
	done   chan struct{}
}

type (
	syncEventMsg struct {
		id string
		p  flows.Progress
		ok bool // false: the sync ended
	}
	syncEndedMsg struct {
		id  string
		err error
	}
	detailsMsg struct {
		id string
		d  integrations.Details
	}
	refreshTickMsg struct{}
	stoppedAllMsg  struct{}
	removedMsg     struct {
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

// startSync runs a sync of id in the background, unless one runs here
// already. A sync held by another process is left to it.
func (m *Model) startSync(id string) tea.Cmd {
	if m.syncer == nil || m.syncs[id] != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	job := &syncJob{cancel: cancel, events: make(chan flows.Progress, 64), done: make(chan struct{})}
	m.syncs[id] = job
	syncer := m.syncer
	go func() {
		defer close(job.done)
		defer close(job.events)
		_, err := syncer.Sync(ctx, id, func(p flows.Progress) {
			select {
			case job.events <- p:
			case <-ctx.Done():
			}
		})
		if err != nil && !errors.Is(err, context.Canceled) && !flows.IsSyncRunning(err) {
			job.events <- flows.Progress{ConnectionID: id, Status: store.RunFailed, Error: err.Error()}
		}
	}()
	return listen(id, job.events)
}

func listen(id string, ch chan flows.Progress) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-ch
		return syncEventMsg{id: id, p: p, ok: ok}
	}
}

// running reports whether any sync runs in this process.
func (m *Model) running() bool { return len(m.syncs) > 0 }

// stopSyncs cancels every sync and waits (bounded) for each to record its
// checkpoint, so they resume where they stopped.
func (m *Model) stopSyncs() tea.Cmd {
	var done []chan struct{}
	for _, j := range m.syncs {
		j.cancel()
		done = append(done, j.done)
	}
	return func() tea.Msg {
		deadline := time.After(5 * time.Second)
		for _, d := range done {
			select {
			case <-d:
			case <-deadline:
				return stoppedAllMsg{}
			}
		}
		return stoppedAllMsg{}
	}
}

// onSyncEvent feeds a sync's progress to the page.
func (m *Model) onSyncEvent(msg syncEventMsg) tea.Cmd {
	job := m.syncs[msg.id]
	if job == nil {
		return nil
	}
	page, _ := m.pages[PageIntegrations].(*integrations.Model)
	if !msg.ok {
		delete(m.syncs, msg.id)
		if page != nil {
			page.SetLive(msg.id, nil)
		}
		return tea.Batch(m.loadIntegrations(), m.loadDetails(msg.id), m.planRetry(msg.id, job.last))
	}
	job.last = msg.p
	if page != nil {
		p := msg.p
		page.SetLive(msg.id, &p)
	}
	return listen(msg.id, job.events)
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
			d.Scopes = c.Scopes
		}
		d.Runs, _ = st.Runs(ctx, id, 5)
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
