package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Shell completion reads aliases without the key: another machine's key
// directory (empty), a passphrase command that must not run, and a missing
// store file that must not be created.
func TestAliasesWithoutTheKey(t *testing.T) { forEachBackend(t, testAliasesWithoutTheKey) }

func testAliasesWithoutTheKey(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	for _, alias := range []string{"prod", "staging"} {
		if err := s.Create(ctx, sample(alias)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	marker := filepath.Join(t.TempDir(), "RAN")
	keyless := opts
	keyless.ConfigDir, keyless.PassphraseCommand = filepath.Join(t.TempDir(), "empty"), "touch "+marker
	got, err := Aliases(ctx, keyless)
	if err != nil || len(got) != 2 || got[0] != [2]string{"gitlab", "prod"} || got[1][1] != "staging" {
		t.Fatalf("aliases: %v %v", got, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the passphrase command ran")
	}
	if _, err := os.Stat(keyless.ConfigDir); err == nil {
		t.Fatal("a key directory was made")
	}
	if IsPostgres(opts.Path) {
		return
	}
	missing := Options{Path: filepath.Join(t.TempDir(), "none.db")}
	if got, err := Aliases(ctx, missing); err != nil || got != nil {
		t.Fatalf("missing store: %v %v", got, err)
	}
	if _, err := os.Stat(missing.Path); err == nil {
		t.Fatal("a missing store was created")
	}
}
