package store

import (
	"context"
	"time"
)

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunStopped   = "stopped" // interrupted; resumes from its checkpoint
)

// SyncRun is one sync of a connection's inventory: a snapshot in the making
// (running, stopped) or made (succeeded), or a failure.
type SyncRun struct {
	ID           int64      `json:"id"`
	ConnectionID string     `json:"connection_id"`
	Status       string     `json:"status"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	// Checkpoint is the source's resume point: where the next page starts.
	Checkpoint string `json:"-"`
	Users      int    `json:"users"`
	Pages      int    `json:"pages"`
	Retries    int    `json:"retries"`
	Total      *int   `json:"total,omitempty"` // when the server says
	View       string `json:"view,omitempty"`  // admin | basic | saas
	Note       string `json:"note,omitempty"`  // what is missing and why
	Error      string `json:"error,omitempty"`
	// Gen is the run's generation: BeginRun gives a new one to each holder
	// (and a takeover fences the old one), and every write carries it, so a
	// holder that lost the run (frozen, partitioned) writes nothing more.
	Gen int64 `json:"-"`
}

// PageUpdate is what a sync records with each page, in one transaction.
type PageUpdate struct {
	Users      []InventoryUser
	Checkpoint string // where the next page starts
	Retries    int    // retries so far
	Total      *int
	View, Note string
	Gen        int64 // the holder's generation (SyncRun.Gen)
	// From is the checkpoint the page began at (the run's, when read):
	// a page is applied only there, so sending it again is harmless.
	From string
}

// Inventory keeps sync runs and their snapshots beside the connections.
type Inventory interface {
	// BeginRun returns the connection's unfinished run to resume (resumed
	// true), or starts a new one.
	BeginRun(ctx context.Context, connectionID string) (*SyncRun, bool, error)
	// SavePage stores a page of users and the run's checkpoint atomically:
	// a run resumed after a crash neither loses nor duplicates a user. A
	// write whose generation is not the run's fails with ErrFenced.
	SavePage(ctx context.Context, runID int64, p PageUpdate) (*SyncRun, error)
	SaveSeats(ctx context.Context, runID, gen int64, seats []Seats) error
	// FinishRun ends a run; a succeeded run becomes the latest snapshot and
	// snapshots older than the last few are pruned.
	FinishRun(ctx context.Context, runID, gen int64, status, errText string) (*SyncRun, error)
	// FailRun ends a run as failed for good: its checkpoint is dropped, so
	// the next sync starts over (status is RunFailed; the signature is
	// FinishRun's).
	FailRun(ctx context.Context, runID, gen int64, status, errText string) (*SyncRun, error)
	// Runs lists a connection's runs, newest first.
	Runs(ctx context.Context, connectionID string, limit int) ([]SyncRun, error)
	// LatestRunsOf returns the newest run of each of these connections
	// (those a page shows), by connection.
	LatestRunsOf(ctx context.Context, connectionIDs []string) (map[string]SyncRun, error)
	// Users streams a run's users in id order.
	Users(ctx context.Context, runID int64, fn func(InventoryUser) error) error
	Seats(ctx context.Context, runID int64) ([]Seats, error)
}

// keepSnapshots is how many succeeded snapshots a connection keeps.
const keepSnapshots = 3
