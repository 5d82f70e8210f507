package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testOpts is a store in a fresh temp dir with its key file beside it.
func testOpts(t testing.TB) Options {
	dir := t.TempDir()
	return Options{Path: filepath.Join(dir, "data", "onramp.db"), ConfigDir: filepath.Join(dir, "config"), Actor: "tester"}
}

func mustOpen(t testing.TB, opts Options) *sqlStore {
	t.Helper()
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*sqlStore)
}

func sample(alias string) *Connection {
	exp := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	c := &Connection{
		Vendor: "gitlab", Alias: alias, BaseURL: "https://gitlab.example.com", AuthMethod: AuthToken,
		Account: Account{ID: "7", Username: "root", Name: "Admin", Admin: true},
		Scopes:  []string{"read_api", "read_user"}, TokenName: "onramp", ExpiresAt: &exp,
		ServerVersion: "17.5.1", ServerEdition: "EE", AccessExpiresAt: &exp,
	}
	c.SetSecret(SecretToken, Secret("glpat-"+alias+"-0123456789abcdef"))
	return c
}

func TestCreateGetFindListUpdateDelete(t *testing.T) {
	forEachBackend(t, testCreateGetFindListUpdateDelete)
}

func testCreateGetFindListUpdateDelete(t *testing.T, opts Options) {
	ctx := context.Background()
	exp := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	s := mustOpen(t, opts)

	c := sample("Prod")
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.Revision != 1 || c.CreatedBy != "tester" {
		t.Fatalf("create did not fill id/revision/actor: %+v", c)
	}
	got, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret(SecretToken).Reveal() != "glpat-Prod-0123456789abcdef" {
		t.Fatalf("secret round trip: %q", got.Secret(SecretToken).Reveal())
	}
	if got.Alias != "Prod" || !got.Account.Admin || got.ExpiresAt == nil || !got.ExpiresAt.Equal(*c.ExpiresAt) ||
		strings.Join(got.Scopes, ",") != "read_api,read_user" || got.ServerEdition != "EE" || got.State != StateConnected ||
		got.AccessExpiresAt == nil || !got.AccessExpiresAt.Equal(exp) {
		t.Fatalf("fields lost: %+v", got)
	}

	// Find is case-insensitive, vendor-scoped or across vendors.
	for _, vendor := range []string{"gitlab", ""} {
		f, err := s.Find(ctx, vendor, "PROD")
		if err != nil || f.ID != c.ID {
			t.Fatalf("Find(%q, PROD) = %v, %v", vendor, f, err)
		}
	}
	if _, err := s.Find(ctx, "gitlab", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find missing: %v", err)
	}
	// Aliases are unique per vendor, case-insensitively, but not across vendors.
	if err := s.Create(ctx, sample("prod")); !errors.Is(err, ErrAliasTaken) {
		t.Fatalf("duplicate alias: %v", err)
	}
	other := sample("prod")
	other.Vendor = "othervendor"
	if err := s.Create(ctx, other); err != nil {
		t.Fatalf("same alias for another vendor: %v", err)
	}
	if _, err := s.Find(ctx, "", "prod"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("ambiguous alias: %v", err)
	}

	list, err := s.List(ctx, ListOptions{})
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %d, %v", len(list), err)
	}
	if list[0].Secrets != nil {
		t.Fatal("List must not unseal secrets")
	}
	if l, _ := s.List(ctx, ListOptions{Vendor: "gitlab"}); len(l) != 1 {
		t.Fatalf("List vendor filter: %d", len(l))
	}

	up, err := s.Update(ctx, c.ID, func(c *Connection) error {
		c.State = StateNeedsReconnect
		c.StateReason = "token expired"
		c.SetSecret(SecretToken, "glpat-rotated-0123456789abcdef")
		c.SetSecret(SecretRefreshToken, "refresh-0123456789abcdef")
		c.Revision = 99 // the store's, ignored
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.Revision != 2 || up.State != StateNeedsReconnect {
		t.Fatalf("update result: %+v", up)
	}
	got, _ = s.Get(ctx, c.ID)
	if got.Secret(SecretToken).Reveal() != "glpat-rotated-0123456789abcdef" || got.Secret(SecretRefreshToken) == "" || got.StateReason != "token expired" {
		t.Fatalf("update not stored: %+v", got)
	}
	// A failing fn writes nothing.
	boom := errors.New("boom")
	if _, err := s.Update(ctx, c.ID, func(c *Connection) error { c.Alias = "changed"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if got, _ := s.Get(ctx, c.ID); got.Alias != "Prod" || got.Revision != 2 {
		t.Fatalf("failed update leaked: %+v", got)
	}
	// Removing a secret deletes it.
	s.Update(ctx, c.ID, func(c *Connection) error { c.SetSecret(SecretRefreshToken, ""); return nil })
	if got, _ := s.Get(ctx, c.ID); got.Secret(SecretRefreshToken) != "" {
		t.Fatal("secret not removed")
	}
	if _, err := s.Update(ctx, "c_missing", func(*Connection) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}

	if err := s.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.Delete(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	var n int
	s.db.QueryRow(`SELECT count(*) FROM secrets WHERE connection_id = ?`, c.ID).Scan(&n)
	if n != 0 {
		t.Fatalf("secrets outlived their connection: %d", n)
	}
}

func TestAliasValidation(t *testing.T) {
	for alias, ok := range map[string]bool{
		"prod": true, "Prod.EU_1-a": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "has space": false, "ünï": false, "a/b": false,
	} {
		if err := ValidAlias(alias); (err == nil) != ok {
			t.Errorf("ValidAlias(%q) = %v", alias, err)
		}
	}
	s := mustOpen(t, testOpts(t))
	if err := s.Create(context.Background(), sample("bad alias")); err == nil {
		t.Fatal("store accepted an invalid alias")
	}
}

func TestReopenKeepsData(t *testing.T) { forEachBackend(t, testReopenKeepsData) }

func testReopenKeepsData(t *testing.T, opts Options) {
	ctx := context.Background()

	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	info1, _ := s.Info(ctx)
	s.Close()
	s2 := mustOpen(t, opts)
	got, err := s2.Get(ctx, c.ID)
	if err != nil || got.Secret(SecretToken).Reveal() != c.Secret(SecretToken).Reveal() {
		t.Fatalf("reopen: %v %v", got, err)
	}
	info2, _ := s2.Info(ctx)
	if info1.StoreID != info2.StoreID || info2.Connections != 1 || info2.SchemaVersion != SchemaVersion {
		t.Fatalf("info: %+v vs %+v", info1, info2)
	}
	if info2.Key.Source != KeySourceFile || !strings.HasPrefix(info2.Key.Location, opts.ConfigDir) || info2.Key.ReadableBy == "" {
		t.Fatalf("key info: %+v", info2.Key)
	}
}

func TestFilesArePrivate(t *testing.T) {
	opts := testOpts(t)
	s := mustOpen(t, opts)
	s.Create(context.Background(), sample("prod"))
	info, _ := s.Info(context.Background())
	for _, p := range []string{opts.Path, opts.Path + "-wal", info.Key.Location} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o", p, fi.Mode().Perm())
		}
	}
	for _, d := range []string{filepath.Dir(opts.Path), filepath.Dir(info.Key.Location)} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %o", d, fi.Mode().Perm())
		}
	}
}

func TestRefusesReadableFiles(t *testing.T) {
	opts := testOpts(t)
	s := mustOpen(t, opts)
	info, _ := s.Info(context.Background())
	s.Close()

	os.Chmod(opts.Path, 0o644)
	_, err := Open(context.Background(), opts)
	if !errors.Is(err, ErrInsecureMode) || !strings.Contains(err.Error(), "chmod 600 "+opts.Path) {
		t.Fatalf("readable store: %v", err)
	}
	os.Chmod(opts.Path, 0o600)
	os.Chmod(info.Key.Location, 0o640)
	_, err = Open(context.Background(), opts)
	if !errors.Is(err, ErrInsecureMode) || !strings.Contains(err.Error(), "chmod 600 "+info.Key.Location) {
		t.Fatalf("readable key: %v", err)
	}
}

func TestWrongOrMissingKey(t *testing.T) { forEachBackend(t, testWrongOrMissingKey) }

func testWrongOrMissingKey(t *testing.T, opts Options) {
	ctx := context.Background()

	s := mustOpen(t, opts)
	s.Create(ctx, sample("prod"))
	info, _ := s.Info(ctx)
	s.Close()

	// A different key: clear error, and the data is still there afterwards.
	if _, err := keyFileCreate(info.Key.Location); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, opts); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	// No key at all: never a fresh store over the old one.
	os.Remove(info.Key.Location)
	_, err := Open(ctx, opts)
	if !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), info.Key.Location) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := os.Stat(info.Key.Location); err == nil {
		t.Fatal("a new key was made for an existing store")
	}
}

func TestCorruptAndForeignFiles(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	os.MkdirAll(filepath.Dir(opts.Path), 0o700)
	garbage := []byte(strings.Repeat("this is not a database\n", 400))
	os.WriteFile(opts.Path, garbage, 0o600)
	_, err := Open(ctx, opts)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), opts.Path) {
		t.Fatalf("garbage file: %v", err)
	}
	if b, _ := os.ReadFile(opts.Path); string(b) != string(garbage) {
		t.Fatal("the corrupt file was modified")
	}

	// A store whose pages were torn after the header.
	opts2 := testOpts(t)
	s := mustOpen(t, opts2)
	for i := range 50 {
		s.Create(ctx, sample(fmt.Sprintf("c%d", i)))
	}
	s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	s.Close()
	b, _ := os.ReadFile(opts2.Path)
	for i := 4096; i < len(b); i++ {
		b[i] ^= 0x5a
	}
	os.WriteFile(opts2.Path, b, 0o600)
	s2, err := Open(ctx, opts2)
	if err == nil {
		_, err = s2.List(ctx, ListOptions{})
		s2.Close()
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("torn pages: %v", err)
	}

	// A SQLite database that is not ours is left alone.
	opts3 := testOpts(t)
	s3 := mustOpen(t, opts3)
	s3.db.Exec(`DROP TABLE meta`)
	s3.Close()
	if _, err := Open(ctx, opts3); !errors.Is(err, ErrNotAStore) {
		t.Fatalf("foreign database: %v", err)
	}
}

func TestMigratesOlderSchema(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	// Build a version-1 store from the fixture: the schema as it shipped,
	// with a row sealed under this store's key.
	s := mustOpen(t, opts)
	storeID := s.storeID
	sl := s.seal
	s.Close()
	fixture, err := os.ReadFile("testdata/schema_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(opts.Path + "-wal")
	os.Remove(opts.Path + "-shm")
	raw := rawDB(t, opts.Path)
	raw.Exec(`DROP TABLE inventory_users; DROP TABLE inventory_seats; DROP TABLE sync_runs; DROP TABLE secrets; DROP TABLE connections; DROP TABLE process_leases; DROP TABLE notify_targets; DROP TABLE notifications;`)
	if _, err := raw.Exec(string(fixture)); err != nil {
		t.Fatal(err)
	}
	raw.Exec(`UPDATE meta SET value = '1' WHERE key = 'schema_version'`)
	raw.Exec(`INSERT INTO secrets VALUES ('c_old', 'token', 1, ?)`, sl.seal("c_old", "token", []byte("glpat-old-0123456789abcdef")))
	raw.Close()

	s2 := mustOpen(t, opts)
	if s2.storeID != storeID {
		t.Fatal("store id changed")
	}
	c, err := s2.Get(ctx, "c_old")
	if err != nil {
		t.Fatal(err)
	}
	if c.Alias != "legacy" || c.TokenName != "" || c.Secret(SecretToken).Reveal() != "glpat-old-0123456789abcdef" {
		t.Fatalf("migrated row: %+v", c)
	}
	info, _ := s2.Info(ctx)
	if info.SchemaVersion != SchemaVersion {
		t.Fatalf("schema version %d", info.SchemaVersion)
	}
	// The new columns work.
	if _, err := s2.Update(ctx, "c_old", func(c *Connection) error { c.TokenName = "named"; return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	opts := testOpts(t)
	s := mustOpen(t, opts)
	s.db.Exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, fmt.Sprint(SchemaVersion+1))
	s.Close()
	_, err := Open(context.Background(), opts)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade onramp") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestSealedValueCannotMove(t *testing.T) { forEachBackend(t, testSealedValueCannotMove) }

func testSealedValueCannotMove(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	a, b := sample("a"), sample("b")
	s.Create(ctx, a)
	s.Create(ctx, b)
	// Copy a's sealed token onto b: it must not open as b's.
	if _, err := s.exec(ctx, s.db, `UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE connection_id = ?) WHERE connection_id = ?`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, b.ID); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("moved secret opened: %v", err)
	}
	// Nor as another field of the same record.
	s.exec(ctx, s.db, `INSERT INTO secrets SELECT connection_id, 'refresh_token', seal_version, sealed FROM secrets WHERE connection_id = ?`, a.ID)
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("secret moved to another field opened: %v", err)
	}
}

func TestSecretsNeverPrintInFull(t *testing.T) {
	c := sample("prod")
	tok := c.Secret(SecretToken).Reveal()
	j, _ := json.Marshal(c)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Secret(SecretToken)), string(j)} {
		if strings.Contains(out, tok) {
			t.Fatalf("secret printed: %s", out)
		}
	}
	if fp := Fingerprint("glpat-abcdefghijklmnopqrst"); fp != "glpat-…qrst" {
		t.Fatalf("fingerprint: %s", fp)
	}
	if fp := Fingerprint("short"); fp != "…" {
		t.Fatalf("short fingerprint: %s", fp)
	}
}

// fakeKeyring is an in-memory keyring; hang makes every call block.
type fakeKeyring struct {
	mu    sync.Mutex
	items map[string]string
	hang  chan struct{}
}

func (k *fakeKeyring) Get(service, user string) (string, error) {
	if k.hang != nil {
		<-k.hang
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[service+"/"+user]
	if !ok {
		return "", errors.New("secret not found in keyring")
	}
	return v, nil
}

func (k *fakeKeyring) Set(service, user, secret string) error {
	if k.hang != nil {
		<-k.hang
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.items == nil {
		k.items = map[string]string{}
	}
	k.items[service+"/"+user] = secret
	return nil
}

func TestKeyringThenFileFallback(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	kr := &fakeKeyring{}
	opts.Keyring = kr
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	info, _ := s.Info(ctx)
	s.Close()
	if info.Key.Source != KeySourceKeyring || len(kr.items) != 1 {
		t.Fatalf("key not in keyring: %+v", info.Key)
	}
	if _, err := os.Stat(filepath.Join(opts.ConfigDir, "keys")); err == nil {
		t.Fatal("a key file was written although the keyring answered")
	}
	s2 := mustOpen(t, opts)
	if got, err := s2.Get(ctx, c.ID); err != nil || got.Secret(SecretToken) != c.Secret(SecretToken) {
		t.Fatalf("reopen via keyring: %v", err)
	}
	s2.Close()
	// Keyring gone later: a clear error, never a new store.
	opts.Keyring = nil
	if _, err := Open(ctx, opts); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("keyring gone: %v", err)
	}
}

func TestHangingKeyringFallsBackWithinTimeout(t *testing.T) {
	opts := testOpts(t)
	hang := make(chan struct{})
	defer close(hang)
	opts.Keyring = &fakeKeyring{hang: hang}
	start := time.Now()
	s := mustOpen(t, opts)
	info, _ := s.Info(context.Background())
	if info.Key.Source != KeySourceFile {
		t.Fatalf("source %s", info.Key.Source)
	}
	if d := time.Since(start); d > keyringTimeout+2*time.Second {
		t.Fatalf("hanging keyring held Open for %s", d)
	}
}

func TestPassphraseCommand(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	opts.PassphraseCommand = "printf 'correct horse battery staple\\n'"
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	info, _ := s.Info(ctx)
	s.Close()
	if info.Key.Source != KeySourcePassphrase {
		t.Fatalf("source %s", info.Key.Source)
	}
	if _, err := os.Stat(filepath.Join(opts.ConfigDir, "keys")); err == nil {
		t.Fatal("a key file was written for a passphrase store")
	}
	s2 := mustOpen(t, opts)
	if got, err := s2.Get(ctx, c.ID); err != nil || got.Secret(SecretToken) != c.Secret(SecretToken) {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
	opts.PassphraseCommand = "echo wrong"
	if _, err := Open(ctx, opts); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	opts.PassphraseCommand = "true"
	if _, err := Open(ctx, opts); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("empty passphrase: %v", err)
	}
}

func TestDefaultPaths(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ONRAMP_STORE": "/x/s.db", "XDG_DATA_HOME": "/d"}, "/x/s.db"},
		{map[string]string{"XDG_DATA_HOME": "/d", "HOME": "/h"}, "/d/onramp/onramp.db"},
		{map[string]string{"HOME": "/h"}, "/h/.local/share/onramp/onramp.db"},
	}
	for _, c := range cases {
		if got := DefaultPath(env(c.env)); got != c.want {
			t.Errorf("DefaultPath(%v) = %s, want %s", c.env, got, c.want)
		}
	}
	if got := DefaultConfigDir(env(map[string]string{"HOME": "/h"})); got != "/h/.config/onramp" {
		t.Errorf("config dir %s", got)
	}
	if got := DefaultConfigDir(env(map[string]string{"XDG_CONFIG_HOME": "/c"})); got != "/c/onramp" {
		t.Errorf("config dir %s", got)
	}
	if SystemKeyring(env(map[string]string{})) != nil {
		t.Error("keyring offered without a D-Bus session")
	}
}

func TestActorFromContext(t *testing.T) { forEachBackend(t, testActorFromContext) }

func testActorFromContext(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(WithActor(ctx, "ssh:SHA256:abc"), c)
	up, _ := s.Update(WithActor(ctx, "ssh:SHA256:def"), c.ID, func(*Connection) error { return nil })
	if c.CreatedBy != "ssh:SHA256:abc" || up.UpdatedBy != "ssh:SHA256:def" || up.CreatedBy != "ssh:SHA256:abc" {
		t.Fatalf("actors: %s %s %s", c.CreatedBy, up.CreatedBy, up.UpdatedBy)
	}
}

// One parser for store locations: PostgreSQL URLs in any case, file paths,
// and nothing else that looks like a URL (never a file named after it).
func TestParseLocation(t *testing.T) {
	for raw, want := range map[string]string{
		"POSTGRES://onramp@db/onramp":     "postgres://onramp@db/onramp",
		"PostgreSQL://onramp@db/onramp":   "postgresql://onramp@db/onramp",
		"postgres:///onramp?host=/run/pg": "postgres:///onramp?host=/run/pg",
		"/var/lib/onramp/onramp.db":       "/var/lib/onramp/onramp.db",
		"./onramp.db":                     "./onramp.db",
		"onramp.db":                       "onramp.db",
		"postgres-backup.db":              "postgres-backup.db",
		`C:\Users\op\onramp.db`:           `C:\Users\op\onramp.db`,
		"data/postgres/onramp.db":         "data/postgres/onramp.db",
	} {
		if got, err := ParseLocation(raw); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"postgres:/onramp:secret@db/onramp", "postgresql//onramp:secret@db/onramp", "postgres//onramp:secret@db",
		"postgres:onramp:secret@db", "POSTGRESQL:/onramp:secret@db", "mysql://onramp:secret@db/onramp", "file:/tmp/onramp.db", "pg://onramp:secret@db"} {
		_, err := ParseLocation(raw)
		if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "postgres://USER@HOST/DATABASE") {
			t.Errorf("%q: %v", raw, err)
		}
	}
	// Opening one creates nothing.
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	if _, err := Open(context.Background(), Options{Path: "postgresql//u:secret@db/x", ConfigDir: filepath.Join(dir, "config")}); err == nil {
		t.Fatal("opened a mistyped URL")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("made %v", entries)
	}
}

// Commands onramp runs (key and passphrase commands) get no database
// password in their environment.
func TestChildEnvHasNoDatabasePassword(t *testing.T) {
	env := childEnv([]string{"HOME=/h", "PGPASSWORD=pw1", "ONRAMP_STORE=postgres://onramp:pw2@db/onramp", "PATH=/bin"})
	joined := strings.Join(env, " ")
	if strings.Contains(joined, "pw1") || strings.Contains(joined, "pw2") || !strings.Contains(joined, "ONRAMP_STORE=postgres://onramp:xxxxx@db/onramp") || len(env) != 3 {
		t.Fatalf("%v", env)
	}
}
