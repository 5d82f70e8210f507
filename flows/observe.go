package flows

import (
	"context"
	"errors"
	"time"

	"github.com/onramp-dev/onramp/store"
)

// SyncObserver is told what the syncs this process runs do, for metrics.
// Labels are of small cardinality: the vendor's id, an outcome, a reason.
type SyncObserver interface {
	SyncStarted(vendor string)
	// SyncEnded: outcome is one of the Outcome* constants; took is this
	// slice of the sync (a long sync runs in several).
	SyncEnded(vendor, outcome string, took time.Duration)
	// Fetched counts users and pages a sync saved, as they are saved.
	Fetched(vendor string, users, pages int)
	// Requeued: the job goes back to the queue, as a retry (counted
	// attempt) or a snooze (not counted), for reason.
	Requeued(vendor, kind, reason string)
}

// Outcomes of one run of a sync job.
const (
	OutcomeSucceeded      = "succeeded"
	OutcomeFailed         = "failed"          // no retry left, or not retried
	OutcomeNeedsReconnect = "needs_reconnect" // only a person can fix it
	OutcomeRetrying       = "retrying"        // an attempt failed; tried again
	OutcomeSnoozed        = "snoozed"         // put aside (a rate limit, a slice's end)
	OutcomeStopped        = "stopped"         // asked to stop, or the process stops
	OutcomeFenced         = "fenced"          // taken over while this process was away
)

// Requeue kinds and reasons.
const (
	RequeueRetry  = "retry"
	RequeueSnooze = "snooze"
)

// outcomeOf names a job's outcome, and for a requeue its kind and reason.
func outcomeOf(out error, job store.SyncJob) (outcome, kind, reason string) {
	var snooze *store.SnoozeError
	var giveUp *store.GiveUpError
	var final *store.FinalError
	switch {
	case out == nil:
		return OutcomeSucceeded, "", ""
	case errors.Is(out, store.ErrFenced):
		return OutcomeFenced, "", ""
	case errors.Is(out, store.ErrSyncStopped), errors.Is(out, context.Canceled):
		return OutcomeStopped, "", ""
	case errors.As(out, &snooze):
		reason = "rate_limit"
		if snooze.Reason == sliceReason {
			reason = "slice"
		}
		return OutcomeSnoozed, RequeueSnooze, reason
	case errors.As(out, &giveUp):
		return OutcomeNeedsReconnect, "", ""
	case errors.As(out, &final):
		return OutcomeFailed, "", ""
	case job.MaxAttempts > 0 && job.Attempt >= job.MaxAttempts:
		return OutcomeFailed, "", ""
	}
	return OutcomeRetrying, RequeueRetry, "error"
}
