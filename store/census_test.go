package store

import (
	"context"
	"testing"
	"time"
)

// The census counts connections by vendor and state, names the ones whose
// credential expires or needs reconnecting, and counts due sync jobs and
// how long the oldest has waited.
func TestCensus(t *testing.T) { forEachBackend(t, testCensus) }

func testCensus(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	defer s.Close()
	expiring := sample("prod")
	exp := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	expiring.ExpiresAt = &exp
	broken := sample("old")
	broken.State = StateNeedsReconnect
	for _, c := range []*Connection{expiring, broken} {
		if err := s.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // their first syncs have waited a second
	c, err := s.Census(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Connections[[2]string{"gitlab", string(StateConnected)}] != 1 || c.Connections[[2]string{"gitlab", string(StateNeedsReconnect)}] != 1 {
		t.Fatalf("connections %v", c.Connections)
	}
	if len(c.Credentials) != 2 {
		t.Fatalf("credentials %+v", c.Credentials)
	}
	for _, f := range c.Credentials {
		if f.Alias == "prod" && (f.ExpiresAt == nil || !f.ExpiresAt.Equal(exp)) || f.Alias == "old" && !f.NeedsReconnect {
			t.Fatalf("credential %+v", f)
		}
	}
	if c.Jobs[JobQueued] != 2 || c.OldestDue < time.Second || c.OldestDue > time.Minute || c.Workers != 0 {
		t.Fatalf("jobs %v, oldest due %v, workers %d", c.Jobs, c.OldestDue, c.Workers)
	}
}
