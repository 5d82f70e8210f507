package store

import (
	"context"
	"database/sql"
	"time"
)

// Census is the store as a monitoring scrape sees it: counts and the few
// per-connection facts an operator alerts on, read in three statements
// whatever the number of connections (metrics scrape it every few seconds).
type Census struct {
	// Connections counts connections by vendor and state.
	Connections map[[2]string]int
	// Credentials are the connections whose credential expires, and those
	// that need reconnecting.
	Credentials []CredentialFact
	// Jobs counts sync jobs by state (JobQueued, JobRunning, JobRetrying,
	// JobScheduled; snoozed jobs count as scheduled).
	Jobs map[string]int
	// OldestDue is how long the longest-waiting due sync has waited (0
	// when none is due).
	OldestDue time.Duration
	// Workers is the number of live processes that run syncs.
	Workers int
}

// CredentialFact is one connection's credential, for per-connection alerts.
type CredentialFact struct {
	Vendor, Alias  string
	ExpiresAt      *time.Time
	NeedsReconnect bool
}

// riverStates maps River's job states onto onramp's.
var riverStates = map[string]string{"available": JobQueued, "running": JobRunning, "retryable": JobRetrying, "scheduled": JobScheduled}

// Census implements Jobs.
func (s *sqlStore) Census(ctx context.Context) (*Census, error) {
	c := &Census{Connections: map[[2]string]int{}, Jobs: map[string]int{}}
	rows, err := s.query(ctx, s.db, `SELECT vendor, alias, state, expires_at FROM connections`)
	if err != nil {
		return nil, s.wrap("count connections", err)
	}
	for rows.Next() {
		var vendor, alias, state string
		var expires sql.NullString
		if err := rows.Scan(&vendor, &alias, &state, &expires); err != nil {
			rows.Close()
			return nil, s.wrap("count connections", err)
		}
		c.Connections[[2]string{vendor, state}]++
		fact := CredentialFact{Vendor: vendor, Alias: alias, ExpiresAt: parseNullTime(expires), NeedsReconnect: state == string(StateNeedsReconnect)}
		if fact.ExpiresAt != nil || fact.NeedsReconnect {
			c.Credentials = append(c.Credentials, fact)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("count connections", err)
	}

	scheduled := s.d.msOf("scheduled_at")
	rows, err = s.query(ctx, s.db, `SELECT state, count(*), min(CASE WHEN state <> 'running' AND `+scheduled+` <= `+s.d.nowMs+
		` THEN `+s.d.nowMs+` - `+scheduled+` END) FROM river_job WHERE kind = 'sync' AND state IN ('available', 'running', 'retryable', 'scheduled') GROUP BY state`)
	if err != nil {
		return nil, s.wrap("count sync jobs", err)
	}
	for rows.Next() {
		var state string
		var n int
		var waited sql.NullInt64
		if err := rows.Scan(&state, &n, &waited); err != nil {
			rows.Close()
			return nil, s.wrap("count sync jobs", err)
		}
		c.Jobs[riverStates[state]] += n
		if w := time.Duration(waited.Int64) * time.Millisecond; waited.Valid && w > c.OldestDue {
			c.OldestDue = w
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("count sync jobs", err)
	}
	procs, err := s.Processes(ctx)
	if err != nil {
		return nil, err
	}
	c.Workers = len(procs)
	return c, nil
}
