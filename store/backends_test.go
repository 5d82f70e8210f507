package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
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
	admin := os.Getenv("ONRAMP_TEST_PG")
	if admin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL is required in CI: .ci/run starts a cluster and sets ONRAMP_TEST_PG")
		}
		t.Skip("no PostgreSQL (set ONRAMP_TEST_PG; `eval \"$(.ci/pg start)\"` starts one)")
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "onramp_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	dir := t.(interface{ TempDir() string }).TempDir()
	return Options{Path: u.String(), ConfigDir: filepath.Join(dir, "config"), Actor: "tester"}
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
