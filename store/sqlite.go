package store

import (
	"cmp"
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
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/onramp-dev/onramp/internal/textsafe"
)

// Options configure Open.
type Options struct {
	// Path of the database file; DefaultPath when empty.
	Path string
	// ConfigDir holds key files; DefaultConfigDir when empty.
	ConfigDir string
	// PassphraseCommand, when set, derives the key of a new store from the
	// command's output (Argon2id). It is the operator's explicit choice, so it
	// wins over the keyring and the key file. It comes from the flag, the
	// environment or the person's config file, never from a store.
	PassphraseCommand string
	// PassphraseFrom names where the command came from, for `store info`
	// (the command itself is never shown).
	PassphraseFrom string
	// KeyFrom names where the key command comes from, for messages
	// ("--key-command or ONRAMP_KEY_COMMAND" when empty; `store copy`
	// names its --to-key-command).
	KeyFrom string
	// Migrate lets Open upgrade a shared (PostgreSQL) store's schema and
	// River's; a file store is always brought up to date.
	Migrate bool
	// KeyCommand, when set, prints the data key itself (32 bytes, base64 or
	// hex): a secrets manager every replica of a shared store asks.
	KeyCommand string
	// Keyring is the OS keyring; nil means no keyring is tried.
	Keyring Keyring
	// Actor is recorded as who made changes when the context names nobody.
	Actor string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// sqlStore is the store on a SQL database: the embedded SQLite file (WAL
// mode) or a PostgreSQL server shared by a team. The dialect holds what
// differs between them.
type sqlStore struct {
	db *sql.DB
	d  dialect
	// riverDB is the job queue's own pool (one connection) on the same file
	// (SQLite); bulkDB writes inventory pages (PostgreSQL).
	riverDB, bulkDB *sql.DB
	*riverQueue     // the Jobs methods
	writeMu         sync.Mutex
	created         bool // Open made the store
	path            string
	seal            *sealer
	key             KeyInfo
	storeID         string
	actor           string
	now             func() time.Time
}

var _ Store = (*sqlStore)(nil)

// openSQLiteFile opens the store at opts.Path, creating it (and its key)
// when the file does not exist. It never initialises over a file that holds
// anything.
func openSQLiteFile(ctx context.Context, opts Options) (*sqlStore, error) {
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("store path: %w", err)
	}
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := createFile(ctx, path, opts); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", path, err)
	case fi.Size() == 0:
		// Never a new store: createFile only ever puts a complete store at
		// a path, so an empty file there was truncated or is not ours.
		return nil, fmt.Errorf("%w: %s is empty (0 bytes); an onramp store never is, so it was truncated or is not onramp's: restore it from a backup, or remove it to start a new store there", ErrCorrupt, path)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := checkPrivate(p); err != nil {
			return nil, err
		}
	}
	s, err := openSQLite(path, path, opts)
	if err != nil {
		return nil, err
	}
	if err := s.init(ctx, opts); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.openQueue(ctx, opts); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDSN is how every pool opens the file: WAL, full sync, foreign keys,
// a busy timeout, and the write lock taken at BEGIN (no reader-turned-writer
// deadlock).
func sqliteDSN(file string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return fileURI(file, q.Encode())
}

// fileURI is the SQLite URI of file with query (its path escaped, so a "?"
// or "#" in a directory name stays part of the path).
func fileURI(file, query string) string {
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + query
}

// openSQLite opens the database file at file, named path in messages.
func openSQLite(file, path string, opts Options) (*sqlStore, error) {
	db, err := sql.Open("sqlite", sqliteDSN(file))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxIdleConns(4)
	return &sqlStore{db: db, d: sqliteDialect, path: path, actor: opts.Actor, now: opts.Now}, nil
}

// createFile makes a new store in a temporary file beside path (0600 from
// its first byte; SQLite gives -wal and -shm the same mode), and links it
// into place only once it is complete. Two processes creating the same
// store at once: the first link wins, the other discards its own.
func createFile(ctx context.Context, path string, opts Options) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("create store %s: %w", path, err)
	}
	name := tmp.Name()
	tmp.Close()
	defer func() {
		for _, p := range []string{name, name + "-wal", name + "-shm", name + "-journal"} {
			os.Remove(p)
		}
	}()
	s, err := openSQLite(name, path, opts)
	if err != nil {
		return err
	}
	var meta map[string]string
	err = s.write(ctx, func(tx *sql.Tx) error {
		meta, err = s.create(ctx, tx, opts)
		return err
	})
	if cerr := s.db.Close(); err == nil && cerr != nil {
		err = s.wrap("close the new store", cerr)
	}
	if err != nil {
		return err
	}
	if err := os.Link(name, path); err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it first: use theirs
			if meta["key_source"] == KeySourceFile {
				os.Remove(keyFilePath(opts.ConfigDir, meta["store_id"]))
			}
			return nil
		}
		return fmt.Errorf("create store %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// init reads the store's identity, loads its key and migrates the schema,
// in one write transaction so two processes never migrate at once. Most
// opens change nothing: on SQLite they only read, outside any transaction
// (a WAL reader takes no lock), so a process that holds the write lock — or
// froze holding it — does not stop others from opening the store.
func (s *sqlStore) init(ctx context.Context, opts Options) error {
	if s.d.name == "sqlite" {
		if opened, err := s.openUnchanged(ctx, opts); opened || err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if s.d.lockInit != "" {
			if _, err := s.exec(ctx, tx, s.d.lockInit); err != nil {
				return s.wrap("lock for opening", err)
			}
		}
		hasMeta, err := s.hasTable(ctx, tx, "meta")
		if err != nil {
			return s.wrap("read schema", err)
		}
		created := false
		if !hasMeta && s.d.name == "postgres" {
			// A PostgreSQL database without our tables is a new store
			// (a file is created aside and linked in whole instead).
			if _, err := s.create(ctx, tx, opts); err != nil {
				return err
			}
			created = true
		} else if !hasMeta {
			return fmt.Errorf("%w: %s holds no onramp metadata; refusing to touch it", ErrNotAStore, s.path)
		}
		meta, err := s.readMeta(ctx, tx)
		if err != nil {
			return s.wrap("read metadata", err)
		}
		version, err := strconv.Atoi(meta["schema_version"])
		if err != nil || meta["store_id"] == "" {
			return fmt.Errorf("%w: %s has damaged metadata", ErrCorrupt, s.path)
		}
		if version > SchemaVersion {
			return fmt.Errorf("%w: %s has schema version %d, this onramp knows up to %d; upgrade onramp (a downgrade would lose data)",
				ErrNewerSchema, s.path, version, SchemaVersion)
		}
		if version < SchemaVersion && s.d.name == "postgres" && !created && !opts.Migrate {
			// A shared store is upgraded on purpose, once, not by whichever
			// replica starts first while older ones still use it.
			return fmt.Errorf("%w: %s has schema version %d, this onramp writes %d; upgrade it with `onramp store migrate` (`--dry-run` says what it does)",
				ErrOlderSchema, s.path, version, SchemaVersion)
		}
		s.created = created
		s.storeID = meta["store_id"]
		if err := s.unlock(ctx, meta, opts); err != nil {
			return err
		}
		// Stores made before 0.9 recorded the passphrase command: a store
		// file is data, and a command in it would run as whoever opens it.
		if _, ok := meta["passphrase_command"]; ok {
			if _, err := s.exec(ctx, tx, `DELETE FROM meta WHERE key = 'passphrase_command'`); err != nil {
				return s.wrap("forget the recorded passphrase command", err)
			}
		}
		for v := version; v < SchemaVersion; v++ {
			if _, err := s.exec(ctx, tx, s.d.migrations[v]); err != nil {
				return s.wrap(fmt.Sprintf("migrate schema to version %d", v+1), err)
			}
		}
		if version < SchemaVersion {
			return s.setMeta(ctx, tx, "schema_version", strconv.Itoa(SchemaVersion))
		}
		return nil
	})
}

// openUnchanged opens a store that needs no change (its schema is this
// build's, nothing to forget) by reading alone; false sends every other
// case, and every doubt, to init's write transaction.
func (s *sqlStore) openUnchanged(ctx context.Context, opts Options) (bool, error) {
	if has, err := s.hasTable(ctx, s.db, "meta"); err != nil || !has {
		return false, nil
	}
	meta, err := s.readMeta(ctx, s.db)
	if err != nil {
		return false, nil
	}
	version, err := strconv.Atoi(meta["schema_version"])
	if _, stale := meta["passphrase_command"]; err != nil || stale || meta["store_id"] == "" || version != SchemaVersion {
		return false, nil
	}
	s.storeID = meta["store_id"]
	return true, s.unlock(ctx, meta, opts)
}

// create initialises an empty database: identity, key, key check, schema.
func (s *sqlStore) create(ctx context.Context, tx *sql.Tx, opts Options) (map[string]string, error) {
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
	if _, err := s.exec(ctx, tx, s.d.migrations[0]); err != nil {
		return nil, s.wrap("create schema", err)
	}
	meta["schema_version"] = "1"
	for k, v := range meta {
		if err := s.setMeta(ctx, tx, k, v); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

const keyCheckText = "onramp key check"

// createKey makes the data key of a new store. The passphrase command is the
// operator's explicit choice; otherwise the keyring when it answers, else a
// key file.
func (s *sqlStore) createKey(ctx context.Context, meta map[string]string, opts Options) ([]byte, string, error) {
	id := meta["store_id"]
	if opts.PassphraseCommand != "" {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, "", err
		}
		meta["kdf_salt"] = base64.StdEncoding.EncodeToString(salt)
		k, err := passphraseKey(ctx, opts.PassphraseCommand, salt)
		return k, KeySourcePassphrase, err
	}
	if opts.KeyCommand != "" {
		k, err := commandKey(ctx, opts.KeyCommand)
		return k, KeySourceCommand, err
	}
	if opts.Keyring != nil {
		if k, err := keyringCreate(ctx, opts.Keyring, id); err == nil {
			return k, KeySourceKeyring, nil
		}
	}
	k, err := keyFileCreate(keyFilePath(opts.ConfigDir, id))
	return k, KeySourceFile, err
}

// unlock loads the key the store records and proves it with the key check.
func (s *sqlStore) unlock(ctx context.Context, meta map[string]string, opts Options) error {
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
		// Only the key directory is read, whatever the store says: a store
		// file someone hands you must not choose which file is read.
		path := keyFilePath(opts.ConfigDir, id)
		key, err = keyFileLoad(path)
		if recorded := meta["key_file"]; errors.Is(err, ErrKeyMissing) && recorded != "" && recorded != path {
			err = fmt.Errorf("%w (this store was made with its key at %s: move that file to %s, or set XDG_CONFIG_HOME to the directory that holds onramp/keys)",
				err, textsafe.Line(recorded), path)
		}
		s.key = KeyInfo{Source: KeySourceFile, Location: path,
			Protection: "key file with mode 0600, kept apart from the store",
			ReadableBy: "the OS user " + opts.Actor + " and root; anyone with both this file and the store can read the secrets"}
	case KeySourcePassphrase:
		// The command comes from the person (flag, environment or their own
		// config file), never from the store.
		if opts.PassphraseCommand == "" {
			return fmt.Errorf("%w: %s is sealed with a passphrase: give the command that prints it with --passphrase-command or ONRAMP_PASSPHRASE_COMMAND, or put it in %s (a file of yours, mode 0600)",
				ErrKeyMissing, s.path, PassphraseCommandFile(opts.ConfigDir))
		}
		salt, _ := base64.StdEncoding.DecodeString(meta["kdf_salt"])
		if len(salt) == 0 {
			return fmt.Errorf("%w: %s lost its key-derivation salt", ErrCorrupt, s.path)
		}
		key, err = passphraseKey(ctx, opts.PassphraseCommand, salt)
		from := opts.PassphraseFrom
		if from == "" {
			from = "--passphrase-command or ONRAMP_PASSPHRASE_COMMAND"
		}
		s.key = KeyInfo{Source: KeySourcePassphrase, Location: "a passphrase printed by the command given in " + from,
			Protection: "key derived with Argon2id from a passphrase; nothing on disk opens the store",
			ReadableBy: "whoever can run the passphrase command as " + opts.Actor}
	case KeySourceCommand:
		from := cmp.Or(opts.KeyFrom, "--key-command or ONRAMP_KEY_COMMAND")
		if opts.KeyCommand == "" {
			return fmt.Errorf("%w: %s is sealed with a key from a command (a secrets manager): give it with %s", ErrKeyMissing, s.path, from)
		}
		key, err = commandKey(ctx, opts.KeyCommand)
		s.key = KeyInfo{Source: KeySourceCommand, Location: "a key printed by the command given in " + from,
			Protection: "the key is kept by whatever the command asks (a secrets manager); nothing on disk opens the store",
			ReadableBy: "whoever can run the key command as " + opts.Actor}
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

func (s *sqlStore) readMeta(ctx context.Context, tx querier) (map[string]string, error) {
	rows, err := s.query(ctx, tx, `SELECT key, value FROM meta`)
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

func (s *sqlStore) setMeta(ctx context.Context, tx *sql.Tx, k, v string) error {
	_, err := s.exec(ctx, tx, `INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v)
	return err
}

// storeLockWait is how long a write waits for SQLite's lock: a transaction
// holds it for milliseconds, so this long means a process holding it is
// stopped or frozen, and the caller is told so rather than left waiting.
var storeLockWait = 30 * time.Second

// write runs fn in one IMMEDIATE transaction (the write lock is taken at
// BEGIN, so no reader-turned-writer deadlock) and retries while another
// process holds the lock beyond the busy timeout, until ctx ends or
// storeLockWait passes: "database is locked" never reaches a caller that can
// wait, and one that would wait for ever hears why.
func (s *sqlStore) write(ctx context.Context, fn func(*sql.Tx) error) error {
	began := time.Now()
	for attempt := 0; ; attempt++ {
		err := s.tryWrite(ctx, fn)
		var unknown *commitLost
		switch {
		case err == nil || errors.As(err, &unknown):
			return err
		case isConnLost(err) && attempt < 3:
			// The database went away before the commit (a restart, a
			// failover): nothing was written; try again on a new connection.
		case !isBusy(err):
			return err
		case time.Since(began) > storeLockWait:
			return fmt.Errorf("%w: store %s has been locked by another process for %s (one stopped with ctrl+z, or frozen, holds its write lock; `fuser %s` finds it)",
				ErrStoreLocked, s.path, storeLockWait, s.path)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store is busy: %w", ctx.Err())
		case <-time.After(time.Duration(min(attempt+1, 20)) * 5 * time.Millisecond):
		}
	}
}

func (s *sqlStore) tryWrite(ctx context.Context, fn func(*sql.Tx) error) error {
	// Writers of this process queue here, in order, rather than in SQLite's
	// busy handler, which sleeps in growing steps (up to 100 ms) and so
	// leaves the lock idle while many syncs write their pages.
	if s.d.name == "sqlite" { // PostgreSQL writers run side by side
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		if isConnLost(err) {
			return &commitLost{fmt.Errorf("store %s: the database went away during a commit, so whether the change was made is unknown (check it, e.g. with onramp show): %w", s.path, err)}
		}
		return s.wrap("commit", err)
	}
	return nil
}

// commitLost: the connection broke during COMMIT; the change may or may not
// be in, so it is not tried again blindly.
type commitLost struct{ error }

func (e *commitLost) Unwrap() error { return e.error }

// wrap names the store file and turns SQLite's corruption codes into ErrCorrupt.
func (s *sqlStore) wrap(what string, err error) error {
	if isCorrupt(err) {
		return fmt.Errorf("%w: %s (%s: %v); restore it from a backup", ErrCorrupt, s.path, what, err)
	}
	if isBusy(err) {
		return err // keep the code visible to write's retry
	}
	return fmt.Errorf("store %s: %s: %w", s.path, what, err)
}

// Close releases the database.
func (s *sqlStore) Close() error {
	for _, db := range []*sql.DB{s.riverDB, s.bulkDB} {
		if db != nil {
			db.Close()
		}
	}
	return s.db.Close()
}

// Path is the database file.
// Location is the store file's path, or the database URL without its password.
func (s *sqlStore) Location() string { return s.path }
