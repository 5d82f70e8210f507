package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra/doc"
)

//go:generate go run ../internal/gendocs ../docs

// DocsApp is the App the reference is generated from: a fixed environment,
// so defaults derived from it read the same on every machine.
func DocsApp() *App {
	env := map[string]string{"HOME": "~"}
	return &App{IO: IO{Out: os.Stdout, Err: os.Stderr}, Getenv: func(k string) string { return env[k] }}
}

// WriteDocs writes the command reference into dir: one Markdown page per
// command under dir/cli, and the man page dir/onramp.1, both from the
// same commands as --help.
func WriteDocs(dir string) error {
	a := DocsApp()
	a.setDefaults()
	root := NewRoot(a)
	root.DisableAutoGenTag = true
	md := filepath.Join(dir, "cli")
	if err := os.RemoveAll(md); err != nil {
		return err
	}
	if err := os.MkdirAll(md, 0o755); err != nil {
		return err
	}
	if err := doc.GenMarkdownTree(root, md); err != nil {
		return fmt.Errorf("markdown reference: %w", err)
	}
	page, err := ManPage(root)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "onramp.1"), []byte(page), 0o644)
}
