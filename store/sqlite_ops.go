package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

const connectionColumns = `id, vendor, alias, base_url, auth_method, account_id, account_username,
	account_name, account_admin, scopes, expires_at, server_version, server_edition, ca_bundle,
	token_name, client_id, state, state_reason, created_at, created_by, updated_at, updated_by, revision, access_expires_at,
	sync_every_s, rotation, settings`

type rowScanner interface{ Scan(...any) error }

func scanConnection(r rowScanner) (*Connection, error) {
	var c Connection
	var scopes, created, updated, state string
	var expires, accessExpires sql.NullString
	var admin int
	var everySecs int64
	var rotation, settings, accountID string
	err := r.Scan(&c.ID, &c.Vendor, &c.Alias, &c.BaseURL, &c.AuthMethod, &accountID, &c.Account.Username,
		&c.Account.Name, &admin, &scopes, &expires, &c.ServerVersion, &c.ServerEdition, &c.CABundle,
		&c.TokenName, &c.ClientID, &state, &c.StateReason, &created, &c.CreatedBy, &updated, &c.UpdatedBy, &c.Revision, &accessExpires,
		&everySecs, &rotation, &settings)
	if err != nil {
		return nil, err
	}
	c.SyncEvery = time.Duration(everySecs) * time.Second
	c.Rotation = decodeRotation(rotation)
	c.Account.ID = ID(accountID)
	c.Settings = decodeSettings(settings)
	c.Account.Admin = admin != 0
	c.Scopes = strings.Fields(scopes)
	c.State = State(state)
	c.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	c.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	c.ExpiresAt = parseNullTime(expires)
	c.AccessExpiresAt = parseNullTime(accessExpires)
	return &c, nil
}

func parseNullTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return nil
	}
	return &t
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func newID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return "c_" + hex.EncodeToString(b)
}

func (s *sqlStore) validate(c *Connection) error {
	if c.Vendor == "" || c.BaseURL == "" || c.AuthMethod == "" {
		return errors.New("a connection needs a vendor, a base URL and an auth method")
	}
	if err := ValidAlias(c.Alias); err != nil {
		return fmt.Errorf("alias %q: %w", c.Alias, err)
	}
	if c.State == "" {
		c.State = StateConnected
	}
	return nil
}

// Create inserts c with its secrets and its first sync job in one
// transaction: no connection exists without a sync on its way.
func (s *sqlStore) Create(ctx context.Context, c *Connection) error {
	if err := s.validate(c); err != nil {
		return err
	}
	now := s.now()
	actor := actorFrom(ctx, s.actor)
	c.ID = newID()
	c.CreatedAt, c.UpdatedAt = now, now
	c.CreatedBy, c.UpdatedBy = actor, actor
	c.Revision = 1
	err := s.write(ctx, func(tx *sql.Tx) error { return s.insertTx(ctx, tx, c) })
	if err != nil {
		c.ID = ""
	}
	return err
}

// insertTx inserts a connection as it is (ids and times set), its secrets
// and its first sync job.
func (s *sqlStore) insertTx(ctx context.Context, tx *sql.Tx, c *Connection) error {
	if c.SyncEvery == 0 {
		c.SyncEvery = DefaultSyncEvery
	}
	_, err := s.exec(ctx, tx, `INSERT INTO connections (`+connectionColumns+`, alias_key)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.Vendor, c.Alias, c.BaseURL, c.AuthMethod, string(c.Account.ID), c.Account.Username,
		c.Account.Name, boolInt(c.Account.Admin), strings.Join(c.Scopes, " "), nullTime(c.ExpiresAt),
		c.ServerVersion, c.ServerEdition, c.CABundle, c.TokenName, c.ClientID, string(c.State), c.StateReason,
		formatTime(c.CreatedAt), c.CreatedBy, formatTime(c.UpdatedAt), c.UpdatedBy, c.Revision,
		nullTime(c.AccessExpiresAt), int64(max(c.SyncEvery, 0).Seconds()), encodeRotation(c.Rotation), encodeSettings(c.Settings), strings.ToLower(c.Alias))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: %s/%s", ErrAliasTaken, c.Vendor, c.Alias)
		}
		return s.wrap("insert connection", err)
	}
	if err := s.putSecrets(ctx, tx, c.ID, c.Secrets, nil); err != nil {
		return err
	}
	_, err = s.riverQueue.enqueueTx(ctx, tx, c.ID, ReasonFirst, SyncQueue)
	return err
}

// putSecrets writes the secrets that differ from old and deletes those gone.
func (s *sqlStore) putSecrets(ctx context.Context, tx *sql.Tx, id string, secrets, old map[string]Secret) error {
	for field, v := range secrets {
		if o, ok := old[field]; ok && o == v {
			continue
		}
		sealed := s.seal.seal(id, field, []byte(v.Reveal()))
		if _, err := s.exec(ctx, tx, `INSERT INTO secrets(connection_id, field, seal_version, sealed) VALUES (?,?,?,?)
			ON CONFLICT(connection_id, field) DO UPDATE SET seal_version = excluded.seal_version, sealed = excluded.sealed`,
			id, field, sealVersion, sealed); err != nil {
			return s.wrap("write secret", err)
		}
	}
	for field := range old {
		if _, ok := secrets[field]; !ok {
			if _, err := s.exec(ctx, tx, `DELETE FROM secrets WHERE connection_id = ? AND field = ?`, id, field); err != nil {
				return s.wrap("delete secret", err)
			}
		}
	}
	return nil
}

// load reads one connection and unseals its secrets.
func (s *sqlStore) load(ctx context.Context, q querier, where string, args ...any) (*Connection, error) {
	query := `SELECT ` + connectionColumns + ` FROM connections WHERE ` + where + ` LIMIT 2`
	if _, inTx := q.(*sql.Tx); inTx {
		query += s.d.forUpdate // an update follows: hold the row
	}
	rows, err := s.query(ctx, q, query, args...)
	if err != nil {
		return nil, s.wrap("read connection", err)
	}
	var found []*Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap("read connection", err)
		}
		found = append(found, c)
	}
	if err := rows.Close(); err != nil {
		return nil, s.wrap("read connection", err)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read connection", err)
	}
	switch len(found) {
	case 0:
		return nil, ErrNotFound
	case 2:
		return nil, ErrAmbiguous
	}
	c := found[0]
	if err := s.loadSecrets(ctx, q, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *sqlStore) loadSecrets(ctx context.Context, q querier, c *Connection) error {
	rows, err := s.query(ctx, q, `SELECT field, seal_version, sealed FROM secrets WHERE connection_id = ?`, c.ID)
	if err != nil {
		return s.wrap("read secrets", err)
	}
	defer rows.Close()
	for rows.Next() {
		var field string
		var version int
		var sealed []byte
		if err := rows.Scan(&field, &version, &sealed); err != nil {
			return s.wrap("read secrets", err)
		}
		pt, err := s.seal.open(c.ID, field, version, sealed)
		if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		c.SetSecret(field, Secret(pt))
	}
	return rows.Err()
}

// Get returns the connection with id.
func (s *sqlStore) Get(ctx context.Context, id string) (*Connection, error) {
	c, err := s.load(ctx, s.db, `id = ?`, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: id %s", ErrNotFound, id)
	}
	return c, err
}

// Find returns the connection of vendor (any vendor when empty) with alias.
func (s *sqlStore) Find(ctx context.Context, vendor, alias string) (*Connection, error) {
	key := strings.ToLower(alias)
	var c *Connection
	var err error
	if vendor == "" {
		c, err = s.load(ctx, s.db, `alias_key = ?`, key)
	} else {
		c, err = s.load(ctx, s.db, `vendor = ? AND alias_key = ?`, vendor, key)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: alias %q", ErrNotFound, alias)
	case errors.Is(err, ErrAmbiguous):
		return nil, fmt.Errorf("%w: %q (name it as VENDOR/ALIAS)", ErrAmbiguous, alias)
	}
	return c, err
}

// List returns connections without secrets.
func (s *sqlStore) List(ctx context.Context, opts ListOptions) ([]Connection, error) {
	query := `SELECT ` + connectionColumns + ` FROM connections`
	var args []any
	if opts.Vendor != "" {
		query += ` WHERE vendor = ?`
		args = append(args, opts.Vendor)
	}
	query += ` ORDER BY vendor, alias_key`
	if opts.Limit > 0 {
		query += ` LIMIT ? OFFSET ?`
		args = append(args, opts.Limit, opts.Offset)
	}
	rows, err := s.query(ctx, s.db, query, args...)
	if err != nil {
		return nil, s.wrap("list connections", err)
	}
	defer rows.Close()
	var out []Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, s.wrap("list connections", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list connections", err)
	}
	return out, nil
}

// Update applies fn to the stored connection under the write lock. The id,
// vendor, creation fields and revision are the store's: fn cannot change them.
func (s *sqlStore) Update(ctx context.Context, id string, fn func(*Connection) error) (*Connection, error) {
	return s.update(ctx, id, fn, false)
}

// UpdateAndSync is Update with a sync asked for in the same transaction (a
// reconnect: the new credential's first sync).
func (s *sqlStore) UpdateAndSync(ctx context.Context, id string, fn func(*Connection) error) (*Connection, error) {
	return s.update(ctx, id, fn, true)
}

func (s *sqlStore) update(ctx context.Context, id string, fn func(*Connection) error, sync bool) (*Connection, error) {
	var out *Connection
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.load(ctx, tx, `id = ?`, id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: id %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		old := cur.Secrets
		next := *cur
		next.Secrets = make(map[string]Secret, len(old))
		for k, v := range old {
			next.Secrets[k] = v
		}
		next.Scopes = append([]string(nil), cur.Scopes...)
		if cur.Rotation != nil {
			r := *cur.Rotation
			next.Rotation = &r
		}
		next.Settings = maps.Clone(cur.Settings)
		if err := fn(&next); err != nil {
			return err
		}
		next.ID, next.Vendor = cur.ID, cur.Vendor
		next.CreatedAt, next.CreatedBy = cur.CreatedAt, cur.CreatedBy
		next.Revision = cur.Revision + 1
		next.UpdatedAt = s.now()
		next.UpdatedBy = actorFrom(ctx, s.actor)
		if err := s.validate(&next); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE connections SET alias = ?, alias_key = ?, base_url = ?, auth_method = ?,
			account_id = ?, account_username = ?, account_name = ?, account_admin = ?, scopes = ?, expires_at = ?,
			server_version = ?, server_edition = ?, ca_bundle = ?, token_name = ?, client_id = ?, state = ?,
			state_reason = ?, updated_at = ?, updated_by = ?, revision = ?, access_expires_at = ?, rotation = ?, settings = ? WHERE id = ?`,
			next.Alias, strings.ToLower(next.Alias), next.BaseURL, next.AuthMethod, string(next.Account.ID),
			next.Account.Username, next.Account.Name, boolInt(next.Account.Admin), strings.Join(next.Scopes, " "),
			nullTime(next.ExpiresAt), next.ServerVersion, next.ServerEdition, next.CABundle, next.TokenName,
			next.ClientID, string(next.State), next.StateReason, formatTime(next.UpdatedAt), next.UpdatedBy,
			next.Revision, nullTime(next.AccessExpiresAt), encodeRotation(next.Rotation), encodeSettings(next.Settings), next.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: %s/%s", ErrAliasTaken, next.Vendor, next.Alias)
			}
			return s.wrap("update connection", err)
		}
		if err := s.putSecrets(ctx, tx, next.ID, next.Secrets, old); err != nil {
			return err
		}
		if sync {
			if _, err := s.riverQueue.enqueueTx(ctx, tx, next.ID, ReasonFirst, SyncQueue); err != nil {
				return err
			}
		}
		out = &next
		return nil
	})
	return out, err
}

// Delete removes a connection, (by cascade) its secrets and inventory, and
// cancels its sync job.
func (s *sqlStore) Delete(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.riverQueue.cancelTx(ctx, tx, id); err != nil {
			return err
		}
		// The runs first (waiting for a page being saved), then their rows,
		// then the connection; its row locked from the start, so no run
		// begins meanwhile.
		var found string
		switch err := s.queryRow(ctx, tx, `SELECT id FROM connections WHERE id = ?`+s.d.forUpdate, id).Scan(&found); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: id %s", ErrNotFound, id)
		case err != nil:
			return s.wrap("delete connection", err)
		}
		runs, err := s.deleteRuns(ctx, tx, `DELETE FROM sync_runs WHERE connection_id = ? RETURNING id`, id)
		if err != nil {
			return s.wrap("delete sync runs", err)
		}
		if err := s.deleteRunRows(ctx, tx, runs); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM connections WHERE id = ?`, id); err != nil {
			return s.wrap("delete connection", err)
		}
		return nil
	})
}

// Info describes the store.
func (s *sqlStore) Info(ctx context.Context) (Info, error) {
	info := Info{Path: s.path, StoreID: s.storeID, Engine: "sqlite (WAL)", Key: s.key}
	if s.d.name == "postgres" {
		info.Engine = "postgresql"
	}
	if err := s.queryRow(ctx, s.db, `SELECT count(*) FROM connections`).Scan(&info.Connections); err != nil {
		return info, s.wrap("count connections", err)
	}
	var v string
	if err := s.queryRow(ctx, s.db, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return info, s.wrap("read schema version", err)
	}
	fmt.Sscan(v, &info.SchemaVersion)
	return info, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
