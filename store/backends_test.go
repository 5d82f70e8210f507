package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

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

// Either schema migrates from every earlier version to this one, keeping
// what was stored.
func TestMigratesFromEachVersion(t *testing.T) { forEachBackend(t, testMigratesFromEachVersion) }

func testMigratesFromEachVersion(t *testing.T, first Options) {
	ctx := context.Background()
	fresh := func() Options {
		if IsPostgres(first.Path) {
			return pgOpts(t)
		}
		return testOpts(t)
	}
	for v := 1; v < SchemaVersion; v++ {
		opts := fresh()
		func() { // a store as version v made it
			saved, savedPG, savedSQLite := SchemaVersion, postgresDialect.migrations, sqliteDialect.migrations
			defer func() {
				SchemaVersion, postgresDialect.migrations, sqliteDialect.migrations = saved, savedPG, savedSQLite
			}()
			SchemaVersion, postgresDialect.migrations, sqliteDialect.migrations = v, pgMigrations[:v], migrations[:v]
			s := mustOpen(t, opts)
			if _, err := s.exec(ctx, s.db, `INSERT INTO connections (id, vendor, alias, alias_key, base_url, auth_method, state,
				created_at, created_by, updated_at, updated_by, revision) VALUES ('c_old', 'gitlab', 'legacy', 'legacy',
				'https://gitlab.example.com', 'token', 'connected', ?, 'x', ?, 'x', 1)`, formatTime(time.Now()), formatTime(time.Now())); err != nil {
				t.Fatalf("version %d: %v", v, err)
			}
			s.Close()
		}()
		migrate := opts
		migrate.Migrate = true // a shared store is migrated on purpose
		s := mustOpen(t, migrate)
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

// A laptop's store into the team's: every connection, its secrets sealed
// again under the team store's key, verified, its first sync queued there;
// an alias the team store has refuses the whole copy, writing nothing.
func TestCopyIntoTheTeamStore(t *testing.T) {
	ctx := context.Background()
	laptop := mustOpen(t, testOpts(t))
	a, b := sample("prod"), sample("staging")
	laptop.Create(ctx, a)
	laptop.Create(ctx, b)
	teamOpts := pgOpts(t)
	teamOpts.KeyCommand = "printf '%s' " + strings.Repeat("T", 43) + "="
	team := mustOpen(t, teamOpts)
	res, err := Copy(ctx, laptop, team)
	if err != nil || res.Connections != 2 {
		t.Fatalf("copy: %+v %v", res, err)
	}
	got, err := team.Find(ctx, "gitlab", "prod")
	if err != nil || got.Secret(SecretToken) != a.Secret(SecretToken) || got.CreatedBy != a.CreatedBy {
		t.Fatalf("copied: %+v %v", got, err)
	}
	if jobs := allJobs(t, team); len(jobs) != 2 {
		t.Fatalf("%d first syncs queued in the team store", len(jobs))
	}
	// Again: both aliases are taken there; nothing more is written.
	third := sample("new-one")
	laptop.Create(ctx, third)
	if _, err := Copy(ctx, laptop, team); !errors.Is(err, ErrAliasTaken) || !strings.Contains(err.Error(), "gitlab/prod") {
		t.Fatalf("second copy: %v", err)
	}
	if _, err := team.Find(ctx, "gitlab", "new-one"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a refused copy wrote a connection")
	}
}

// A shared store is upgraded on purpose: a newer onramp refuses an older
// one until `store migrate`, whose plan says what it will do.
func TestSharedStoreMigratesOnPurpose(t *testing.T) {
	ctx := context.Background()
	opts := pgOpts(t)
	func() {
		saved, savedMigrations := SchemaVersion, postgresDialect.migrations
		defer func() { SchemaVersion, postgresDialect.migrations = saved, savedMigrations }()
		SchemaVersion, postgresDialect.migrations = 4, pgMigrations[:4]
		mustOpen(t, opts).Close()
	}()
	if _, err := Open(ctx, opts); !errors.Is(err, ErrOlderSchema) || !strings.Contains(err.Error(), "onramp store migrate") {
		t.Fatalf("an older shared store opened: %v", err)
	}
	plan, err := PlanMigration(ctx, Options{Path: opts.Path})
	if err != nil || plan.From != 4 || plan.To != SchemaVersion || !plan.Needed() {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	if err := Migrate(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if plan, _ := PlanMigration(ctx, Options{Path: opts.Path}); plan.Needed() {
		t.Fatalf("after migrating: %+v", plan)
	}
	mustOpen(t, opts)
}

// The server drops every connection (a restart, a failover): the store
// reconnects by itself; a change in flight fails whole, with a clear error.
func TestPostgresConnectionLossIsSurvived(t *testing.T) {
	ctx := context.Background()
	opts := pgOpts(t)
	s := mustOpen(t, opts)
	c := sample("prod")
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		admin, err := sql.Open("pgx", os.Getenv("ONRAMP_TEST_PG"))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		name := opts.Path[strings.LastIndex(opts.Path, "/")+1 : strings.Index(opts.Path, "?")]
		if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
			t.Fatal(err)
		}
	}
	kill()
	time.Sleep(1100 * time.Millisecond) // a restart takes a moment; idle connections are checked before use
	if _, err := s.Get(ctx, c.ID); err != nil {
		t.Fatalf("after the server dropped every connection: %v", err)
	}
	// A transaction cut in the middle: the change is all or nothing.
	_, err := s.Update(ctx, c.ID, func(cc *Connection) error {
		cc.TokenName = "half"
		kill()
		return nil
	})
	got, gerr := s.Get(ctx, c.ID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if err != nil && got.TokenName == "half" || err == nil && got.TokenName != "half" {
		t.Fatalf("update %v left token name %q", err, got.TokenName)
	}
	if err := s.Create(ctx, sample("after")); err != nil {
		t.Fatalf("writing after the loss: %v", err)
	}
}
