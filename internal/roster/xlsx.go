package roster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

// ErrUnsupportedFormat is returned by ParseFile for a file that is neither CSV nor XLSX.
var ErrUnsupportedFormat = errors.New("unsupported roster format")

// ParseXLSX reads a roster from the first sheet of an XLSX workbook. The header row is the first row
// with at least two recognised column names, so a title row ("金碧镇干部职工花名册") or a blank row
// above it is skipped. Cells are read as Excel shows them (a user id formatted "0012" stays "0012");
// from/to cells that hold Excel dates are read as dates. Errors name the file, the sheet and the row:
// "roster 花名册.xlsx[Sheet1]:7: bad roster: duplicate user_id ...".
func ParseXLSX(r io.Reader, name string) ([]attendance.Person, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("roster %s: %w: not an XLSX workbook: %v", name, ErrBadRoster, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("roster %s: %w: the workbook has no sheet", name, ErrBadRoster)
	}
	sheet := sheets[0]
	where := name + "[" + sheet + "]"
	shown, err := f.GetRows(sheet)
	if err != nil {
		return nil, fmt.Errorf("roster %s: read sheet: %w", where, err)
	}
	raw, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("roster %s: read sheet: %w", where, err)
	}
	rows := make([]Row, len(shown))
	for i, cells := range shown {
		rows[i] = Row{Line: i + 1, Cells: cells} // GetRows keeps blank rows, so index+1 is the sheet row
	}
	h := headerRow(rows)
	if h < 0 {
		return Parse(rows, where) // no header anywhere: Parse names the first row and the columns wanted
	}
	for j, c := range rows[h].Cells {
		if fl, ok := lookupHeader(c); !ok || (fl != fFrom && fl != fTo) {
			continue
		}
		for i := h + 1; i < len(rows); i++ {
			if j >= len(rows[i].Cells) || i >= len(raw) || j >= len(raw[i]) {
				continue
			}
			if d, ok := excelDate(raw[i][j], f); ok {
				rows[i].Cells[j] = d
			}
		}
	}
	return Parse(rows[h:], where)
}

// headerRow is the index of the first row naming at least two known columns, or -1.
func headerRow(rows []Row) int {
	for i, r := range rows {
		n := 0
		for _, c := range r.Cells {
			if _, ok := lookupHeader(c); ok {
				n++
			}
		}
		if n >= 2 {
			return i
		}
	}
	return -1
}

// excelDate turns a raw date serial ("44270") into YYYY-MM-DD.
func excelDate(raw string, f *excelize.File) (string, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || v < 1 || v > 2958465 {
		return "", false
	}
	t, err := excelize.ExcelDateToTime(v, date1904(f))
	if err != nil {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

func date1904(f *excelize.File) bool {
	p, err := f.GetWorkbookProps()
	return err == nil && p.Date1904 != nil && *p.Date1904
}

// ParseFile reads a roster file, choosing the format by its extension: .csv or .txt (CSV, UTF-8 or
// GB18030) and .xlsx or .xlsm (the first sheet). Anything else, including the old binary .xls, is an
// error that says what to save it as.
func ParseFile(path string) ([]attendance.Person, error) {
	ext := strings.ToLower(filepath.Ext(path))
	var parse func(io.Reader, string) ([]attendance.Person, error)
	switch ext {
	case ".csv", ".txt":
		parse = ParseCSV
	case ".xlsx", ".xlsm":
		parse = ParseXLSX
	default:
		return nil, fmt.Errorf("roster %s: %w %q: save it as .xlsx or .csv", path, ErrUnsupportedFormat, ext)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	defer fh.Close()
	return parse(fh, path)
}

// ReadXLSXRows reads the first sheet of an XLSX workbook into rows numbered as the sheet numbers
// them, cells as Excel shows them. It returns the sheet's name for error messages; what prefixes
// its own errors ("marks 金碧村.xlsx").
func ReadXLSXRows(r io.Reader, what string) ([]Row, string, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, "", fmt.Errorf("%s: not an XLSX workbook: %v", what, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, "", fmt.Errorf("%s: the workbook has no sheet", what)
	}
	shown, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, "", fmt.Errorf("%s[%s]: read sheet: %w", what, sheets[0], err)
	}
	rows := make([]Row, len(shown))
	for i, cells := range shown {
		rows[i] = Row{Line: i + 1, Cells: cells}
	}
	return rows, sheets[0], nil
}
