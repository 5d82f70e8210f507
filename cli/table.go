package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// table prints rows the way gh does: aligned columns under a header, fitted
// to the terminal's width (the widest columns are cut with "…" rather than
// every line wrapping); piped, one tab-separated line per row and no
// header, so `cut -f1` and `while IFS=$'\t' read` get data only. Cells
// never hold a tab or a newline (they are replaced by spaces).
type table struct {
	w     io.Writer
	piped bool
	width int        // the terminal's columns; 0 when unknown
	rows  [][]string // on a terminal, kept until flush to measure
}

// columnGap is the space between two columns.
const columnGap = 2

func (a *App) newTable(header ...string) *table {
	t := &table{w: a.Out, piped: !isTerminal(a.Out)}
	if !t.piped {
		t.width = terminalWidth(a.Out)
		t.rows = append(t.rows, header)
	}
	return t
}

// terminalWidth is out's width in columns, else $COLUMNS, else 0.
func terminalWidth(out io.Writer) int {
	if f, ok := out.(*os.File); ok {
		if w, _, err := term.GetSize(f.Fd()); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
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
	if !t.piped {
		t.rows = append(t.rows, cells)
		return nil
	}
	_, err := fmt.Fprintln(t.w, strings.Join(cells, "\t"))
	return err
}

// cellSpaces keeps a cell on its line and in its column.
var cellSpaces = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func (t *table) flush() error {
	if t.piped || len(t.rows) == 0 {
		return nil
	}
	widths := fitColumns(columnWidths(t.rows), t.width)
	var b strings.Builder
	for _, r := range t.rows {
		line := ""
		for i, c := range r {
			cell := ansi.Truncate(c, widths[i], "…")
			line += cell
			if i < len(r)-1 {
				line += strings.Repeat(" ", widths[i]-ansi.StringWidth(cell)+columnGap)
			}
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// columnWidths is each column's widest cell.
func columnWidths(rows [][]string) []int {
	var w []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(w) {
				w = append(w, 0)
			}
			w[i] = max(w[i], ansi.StringWidth(c))
		}
	}
	return w
}

// fitColumns narrows the widest column a column at a time until the line
// fits width, so that a long host or name gives way first and columns of
// equal width share the cut; no column goes below 6 ("2026-…" or an alias's
// start stays readable) unless the columns cannot fit otherwise (then an
// even share, at least 3). Width 0 means unknown: nothing is cut.
func fitColumns(w []int, width int) []int {
	if len(w) == 0 {
		return w
	}
	gaps := columnGap * (len(w) - 1)
	floor := min(6, max(3, (width-gaps)/len(w)))
	total := gaps
	for _, c := range w {
		total += c
	}
	for width > 0 && total > width {
		widest := 0
		for i := range w {
			if w[i] > w[widest] {
				widest = i
			}
		}
		if w[widest] <= floor {
			break
		}
		w[widest]--
		total--
	}
	return w
}
