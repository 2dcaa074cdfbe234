// Package marks reads the attendance a unit without a clock keeps by hand — a village's 附件1
// (「金碧镇包村挂点工作组____月考勤表」, 「_____村（居）委会」, 姓名 · 职务 · a mark for each day 1–31) or a
// station's table in the same layout — as CSV or XLSX, into day marks.
//
// It owns reading the sheet only: storing the marks is internal/store's, the forms are
// internal/report's. A sheet is read whole or refused whole: the first problem is returned as one
// line naming the file, the row and the column, e.g.
//
//	marks 金碧村.xlsx: row 6, column AH (day 32): 32 is not a day 1..31
//
// and no mark of a refused sheet is returned.
package marks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/roster"
)

// ErrBadSheet is wrapped by every error about a sheet's content.
var ErrBadSheet = errors.New("bad marks sheet")

// Sheet is what a marks sheet is read against.
type Sheet struct {
	File   string              // the file name, for errors and DayMark.Source
	Unit   string              // the unit whose sheet it is (punchctl marks import --unit)
	Year   int                 // the month the sheet is for
	Month  time.Month          //
	People []attendance.Person // the roster (any units: the sheet's names are looked up in Unit's)
	Units  []string            // the configured units, to tell a wrong unit from an unknown one
}

var titleMonth = regexp.MustCompile(`(\d{1,2})\s*月考勤表`)

// ParseFile reads a marks sheet by its extension: .csv/.txt (UTF-8 or GB18030) or .xlsx/.xlsm
// (the first sheet).
func ParseFile(path string, s Sheet) ([]attendance.DayMark, error) {
	what := "marks " + path
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("marks: %w", err)
	}
	defer fh.Close()
	var rows []roster.Row
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv", ".txt":
		rows, err = roster.ReadCSVRows(fh, what)
	case ".xlsx", ".xlsm":
		rows, _, err = roster.ReadXLSXRows(fh, what)
	default:
		return nil, fmt.Errorf("%s: %w: %q is not .csv or .xlsx: save it as .xlsx or .csv", what, ErrBadSheet, ext)
	}
	if err != nil {
		return nil, err
	}
	if s.File == "" {
		s.File = path
	}
	return Parse(rows, s)
}

// Parse reads the rows of a marks sheet. Above the header row (the one with 姓名) a title naming the
// month and a village line naming the unit are checked when present; the day numbers 1..31 are in
// the header row or the row under it (附件1 puts 考勤情况记录 above them). Rows under them are people
// until a row starting with 备注 or a signature line; blank rows and blank cells are skipped (blank =
// not recorded). A name must be on the roster of the unit, once.
func Parse(rows []roster.Row, s Sheet) ([]attendance.DayMark, error) {
	fail := func(row, col int, head, format string, a ...any) error {
		where := fmt.Sprintf("marks %s: row %d", s.File, row)
		if col > 0 {
			name, _ := excelize.ColumnNumberToName(col)
			where += ", column " + name
			if head != "" {
				where += " (" + head + ")"
			}
		}
		return fmt.Errorf("%s: %w: %s", where, ErrBadSheet, fmt.Sprintf(format, a...))
	}
	mlen := time.Date(s.Year, s.Month+1, 0, 12, 0, 0, 0, time.UTC).Day()
	hdr := -1
	nameCol, postCol, idCol := -1, -1, -1
	for i, r := range rows {
		for j, c := range r.Cells {
			switch squash(c) {
			case "姓名":
				nameCol = j
			case "职务":
				postCol = j
			case "工号", "考勤号":
				idCol = j
			}
		}
		if nameCol >= 0 {
			hdr = i
			break
		}
	}
	if hdr < 0 {
		return nil, fmt.Errorf("marks %s: %w: no header row with 姓名 (want 姓名, 职务, 1 … 31 as on 附件1)", s.File, ErrBadSheet)
	}
	// Above the header: the title's month and the village line's unit.
	for _, r := range rows[:hdr] {
		for j, c := range r.Cells {
			c = strings.TrimSpace(c)
			if m := titleMonth.FindStringSubmatch(c); m != nil {
				if n, _ := strconv.Atoi(m[1]); n != int(s.Month) {
					return nil, fail(r.Line, j+1, "", "the title %q is for month %d, not %04d-%02d", c, n, s.Year, int(s.Month))
				}
			}
			if u, ok := unitOfLine(c); ok {
				if err := s.checkUnit(u); err != nil {
					return nil, fail(r.Line, j+1, "", "%v", err)
				}
			}
		}
	}
	// Day columns: in the header row or the one under it.
	dayCol := map[int]int{} // column -> day
	first := hdr + 1
	for _, ri := range []int{hdr, hdr + 1} {
		if ri >= len(rows) {
			continue
		}
		found := false
		for j, c := range rows[ri].Cells {
			if j == nameCol || j == postCol || j == idCol {
				continue
			}
			n, err := strconv.Atoi(squash(c))
			if err != nil {
				continue
			}
			found = true
			if n < 1 || n > 31 {
				return nil, fail(rows[ri].Line, j+1, "day "+squash(c), "%d is not a day 1..31", n)
			}
			for col, d := range dayCol {
				if d == n {
					name, _ := excelize.ColumnNumberToName(col + 1)
					return nil, fail(rows[ri].Line, j+1, "day "+squash(c), "day %d is also column %s", n, name)
				}
			}
			dayCol[j] = n
		}
		if found {
			first = ri + 1
			break
		}
	}
	if len(dayCol) == 0 {
		return nil, fail(rows[hdr].Line, 0, "", "no day columns 1..31 in the header row or under it")
	}
	people := map[string][]attendance.Person{}
	byID := map[string]attendance.Person{}
	for _, p := range s.People {
		if p.Unit == s.Unit {
			people[p.Name] = append(people[p.Name], p)
			byID[p.UserID] = p
		}
	}
	cell := func(r roster.Row, j int) string {
		if j < 0 || j >= len(r.Cells) {
			return ""
		}
		return strings.TrimSpace(r.Cells[j])
	}
	var out []attendance.DayMark
	seen := map[string]int{}
	for _, r := range rows[first:] {
		if blank(r.Cells) {
			continue
		}
		lead := ""
		for _, c := range r.Cells {
			if lead = squash(c); lead != "" {
				break
			}
		}
		if strings.HasPrefix(lead, "备注") || strings.Contains(lead, "签字") {
			break
		}
		name := cell(r, nameCol)
		var p attendance.Person
		switch id := cell(r, idCol); {
		case id != "":
			q, ok := byID[id]
			if !ok {
				return nil, fail(r.Line, idCol+1, "工号", "user id %q is not on the roster of %s", id, s.Unit)
			}
			p = q
		case name == "":
			return nil, fail(r.Line, nameCol+1, "姓名", "the name is empty but the row has marks")
		default:
			ps := people[name]
			switch len(ps) {
			case 0:
				return nil, fail(r.Line, nameCol+1, "姓名", "%q is not on the roster of %s", name, s.Unit)
			case 1:
				p = ps[0]
			default:
				ids := make([]string, len(ps))
				for i, q := range ps {
					ids[i] = q.UserID
				}
				return nil, fail(r.Line, nameCol+1, "姓名", "%q is on the roster of %s %d times (user ids %s): add a 工号 column", name, s.Unit, len(ps), strings.Join(ids, ", "))
			}
		}
		if prev, dup := seen[p.UserID]; dup {
			return nil, fail(r.Line, nameCol+1, "姓名", "%s (%s) is already on row %d", p.Name, p.UserID, prev)
		}
		seen[p.UserID] = r.Line
		for j := range r.Cells {
			day, ok := dayCol[j]
			v := cell(r, j)
			if !ok || v == "" {
				continue
			}
			head := "day " + strconv.Itoa(day)
			mk, err := attendance.ParseUnitMark(v)
			if err != nil {
				return nil, fail(r.Line, j+1, head, "mark %q is not one of √ × 假 差 休", v)
			}
			if day > mlen {
				return nil, fail(r.Line, j+1, head, "%04d-%02d has %d days, but day %d is marked %s", s.Year, int(s.Month), mlen, day, mk)
			}
			out = append(out, attendance.DayMark{Unit: s.Unit, UserID: p.UserID,
				Date: attendance.Date{Year: s.Year, Month: s.Month, Day: day}, Mark: mk, Source: filepath.Base(s.File)})
		}
	}
	slices.SortFunc(out, func(a, b attendance.DayMark) int {
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return a.Date.Compare(b.Date)
	})
	return out, nil
}

// unitOfLine reads the unit a village line or a "单位：" line names.
func unitOfLine(c string) (string, bool) {
	c = strings.Trim(strings.TrimSpace(c), "_＿ ")
	if u, ok := strings.CutPrefix(c, "单位："); ok {
		return strings.TrimSpace(u), true
	}
	if u, ok := strings.CutSuffix(c, attendance.VillageSuffix); ok {
		u = strings.Trim(u, "_＿ ")
		return u, u != ""
	}
	return "", false
}

// checkUnit accepts the unit a sheet names when it is s.Unit (a village line "金碧村（居）委会" names
// 金碧村 as well as 金碧), and says whether another one is configured at all.
func (s Sheet) checkUnit(u string) error {
	match := func(name string) bool { return name == u || name == u+"村" || name == u+"社区" }
	if match(s.Unit) {
		return nil
	}
	for _, name := range s.Units {
		if match(name) {
			return fmt.Errorf("the sheet is %s's, not %s's", name, s.Unit)
		}
	}
	return fmt.Errorf("unit %q is not a [[unit]] of the config (known: %s)", u, strings.Join(s.Units, ", "))
}

func squash(s string) string {
	return strings.Join(strings.Fields(s), "")
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
