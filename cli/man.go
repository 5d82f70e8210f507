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
	// .TH title section date source manual: no date (the page changes only
	// with the commands), the version as the source, the manual's name
	// (mango put the description there, and the version in the date).
	out = thLine.ReplaceAllString(out, `.TH ONRAMP 1 "" "onramp `+version.Version+`" "onramp manual"`)
	out = synopsis.ReplaceAllString(out, ".SH SYNOPSIS\n"+synopsisOf(root))
	return strings.ReplaceAll(out, "`", ""), nil // pflag's value-name quotes
}

var (
	thLine   = regexp.MustCompile(`(?m)^\.TH .*$`)
	synopsis = regexp.MustCompile(`(?s)\.SH SYNOPSIS\n.*?(\n\.SH )`)
)

// synopsisOf is every command's usage line (mango's is one generic line).
func synopsisOf(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString(".nf\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Runnable() {
			args := strings.TrimPrefix(c.Use, c.Name())
			b.WriteString(`\fB` + roffEscape(c.CommandPath()) + `\fP` + roffEscape(args) + ` [\fIflags\fP]` + "\n")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	b.WriteString(".fi")
	return b.String() + "$1"
}

// roffEscape keeps text literal in roff: backslashes and hyphens.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

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
