package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// cells measures text as a terminal shows it: a Chinese character takes two columns, which
// text/tabwriter (one column per rune) does not know. Ambiguous-width symbols count as one column
// whatever the locale says, so the output does not depend on the environment.
var cells = &runewidth.Condition{EastAsianWidth: false, StrictEmojiNeutral: true}

// padRight pads s with spaces to width display columns (longer text is left as it is).
func padRight(s string, width int) string { return cells.FillRight(s, width) }

// textTable lays rows out in columns two spaces apart, by display width. The last column is not
// padded, so no line ends in spaces.
type textTable struct {
	w    io.Writer
	rows [][]string
}

func newTextTable(w io.Writer, header ...string) *textTable {
	t := &textTable{w: w}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *textTable) row(cols ...string) { t.rows = append(t.rows, cols) }

// rowf adds a row formatted with fmt, its columns separated by tabs.
func (t *textTable) rowf(format string, a ...any) {
	t.row(strings.Split(fmt.Sprintf(format, a...), "\t")...)
}

// flush writes the rows.
func (t *textTable) flush() error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], cells.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(padRight(c, widths[i]))
			b.WriteString("  ")
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}
