package flows

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// Status is a connection with its latest sync and whether it needs
// attention: what the Integrations page and `onramp status` show.
type Status struct {
	Integration
	LastRun *store.SyncRun `json:"last_sync,omitempty"`
	// Attention says why a person should act, or "".
	Attention string `json:"attention,omitempty"`
}

// expirySoonDays: a token expiring this soon needs attention.
const expirySoonDays = 14

// Statuses lists every connection with its latest sync.
func Statuses(ctx context.Context, st SyncStore, cat Catalog, now time.Time) ([]Status, error) {
	rows, err := Integrations(ctx, st, cat, now)
	if err != nil {
		return nil, err
	}
	runs, err := st.LatestRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(rows))
	for _, r := range rows {
		s := Status{Integration: r}
		if run, ok := runs[r.ID]; ok {
			run.Error = textsafe.Truncate(run.Error, 300)
			run.Note = textsafe.Truncate(run.Note, 400)
			s.LastRun = &run
		}
		s.Attention = attention(s, now)
		out = append(out, s)
	}
	return out, nil
}

func attention(s Status, now time.Time) string {
	switch s.State {
	case string(store.StateNeedsReconnect):
		return "needs reconnect: " + s.Reason
	case "expired":
		return "the token expired: connect again with a new token"
	case string(store.StateError):
		return "error: " + s.Reason
	}
	if s.ExpiresAt != nil {
		if days := int(math.Ceil(s.ExpiresAt.Sub(now).Hours() / 24)); days <= expirySoonDays {
			return fmt.Sprintf("the token expires %s: create a new one before then", humanize.Days(days))
		}
	}
	if s.LastRun != nil && s.LastRun.Status == store.RunFailed {
		return "the last sync failed: " + s.LastRun.Error
	}
	return ""
}
