-- The connections schema as onramp shipped it at schema version 1.
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
);
INSERT INTO connections (id, vendor, alias, alias_key, base_url, auth_method, account_id, account_username,
	scopes, expires_at, state, created_at, created_by, updated_at, updated_by, revision)
VALUES ('c_old', 'gitlab', 'legacy', 'legacy', 'https://gitlab.example.com', 'token', 1, 'root',
	'api', '2027-01-01T00:00:00Z', 'connected', '2026-01-01T00:00:00Z', 'alice', '2026-01-01T00:00:00Z', 'alice', 1);
