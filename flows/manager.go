package flows

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/onramp-dev/onramp/store"
)

// SyncManager runs syncs in the background for one process: the wizard's,
// or `onramp serve`'s for every session, so a sync goes on when the session
// that started it ends. Viewers poll Progress.
type SyncManager struct {
	Syncer *Syncer
	mu     sync.Mutex
	jobs   map[string]*syncJob
	ended  map[string]Progress // last events of syncs that ended, until taken
}

type syncJob struct {
	cancel context.CancelFunc
	done   chan struct{}
	last   Progress
}

// NewSyncManager manages syncs run by s.
func NewSyncManager(s *Syncer) *SyncManager {
	return &SyncManager{Syncer: s, jobs: map[string]*syncJob{}, ended: map[string]Progress{}}
}

// Start begins a sync of id unless one runs in this process already; a sync
// held by another process is left to it (false).
func (m *SyncManager) Start(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobs[id] != nil {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	job := &syncJob{cancel: cancel, done: make(chan struct{}), last: Progress{ConnectionID: id, Status: store.RunRunning}}
	m.jobs[id] = job
	delete(m.ended, id)
	go func() {
		defer close(job.done)
		_, err := m.Syncer.Sync(ctx, id, func(p Progress) {
			m.mu.Lock()
			job.last = p
			m.mu.Unlock()
		})
		m.mu.Lock()
		defer m.mu.Unlock()
		last := job.last
		switch {
		case IsSyncRunning(err):
			last = Progress{ConnectionID: id, Status: "elsewhere"}
		case err != nil && !errors.Is(err, context.Canceled) && last.Status != store.RunFailed:
			last.Status, last.Error = store.RunFailed, err.Error()
		}
		delete(m.jobs, id)
		m.ended[id] = last
	}()
	return true
}

// Progress is the running sync's latest event.
func (m *SyncManager) Progress(id string) (Progress, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if j := m.jobs[id]; j != nil {
		return j.last, true
	}
	return Progress{}, false
}

// Running lists the connections syncing in this process.
func (m *SyncManager) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.jobs))
	for id := range m.jobs {
		ids = append(ids, id)
	}
	return ids
}

// Ended returns (and forgets) the last event of a sync that ended.
func (m *SyncManager) Ended(id string) (Progress, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.ended[id]
	delete(m.ended, id)
	return p, ok
}

// Stop stops one sync at a checkpoint and waits for it.
func (m *SyncManager) Stop(id string) {
	m.mu.Lock()
	j := m.jobs[id]
	m.mu.Unlock()
	if j != nil {
		j.cancel()
		<-j.done
	}
}

// StopAll stops every sync at a checkpoint, waiting at most timeout.
func (m *SyncManager) StopAll(timeout time.Duration) {
	m.mu.Lock()
	var done []chan struct{}
	for _, j := range m.jobs {
		j.cancel()
		done = append(done, j.done)
	}
	m.mu.Unlock()
	deadline := time.After(timeout)
	for _, d := range done {
		select {
		case <-d:
		case <-deadline:
			return
		}
	}
}
