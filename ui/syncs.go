package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/integrations"
)

// RefreshMsg reloads the Integrations page from the store (its own tick
// sends it; tests send it to skip the wait).
type RefreshMsg struct{}

// Syncs are jobs of the store's queue: whichever process runs one (a worker,
// `onramp serve`, this wizard), its progress is in the store, and this page
// reads it from there.

type (
	detailsMsg struct {
		id string
		d  integrations.Details
	}
	stoppedAllMsg struct{}
	workerMsg     struct {
		w   store.Worker
		err error
	}
	removedMsg struct {
		id, alias string
		err       error
	}
	syncAskedMsg struct{ err error }
)

// startWorker runs due syncs in this process while the wizard is open
// (Deps.Worker), off the UI goroutine, once the store has a sync job at all
// (a first run with no connection keeps its memory for the wizard).
func (m *Model) startWorker(rows []flows.Status) tea.Cmd {
	ss, ok := m.st.(flows.SyncStore)
	if !m.deps.Worker || !ok || m.worker != nil || m.workerStarting || !anyJob(rows) {
		return nil
	}
	m.workerStarting = true
	syncer := &flows.Syncer{Store: ss, Catalog: m.deps.Catalog, Now: m.deps.Flow.Now, NewHTTP: m.deps.Flow.NewHTTP}
	id := m.deps.WorkerID
	return func() tea.Msg {
		w, err := syncer.RunWorker(context.Background(), store.WorkerConfig{ID: id, Concurrency: 2})
		return workerMsg{w, err}
	}
}

// syncNow asks for a sync of id now, or stops the one running: whichever
// process runs it stops at its next checkpoint.
func (m *Model) syncNow(id string, running bool) tea.Cmd {
	ss, ok := m.st.(flows.SyncStore)
	if !ok {
		return nil
	}
	return func() tea.Msg {
		ctx := context.Background()
		if running {
			return syncAskedMsg{ss.StopSync(ctx, id)}
		}
		_, err := ss.EnqueueSync(ctx, id)
		return syncAskedMsg{err}
	}
}

// rotateNow asks for the token to rotate now, in its sync job: the page
// then shows the sync, and "Renews itself on …" with the new date.
func (m *Model) rotateNow(id string) tea.Cmd {
	rs, ok := m.st.(flows.RotationStore)
	if !ok {
		return nil
	}
	return func() tea.Msg {
		return syncAskedMsg{flows.RequestRotation(context.Background(), rs, id, time.Now(), nil)}
	}
}

// noteRunningHere remembers whether this process's worker runs a sync, so
// quitting asks first (over SSH the server's worker runs them: nothing to ask).
func (m *Model) noteRunningHere(rows []flows.Status) {
	m.runningHere = false
	for _, r := range rows {
		if r.Job != nil && r.Job.State == store.JobRunning && r.Job.Worker == m.deps.WorkerID && m.worker != nil {
			m.runningHere = true
		}
	}
}

func anyJob(rows []flows.Status) bool {
	for _, r := range rows {
		if r.Job != nil {
			return true
		}
	}
	return false
}

func anyRunning(rows []flows.Status) bool {
	for _, r := range rows {
		if r.Job != nil && r.Job.State == store.JobRunning {
			return true
		}
	}
	return false
}

// stopWorker stops this process's worker: its syncs stop at a checkpoint and
// go back to the queue, for a worker or the next wizard to resume.
func (m *Model) stopWorker() tea.Cmd {
	w := m.worker
	return func() tea.Msg {
		if w != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w.Stop(ctx)
		}
		return stoppedAllMsg{}
	}
}

// StopWorker stops this process's worker if it still runs (the program
// ended without quitting: a signal, a dropped terminal), so no sync is left
// "running" by a process that is gone.
func (m *Model) StopWorker() {
	if m.worker != nil {
		m.stopWorker()()
		m.worker = nil
	}
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

// refreshTick reloads the page while it shows, from the store, so syncs run
// by any process advance on screen: four times a second while one runs,
// else every second.
func refreshTick(running bool) tea.Cmd {
	every := time.Second
	if running {
		every = 250 * time.Millisecond
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return RefreshMsg{} })
}
