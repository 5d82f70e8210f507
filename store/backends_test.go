package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/internal/pgtest"
)

// The conformance suite: every behaviour test runs against both databases.
// PostgreSQL comes from ONRAMP_TEST_PG (.ci/run starts a throwaway cluster
// and sets it); without it the PostgreSQL half is skipped, except in CI,
// where it fails.

func forEachBackend(t *testing.T, test func(t *testing.T, opts Options)) {
	t.Run("sqlite", func(t *testing.T) { test(t, testOpts(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, pgOpts(t)) })
}

// pgOpts is a fresh, empty database on the test cluster, dropped after the
// test, with this machine's key directory in a temp dir.
func pgOpts(t testing.TB) Options {
	t.Helper()
	return Options{Path: pgtest.Database(t), ConfigDir: filepath.Join(t.TempDir(), "config"), Actor: "tester"}
}

func TestPostgresCreatesAndReopens(t *testing.T) {
	ctx := context.Background()
	opts := pgOpts(t)
	s := mustOpen(t, opts)
	c := sample("prod")
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx)
	s.Close()
	s2 := mustOpen(t, opts)
	got, err := s2.Get(ctx, c.ID)
	if err != nil || got.Secret(SecretToken) != c.Secret(SecretToken) {
		t.Fatalf("reopen: %v", err)
	}
	if info.Engine != "postgresql" || info.SchemaVersion != SchemaVersion {
		t.Fatalf("info %+v", info)
	}
}

// The PostgreSQL schema migrates from every earlier version to this one,
// keeping what was stored.
func TestPostgresMigratesFromEachVersion(t *testing.T) {
	ctx := context.Background()
	for v := 1; v < SchemaVersion; v++ {
		opts := pgOpts(t)
		func() { // a store as version v made it
			saved, savedMigrations := SchemaVersion, postgresDialect.migrations
			defer func() { SchemaVersion, postgresDialect.migrations = saved, savedMigrations }()
			SchemaVersion, postgresDialect.migrations = v, pgMigrations[:v]
			s := mustOpen(t, opts)
			if _, err := s.exec(ctx, s.db, `INSERT INTO connections (id, vendor, alias, alias_key, base_url, auth_method, state,
				created_at, created_by, updated_at, updated_by, revision) VALUES ('c_old', 'gitlab', 'legacy', 'legacy',
				'https://gitlab.example.com', 'token', 'connected', ?, 'x', ?, 'x', 1)`, formatTime(time.Now()), formatTime(time.Now())); err != nil {
				t.Fatalf("version %d: %v", v, err)
			}
			s.Close()
		}()
		s := mustOpen(t, opts)
		c, err := s.Get(ctx, "c_old")
		if err != nil || c.Alias != "legacy" {
			t.Fatalf("from version %d: %v", v, err)
		}
		if info, _ := s.Info(ctx); info.SchemaVersion != SchemaVersion {
			t.Fatalf("from version %d: now %d", v, info.SchemaVersion)
		}
		if _, err := s.Update(ctx, "c_old", func(c *Connection) error { c.TokenName = "named"; return nil }); err != nil {
			t.Fatalf("from version %d: update: %v", v, err)
		}
		if err := s.SetSchedule(ctx, "c_old", time.Hour); err != nil {
			t.Fatalf("from version %d: schedule: %v", v, err)
		}
		s.Close()
	}
}

// A replica with another key is refused and writes nothing; one without the
// key is told where the key must come from. The store never re-keys.
func TestSharedStoreRefusesAnotherKey(t *testing.T) {
	ctx := context.Background()
	opts := pgOpts(t)
	keyA, keyB := "printf '%s' "+strings.Repeat("A", 43)+"=", "printf '%s' "+strings.Repeat("B", 43)+"="
	opts.KeyCommand = keyA
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	before, _ := s.Info(ctx)
	s.Close()

	other := opts
	other.ConfigDir = t.TempDir() // another machine
	other.KeyCommand = keyB
	if _, err := Open(ctx, other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("another key: %v", err)
	}
	other.KeyCommand = ""
	if _, err := Open(ctx, other); !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), "--key-command") {
		t.Fatalf("no key: %v", err)
	}
	s = mustOpen(t, opts)
	after, _ := s.Info(ctx)
	got, err := s.Get(ctx, c.ID)
	if err != nil || got.Secret(SecretToken) != c.Secret(SecretToken) || after.StoreID != before.StoreID || after.Connections != 1 {
		t.Fatalf("store changed by a refused replica: %v %+v", err, after)
	}
}
