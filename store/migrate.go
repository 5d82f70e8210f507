package store

// migrations are applied in order, each in the opening transaction; the index
// plus one is the schema version it produces. Never edit a shipped migration:
// append a new one (stores in the field hold the old ones' results).
var migrations = []string{
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
		account_id       INTEGER NOT NULL DEFAULT 0,
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
		revision         INTEGER NOT NULL,
		UNIQUE (vendor, alias_key)
	);
	CREATE TABLE secrets (
		connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
		field         TEXT NOT NULL,
		seal_version  INTEGER NOT NULL,
		sealed        BLOB NOT NULL,
		PRIMARY KEY (connection_id, field)
	);`,
	// 2: token name and OAuth client id, shown on the Integrations page.
	`ALTER TABLE connections ADD COLUMN token_name TEXT NOT NULL DEFAULT '';
	ALTER TABLE connections ADD COLUMN client_id TEXT NOT NULL DEFAULT '';`,
	// 3: when an OAuth access token expires, for refreshing ahead of time.
	`ALTER TABLE connections ADD COLUMN access_expires_at TEXT;`,
	// 4: sync runs and their inventory snapshots (users and seats).
	`CREATE TABLE sync_runs (
		id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
		run_id           INTEGER NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
		user_id          INTEGER NOT NULL,
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
		run_id     INTEGER NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
		scope      TEXT NOT NULL,
		plan       TEXT NOT NULL DEFAULT '',
		seats      INTEGER,
		used       INTEGER,
		max_used   INTEGER,
		expires_at TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (run_id, scope)
	);`,
	// 5: syncs are durable jobs (River's tables, migrated by its own
	// migrator); each connection says how often it is synced again and
	// whether its running sync was asked to stop.
	`ALTER TABLE connections ADD COLUMN sync_every_s INTEGER NOT NULL DEFAULT 86400;
	ALTER TABLE connections ADD COLUMN sync_stop INTEGER NOT NULL DEFAULT 0;`,
	// 6: a lease on a connection (its token refresh), held by one process
	// at a time until it ends or expires (unix milliseconds).
	`ALTER TABLE connections ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';
	ALTER TABLE connections ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;`,
	// 7: nothing here; PostgreSQL's inventory rows lose their foreign key
	// (pgMigrations), SQLite's keep it.
	`SELECT 1;`,
	// 8: liveness. Every process that runs syncs holds a lease it renews
	// (who it is, until when); a run carries the generation of its holder,
	// so a holder that lost the run finds its writes refused. (The index
	// that finds a connection's job in River's table is made after River's
	// own migrations: ensureJobIndex.)
	`CREATE TABLE process_leases (
		id         TEXT PRIMARY KEY,
		kind       TEXT NOT NULL,
		host       TEXT NOT NULL,
		pid        INTEGER NOT NULL,
		queue      TEXT NOT NULL DEFAULT '',
		started_ms INTEGER NOT NULL,
		until_ms   INTEGER NOT NULL
	);
	ALTER TABLE sync_runs ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;`,
	// 9: notifications. Targets (a webhook's address, a command) are sealed
	// like secrets; an event is one row, unique per connection, kind and
	// occasion, so it is sent once however many workers see it; each
	// target's delivery is a River job, retried until the target answers.
	`CREATE TABLE notify_targets (
		id          TEXT PRIMARY KEY,
		kind        TEXT NOT NULL,
		label       TEXT NOT NULL,
		fingerprint TEXT NOT NULL UNIQUE,
		sealed      BLOB NOT NULL,
		created_at  TEXT NOT NULL
	);
	CREATE TABLE notifications (
		id            INTEGER PRIMARY KEY AUTOINCREMENT,
		connection_id TEXT NOT NULL,
		kind          TEXT NOT NULL,
		occasion      TEXT NOT NULL,
		event         TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		delivered_at  TEXT,
		UNIQUE (connection_id, kind, occasion)
	);`,
	// 10: token rotation: how a connection's token renews itself, and the
	// mark of a rotation that may be in flight (JSON; store.Rotation).
	`ALTER TABLE connections ADD COLUMN rotation TEXT NOT NULL DEFAULT '';`,
	// 11: a connection's non-secret settings (JSON, by field key) beside
	// its secrets, so a reconnect restores every field of its card.
	`ALTER TABLE connections ADD COLUMN settings TEXT NOT NULL DEFAULT '';`,
	// 12: ids of accounts and people are text (a vendor may use GUIDs).
	// SQLite's columns take text as they are; a numeric id stays an integer.
	`SELECT 1;`,
	// 13: the licenses assigned to a person (names joined by commas).
	`ALTER TABLE inventory_users ADD COLUMN licenses TEXT NOT NULL DEFAULT '';`,
}

// SchemaVersion is the version this build writes.
var SchemaVersion = len(migrations)
