package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

// Another process holds SQLite's write lock and does not let go (stopped
// with ctrl+z, or frozen): the store still opens and reads, and a write
// says why it cannot go on instead of waiting for ever.
func TestHeldWriteLockLetsReadersInAndWritersKnow(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	s := mustOpen(t, opts)
	c := sample("prod")
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.Close()

	holder, err := sql.Open("sqlite", opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")

	saved := storeLockWait
	storeLockWait = time.Second
	defer func() { storeLockWait = saved }()
	start := time.Now()
	s = mustOpen(t, opts) // reads only: the lock does not stop it
	if got, err := s.Get(ctx, c.ID); err != nil || got.Alias != "prod" {
		t.Fatalf("read under a held lock: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("opening waited %s for the lock", d)
	}
	_, err = s.Update(ctx, c.ID, func(c *Connection) error { c.StateReason = "x"; return nil })
	if !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("write under a held lock: %v", err)
	}
}
