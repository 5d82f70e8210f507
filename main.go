// Command onramp onboards managed app connectors: it walks a person from
// "I want our GitLab connected" to a verified, safely stored connection.
package main

import (
	"os"

	"github.com/onramp-dev/onramp/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], &cli.App{IO: cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}}))
}
