package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table prints rows the way gh does: aligned columns under a header on a
// terminal; piped, one tab-separated line per row and no header, so `cut
// -f1` and `while IFS=$'\t' read` get data only. Cells never hold a tab or
// a newline (they are replaced by spaces).
type table struct {
	w     io.Writer
	tw    *tabwriter.Writer
	piped bool
}

func (a *App) newTable(header ...string) *table {
	t := &table{w: a.Out, piped: !isTerminal(a.Out)}
	if !t.piped {
		t.tw = tabwriter.NewWriter(a.Out, 0, 0, 2, ' ', 0)
		t.w = t.tw
		t.row(header...)
	}
	return t
}

// unknown is a cell whose value the source does not say: "?" for a person,
// empty for a script (the convention of tab-separated output).
func (t *table) unknown() string {
	if t.piped {
		return ""
	}
	return "?"
}

func (t *table) row(cells ...string) error {
	for i, c := range cells {
		cells[i] = cellSpaces.Replace(c)
	}
	_, err := fmt.Fprintln(t.w, strings.Join(cells, "\t"))
	return err
}

// cellSpaces keeps a cell on its line and in its column.
var cellSpaces = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func (t *table) flush() error {
	if t.tw != nil {
		return t.tw.Flush()
	}
	return nil
}
