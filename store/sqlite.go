package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configure Open.
type Options struct {
	// Path of the database file; DefaultPath when empty.
	Path string
	// ConfigDir holds key files; DefaultConfigDir when empty.
	ConfigDir string
	// PassphraseCommand, when set, derives the key of a new store from the
	// command's output (Argon2id). It is the operator's explicit choice, so it
	// wins over the keyring and the key file.
	PassphraseCommand string
	// Keyring is the OS keyring; nil means no keyring is tried.
	Keyring Keyring
	// Actor is recorded as who made changes when the context names nobody.
	Actor string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// SQLite is the embedded Store: one SQLite file in WAL mode.
type SQLite struct {
	db      *sql.DB
	path    string
	seal    *sealer
	key     KeyInfo
	storeID string
	actor   string
	now     func() time.Time
}

var _ Store = (*SQLite)(nil)

// Open opens the store at opts.Path, creating it (and its key) when the file
// does not exist. It never initialises over a file that holds anything.
func Open(ctx context.Context, opts Options) (*SQLite, error) {
	if opts.Path == "" {
		opts.Path = DefaultPath(os.Getenv)
	}
	if opts.ConfigDir == "" {
		opts.ConfigDir = DefaultConfigDir(os.Getenv)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Actor == "" {
		opts.Actor = OSUser()
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("store path: %w", err)
	}
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// Create the file ourselves so it is 0600 from the first byte; SQLite
	// gives its -wal and -shm files the database file's mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create store %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := checkPrivate(p); err != nil {
			return nil, err
		}
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxIdleConns(4)
	s := &SQLite{db: db, path: path, actor: opts.Actor, now: opts.Now}
	if err := s.init(ctx, opts); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init reads (or, for an empty database, writes) the store's identity, loads
// its key and migrates the schema, all in one write transaction so that two
// processes opening a new store at once do not both initialise it.
func (s *SQLite) init(ctx context.Context, opts Options) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var tables int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil {
			return s.wrap("read schema", err)
		}
		var hasMeta int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).Scan(&hasMeta); err != nil {
			return s.wrap("read schema", err)
		}
		var meta map[string]string
		switch {
		case tables == 0:
			m, err := s.create(ctx, tx, opts)
			if err != nil {
				return err
			}
			meta = m
		case hasMeta == 0:
			return fmt.Errorf("%w: %s holds tables but no onramp metadata; refusing to touch it", ErrNotAStore, s.path)
		default:
			m, err := readMeta(ctx, tx)
			if err != nil {
				return s.wrap("read metadata", err)
			}
			meta = m
		}
		version, err := strconv.Atoi(meta["schema_version"])
		if err != nil || meta["store_id"] == "" {
			return fmt.Errorf("%w: %s has damaged metadata", ErrCorrupt, s.path)
		}
		if version > SchemaVersion {
			return fmt.Errorf("%w: %s has schema version %d, this onramp knows up to %d; upgrade onramp (a downgrade would lose data)",
				ErrNewerSchema, s.path, version, SchemaVersion)
		}
		s.storeID = meta["store_id"]
		if err := s.unlock(ctx, meta, opts); err != nil {
			return err
		}
		for v := version; v < SchemaVersion; v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return s.wrap(fmt.Sprintf("migrate schema to version %d", v+1), err)
			}
		}
		if version < SchemaVersion {
			return setMeta(ctx, tx, "schema_version", strconv.Itoa(SchemaVersion))
		}
		return nil
	})
}

// create initialises an empty database: identity, key, key check, schema.
func (s *SQLite) create(ctx context.Context, tx *sql.Tx, opts Options) (map[string]string, error) {
	idb := make([]byte, 16)
	if _, err := rand.Read(idb); err != nil {
		return nil, err
	}
	meta := map[string]string{"store_id": hex.EncodeToString(idb), "schema_version": "0"}
	key, src, err := s.createKey(ctx, meta, opts)
	if err != nil {
		return nil, err
	}
	meta["key_source"] = src
	sl, err := newSealer(key, meta["store_id"])
	if err != nil {
		return nil, err
	}
	meta["key_check"] = base64.StdEncoding.EncodeToString(sl.seal("meta", "key_check", []byte(keyCheckText)))
	if _, err := tx.ExecContext(ctx, migrations[0]); err != nil {
		return nil, s.wrap("create schema", err)
	}
	meta["schema_version"] = "1"
	for k, v := range meta {
		if err := setMeta(ctx, tx, k, v); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

const keyCheckText = "onramp key check"

// createKey makes the data key of a new store. The passphrase command is the
// operator's explicit choice; otherwise the keyring when it answers, else a
// key file.
func (s *SQLite) createKey(ctx context.Context, meta map[string]string, opts Options) ([]byte, string, error) {
	id := meta["store_id"]
	if opts.PassphraseCommand != "" {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, "", err
		}
		meta["kdf_salt"] = base64.StdEncoding.EncodeToString(salt)
		meta["passphrase_command"] = opts.PassphraseCommand
		k, err := passphraseKey(ctx, opts.PassphraseCommand, salt)
		return k, KeySourcePassphrase, err
	}
	if opts.Keyring != nil {
		if k, err := keyringCreate(ctx, opts.Keyring, id); err == nil {
			return k, KeySourceKeyring, nil
		}
	}
	path := keyFilePath(opts.ConfigDir, id)
	meta["key_file"] = path
	k, err := keyFileCreate(path)
	return k, KeySourceFile, err
}

// unlock loads the key the store records and proves it with the key check.
func (s *SQLite) unlock(ctx context.Context, meta map[string]string, opts Options) error {
	id := meta["store_id"]
	var key []byte
	var err error
	switch meta["key_source"] {
	case KeySourceKeyring:
		if opts.Keyring == nil {
			return fmt.Errorf("%w: %s keeps its key in the OS keyring, which is not reachable here (run onramp where the keyring is, e.g. in your desktop session)", ErrKeyMissing, s.path)
		}
		key, err = keyringLoad(ctx, opts.Keyring, id)
		s.key = KeyInfo{Source: KeySourceKeyring, Location: "OS keyring item " + keyringService + "/" + keyringUser(id),
			Protection: "encrypted by the OS keyring",
			ReadableBy: "any program running as " + opts.Actor + " while the keyring is unlocked"}
	case KeySourceFile:
		path := meta["key_file"]
		if path == "" {
			path = keyFilePath(opts.ConfigDir, id)
		}
		key, err = keyFileLoad(path)
		s.key = KeyInfo{Source: KeySourceFile, Location: path,
			Protection: "key file with mode 0600, kept apart from the store",
			ReadableBy: "the OS user " + opts.Actor + " and root; anyone with both this file and the store can read the secrets"}
	case KeySourcePassphrase:
		cmd := opts.PassphraseCommand
		if cmd == "" {
			cmd = meta["passphrase_command"]
		}
		salt, _ := base64.StdEncoding.DecodeString(meta["kdf_salt"])
		if len(salt) == 0 {
			return fmt.Errorf("%w: %s lost its key-derivation salt", ErrCorrupt, s.path)
		}
		key, err = passphraseKey(ctx, cmd, salt)
		s.key = KeyInfo{Source: KeySourcePassphrase, Location: "passphrase from the command: " + cmd,
			Protection: "key derived with Argon2id from a passphrase; nothing on disk opens the store",
			ReadableBy: "whoever can run the passphrase command as " + opts.Actor}
	default:
		return fmt.Errorf("%w: %s records an unknown key source %q", ErrCorrupt, s.path, meta["key_source"])
	}
	if err != nil {
		return err
	}
	sl, err := newSealer(key, id)
	if err != nil {
		return err
	}
	check, _ := base64.StdEncoding.DecodeString(meta["key_check"])
	if pt, err := sl.open("meta", "key_check", sealVersion, check); err != nil || string(pt) != keyCheckText {
		return fmt.Errorf("%w: %s (its key is at %s; restore the right key or passphrase — onramp never replaces it)", ErrWrongKey, s.path, s.key.Location)
	}
	s.seal = sl
	return nil
}

func readMeta(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

func setMeta(ctx context.Context, tx *sql.Tx, k, v string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v)
	return err
}

// write runs fn in one IMMEDIATE transaction (the write lock is taken at
// BEGIN, so no reader-turned-writer deadlock) and retries while another
// process holds the lock beyond the busy timeout, until ctx ends: "database is
// locked" never reaches a caller that can wait.
func (s *SQLite) write(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tryWrite(ctx, fn)
		if err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store is busy: %w", ctx.Err())
		case <-time.After(time.Duration(min(attempt+1, 20)) * 5 * time.Millisecond):
		}
	}
}

func (s *SQLite) tryWrite(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("commit", err)
	}
	return nil
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

func isBusy(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// wrap names the store file and turns SQLite's corruption codes into ErrCorrupt.
func (s *SQLite) wrap(what string, err error) error {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: %s (%s: %v); restore it from a backup", ErrCorrupt, s.path, what, err)
	}
	if isBusy(err) {
		return err // keep the code visible to write's retry
	}
	return fmt.Errorf("store %s: %s: %w", s.path, what, err)
}

// Close releases the database.
func (s *SQLite) Close() error { return s.db.Close() }

// Path is the database file.
func (s *SQLite) Path() string { return s.path }
