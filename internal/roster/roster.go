// Package roster reads the list of people who must punch (and how they are tracked) from the
// tables the office keeps: CSV here; other formats (XLSX) turn their sheet into Rows and call Parse.
//
// Headers are matched through one table of aliases, English (user_id,name,post,unit,tracking) and
// Chinese (工号,姓名,职务,单位,考勤方式); columns it does not know (序号, 备注, …) are ignored.
// Every error names the file and the line (or sheet row).
//
// It owns parsing only: storing the roster is internal/store's, judging is internal/rules'.
package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/jinbi/punchd/internal/attendance"
)

// ErrBadRoster is wrapped by every error about a roster's content.
var ErrBadRoster = errors.New("bad roster")

// Row is one row of a roster table: its cells and where it came from (the line of a CSV file, the
// row number of a sheet), for error messages.
type Row struct {
	Line  int
	Cells []string
}

// field is a Person field a column fills.
type field int

const (
	fUserID field = iota
	fName
	fPost
	fUnit
	fTracking
	fFrom
	fTo
)

// columns maps each field to its canonical English header and the aliases accepted for it
// (compared after trimming, case-insensitively). Required columns must be in the header (their
// cells may be empty: an empty name is filled from the clock, an empty tracking means clock).
var columns = []struct {
	field    field
	header   string
	aliases  []string
	required bool
}{
	{fUserID, "user_id", []string{"user_id", "userid", "user id", "id", "pin", "工号", "考勤号", "考勤号码", "用户编号", "人员编号", "编号"}, true},
	{fName, "name", []string{"name", "姓名", "名字"}, true},
	{fPost, "post", []string{"post", "position", "职务", "职位"}, true},
	{fUnit, "unit", []string{"unit", "department", "单位", "部门", "所在单位"}, true},
	{fTracking, "tracking", []string{"tracking", "考勤方式", "考勤类型"}, true},
	{fFrom, "from", []string{"from", "start", "起始日期", "开始日期"}, false},
	{fTo, "to", []string{"to", "end", "截止日期", "结束日期"}, false},
}

func lookupHeader(h string) (field, bool) {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	for _, c := range columns {
		for _, a := range c.aliases {
			if h == a {
				return c.field, true
			}
		}
	}
	return 0, false
}

// ParseCSV reads a roster CSV: a header row, then one person a row. The file may be UTF-8 (with
// or without a byte-order mark) or GB18030/GBK, as Excel saves it on a Chinese system. Fields may
// be separated by commas or, if the header has none, by tabs or semicolons.
func ParseCSV(r io.Reader, name string) ([]attendance.Person, error) {
	rows, err := ReadCSVRows(r, "roster "+name)
	if err != nil {
		return nil, err
	}
	return Parse(rows, name)
}

// ReadCSVRows reads an office table saved as CSV into rows numbered by their line, decoding
// GB18030 and dropping a byte-order mark as ParseCSV does. what prefixes its errors ("roster x.csv").
// Other tables the office keeps in the same way (a village's 附件1) are read with it too.
func ReadCSVRows(r io.Reader, what string) ([]Row, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: neither UTF-8 nor GB18030 text", what, ErrBadRoster)
		}
		data = dec
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.Comma = sniffComma(data)
	var rows []Row
	header := -1 // cells in the header row, once read
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w: %v", what, pe.StartLine, ErrBadRoster, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		line, _ := cr.FieldPos(0)
		// A CSV row shorter than its header lost a separator: its cells would land in the wrong
		// columns, or a column would be empty without a word. (A spreadsheet leaves trailing
		// empty cells out; a CSV writes every separator.)
		if header < 0 && !blank(rec) {
			header = len(rec)
		} else if header >= 0 && !blank(rec) && len(rec) < header {
			return nil, fmt.Errorf("%s:%d: %w: %d columns, the header has %d (a missing %q?)", what, line, ErrBadRoster, len(rec), header, string(cr.Comma))
		}
		rows = append(rows, Row{Line: line, Cells: rec})
	}
	return rows, nil
}

func sniffComma(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	for _, c := range []rune{',', '\t', ';'} {
		if bytes.ContainsRune(first, c) {
			return c
		}
	}
	return ','
}

// Parse reads a roster table whose first non-blank row is the header. Blank rows are skipped.
// Errors (missing column, duplicate id, bad tracking or date) name the file and the row's line.
func Parse(rows []Row, name string) ([]attendance.Person, error) {
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("roster %s:%d: %w: %s", name, line, ErrBadRoster, fmt.Sprintf(format, args...))
	}
	i := 0
	for i < len(rows) && blank(rows[i].Cells) {
		i++
	}
	if i == len(rows) {
		return nil, fmt.Errorf("roster %s: %w: no header row (want %s)", name, ErrBadRoster, wantHeader())
	}
	hdr := rows[i]
	col := map[field]int{}
	for j, h := range hdr.Cells {
		f, ok := lookupHeader(h)
		if !ok {
			continue
		}
		if k, dup := col[f]; dup {
			return nil, fail(hdr.Line, "columns %d (%q) and %d (%q) are both %s", k+1, hdr.Cells[k], j+1, h, columns[f].header)
		}
		col[f] = j
	}
	for _, c := range columns {
		if _, ok := col[c.field]; c.required && !ok {
			return nil, fail(hdr.Line, "missing column %s (header is %q; want %s)", c.header, strings.Join(hdr.Cells, ","), wantHeader())
		}
	}
	cell := func(r Row, f field) string {
		j, ok := col[f]
		if !ok || j >= len(r.Cells) {
			return ""
		}
		return strings.TrimSpace(r.Cells[j])
	}

	var out []attendance.Person
	seen := map[string]int{}
	for _, r := range rows[i+1:] {
		if blank(r.Cells) {
			continue
		}
		p := attendance.Person{
			UserID: cell(r, fUserID),
			Name:   cell(r, fName),
			Post:   cell(r, fPost),
			Unit:   cell(r, fUnit),
		}
		if p.UserID == "" {
			return nil, fail(r.Line, "user_id is empty")
		}
		if first, dup := seen[p.UserID]; dup {
			return nil, fail(r.Line, "duplicate user_id %q (first on line %d)", p.UserID, first)
		}
		seen[p.UserID] = r.Line
		t, err := attendance.ParseTracking(cell(r, fTracking))
		if err != nil {
			return nil, fail(r.Line, "%s", strings.TrimPrefix(err.Error(), "attendance: "))
		}
		p.Tracking = t
		for _, d := range []struct {
			f   field
			dst *attendance.Date
		}{{fFrom, &p.From}, {fTo, &p.To}} {
			s := cell(r, d.f)
			if s == "" {
				continue
			}
			v, err := attendance.ParseDate(strings.ReplaceAll(s, "/", "-"))
			if err != nil {
				return nil, fail(r.Line, "%s %q is not a date YYYY-MM-DD", columns[d.f].header, s)
			}
			*d.dst = v
		}
		if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
			return nil, fail(r.Line, "to %s is before from %s", p.To, p.From)
		}
		out = append(out, p)
	}
	return out, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func wantHeader() string {
	var en, zh []string
	for _, c := range columns[:5] {
		en = append(en, c.header)
	}
	for _, c := range columns[:5] {
		for _, a := range c.aliases {
			if a[0] >= 0x80 {
				zh = append(zh, a)
				break
			}
		}
	}
	return strings.Join(en, ",") + " or " + strings.Join(zh, ",")
}
