package store

import (
	"context"
	"fmt"
	"time"
)

// A sync job's requests are sent by whoever holds the job; a process that
// was frozen past its lease no longer does, although it does not know it
// until it looks. For most requests that only wastes a page (the store
// fences its writes); for a token that may have been rotated meanwhile it
// would revoke the token's whole family. So a job's context carries a
// guard, and the sync asks it before every request.

type leaseGuardKey struct{}

type leaseGuard struct {
	k     *keeper
	epoch int64
}

func withLeaseGuard(ctx context.Context, k *keeper) context.Context {
	return context.WithValue(ctx, leaseGuardKey{}, &leaseGuard{k: k, epoch: k.epoch.Load()})
}

// leaseFreshFor is how much of the lease must remain, by this process's
// clock, for a request to go out: what is left covers the request's way to
// the server before any other process may take the job over.
const leaseFreshFor = 2.0 / 5

// LeaseHeld returns nil when this process still holds the lease under which
// the context's job began (or the context carries no job), ErrFenced when it
// lost it. When the lease is old but not yet lapsed (a renewal is late) it
// waits for the renewal, up to the lease's end.
func LeaseHeld(ctx context.Context) error {
	g, _ := ctx.Value(leaseGuardKey{}).(*leaseGuard)
	if g == nil {
		return nil
	}
	for {
		if g.k.epoch.Load() != g.epoch {
			return fmt.Errorf("%w (this process's lease lapsed since the sync began)", ErrFenced)
		}
		age := time.Since(time.Unix(0, g.k.renewed.Load()))
		switch {
		case age < time.Duration(float64(g.k.ttl)*(1-leaseFreshFor)):
			return nil
		case age >= g.k.ttl:
			return fmt.Errorf("%w (this process's lease was last renewed %s ago)", ErrFenced, age.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
