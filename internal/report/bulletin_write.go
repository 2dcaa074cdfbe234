package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

// HalfDays formats a count of half-days as days: 3 -> "1.5".
func HalfDays(h int) string {
	if h%2 == 0 {
		return strconv.Itoa(h / 2)
	}
	return strconv.Itoa(h/2) + ".5"
}

// DateCN formats a date as the office writes it: "3月2日".
func DateCN(d attendance.Date) string { return fmt.Sprintf("%d月%d日", int(d.Month), d.Day) }

func dateLongCN(d attendance.Date) string {
	return fmt.Sprintf("%d年%d月%d日", d.Year, int(d.Month), d.Day)
}

// Describe says what an anomaly was, in the bulletin's words: "上午上班 迟到12分钟（08:42）".
func (a Anomaly) Describe() string {
	at := ""
	if a.Time != nil {
		at = "（" + a.Time.Format("15:04") + "）"
	}
	what := ""
	switch a.Result {
	case attendance.ResultLate:
		what = fmt.Sprintf("迟到%d分钟", a.Minutes)
	case attendance.ResultSeriousLate:
		what = fmt.Sprintf("严重迟到%d分钟", a.Minutes)
	case attendance.ResultEarly:
		what = fmt.Sprintf("早退%d分钟", a.Minutes)
	case attendance.ResultMissing:
		what = "缺卡"
	case attendance.ResultAbsent:
		switch {
		case a.Slot == "":
			return "旷工（全天）"
		case a.HalfDay && halfOf(a.Slot) == 0:
			return "上午 旷工半天"
		case a.HalfDay:
			return "下午 旷工半天"
		case a.Minutes > 0 && a.Slot.IsIn():
			what = fmt.Sprintf("迟到%d分钟，按旷工半天计", a.Minutes)
		case a.Minutes > 0:
			what = fmt.Sprintf("早退%d分钟，按旷工半天计", a.Minutes)
		default:
			what = "旷工半天"
		}
	default:
		what = string(a.Result)
	}
	return SlotCN(a.Slot) + " " + what + at
}

func describeAll(as []Anomaly) string {
	if len(as) == 0 {
		return "无"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = DateCN(a.Date) + " " + a.Describe()
	}
	return strings.Join(parts, "；")
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

func mdRow(w *bufio.Writer, cells ...string) {
	w.WriteString("|")
	for _, c := range cells {
		w.WriteString(" " + mdCell(c) + " |")
	}
	w.WriteString("\n")
}

func mdHead(w *bufio.Writer, cells ...string) {
	mdRow(w, cells...)
	w.WriteString("|")
	for range cells {
		w.WriteString("---|")
	}
	w.WriteString("\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

// WriteBulletinMarkdown writes the bulletin as Markdown with Chinese headings and tables ready to
// paste into the office's document.
func WriteBulletinMarkdown(w io.Writer, b Bulletin) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n", b.Title)
	period := dateLongCN(b.From) + "至" + dateLongCN(b.To)
	if b.CheckedTo != b.To {
		period += "（统计截至" + dateLongCN(b.CheckedTo) + "）"
	}
	fmt.Fprintf(bw, "- 统计期间：%s，共%d个工作日\n", period, b.WorkingDays)
	if b.Unit != "" {
		fmt.Fprintf(bw, "- 统计单位：%s\n", b.Unit)
	}
	fmt.Fprintf(bw, "- 检查范围：应打卡%d人，共%d人·天\n", b.People, b.PersonDays)
	t := b.Totals
	fmt.Fprintf(bw, "- 总体情况：迟到%d次（另严重迟到%d次），早退%d次，缺卡%d次，旷工%s天；已登记外出、出差、请假、会议%d人·天（不计违纪）",
		t.Late, t.SeriousLate, t.Early, t.Missing, HalfDays(t.AbsentHalves), t.Excused)
	if t.Pending > 0 {
		fmt.Fprintf(bw, "；尚未判定%d人·天", t.Pending)
	}
	bw.WriteString("。\n\n")

	bw.WriteString("## 一、各单位汇总\n\n")
	mdHead(bw, "单位", "人数", "人·天", "迟到", "严重迟到", "早退", "缺卡", "旷工(天)", "已登记(天)", "全勤人数", "违纪人数")
	for _, u := range b.Units {
		c := u.Counts
		mdRow(bw, unitName(u.Unit), itoa(u.People), itoa(u.PersonDays), itoa(c.Late), itoa(c.SeriousLate), itoa(c.Early),
			itoa(c.Missing), HalfDays(c.AbsentHalves), itoa(c.Excused), itoa(u.Clean), itoa(u.Offenders))
	}
	mdRow(bw, "合计", itoa(b.People), itoa(b.PersonDays), itoa(t.Late), itoa(t.SeriousLate), itoa(t.Early),
		itoa(t.Missing), HalfDays(t.AbsentHalves), itoa(t.Excused), itoa(len(b.Clean)), itoa(countOffenders(b)))

	fmt.Fprintf(bw, "\n## 二、全勤人员（%d人）\n\n", len(b.Clean))
	if len(b.Clean) == 0 {
		bw.WriteString("无。\n")
	} else {
		names := make([]string, len(b.Clean))
		for i, p := range b.Clean {
			names[i] = p.DisplayName() + "（" + unitName(p.Unit) + "）"
		}
		bw.WriteString(strings.Join(names, "、") + "。\n")
	}

	bw.WriteString("\n## 三、违纪较重人员\n\n")
	if len(b.Worst) == 0 {
		bw.WriteString("无。\n")
	} else {
		mdHead(bw, "序号", "姓名", "单位", "职务", "旷工(天)", "缺卡", "迟到(分钟)", "严重迟到", "早退(分钟)", "违纪次数")
		for i, p := range b.Worst {
			c := p.Counts
			mdRow(bw, itoa(i+1), p.DisplayName(), unitName(p.Unit), p.Post, HalfDays(c.AbsentHalves), itoa(c.Missing),
				itoa(c.LateMinutes), itoa(c.SeriousLate), itoa(c.EarlyMinutes), itoa(c.Violations()))
		}
	}

	bw.WriteString("\n## 四、个人情况\n\n")
	mdHead(bw, "姓名", "职务", "单位", "工作日", "迟到", "严重迟到", "早退", "缺卡", "旷工(天)", "已登记(天)", "违纪明细")
	for _, p := range b.Persons {
		c := p.Counts
		mdRow(bw, p.DisplayName(), p.Post, unitName(p.Unit), itoa(p.Days), itoa(c.Late), itoa(c.SeriousLate), itoa(c.Early),
			itoa(c.Missing), HalfDays(c.AbsentHalves), itoa(c.Excused), describeAll(p.Anomalies))
	}

	bw.WriteString("\n## 说明\n\n")
	bw.WriteString("1. 迟到、严重迟到、早退、缺卡按次计，迟到不含严重迟到；旷工按半天计（全天未打卡计1天，迟到或早退超过规定时限计半天）。\n")
	bw.WriteString("2. 经党政办登记的外出、出差、请假、会议及补卡不计为违纪，只计入“已登记”天数。\n")
	bw.WriteString("3. 全勤人员：统计期间无任何违纪、无待判定记录且非全部时间请假外出的人员。\n")
	bw.WriteString("4. 违纪较重人员按旷工、缺卡、迟到分钟数、严重迟到次数、早退分钟数依次排序。\n")
	return bw.Flush()
}

func unitName(u string) string {
	if u == "" {
		return "（未填单位）"
	}
	return u
}

func countOffenders(b Bulletin) int {
	n := 0
	for _, p := range b.Persons {
		if p.Counts.Violations() > 0 {
			n++
		}
	}
	return n
}

// Sheet names of the bulletin workbook.
const (
	BulletinSheetSummary = "概况"
	BulletinSheetPersons = "个人情况"
	BulletinSheetDetails = "违纪明细"
	BulletinSheetClean   = "全勤人员"
	BulletinSheetWorst   = "违纪较重"
)

// WriteBulletinXLSX writes the bulletin as a workbook: 概况 (period, totals, units), 个人情况,
// 违纪明细 (one row per unexcused anomaly), 全勤人员 and 违纪较重.
func WriteBulletinXLSX(w io.Writer, b Bulletin) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := fillBulletin(f, b); err != nil {
		return fmt.Errorf("report: bulletin xlsx: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("report: bulletin xlsx: write: %w", err)
	}
	return nil
}

func fillBulletin(f *excelize.File, b Bulletin) error {
	var ew errWriter
	border := []excelize.Border{
		{Type: "left", Color: "000000", Style: 1}, {Type: "right", Color: "000000", Style: 1},
		{Type: "top", Color: "000000", Style: 1}, {Type: "bottom", Color: "000000", Style: 1},
	}
	style := func(st *excelize.Style) int {
		id, err := f.NewStyle(st)
		ew.do(func() error { return err })
		return id
	}
	titleSt := style(&excelize.Style{Font: &excelize.Font{Family: Font, Size: 14, Bold: true}})
	textSt := style(&excelize.Style{Font: &excelize.Font{Family: Font, Size: 10}, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	headSt := style(&excelize.Style{Font: &excelize.Font{Family: Font, Size: 10, Bold: true}, Border: border,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EDEDED"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}})
	cellSt := style(&excelize.Style{Font: &excelize.Font{Family: Font, Size: 10}, Border: border,
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})

	colWidths := map[string][]float64{}
	used := map[string]*usedRange{} // per sheet, for its <dimension>
	sheets := []string{}
	// table writes a header and rows at row r of sheet sh and returns the next free row. Rows are
	// made tall enough for their wrapped text: LibreOffice does not grow them by itself.
	table := func(sh string, r int, head []string, rows [][]any) int {
		used[sh].add(len(head), r+len(rows))
		for _, row := range rows {
			used[sh].add(len(row), r)
		}
		for i, h := range head {
			ew.do(func() error { return f.SetCellValue(sh, cell(i+1, r), h) })
		}
		ew.do(func() error { return f.SetCellStyle(sh, cell(1, r), cell(len(head), r), headSt) })
		for j, row := range rows {
			ew.do(func() error { return f.SetSheetRow(sh, cell(1, r+1+j), &row) })
			lines := 1
			for k, v := range row {
				if s, ok := v.(string); ok && k < len(colWidths[sh]) {
					lines = max(lines, wrappedLines(s, colWidths[sh][k]))
				}
			}
			if lines > 1 {
				ew.do(func() error { return f.SetRowHeight(sh, r+1+j, float64(lines)*13.5+2) })
			}
		}
		if len(rows) > 0 {
			ew.do(func() error { return f.SetCellStyle(sh, cell(1, r+1), cell(len(head), r+len(rows)), cellSt) })
		}
		return r + 1 + len(rows)
	}
	newSheet := func(name string, titleRows string, widths ...float64) {
		if name == BulletinSheetSummary {
			ew.do(func() error { return f.SetSheetName("Sheet1", name) })
		} else {
			ew.do(func() error { _, err := f.NewSheet(name); return err })
		}
		colWidths[name] = widths
		used[name] = &usedRange{}
		sheets = append(sheets, name)
		for i, wd := range widths {
			col, _ := excelize.ColumnNumberToName(i + 1)
			ew.do(func() error { return f.SetColWidth(name, col, col, wd) })
		}
		ew.do(func() error { return setA4Landscape(f, name, titleRows, false) })
	}
	// text writes a line across the sheet's columns, wrapped, on a row tall enough for it.
	text := func(sh string, r int, s string, st int) {
		n, total := len(colWidths[sh]), 0.0
		for _, w := range colWidths[sh] {
			total += w
		}
		used[sh].add(n, r)
		ew.do(func() error { return f.SetCellValue(sh, cell(1, r), s) })
		ew.do(func() error { return f.SetCellStyle(sh, cell(1, r), cell(n, r), st) })
		ew.do(func() error { return f.MergeCell(sh, cell(1, r), cell(n, r)) })
		ew.do(func() error { return f.SetRowHeight(sh, r, float64(wrappedLines(s, total))*16+4) })
	}

	sh := BulletinSheetSummary
	newSheet(sh, "", 16, 8, 9, 8, 10, 8, 8, 10, 11, 10, 10)
	t := b.Totals
	text(sh, 1, b.Title, titleSt)
	period := dateLongCN(b.From) + "至" + dateLongCN(b.To)
	if b.CheckedTo != b.To {
		period += "（统计截至" + dateLongCN(b.CheckedTo) + "）"
	}
	text(sh, 2, fmt.Sprintf("统计期间：%s，共%d个工作日", period, b.WorkingDays), textSt)
	scope := fmt.Sprintf("检查范围：应打卡%d人，共%d人·天", b.People, b.PersonDays)
	if b.Unit != "" {
		scope = "统计单位：" + b.Unit + "；" + scope
	}
	text(sh, 3, scope, textSt)
	text(sh, 4, fmt.Sprintf("总体情况：迟到%d次（另严重迟到%d次），早退%d次，缺卡%d次，旷工%s天；已登记%d人·天（不计违纪）；尚未判定%d人·天",
		t.Late, t.SeriousLate, t.Early, t.Missing, HalfDays(t.AbsentHalves), t.Excused, t.Pending), textSt)
	var urows [][]any
	for _, u := range b.Units {
		c := u.Counts
		urows = append(urows, []any{unitName(u.Unit), u.People, u.PersonDays, c.Late, c.SeriousLate, c.Early, c.Missing,
			float64(c.AbsentHalves) / 2, c.Excused, u.Clean, u.Offenders})
	}
	urows = append(urows, []any{"合计", b.People, b.PersonDays, t.Late, t.SeriousLate, t.Early, t.Missing,
		float64(t.AbsentHalves) / 2, t.Excused, len(b.Clean), countOffenders(b)})
	table(sh, 6, []string{"单位", "人数", "人·天", "迟到", "严重迟到", "早退", "缺卡", "旷工(天)", "已登记(天)", "全勤人数", "违纪人数"}, urows)

	sh = BulletinSheetPersons
	newSheet(sh, "$1:$1", 10, 12, 14, 7, 6, 8, 6, 6, 8, 9, 9, 9, 60)
	var prows [][]any
	for _, p := range b.Persons {
		c := p.Counts
		prows = append(prows, []any{p.DisplayName(), p.Post, unitName(p.Unit), p.Days, c.Late, c.SeriousLate, c.Early, c.Missing,
			float64(c.AbsentHalves) / 2, c.Excused, c.LateMinutes, c.EarlyMinutes, describeAll(p.Anomalies)})
	}
	table(sh, 1, []string{"姓名", "职务", "单位", "工作日", "迟到", "严重迟到", "早退", "缺卡", "旷工(天)", "已登记(天)", "迟到分钟", "早退分钟", "违纪明细"}, prows)

	sh = BulletinSheetDetails
	newSheet(sh, "$1:$1", 10, 14, 12, 11, 11, 10, 8, 9, 36)
	var drows [][]any
	for _, p := range b.Persons {
		for _, a := range p.Anomalies {
			at := ""
			if a.Time != nil {
				at = a.Time.Format("15:04")
			}
			drows = append(drows, []any{p.DisplayName(), unitName(p.Unit), a.Date.String(), SlotCN(a.Slot), resultCN(a), a.Minutes, at, p.UserID, a.Describe()})
		}
	}
	table(sh, 1, []string{"姓名", "单位", "日期", "时段", "情况", "分钟", "打卡时间", "工号", "说明"}, drows)

	sh = BulletinSheetClean
	newSheet(sh, "$1:$1", 12, 14, 16, 8)
	var crows [][]any
	for _, p := range b.Clean {
		crows = append(crows, []any{p.DisplayName(), p.Post, unitName(p.Unit), p.Days})
	}
	table(sh, 1, []string{"姓名", "职务", "单位", "工作日"}, crows)

	sh = BulletinSheetWorst
	newSheet(sh, "$1:$1", 6, 10, 14, 12, 9, 6, 10, 9, 10, 9)
	var wrows [][]any
	for i, p := range b.Worst {
		c := p.Counts
		wrows = append(wrows, []any{i + 1, p.DisplayName(), unitName(p.Unit), p.Post, float64(c.AbsentHalves) / 2, c.Missing,
			c.LateMinutes, c.SeriousLate, c.EarlyMinutes, c.Violations()})
	}
	table(sh, 1, []string{"序号", "姓名", "单位", "职务", "旷工(天)", "缺卡", "迟到(分钟)", "严重迟到", "早退(分钟)", "违纪次数"}, wrows)
	for _, name := range sheets {
		ew.do(func() error { return f.SetSheetDimension(name, used[name].ref()) })
	}
	return ew.err
}

// wrappedLines estimates how many lines s takes in a column of width w (Excel character units, a
// Chinese character being two).
func wrappedLines(s string, w float64) int {
	n := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			n += 2
		} else {
			n++
		}
	}
	if w <= 1 {
		return 1
	}
	return max(1, int(math.Ceil(n*1.05/(w-1))))
}

func resultCN(a Anomaly) string {
	switch a.Result {
	case attendance.ResultLate:
		return "迟到"
	case attendance.ResultSeriousLate:
		return "严重迟到"
	case attendance.ResultEarly:
		return "早退"
	case attendance.ResultMissing:
		return "缺卡"
	case attendance.ResultAbsent:
		return "旷工"
	}
	return string(a.Result)
}
