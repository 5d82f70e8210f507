// Command gendocs writes onramp's command reference (Markdown pages and the
// man page) into the directory given: `go generate ./cli` keeps docs/
// current, and a test fails when it is not. It lives apart from the cli
// package so the binary does not link the Markdown generator.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra/doc"

	"github.com/onramp-dev/onramp/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	if err := writeDocs(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// writeDocs writes the command reference into dir: one Markdown page per
// command under dir/cli, and the man page dir/onramp.1, both from the
// same commands as --help.
func writeDocs(dir string) error {
	root := cli.NewRoot(cli.DocsApp())
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
	page, err := cli.ManPage(root)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "onramp.1"), []byte(page), 0o644)
}
