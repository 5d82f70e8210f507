// Command onramp onboards managed app connectors: it walks a person from
// "I want our GitLab connected" to a verified, safely stored connection.
package main

import (
	"fmt"
	"os"

	"github.com/onramp-dev/onramp/cli"
	"github.com/onramp-dev/onramp/internal/nodump"
)

func main() {
	// Before any secret is in memory: no core dump may carry one.
	if err := nodump.Protect(); err != nil {
		fmt.Fprintln(os.Stderr, "onramp: could not turn off core dumps:", err)
	}
	os.Exit(cli.Main(os.Args[1:], &cli.App{IO: cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}}))
}
