// Package pgtest gives tests a fresh PostgreSQL database on the test
// cluster (.ci/run starts one and sets ONRAMP_TEST_PG; `.ci/pg start` does
// the same by hand). Without a cluster a test skips, except in CI, where it
// fails: CI must never pass by skipping.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Database creates an empty database and returns its URL; it is dropped
// when the test ends.
func Database(t testing.TB) string {
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
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
