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
}

// SchemaVersion is the version this build writes.
var SchemaVersion = len(migrations)
