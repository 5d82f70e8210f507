package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The guard a sync asks before each request: fresh, waiting for a late
// renewal, lapsed, and lost (a new lease since the job began).
func TestLeaseHeld(t *testing.T) {
	k := &keeper{ttl: time.Second}
	renewed := func(ago time.Duration) { k.renewed.Store(time.Now().Add(-ago).UnixNano()) }
	ctx := withLeaseGuard(context.Background(), k)

	if err := LeaseHeld(context.Background()); err != nil {
		t.Fatalf("no job: %v", err)
	}
	renewed(100 * time.Millisecond)
	if err := LeaseHeld(ctx); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	renewed(1500 * time.Millisecond)
	if err := LeaseHeld(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("lapsed: %v", err)
	}
	// Late (past 3/5 of the lease, not lapsed): it waits for the renewal.
	renewed(700 * time.Millisecond)
	go func() { time.Sleep(50 * time.Millisecond); renewed(0) }()
	start := time.Now()
	if err := LeaseHeld(ctx); err != nil || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("late: %v after %s", err, time.Since(start))
	}
	// Renewed under a new lease (the old one lapsed while frozen): the
	// job began under the old one.
	k.epoch.Add(1)
	renewed(0)
	if err := LeaseHeld(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("lost: %v", err)
	}
	if err := LeaseHeld(withLeaseGuard(context.Background(), k)); err != nil {
		t.Fatalf("a job begun under the new lease: %v", err)
	}
}
