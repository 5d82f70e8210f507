package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/internal/version"
)

func (a *App) newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print onramp's version, commit and Go version",
		Long: `Print onramp's version: the module version it was built at (or the
development version), the VCS commit and whether the tree had changes, and
the Go version. --version says the same.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, &asJSON, func() error {
				if asJSON {
					return writeJSON(a.Out, version.Read())
				}
				_, err := fmt.Fprintln(a.Out, "onramp "+version.String())
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
