package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A store file is data: one that records a passphrase command (as stores
// made before this release did, or as a hostile one would) never runs it.
func TestStoreNeverRunsARecordedCommand(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	opts.PassphraseCommand = "printf 'correct horse battery staple'"
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	s.Close()

	pwned := filepath.Join(t.TempDir(), "pwned")
	raw := rawDB(t, opts.Path)
	if _, err := raw.Exec(`INSERT INTO meta(key, value) VALUES('passphrase_command', ?)`, "touch "+pwned+"; printf 'correct horse battery staple'"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	opts.PassphraseCommand = ""
	_, err := Open(ctx, opts)
	if !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), "--passphrase-command") {
		t.Fatalf("open without a command: %v", err)
	}
	if strings.Contains(err.Error(), "touch") || strings.Contains(err.Error(), "printf") {
		t.Fatalf("the error shows a command: %v", err)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the command recorded in the store was run")
	}

	opts.PassphraseCommand, opts.PassphraseFrom = "printf 'correct horse battery staple'", "--passphrase-command"
	s2 := mustOpen(t, opts)
	info, _ := s2.Info(ctx)
	if strings.Contains(info.Key.Location, "printf") || !strings.Contains(info.Key.Location, "--passphrase-command") {
		t.Fatalf("store info shows %q", info.Key.Location)
	}
	var n int
	s2.db.QueryRow(`SELECT count(*) FROM meta WHERE key = 'passphrase_command'`).Scan(&n)
	if n != 0 {
		t.Fatal("the recorded command was kept")
	}
	if got, err := s2.Get(ctx, c.ID); err != nil || got.Secret(SecretToken) != c.Secret(SecretToken) {
		t.Fatalf("read back: %v", err)
	}
	s2.Close()
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the command recorded in the store was run")
	}
}

// The store's key_file entry is never followed: only the key directory is read.
func TestStoreReadsKeysOnlyFromTheKeyDirectory(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	s := mustOpen(t, opts)
	id := s.storeID
	s.Close()
	standard := keyFilePath(opts.ConfigDir, id)
	elsewhere := filepath.Join(t.TempDir(), "planted.key")
	b, _ := os.ReadFile(standard)
	os.WriteFile(elsewhere, b, 0o600)
	os.Remove(standard)
	raw := rawDB(t, opts.Path)
	raw.Exec(`INSERT INTO meta(key, value) VALUES('key_file', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, elsewhere)
	raw.Close()
	_, err := Open(ctx, opts)
	if !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), standard) || !strings.Contains(err.Error(), "move that file") {
		t.Fatalf("key_file followed or not explained: %v", err)
	}
	// Put back where onramp looks, it opens.
	os.Rename(elsewhere, standard)
	mustOpen(t, opts).Close()
}

func TestEmptyStoreFileIsRefused(t *testing.T) {
	opts := testOpts(t)
	os.MkdirAll(filepath.Dir(opts.Path), 0o700)
	if err := os.WriteFile(opts.Path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), opts)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), opts.Path) {
		t.Fatalf("zero-byte store: %v", err)
	}
	if fi, _ := os.Stat(opts.Path); fi.Size() != 0 {
		t.Fatal("the empty file was written to")
	}
	if _, err := os.Stat(filepath.Join(opts.ConfigDir, "keys")); err == nil {
		t.Fatal("a key was made for a refused store")
	}
}

// Many openers of one new store at once: one store, one key, every opener
// on it, nothing half-made left behind.
func TestConcurrentCreationMakesOneStore(t *testing.T) {
	opts := testOpts(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), opts)
			if err != nil {
				errs[i] = err
				return
			}
			ids[i] = s.(*sqlStore).storeID
			s.Close()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("opener %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Fatalf("two stores made: %s and %s", ids[0], ids[i])
		}
	}
	keys, _ := os.ReadDir(filepath.Join(opts.ConfigDir, "keys"))
	if len(keys) != 1 {
		t.Fatalf("%d key files left", len(keys))
	}
	left, _ := os.ReadDir(filepath.Dir(opts.Path))
	for _, e := range left {
		if strings.Contains(e.Name(), ".new-") {
			t.Fatalf("half-made store left: %s", e.Name())
		}
	}
}

func TestPassphraseCommandFileMustBeMine(t *testing.T) {
	dir := t.TempDir()
	if cmd, err := ReadPassphraseCommand(dir); cmd != "" || err != nil {
		t.Fatalf("no file: %q %v", cmd, err)
	}
	path := PassphraseCommandFile(dir)
	os.WriteFile(path, []byte("pass show onramp\n"), 0o644)
	if _, err := ReadPassphraseCommand(dir); !errors.Is(err, ErrInsecureMode) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("readable by others: %v", err)
	}
	os.Chmod(path, 0o600)
	if cmd, err := ReadPassphraseCommand(dir); cmd != "pass show onramp" || err != nil {
		t.Fatalf("private file: %q %v", cmd, err)
	}
	os.Remove(path)
	target := filepath.Join(t.TempDir(), "cmd")
	os.WriteFile(target, []byte("echo x"), 0o600)
	os.Symlink(target, path)
	if _, err := ReadPassphraseCommand(dir); !errors.Is(err, ErrInsecureMode) {
		t.Fatalf("symlink: %v", err)
	}
}
