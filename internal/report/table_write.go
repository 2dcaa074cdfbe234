package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

// Font is the font family written into the XLSX files: SimSun (宋体) is what the office's Excel has.
// Where it is missing (LibreOffice on Linux) the CJK glyphs fall back through fontconfig to an installed
// CJK face such as Noto Sans CJK SC; scripts/render-table.sh checks that the result reads right.
const Font = "SimSun"

// TableSheet is the name of the table's sheet.
const TableSheet = "考勤表"

// The layout of the table sheet: A 姓名, B 职务, C… the days, then the totals.
const (
	colName      = 1
	colPost      = 2
	colFirstDay  = 3
	colFirstSum  = colFirstDay + MaxDays
	rowTitle     = 1
	rowUnit      = 2
	rowHead      = 3 // 姓名 职务 考勤情况记录 合计（天）
	rowDayNum    = 4 // 1 … 31 and the totals' names
	rowWeekday   = 5 // 一 … 日
	rowFirstData = 6
)

// TableCols is the number of columns of the table sheet.
var TableCols = colFirstSum + len(TotalHeaders) - 1

// TableFirstDataRow is the 1-based sheet row of the first person (for reading the sheet back).
const TableFirstDataRow = rowFirstData

func cell(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

type tableStyles struct {
	title, unit, unitRight, head, headSmall, name, post, mark, markBad, markOff, total, totalBad, legend, sign int
	fillRest, fillBeyond                                                                                       map[int]int // base style -> greyed variant
}

func newTableStyles(f *excelize.File) (*tableStyles, error) {
	border := []excelize.Border{
		{Type: "left", Color: "000000", Style: 1}, {Type: "right", Color: "000000", Style: 1},
		{Type: "top", Color: "000000", Style: 1}, {Type: "bottom", Color: "000000", Style: 1},
	}
	center := &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	font := func(size float64, bold bool, color string) *excelize.Font {
		return &excelize.Font{Family: Font, Size: size, Bold: bold, Color: color}
	}
	s := &tableStyles{fillRest: map[int]int{}, fillBeyond: map[int]int{}}
	var firstErr error
	mk := func(st *excelize.Style) int {
		id, err := f.NewStyle(st)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return id
	}
	grey := func(st excelize.Style, color string) int {
		st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}
		return mk(&st)
	}
	boxed := func(fnt *excelize.Font, al *excelize.Alignment) excelize.Style {
		return excelize.Style{Font: fnt, Alignment: al, Border: border}
	}
	s.title = mk(&excelize.Style{Font: font(16, true, ""), Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}})
	s.unit = mk(&excelize.Style{Font: font(11, false, ""), Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "center"}})
	s.unitRight = mk(&excelize.Style{Font: font(11, false, ""), Alignment: &excelize.Alignment{Horizontal: "right", Vertical: "center"}})
	s.legend = mk(&excelize.Style{Font: font(9, false, ""), Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "center", WrapText: true}})
	s.sign = mk(&excelize.Style{Font: font(11, false, ""), Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "bottom"}})
	for _, v := range []struct {
		id *int
		st excelize.Style
	}{
		{&s.head, boxed(font(10, true, ""), center)},
		{&s.headSmall, boxed(font(9, false, ""), center)},
		{&s.name, boxed(font(10, false, ""), center)},
		{&s.post, boxed(font(8, false, ""), center)},
		{&s.mark, boxed(font(10, false, ""), center)},
		{&s.markBad, boxed(font(10, true, "C00000"), center)},
		{&s.markOff, boxed(font(10, false, "1F4E79"), center)},
		{&s.total, boxed(font(10, false, ""), center)},
		{&s.totalBad, boxed(font(10, true, "C00000"), center)},
	} {
		*v.id = mk(&v.st)
		s.fillRest[*v.id] = grey(v.st, "EDEDED")
		s.fillBeyond[*v.id] = grey(v.st, "BFBFBF")
	}
	return s, firstErr
}

// WriteTableXLSX writes the table as one printable sheet: A4 landscape, fitted to one page, title rows
// repeated, borders, CJK font, rest days and days past the month's end greyed.
func WriteTableXLSX(w io.Writer, t Table) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", TableSheet); err != nil {
		return fmt.Errorf("report: xlsx: name sheet: %w", err)
	}
	if err := fillTableSheet(f, TableSheet, t); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("report: xlsx: write: %w", err)
	}
	return nil
}

func fillTableSheet(f *excelize.File, sh string, t Table) error {
	st, err := newTableStyles(f)
	if err != nil {
		return fmt.Errorf("styles: %w", err)
	}
	var ew errWriter
	var used usedRange
	heads := t.TotalHeads()
	last := colFirstSum + len(heads) - 1
	lastCol, _ := excelize.ColumnNumberToName(last)
	set := func(col, row int, v any, style int) {
		used.add(col, row)
		ew.do(func() error { return f.SetCellValue(sh, cell(col, row), v) })
		ew.do(func() error { return f.SetCellStyle(sh, cell(col, row), cell(col, row), style) })
	}
	styleRange := func(c1, r1, c2, r2, style int) {
		used.add(c2, r2)
		ew.do(func() error { return f.SetCellStyle(sh, cell(c1, r1), cell(c2, r2), style) })
	}
	merge := func(c1, r1, c2, r2 int) {
		used.add(c2, r2)
		ew.do(func() error { return f.MergeCell(sh, cell(c1, r1), cell(c2, r2)) })
	}

	// Title and unit line.
	set(1, rowTitle, t.Title, st.title)
	merge(1, rowTitle, last, rowTitle)
	set(1, rowUnit, t.Unit, st.unit)
	merge(1, rowUnit, colFirstDay+19, rowUnit)
	set(colFirstDay+20, rowUnit, fmt.Sprintf("%d年%d月", t.Month.Year, int(t.Month.Month)), st.unitRight)
	merge(colFirstDay+20, rowUnit, last, rowUnit)

	// Header: 姓名 职务 考勤情况记录 合计（天）, then the day numbers and the weekdays.
	set(colName, rowHead, "姓名", st.head)
	merge(colName, rowHead, colName, rowWeekday)
	set(colPost, rowHead, "职务", st.head)
	merge(colPost, rowHead, colPost, rowWeekday)
	set(colFirstDay, rowHead, "考勤情况记录", st.head)
	styleRange(colFirstDay, rowHead, colFirstSum-1, rowHead, st.head)
	merge(colFirstDay, rowHead, colFirstSum-1, rowHead)
	set(colFirstSum, rowHead, "合计（天）", st.head)
	styleRange(colFirstSum, rowHead, last, rowHead, st.head)
	merge(colFirstSum, rowHead, last, rowHead)
	styleRange(colName, rowHead, colPost, rowWeekday, st.head)
	for i := range MaxDays {
		c := colFirstDay + i
		base := st.head
		small := st.headSmall
		if i < t.DaysInMonth {
			if !t.DayTypes[i].IsWorking() {
				base, small = st.fillRest[base], st.fillRest[small]
			}
			set(c, rowDayNum, i+1, base)
			set(c, rowWeekday, t.Weekdays[i], small)
		} else {
			styleRange(c, rowDayNum, c, rowWeekday, st.fillBeyond[small])
		}
	}
	for i, h := range heads {
		c := colFirstSum + i
		set(c, rowDayNum, h, st.headSmall)
		merge(c, rowDayNum, c, rowWeekday)
		styleRange(c, rowDayNum, c, rowWeekday, st.headSmall)
	}

	// One row per person.
	for ri, r := range t.Rows {
		row := rowFirstData + ri
		set(colName, row, r.DisplayName(), st.name)
		set(colPost, row, r.Post, st.post)
		for i := range MaxDays {
			c := colFirstDay + i
			style := st.mark
			switch r.Marks[i].Base() {
			case MarkAbsent, MarkMissing, MarkLate, MarkEarly, Mark(attendance.MarkAbsent):
				style = st.markBad
			case MarkOffsite, MarkTrip, MarkLeave:
				style = st.markOff
			}
			switch {
			case i >= t.DaysInMonth:
				style = st.fillBeyond[st.mark]
			case !t.DayTypes[i].IsWorking():
				style = st.fillRest[style]
			}
			set(c, row, string(r.Marks[i]), style)
		}
		for i, v := range t.RowTotals(r) {
			style := st.total
			if v > 0 && (i < 4 && !t.ByMarks || i == 1 && t.ByMarks) {
				style = st.totalBad
			}
			if t.Blank {
				set(colFirstSum+i, row, "", style)
			} else {
				set(colFirstSum+i, row, v, style)
			}
		}
		ew.do(func() error { return f.SetRowHeight(sh, row, 15) })
	}
	end := rowFirstData + len(t.Rows)
	if len(t.Rows) == 0 {
		empty := "（本月无须打卡人员）"
		if t.ByMarks {
			empty = "（本单位本月无在册人员）"
		}
		set(colName, end, empty, st.name)
		styleRange(colName, end, last, end, st.name)
		merge(colName, end, last, end)
		end++
	}

	// Legend and signature lines.
	set(1, end, t.Legend, st.legend)
	merge(1, end, last, end)
	legendRow := end
	ew.do(func() error { return f.SetRowHeight(sh, legendRow, float64(13*(strings.Count(t.Legend, "\n")+1)+13)) })
	for _, n := range t.Notes {
		end++
		set(1, end, n, st.legend)
		merge(1, end, last, end)
		noteRow, lines := end, wrappedLines(n, 150)
		ew.do(func() error { return f.SetRowHeight(sh, noteRow, float64(13*lines+4)) })
	}
	if n := len(t.Signatures); n > 0 {
		row := end + 1
		span := last / n
		for i, s := range t.Signatures {
			c1 := 1 + i*span
			c2 := c1 + span - 1
			if i == n-1 {
				c2 = last
			}
			set(c1, row, s+"：", st.sign)
			if c2 > c1 {
				merge(c1, row, c2, row)
			}
		}
		ew.do(func() error { return f.SetRowHeight(sh, row, 34) })
	}

	// Sizes and print setup.
	ew.do(func() error { return f.SetRowHeight(sh, rowTitle, 28) })
	ew.do(func() error { return f.SetRowHeight(sh, rowUnit, 18) })
	ew.do(func() error { return f.SetRowHeight(sh, rowHead, 16) })
	ew.do(func() error { return f.SetRowHeight(sh, rowDayNum, 15) })
	ew.do(func() error { return f.SetRowHeight(sh, rowWeekday, 14) })
	ew.do(func() error { return f.SetColWidth(sh, "A", "A", 9) })
	ew.do(func() error { return f.SetColWidth(sh, "B", "B", 11) })
	firstDay, _ := excelize.ColumnNumberToName(colFirstDay)
	lastDay, _ := excelize.ColumnNumberToName(colFirstSum - 1)
	firstSum, _ := excelize.ColumnNumberToName(colFirstSum)
	ew.do(func() error { return f.SetColWidth(sh, firstDay, lastDay, 3.4) })
	ew.do(func() error { return f.SetColWidth(sh, firstSum, lastCol, 4.8) })
	ew.do(func() error { return setA4Landscape(f, sh, fmt.Sprintf("$%d:$%d", rowHead, rowWeekday), true) })
	ew.do(func() error {
		return f.SetPanes(sh, &excelize.Panes{Freeze: true, XSplit: colFirstDay - 1, YSplit: rowFirstData - 1,
			TopLeftCell: cell(colFirstDay, rowFirstData), ActivePane: "bottomRight"})
	})
	ew.do(func() error { return f.SetSheetDimension(sh, used.ref()) })
	return ew.err
}

// usedRange is the extent of the cells written to a sheet, for its <dimension>: excelize leaves
// "A1" there, and streaming readers (openpyxl read-only, some importers) trust it and see one cell.
type usedRange struct{ cols, rows int }

// add takes in the cell at col, row (1-based); the range always starts at A1.
func (u *usedRange) add(col, row int) {
	u.cols, u.rows = max(u.cols, col), max(u.rows, row)
}

// ref is the range as "A1:AK48" ("A1" for an empty sheet).
func (u usedRange) ref() string {
	if u.cols <= 1 && u.rows <= 1 {
		return "A1"
	}
	return "A1:" + cell(max(u.cols, 1), max(u.rows, 1))
}

// setA4Landscape sets A4 landscape, one page wide and (onePage) one page tall or as many pages tall
// as needed, small margins, centred, and titleRows repeated at the top of each page.
func setA4Landscape(f *excelize.File, sh, titleRows string, onePage bool) error {
	size, orient, one, fit := 9, "landscape", 1, true // 9 = A4 in SpreadsheetML
	tall := 0                                         // 0 = as many pages as it takes
	if onePage {
		tall = 1
	}
	if err := f.SetPageLayout(sh, &excelize.PageLayoutOptions{Size: &size, Orientation: &orient, FitToWidth: &one, FitToHeight: &tall}); err != nil {
		return fmt.Errorf("page layout: %w", err)
	}
	if err := f.SetSheetProps(sh, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return fmt.Errorf("sheet props: %w", err)
	}
	lr, tb, hf, yes := 0.3, 0.4, 0.2, true
	if err := f.SetPageMargins(sh, &excelize.PageLayoutMarginsOptions{Left: &lr, Right: &lr, Top: &tb, Bottom: &tb, Header: &hf, Footer: &hf, Horizontally: &yes}); err != nil {
		return fmt.Errorf("margins: %w", err)
	}
	if titleRows != "" {
		if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + sh + "'!" + titleRows, Scope: sh}); err != nil {
			return fmt.Errorf("print titles: %w", err)
		}
	}
	return nil
}

// errWriter keeps the first error of a run of excelize calls.
type errWriter struct{ err error }

func (e *errWriter) do(fn func() error) {
	if e.err == nil {
		e.err = fn()
	}
}

// TableRecords is the table as CSV records: title, unit line, header, weekday row, one row per person,
// then the legend and the signature lines. Days past the month's end are empty.
func TableRecords(t Table) [][]string {
	heads := t.TotalHeads()
	width := 2 + MaxDays + len(heads)
	line := func(first ...string) []string {
		r := make([]string, width)
		copy(r, first)
		return r
	}
	recs := [][]string{line(t.Title), line(t.Unit)}
	head := line("姓名", "职务")
	wd := line("", "")
	for i := range MaxDays {
		if i < t.DaysInMonth {
			head[2+i] = strconv.Itoa(i + 1)
			wd[2+i] = t.Weekdays[i]
		}
	}
	copy(head[2+MaxDays:], heads)
	recs = append(recs, head, wd)
	for _, r := range t.Rows {
		rec := line(r.DisplayName(), r.Post)
		for i := range MaxDays {
			rec[2+i] = string(r.Marks[i])
		}
		for i, v := range t.RowTotals(r) {
			if !t.Blank {
				rec[2+MaxDays+i] = strconv.Itoa(v)
			}
		}
		recs = append(recs, rec)
	}
	for _, l := range strings.Split(t.Legend, "\n") {
		recs = append(recs, line(l))
	}
	for _, n := range t.Notes {
		recs = append(recs, line(n))
	}
	for _, s := range t.Signatures {
		recs = append(recs, line(s+"："))
	}
	return recs
}

// WriteTableCSV writes the same grid as the XLSX as UTF-8 CSV with a byte-order mark, so that Excel
// opens the Chinese text correctly.
func WriteTableCSV(w io.Writer, t Table) error { return writeRecordsCSV(w, TableRecords(t)) }

// WriteTableJSON writes the table as one indented JSON object (Table's fields).
func WriteTableJSON(w io.Writer, t Table) error { return WriteJSON(w, t) }

// WriteJSON writes any of the reports (a Table, TableSet, Notice, Points, Year) as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}
