package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

// PointsInput is what a period's points are computed from: the clock facts (Bulletin), the units'
// marks, the cross-check's conflicts, the findings on site and the configured values.
type PointsInput struct {
	Title     string
	Bulletin  Bulletin
	Roster    []attendance.Person
	Marks     []attendance.DayMark
	Conflicts []attendance.Conflict
	Findings  []attendance.Finding
	Values    attendance.PointValues
}

// Points are the period's points per person, with the reasons.
type Points struct {
	Title string          `json:"title"`
	From  attendance.Date `json:"from"`
	To    attendance.Date `json:"to"`
	Rows  []PersonPoints  `json:"rows"`
}

// PersonPoints is one person's points: the sum and each reason.
type PersonPoints struct {
	UserID  string        `json:"user_id"`
	Name    string        `json:"name"`
	Unit    string        `json:"unit"`
	Post    string        `json:"post"`
	Total   float64       `json:"total"`
	Reasons []PointReason `json:"reasons"`
}

// PointReason is one kind of fact: how many, the value of each and their sum.
type PointReason struct {
	Kind  string  `json:"kind"` // late, serious_late, early, missing, absent_half_day, village_absent, conflict, negative_finding, positive_finding
	What  string  `json:"what"` // 迟到, …
	Count int     `json:"count"`
	Each  float64 `json:"each"`
	Sum   float64 `json:"sum"`
}

// pointKinds are the reasons in the order they are listed, with their Chinese names.
var pointKinds = []struct{ kind, what string }{
	{"late", "迟到"}, {"serious_late", "严重迟到"}, {"early", "早退"}, {"missing", "缺卡"},
	{"absent_half_day", "旷工（半天）"}, {"village_absent", "未在村/缺勤（天）"}, {"conflict", "村记在村却在镇上打卡"},
	{"negative_finding", "督查发现问题"}, {"positive_finding", "督查正面典型"},
}

// BuildPoints computes the points of everyone on the roster in the bulletin's period (and anyone
// the bulletin names who is not on it), in roster order; people with no fact score 0.
func BuildPoints(in PointsInput) Points {
	b := in.Bulletin
	p := Points{Title: in.Title, From: b.From, To: b.To}
	inPeriod := func(d attendance.Date) bool { return !d.Before(b.From) && !d.After(b.CheckedTo) }
	counts := map[string]map[string]int{}
	add := func(user, kind string, n int) {
		if n == 0 {
			return
		}
		if counts[user] == nil {
			counts[user] = map[string]int{}
		}
		counts[user][kind] += n
	}
	rows := map[string]int{}
	row := func(user, name, unit, post string) {
		if _, ok := rows[user]; !ok {
			rows[user] = len(p.Rows)
			p.Rows = append(p.Rows, PersonPoints{UserID: user, Name: name, Unit: unit, Post: post})
		}
	}
	for _, r := range in.Roster {
		if r.Tracking != attendance.TrackExempt && activeIn(r, b.From, b.CheckedTo) {
			row(r.UserID, r.Name, r.Unit, r.Post)
		}
	}
	for _, r := range b.Persons {
		row(r.UserID, r.DisplayName(), r.Unit, r.Post)
		c := r.Counts
		add(r.UserID, "late", c.Late)
		add(r.UserID, "serious_late", c.SeriousLate)
		add(r.UserID, "early", c.Early)
		add(r.UserID, "missing", c.Missing)
		add(r.UserID, "absent_half_day", c.AbsentHalves)
	}
	for _, m := range in.Marks {
		if m.Mark == attendance.MarkAbsent && inPeriod(m.Date) {
			row(m.UserID, m.UserID, m.Unit, "")
			add(m.UserID, "village_absent", 1)
		}
	}
	for _, c := range in.Conflicts {
		if inPeriod(c.Date) {
			row(c.UserID, c.UserID, c.Unit, "")
			add(c.UserID, "conflict", 1)
		}
	}
	for _, f := range in.Findings {
		if f.Revoked() || f.UserID == "" || !inPeriod(f.Date) {
			continue
		}
		row(f.UserID, f.UserID, f.Unit, "")
		add(f.UserID, string(f.Kind)+"_finding", 1)
	}
	for i := range p.Rows {
		r := &p.Rows[i]
		for _, k := range pointKinds {
			n := counts[r.UserID][k.kind]
			if n == 0 {
				continue
			}
			each := pointValue(in.Values, k.kind)
			r.Reasons = append(r.Reasons, PointReason{Kind: k.kind, What: k.what, Count: n, Each: each, Sum: each * float64(n)})
			r.Total += each * float64(n)
		}
	}
	return p
}

func pointValue(v attendance.PointValues, kind string) float64 {
	switch kind {
	case "late":
		return v.Late
	case "serious_late":
		return v.SeriousLate
	case "early":
		return v.Early
	case "missing":
		return v.Missing
	case "absent_half_day":
		return v.AbsentHalfDay
	case "village_absent":
		return v.VillageAbsent
	case "conflict":
		return v.Conflict
	case "negative_finding":
		return v.NegativeFinding
	case "positive_finding":
		return v.PositiveFinding
	}
	return 0
}

// ReasonsText is the reasons as one line: "迟到3次×-0.5=-1.5；缺卡1次×-0.5=-0.5".
func (r PersonPoints) ReasonsText() string {
	s := ""
	for i, x := range r.Reasons {
		if i > 0 {
			s += "；"
		}
		s += fmt.Sprintf("%s%d次×%s=%s", x.What, x.Count, num(x.Each), num(x.Sum))
	}
	return s
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// PointsRecords is the points as CSV records: a title line, a header, one person a row.
func PointsRecords(p Points) [][]string {
	recs := [][]string{{p.Title}, {"工号", "姓名", "单位", "职务", "得分", "加减分明细"}}
	for _, r := range p.Rows {
		recs = append(recs, []string{r.UserID, r.Name, r.Unit, r.Post, num(r.Total), r.ReasonsText()})
	}
	return recs
}

// WritePointsCSV writes the points as UTF-8 CSV with a byte-order mark.
func WritePointsCSV(w io.Writer, p Points) error { return writeRecordsCSV(w, PointsRecords(p)) }

// writeRecordsCSV writes records as UTF-8 CSV with a byte-order mark, so that Excel opens the
// Chinese text correctly.
func writeRecordsCSV(w io.Writer, recs [][]string) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.WriteAll(recs); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// WritePointsXLSX writes the points as one sheet.
func WritePointsXLSX(w io.Writer, p Points) error {
	recs := PointsRecords(p)
	body := recs[2:]
	return writeRecordsXLSX(w, "得分", recs[0][0], recs[1], body, []float64{8, 9, 10, 10, 7, 90})
}

func writeRecordsXLSX(w io.Writer, sheet, title string, head []string, rows [][]string, widths []float64) error {
	f := excelize.NewFile()
	defer f.Close()
	var ew errWriter
	ew.do(func() error { return f.SetSheetName("Sheet1", sheet) })
	st, err := newTableStyles(f)
	if err != nil {
		return fmt.Errorf("report: xlsx: styles: %w", err)
	}
	ew.do(func() error { return f.SetCellValue(sheet, "A1", title) })
	ew.do(func() error { return f.SetCellStyle(sheet, "A1", "A1", st.title) })
	ew.do(func() error { return f.MergeCell(sheet, "A1", cell(len(head), 1)) })
	for i, h := range head {
		ew.do(func() error { return f.SetCellValue(sheet, cell(i+1, 2), h) })
	}
	ew.do(func() error { return f.SetCellStyle(sheet, "A2", cell(len(head), 2), st.head) })
	for ri, r := range rows {
		for i, v := range r {
			var val any = v
			if n, err := strconv.ParseFloat(v, 64); err == nil && i > 0 {
				val = n
			}
			ew.do(func() error { return f.SetCellValue(sheet, cell(i+1, 3+ri), val) })
		}
	}
	if len(rows) > 0 {
		ew.do(func() error { return f.SetCellStyle(sheet, "A3", cell(len(head), 2+len(rows)), st.name) })
	}
	for i, wd := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		ew.do(func() error { return f.SetColWidth(sheet, col, col, wd) })
	}
	ew.do(func() error { return setA4Landscape(f, sheet, "$2:$2", false) })
	ew.do(func() error { return f.SetSheetDimension(sheet, "A1:"+cell(len(head), max(2+len(rows), 2))) })
	if ew.err != nil {
		return fmt.Errorf("report: xlsx: %w", ew.err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("report: xlsx: write: %w", err)
	}
	return nil
}
