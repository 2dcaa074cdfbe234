package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

// SummarySheet is the name of the summary sheet of a set of unit forms.
const SummarySheet = "汇总"

// SummaryHeaders are the columns of the summary by unit.
var SummaryHeaders = []string{"单位", "类别", "人数", "出勤/在村（天）", "缺勤/未在村（天）", "迟到", "早退", "缺卡", "旷工", "外出", "出差", "请假", "核对冲突"}

// UnitSummaryRow is one unit's line of the summary sheet.
type UnitSummaryRow struct {
	Unit      string              `json:"unit"`
	Kind      attendance.UnitKind `json:"kind"`
	People    int                 `json:"people"`
	Present   int                 `json:"present_days"` // ✓ (clock) or √ (marks) days
	Absent    int                 `json:"absent_days"`  // × days (marks)
	Late      int                 `json:"late_days"`
	Early     int                 `json:"early_days"`
	Missing   int                 `json:"missing_days"`
	AbsentCk  int                 `json:"absent_clock_days"` // 旷工 (clock)
	Offsite   int                 `json:"offsite_days"`
	Trip      int                 `json:"trip_days"`
	Leave     int                 `json:"leave_days"`
	Conflicts int                 `json:"conflicts"`
}

func (r UnitSummaryRow) values() []any {
	return []any{r.Unit, r.Kind.KindCN(), r.People, r.Present, r.Absent, r.Late, r.Early, r.Missing, r.AbsentCk, r.Offsite, r.Trip, r.Leave, r.Conflicts}
}

// TableSet is every unit's form of a month (office, stations, villages) and the summary by unit.
type TableSet struct {
	Title   string           `json:"title"`
	Month   Month            `json:"month"`
	Tables  []Table          `json:"tables"`
	Summary []UnitSummaryRow `json:"summary"`
}

// SummaryTitle is the title of the summary sheet. Placeholders: {site} {year} {month}.
const SummaryTitle = "{site}{year}年{month}月各单位考勤汇总"

// BuildTableSet puts the unit forms together with their summary by unit.
func BuildTableSet(site string, m Month, tables []Table) (TableSet, error) {
	title, err := expandTitle(SummaryTitle, site, m, "")
	if err != nil {
		return TableSet{}, err
	}
	s := TableSet{Title: title, Month: m, Tables: tables}
	for _, t := range tables {
		r := UnitSummaryRow{Unit: t.UnitName, Kind: t.Kind, People: len(t.Rows), Conflicts: t.Conflicts}
		for _, row := range t.Rows {
			for _, mk := range row.Marks {
				switch mk {
				case MarkOK, Mark(attendance.MarkPresent):
					r.Present++
				case Mark(attendance.MarkAbsent):
					r.Absent++
				}
			}
			if t.ByMarks {
				v := t.RowTotals(row)
				r.Leave += v[2]
				r.Trip += v[3]
				continue
			}
			r.Late += row.Totals.Late
			r.Early += row.Totals.Early
			r.Missing += row.Totals.Missing
			r.AbsentCk += row.Totals.Absent
			r.Offsite += row.Totals.Offsite
			r.Trip += row.Totals.Trip
			r.Leave += row.Totals.Leave
		}
		s.Summary = append(s.Summary, r)
	}
	return s, nil
}

// sheetName makes a unit name a valid, unique sheet name (at most 31 characters, none of []:*?/\).
func sheetName(name string, used map[string]bool) string {
	r := []rune(strings.Map(func(c rune) rune {
		if strings.ContainsRune(`[]:*?/\`, c) {
			return '_'
		}
		return c
	}, name))
	if len(r) > 28 {
		r = r[:28]
	}
	base := string(r)
	if base == "" {
		base = "单位"
	}
	out := base
	for i := 2; used[out]; i++ {
		out = fmt.Sprintf("%s(%d)", base, i)
	}
	used[out] = true
	return out
}

// WriteTableSetXLSX writes the summary sheet and then one sheet per unit, each sheet one printable
// A4 landscape page.
func WriteTableSetXLSX(w io.Writer, s TableSet) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SummarySheet); err != nil {
		return fmt.Errorf("report: xlsx: name sheet: %w", err)
	}
	if err := fillSummarySheet(f, s); err != nil {
		return fmt.Errorf("report: xlsx: %s: %w", SummarySheet, err)
	}
	used := map[string]bool{SummarySheet: true}
	for _, t := range s.Tables {
		sh := sheetName(t.UnitName, used)
		if _, err := f.NewSheet(sh); err != nil {
			return fmt.Errorf("report: xlsx: sheet %s: %w", sh, err)
		}
		if err := fillTableSheet(f, sh, t); err != nil {
			return fmt.Errorf("report: xlsx: %s: %w", sh, err)
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("report: xlsx: write: %w", err)
	}
	return nil
}

func fillSummarySheet(f *excelize.File, s TableSet) error {
	st, err := newTableStyles(f)
	if err != nil {
		return fmt.Errorf("styles: %w", err)
	}
	sh := SummarySheet
	var ew errWriter
	var used usedRange
	last := len(SummaryHeaders)
	set := func(col, row int, v any, style int) {
		used.add(col, row)
		ew.do(func() error { return f.SetCellValue(sh, cell(col, row), v) })
		ew.do(func() error { return f.SetCellStyle(sh, cell(col, row), cell(col, row), style) })
	}
	set(1, 1, s.Title, st.title)
	ew.do(func() error { return f.MergeCell(sh, cell(1, 1), cell(last, 1)) })
	ew.do(func() error { return f.SetRowHeight(sh, 1, 28) })
	for i, h := range SummaryHeaders {
		set(i+1, 2, h, st.head)
	}
	ew.do(func() error { return f.SetRowHeight(sh, 2, 30) })
	var total UnitSummaryRow
	total.Unit = "合计"
	for ri, r := range s.Summary {
		for i, v := range r.values() {
			set(i+1, 3+ri, v, st.total)
		}
		total.People += r.People
		total.Present += r.Present
		total.Absent += r.Absent
		total.Late += r.Late
		total.Early += r.Early
		total.Missing += r.Missing
		total.AbsentCk += r.AbsentCk
		total.Offsite += r.Offsite
		total.Trip += r.Trip
		total.Leave += r.Leave
		total.Conflicts += r.Conflicts
	}
	row := 3 + len(s.Summary)
	for i, v := range total.values() {
		if i == 1 {
			v = ""
		}
		set(i+1, row, v, st.head)
	}
	ew.do(func() error { return f.SetColWidth(sh, "A", "A", 14) })
	ew.do(func() error { return f.SetColWidth(sh, "B", "B", 10) })
	lastCol, _ := excelize.ColumnNumberToName(last)
	ew.do(func() error { return f.SetColWidth(sh, "C", lastCol, 9) })
	ew.do(func() error { return setA4Landscape(f, sh, "", true) })
	ew.do(func() error { return f.SetSheetDimension(sh, used.ref()) })
	return ew.err
}

// AllUnits is the --unit value asking for every unit's form.
const AllUnits = "all"

// UnitForms builds every unit's form of the month, in the units' order, and the summary.
func UnitForms(in TableInput, units []attendance.Unit, marks []attendance.DayMark, conflicts []attendance.Conflict, site string) (TableSet, error) {
	tables := make([]Table, 0, len(units))
	for _, u := range units {
		t, err := BuildUnitTable(UnitInput{Table: in, Unit: u, Marks: marks, Conflicts: conflicts})
		if err != nil {
			return TableSet{}, fmt.Errorf("unit %s: %w", u.Name, err)
		}
		tables = append(tables, t)
	}
	return BuildTableSet(site, in.Month, tables)
}
