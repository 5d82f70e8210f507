package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is what differs between the store's two databases. The queries
// are written once, with ? placeholders; the rest of the store's code is
// shared.
type dialect struct {
	name string // "sqlite" | "postgres"
	// migrations produce the same schema versions on each database.
	migrations []string
	// forUpdate locks the row a read-modify-write reads (PostgreSQL; SQLite
	// takes its write lock at BEGIN).
	forUpdate string
	// lockInit serializes opening (creating, migrating) across processes
	// inside the opening transaction; "" when BEGIN already does.
	lockInit string
	// jobConnection is the connection id of a row of River's job table, as
	// an expression its index (jobIndex) is built on: a connection's job is
	// found by key, never by listing. Arguments that are not JSON give NULL
	// (a damaged row belongs to no connection and breaks no lookup).
	jobConnection string
	// riverNow is the current time as River's job table stores it.
	riverNow string
	// nowMs is the database's clock in unix milliseconds: leases are
	// written and judged by one clock, whatever the machines' own say.
	nowMs string
	// msOfTime is a River timestamp column in unix milliseconds (%s: the
	// column).
	msOfTime string
	// userOrder orders a snapshot's people by id: numeric ids as numbers,
	// then the others (SQLite keeps a numeric id as an integer, which sorts
	// before text; PostgreSQL keeps text).
	userOrder string
}

// msOf is column, one of River's timestamps, in unix milliseconds.
func (d dialect) msOf(column string) string { return strings.ReplaceAll(d.msOfTime, "%s", column) }

var sqliteDialect = dialect{name: "sqlite", migrations: migrations,
	// json_valid flags 10: JSON5 text or strictly valid JSONB (River keeps
	// arguments as JSONB), so json_extract never fails on a damaged row.
	jobConnection: `(CASE WHEN json_valid(args, 10) THEN json_extract(args, '$.connection_id') END)`,
	riverNow:      `datetime('now', 'subsec')`,
	nowMs:         `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`,
	msOfTime:      `CAST((julianday(%s) - 2440587.5) * 86400000 AS INTEGER)`,
	userOrder:     `user_id`}

var postgresDialect = dialect{name: "postgres", migrations: pgMigrations, forUpdate: " FOR UPDATE",
	lockInit:      `SELECT pg_advisory_xact_lock(7061737)`,
	jobConnection: `(args->>'connection_id')`,
	riverNow:      `now()`,
	nowMs:         `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`,
	msOfTime:      `(extract(epoch FROM %s) * 1000)::bigint`,
	userOrder:     `user_id !~ '^-?[0-9]+$', length(user_id), user_id`}

// jobIndex is the index that finds a connection's sync job in River's table.
// It is made after River's own migrations (which may rebuild the table).
func (d dialect) jobIndex() string {
	return `CREATE INDEX IF NOT EXISTS onramp_sync_job_by_connection ON river_job (` + d.jobConnection + `, state) WHERE kind = 'sync'`
}

// q rewrites a query's ? placeholders as the database wants them.
func (s *sqlStore) q(query string) string {
	if s.d.name != "postgres" {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// hasTable reports whether the database has the named table.
func (s *sqlStore) hasTable(ctx context.Context, tx querier, name string) (bool, error) {
	var n int
	var err error
	if s.d.name == "postgres" {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`, name).Scan(&n)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	}
	return n > 0, err
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isBusy: another writer holds the lock, or (PostgreSQL) the transaction
// lost a race it may win if tried again.
func isBusy(err error) bool {
	c := sqliteCode(err)
	switch pgCode(err) {
	case "40001", "40P01": // serialization failure, deadlock
		return true
	}
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// isConnLost: the PostgreSQL server went away (shut down, restarted, the
// connection cut), as opposed to refusing the statement.
func isConnLost(err error) bool {
	code := pgCode(err)
	switch {
	case code == "57P01", code == "57P02", code == "57P03", strings.HasPrefix(code, "08"):
		return true
	case code != "":
		return false
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.As(err, &netErr) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

func isUniqueViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT && !strings.Contains(err.Error(), "FOREIGN KEY") || pgCode(err) == "23505"
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT && strings.Contains(err.Error(), "FOREIGN KEY") || pgCode(err) == "23503"
}

func isCorrupt(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec, query and queryRow run a ?-placeholder query on a pool or a
// transaction, in the database's own placeholders.
func (s *sqlStore) exec(ctx context.Context, e execer, query string, args ...any) (sql.Result, error) {
	return e.ExecContext(ctx, s.q(query), args...)
}

func (s *sqlStore) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.q(query), args...)
}

func (s *sqlStore) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.q(query), args...)
}

// inChunks calls fn with ids 500 at a time, as the placeholders of an IN
// list and their arguments (a statement's parameters are bounded).
func inChunks(ids []string, fn func(marks string, args []any) error) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if err := fn(strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ","), args); err != nil {
			return err
		}
	}
	return nil
}
