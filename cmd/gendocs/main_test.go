package main

import (
	"os"
	"path/filepath"
	"testing"
)

// docs/ (the Markdown reference and the man page) is generated from the
// commands; it must be current.
func TestDocsAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := writeDocs(dir); err != nil {
		t.Fatal(err)
	}
	var stale []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		want, _ := os.ReadFile(p)
		if got, err := os.ReadFile(filepath.Join("..", "..", "docs", rel)); err != nil || string(got) != string(want) {
			stale = append(stale, rel)
		}
		return nil
	})
	committed, _ := filepath.Glob(filepath.Join("..", "..", "docs", "cli", "*.md"))
	generated, _ := filepath.Glob(filepath.Join(dir, "cli", "*.md"))
	if len(stale) > 0 || len(committed) != len(generated) {
		t.Fatalf("docs/ is not current (%v; %d pages, %d generated): run go generate ./cli", stale, len(committed), len(generated))
	}
}
