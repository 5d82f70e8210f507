package cli

import (
	"fmt"
	"regexp"
	"strings"

	mcobra "github.com/muesli/mango-cobra"
	"github.com/muesli/roff"
	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/internal/version"
)

func (a *App) newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "man",
		Short: "Print onramp's man page (roff)",
		Long: `Print the onramp(1) man page, generated from the same commands as --help.
docs/onramp.1 is the same page, checked in.`,
		Example: `  onramp man | man -l -
  onramp man > /usr/local/share/man/man1/onramp.1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, nil, func() error {
				page, err := ManPage(cmd.Root())
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(a.Out, page)
				return err
			})
		},
	}
}

// ManPage renders root's man page (section 1). mango writes each line of a
// description as a paragraph and stamps today's date, so descriptions are
// reflowed first and the date replaced by the version: the page changes
// only when the commands do (docs/onramp.1 is checked to be current).
func ManPage(root *cobra.Command) (string, error) {
	reflowLong(root)
	page, err := mcobra.NewManPage(1, root)
	if err != nil {
		return "", fmt.Errorf("man page: %w", err)
	}
	page = page.WithSection("Exit status", "0 ok, 1 failure (for status: something needs attention), 2 usage, 3 not found, 130 aborted.")
	out := page.Build(roff.NewDocument())
	out = thDate.ReplaceAllString(out, `$1"onramp `+version.Version+`"`)
	return strings.ReplaceAll(out, "`", ""), nil // pflag's value-name quotes
}

var thDate = regexp.MustCompile(`(?m)^(\.TH \S+ \d+ )"[^"]*"`)

// reflowLong joins the hand-wrapped lines of every command's description
// into paragraphs; indented lines (argument lists) keep their breaks.
func reflowLong(c *cobra.Command) {
	paras := strings.Split(c.Long, "\n\n")
	for i, p := range paras {
		if !strings.Contains(p, "\n ") && !strings.HasPrefix(p, " ") {
			paras[i] = strings.ReplaceAll(p, "\n", " ")
		}
	}
	c.Long = strings.Join(paras, "\n\n")
	for _, sub := range c.Commands() {
		reflowLong(sub)
	}
}
