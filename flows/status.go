package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// Status is a connection with its latest sync and whether it needs
// attention: what the Integrations page and `onramp status` show.
type Status struct {
	Integration
	// Connection is the stored connection the row describes (secrets left
	// out, as List gives it), for callers that print it another way.
	Connection *store.Connection `json:"-"`
	LastRun    *store.SyncRun    `json:"last_sync,omitempty"`
	// Attention says why a person should act, or "".
	Attention string `json:"attention,omitempty"`
	// Job is the connection's sync job while one waits or runs.
	Job *store.SyncJob `json:"job,omitempty"`
	// Every is how often it is synced again; 0: never.
	Every time.Duration `json:"sync_every_ns"`
	// Schedule says Every: "every 24h", "off".
	Schedule string `json:"schedule"`
	// Sync says who runs the sync, or when it runs next, and why:
	// "syncing on worker@host:123", "retrying at 14:05 because …".
	Sync string `json:"sync,omitempty"`
	// Live is the running sync's progress, read from the store (whatever
	// process runs it).
	Live *Progress `json:"progress,omitempty"`
	// Notified is the last event about the connection that reached its
	// targets (webhooks, commands).
	Notified *store.NotifiedAt `json:"notified,omitempty"`
}

// Statuses lists every connection with its latest sync and its sync job.
// self is this process's worker id, so a sync it runs says "this process".
func Statuses(ctx context.Context, st SyncStore, cat Catalog, now time.Time, self string) ([]Status, error) {
	conns, err := st.List(ctx, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	return StatusesOf(ctx, st, cat, now, self, conns)
}

// StatusesOf gives these connections (the rows a page shows, the one
// `status ALIAS` asks for) their latest sync and sync job, read by key.
func StatusesOf(ctx context.Context, st SyncStore, cat Catalog, now time.Time, self string, conns []store.Connection) ([]Status, error) {
	ids := make([]string, len(conns))
	for i := range conns {
		ids[i] = conns[i].ID
	}
	runs, err := st.LatestRunsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	jobs, err := st.SyncJobsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	procs, err := st.Processes(ctx)
	if err != nil {
		return nil, err
	}
	notified, err := st.LastNotified(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(conns))
	for i := range conns {
		c := &conns[i]
		s := Status{Integration: IntegrationOf(c, cat, now), Connection: c, Every: c.SyncEvery, Schedule: ScheduleText(c.SyncEvery)}
		if run, ok := runs[c.ID]; ok {
			run.Error = textsafe.Truncate(run.Error, 300)
			run.Note = textsafe.Truncate(run.Note, 400)
			s.LastRun = &run
		}
		if j, ok := jobs[c.ID]; ok {
			j.Worker, j.LastError = textsafe.Truncate(j.Worker, 80), textsafe.Truncate(j.LastError, 300)
			j.TakenFrom = textsafe.Truncate(j.TakenFrom, 80)
			s.Job = &j
			if j.State == store.JobRunning && !j.HolderGone && s.LastRun != nil && s.LastRun.Status == store.RunRunning {
				s.Live = liveProgress(s.LastRun, now)
			}
		}
		if s.LastRun != nil && s.LastRun.Status == store.RunRunning && s.Live == nil {
			// No live process runs it: it stopped where its holder died, and
			// resumes from that checkpoint.
			s.LastRun.Status = store.RunStopped
		}
		s.Sync = syncText(s.Job, c.SyncEvery, self, now)
		s.Attention = attention(s, now, len(procs) > 0)
		if n, ok := notified[c.ID]; ok {
			s.Notified = &n
		}
		out = append(out, s)
	}
	return out, nil
}

// liveProgress is a running sync's progress as the store has it.
func liveProgress(r *store.SyncRun, now time.Time) *Progress {
	p := &Progress{ConnectionID: r.ConnectionID, RunID: r.ID, Status: r.Status, Users: r.Users, Pages: r.Pages,
		Retries: r.Retries, Total: r.Total, View: r.View}
	if secs := now.Sub(r.StartedAt).Seconds(); secs > 0 {
		p.Rate = float64(r.Users) / secs
	}
	if p.Total != nil && p.Rate > 0 && *p.Total > p.Users {
		p.ETA = time.Duration(float64(*p.Total-p.Users) / p.Rate * float64(time.Second))
	}
	return p
}

// ScheduleText says a sync period: "every 24h", "every 6h", "off".
func ScheduleText(every time.Duration) string {
	if every <= 0 {
		return "off"
	}
	d := every.String() // "24h0m0s", "1h30m0s", "45s"
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return "every " + d
}

// syncText says who runs a connection's sync, or when it runs next, and why.
func syncText(j *store.SyncJob, every time.Duration, self string, now time.Time) string {
	at := func(t time.Time) string { return humanize.At(t, now) }
	if j == nil {
		if every <= 0 {
			return "no periodic sync (schedule off)"
		}
		return "no sync scheduled"
	}
	if j.Damaged != "" {
		return "its sync job is damaged: " + j.Damaged
	}
	switch j.State {
	case store.JobRunning:
		switch {
		case j.HolderGone:
			return j.Worker + " is gone: a live worker takes its sync over within seconds, from its checkpoint"
		case j.Worker == self && self != "":
			return "syncing in this process"
		}
		return "syncing on " + j.Worker
	case store.JobQueued:
		return "queued for a worker"
	case store.JobRetrying:
		return fmt.Sprintf("retrying at %s (attempt %d of %d) because %s", at(j.At), j.Attempt+1, j.MaxAttempts, j.LastError)
	case store.JobSnoozed:
		return fmt.Sprintf("snoozed until %s for a rate limit", at(j.At))
	}
	return "next sync at " + at(j.At)
}

func attention(s Status, now time.Time, liveWorkers bool) string {
	switch s.State {
	case string(store.StateNeedsReconnect):
		return "needs reconnect: " + s.Reason
	case "expired":
		return "the token expired: connect again with a new token"
	case string(store.StateError):
		return "error: " + s.Reason
	}
	if s.ExpiresAt != nil {
		if days := connector.DaysLeft(*s.ExpiresAt, now); days <= connector.ExpirySoonDays {
			return fmt.Sprintf("the token expires %s: create a new one before then", humanize.Days(days))
		}
	}
	if s.LastRun != nil && s.LastRun.Status == store.RunFailed {
		return "the last sync failed: " + s.LastRun.Error
	}
	return syncsStopped(s, liveWorkers)
}

// syncsStopped says why a connection's syncs no longer go on by themselves,
// or "".
func syncsStopped(s Status, liveWorkers bool) string {
	alias := textsafe.Line(s.Alias)
	interrupted := s.LastRun != nil && s.LastRun.Status == store.RunStopped
	switch {
	case s.Job != nil && s.Job.Damaged != "":
		return "its sync job is damaged (" + s.Job.Damaged + "): onramp sync " + alias + " gives it a new one"
	case s.Job != nil && s.Job.HolderGone && !liveWorkers:
		return s.Job.Worker + " died running its sync and no worker runs to take it over: run onramp sync " + alias + " (or onramp worker)"
	case s.Job == nil && s.Every > 0:
		return "no sync is scheduled (its job was lost): any worker gives it back within a minute, or run onramp sync " + alias
	case s.Job == nil && interrupted:
		return fmt.Sprintf("its sync stopped at %d users and nothing resumes it (schedule off): onramp sync %s", s.LastRun.Users, alias)
	}
	return ""
}
