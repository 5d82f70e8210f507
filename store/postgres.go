package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// PostgreSQL is the team's store: every `onramp serve` and worker of the
// team opens the same database (a postgres:// URL), each with the same key
// (a passphrase or key command, or the same key file on each machine), and
// River's tables live in it too.

// pgMigrations produce, version for version, the schema of migrations.
var pgMigrations = []string{
	// 1: connections and their sealed secrets.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	CREATE TABLE connections (
		id               TEXT PRIMARY KEY,
		vendor           TEXT NOT NULL,
		alias            TEXT NOT NULL,
		alias_key        TEXT NOT NULL,
		base_url         TEXT NOT NULL,
		auth_method      TEXT NOT NULL,
		account_id       BIGINT NOT NULL DEFAULT 0,
		account_username TEXT NOT NULL DEFAULT '',
		account_name     TEXT NOT NULL DEFAULT '',
		account_admin    INTEGER NOT NULL DEFAULT 0,
		scopes           TEXT NOT NULL DEFAULT '',
		expires_at       TEXT,
		server_version   TEXT NOT NULL DEFAULT '',
		server_edition   TEXT NOT NULL DEFAULT '',
		ca_bundle        TEXT NOT NULL DEFAULT '',
		state            TEXT NOT NULL,
		state_reason     TEXT NOT NULL DEFAULT '',
		created_at       TEXT NOT NULL,
		created_by       TEXT NOT NULL,
		updated_at       TEXT NOT NULL,
		updated_by       TEXT NOT NULL,
		revision         BIGINT NOT NULL,
		UNIQUE (vendor, alias_key)
	);
	CREATE TABLE secrets (
		connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
		field         TEXT NOT NULL,
		seal_version  INTEGER NOT NULL,
		sealed        BYTEA NOT NULL,
		PRIMARY KEY (connection_id, field)
	);`,
	// 2: token name and OAuth client id.
	`ALTER TABLE connections ADD COLUMN token_name TEXT NOT NULL DEFAULT '';
	ALTER TABLE connections ADD COLUMN client_id TEXT NOT NULL DEFAULT '';`,
	// 3: when an OAuth access token expires.
	`ALTER TABLE connections ADD COLUMN access_expires_at TEXT;`,
	// 4: sync runs and their inventory snapshots.
	`CREATE TABLE sync_runs (
		id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
		status        TEXT NOT NULL,
		started_at    TEXT NOT NULL,
		finished_at   TEXT,
		checkpoint    TEXT NOT NULL DEFAULT '',
		users         INTEGER NOT NULL DEFAULT 0,
		pages         INTEGER NOT NULL DEFAULT 0,
		retries       INTEGER NOT NULL DEFAULT 0,
		total         INTEGER,
		view          TEXT NOT NULL DEFAULT '',
		note          TEXT NOT NULL DEFAULT '',
		error         TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX sync_runs_by_connection ON sync_runs(connection_id, id);
	CREATE TABLE inventory_users (
		run_id           BIGINT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
		user_id          BIGINT NOT NULL,
		username         TEXT NOT NULL,
		name             TEXT NOT NULL DEFAULT '',
		email            TEXT NOT NULL DEFAULT '',
		state            TEXT NOT NULL DEFAULT '',
		bot              INTEGER NOT NULL DEFAULT 0,
		admin            INTEGER NOT NULL DEFAULT 0,
		seat             INTEGER,
		created_at       TEXT NOT NULL DEFAULT '',
		last_sign_in_at  TEXT NOT NULL DEFAULT '',
		last_activity_on TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (run_id, user_id)
	);
	CREATE TABLE inventory_seats (
		run_id     BIGINT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
		scope      TEXT NOT NULL,
		plan       TEXT NOT NULL DEFAULT '',
		seats      INTEGER,
		used       INTEGER,
		max_used   INTEGER,
		expires_at TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (run_id, scope)
	);`,
	// 5: the sync schedule and stop request (River's tables: its migrator).
	`ALTER TABLE connections ADD COLUMN sync_every_s BIGINT NOT NULL DEFAULT 86400;
	ALTER TABLE connections ADD COLUMN sync_stop INTEGER NOT NULL DEFAULT 0;`,
	// 6: a connection's lease (its token refresh).
	`ALTER TABLE connections ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';
	ALTER TABLE connections ADD COLUMN lease_until_ms BIGINT NOT NULL DEFAULT 0;`,
	// 7: an inventory row's run is checked by the statement that writes
	// it (SavePage locks the run) rather than by a foreign key, whose
	// per-row trigger was a third of the cost of writing a page; deleting
	// runs deletes their rows (deleteRunRows).
	`ALTER TABLE inventory_users DROP CONSTRAINT IF EXISTS inventory_users_run_id_fkey;`,
	// 8: liveness: process leases and run generations (see migrations).
	`CREATE TABLE process_leases (
		id         TEXT PRIMARY KEY,
		kind       TEXT NOT NULL,
		host       TEXT NOT NULL,
		pid        INTEGER NOT NULL,
		queue      TEXT NOT NULL DEFAULT '',
		started_ms BIGINT NOT NULL,
		until_ms   BIGINT NOT NULL
	);
	ALTER TABLE sync_runs ADD COLUMN gen BIGINT NOT NULL DEFAULT 0;`,
	// 9: notifications (see migrations).
	`CREATE TABLE notify_targets (
		id          TEXT PRIMARY KEY,
		kind        TEXT NOT NULL,
		label       TEXT NOT NULL,
		fingerprint TEXT NOT NULL UNIQUE,
		sealed      BYTEA NOT NULL,
		created_at  TEXT NOT NULL
	);
	CREATE TABLE notifications (
		id            BIGSERIAL PRIMARY KEY,
		connection_id TEXT NOT NULL,
		kind          TEXT NOT NULL,
		occasion      TEXT NOT NULL,
		event         TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		delivered_at  TEXT,
		UNIQUE (connection_id, kind, occasion)
	);`,
	// 10: token rotation (see migrations).
	`ALTER TABLE connections ADD COLUMN rotation TEXT NOT NULL DEFAULT '';`,
	// 11: settings (see migrations).
	`ALTER TABLE connections ADD COLUMN settings TEXT NOT NULL DEFAULT '';`,
	// 12: ids of accounts and people are text (a vendor may use GUIDs).
	`ALTER TABLE connections ALTER COLUMN account_id TYPE TEXT USING account_id::text;
	ALTER TABLE inventory_users ALTER COLUMN user_id TYPE TEXT COLLATE "C" USING user_id::text;`,
	// 13: licenses (see migrations).
	`ALTER TABLE inventory_users ADD COLUMN licenses TEXT NOT NULL DEFAULT '';`,
}

// pgStatementTimeout bounds every statement, so a stuck query (a lock held
// by a hung process) ends as an error rather than a hung wizard.
const pgStatementTimeout = "30s"

// pgConfig reads a store URL (an error never quotes its password) and
// bounds connecting and every statement.
func pgConfig(raw string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("store URL: %v", redactURL(err.Error(), raw))
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["statement_timeout"] = pgStatementTimeout
	cfg.RuntimeParams["application_name"] = "onramp"
	cfg.ConnectTimeout = 10 * time.Second
	return cfg, nil
}

// openPostgres opens (creating, when the database has no onramp tables yet)
// the store in the PostgreSQL database at opts.Path.
func openPostgres(ctx context.Context, opts Options) (*sqlStore, error) {
	cfg, err := pgConfig(opts.Path)
	if err != nil {
		return nil, err
	}
	location := redactedURL(opts.Path)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach the PostgreSQL store at %s: %v", location, redactURL(err.Error(), opts.Path))
	}
	s := &sqlStore{db: db, d: postgresDialect, path: location, actor: opts.Actor, now: opts.Now}
	// Inventory pages go through a pool that does not wait for the WAL
	// flush at each commit: a crash of the server can lose the last pages
	// written, never corrupt them, and a lost page's checkpoint is lost with
	// it, so the sync fetches it again. Connections and secrets keep the
	// full guarantee.
	bulk := cfg.Copy()
	bulk.RuntimeParams["synchronous_commit"] = "off"
	s.bulkDB = stdlib.OpenDB(*bulk)
	s.bulkDB.SetMaxOpenConns(8)
	if err := s.init(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	driver := riverdatabasesql.New(db)
	if s.created || opts.Migrate {
		if err := migrateRiverPostgres(ctx, db, driver); err != nil {
			db.Close()
			return nil, s.wrap("migrate the job queue", err)
		}
	} else if pending, err := riverPending(ctx, driver); err != nil || len(pending) > 0 {
		db.Close()
		if err != nil {
			return nil, s.wrap("read the job queue's migrations", err)
		}
		return nil, fmt.Errorf("%w: %s: the job queue (River) needs its migrations %v; run `onramp store migrate`", ErrOlderSchema, location, pending)
	}
	q, err := newRiverQueue(s, driver)
	if err != nil {
		db.Close()
		return nil, err
	}
	q.newWorkerClient = func(rc *river.Config, conns int) (workerClient, func(), error) {
		return pgxWorkerClient(ctx, cfg, rc, conns)
	}
	s.riverQueue = q
	return s, nil
}

// pgxWorkerClient is a River client that works jobs through River's pgx
// driver on a pool of its own: it LISTENs for new jobs (the store's inserts,
// on database/sql, notify in their transaction), so a sync starts without
// waiting for a poll. Its pool holds the jobs' connections, the listener's
// and the fetcher's.
func pgxWorkerClient(ctx context.Context, cfg *pgx.ConnConfig, rc *river.Config, conns int) (workerClient, func(), error) {
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, nil, err
	}
	pc.ConnConfig = cfg.Copy()
	pc.MaxConns = int32(conns + 4)
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), pc)
	if err != nil {
		return nil, nil, fmt.Errorf("job queue pool: %w", err)
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return c, pool.Close, nil
}

// migrateRiverPostgres runs River's migrations with its own migrator, one
// transaction each (a new enum value cannot be used in the transaction that
// adds it), under a session advisory lock so that replicas starting
// together migrate one at a time.
func migrateRiverPostgres(ctx context.Context, db *sql.DB, driver *riverdatabasesql.Driver) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7061738)`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7061738)`)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: discardLogger()})
	if err != nil {
		return err
	}
	if _, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, postgresDialect.jobIndex())
	return err
}

// riverPending lists River's migrations this onramp has that the database
// lacks.
func riverPending(ctx context.Context, driver riverdriver.Driver[*sql.Tx]) ([]int, error) {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: discardLogger()})
	if err != nil {
		return nil, err
	}
	have, err := m.ExistingVersions(ctx)
	if err != nil {
		return nil, err
	}
	done := map[int]bool{}
	for _, v := range have {
		done[v.Version] = true
	}
	var pending []int
	for _, v := range m.AllVersions() {
		if !done[v.Version] {
			pending = append(pending, v.Version)
		}
	}
	return pending, nil
}

// redactedURL is a store URL without its password, fit to show and log.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://(unreadable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactURL removes the URL's password from a message that may quote it.
func redactURL(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the URL does not parse"
	}
	if p, has := u.User.Password(); has && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	if p := u.Query().Get("password"); p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}
