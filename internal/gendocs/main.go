// Command gendocs writes onramp's command reference (Markdown pages and the
// man page) into the directory given: `go generate ./cli` keeps docs/
// current, and a test fails when it is not.
package main

import (
	"fmt"
	"os"

	"github.com/onramp-dev/onramp/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	if err := cli.WriteDocs(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
