package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
)

// VillageTitle is the title of a village's form, the order's 附件1: 「金碧镇包村挂点工作组____月考勤表」.
const VillageTitle = "{site}包村挂点工作组{month}月考勤表"

// StationTitle is the title of the table of a unit kept by marks that is not a village.
const StationTitle = "{site}{unit}{year}年{month}月考勤表"

// VillageNote is the order's note under 附件1, then what the other marks mean.
var VillageNote = []string{
	"备注：1. “√”表示在村开展工作，“×”表示未在村开展工作。",
	"2. “假”请假，“差”出差，“休”休息日或节假日；空白为未记录。",
}

// StationLegend is the line under a station's marks table.
const StationLegend = "说明：√ 出勤；× 缺勤；假 请假；差 出差；休 休息日或节假日；空白 未记录。"

// DefaultStationSignatures sign a station's table when its [[unit]] gives none: the order's
// "经站所长审核签字".
var DefaultStationSignatures = []string{"站所长审核签字"}

// DefaultOfficeSignatures sign the office's table when its [[unit]] gives none.
var DefaultOfficeSignatures = []string{"单位负责人签字"}

// UnitSignatures are the signature lines of a unit's form: its own, else by kind (a village signs
// as 附件1: 党组织书记 and 包村挂点领导).
func UnitSignatures(u attendance.Unit) []string {
	switch {
	case len(u.Signatures) > 0:
		return u.Signatures
	case u.Kind == attendance.UnitVillage:
		return DefaultSignatures
	case u.Kind == attendance.UnitStation:
		return DefaultStationSignatures
	}
	return DefaultOfficeSignatures
}

// UnitInput is everything one unit's form is built from. Table carries the month, the roster, the
// calendar, the judged days and registrations (used for a unit whose people punch a clock) and the
// options (Site, Title for clock units, Today, Blank).
type UnitInput struct {
	Table     TableInput
	Unit      attendance.Unit
	Marks     []attendance.DayMark  // the unit's marks (others are ignored)
	Conflicts []attendance.Conflict // the unit's cross-check conflicts, for the footnote
}

// BuildUnitTable builds one unit's own form: for a unit whose people punch a clock (the office, a
// station with its own clock) the clock table of its people under its signatures; for a village the
// order's 附件1 (title, village line, 姓名/职务/1–31 with the village's marks, the note, the conflicts
// found by the cross-check and the two signatures); for a station without a clock its marks table.
// With Options.Blank the marks and totals are left empty for filling in by hand.
func BuildUnitTable(in UnitInput) (Table, error) {
	u := in.Unit
	in.Table.Options.Unit = u.Name
	in.Table.Options.Signatures = UnitSignatures(u)
	if u.HasClock {
		t, err := BuildTable(in.Table)
		if err != nil {
			return t, err
		}
		t.Kind, t.UnitName = u.Kind, u.Name
		t.Notes, t.Conflicts = conflictNotes(in.Conflicts, t.Rows)
		if in.Table.Options.Blank {
			t.blank()
		}
		return t, nil
	}
	return buildMarksTable(in)
}

func buildMarksTable(in UnitInput) (Table, error) {
	u, m, opts := in.Unit, in.Table.Month, in.Table.Options
	if m.Month < 1 || m.Month > 12 || m.Year < 1 {
		return Table{}, fmt.Errorf("%w: %v", ErrBadMonth, m)
	}
	if in.Table.DayType == nil {
		return Table{}, ErrNoCalendar
	}
	tmpl := StationTitle
	line := "单位：" + u.Name
	if u.Kind == attendance.UnitVillage {
		tmpl, line = VillageTitle, attendance.VillageLine(u.Name)
	}
	title, err := expandTitle(tmpl, opts.Site, m, u.Name)
	if err != nil {
		return Table{}, err
	}
	t := Table{Title: title, Unit: line, UnitName: u.Name, Kind: u.Kind, ByMarks: true, Month: m, DaysInMonth: m.Len(), Signatures: opts.Signatures, Blank: opts.Blank}
	if u.Kind == attendance.UnitVillage {
		t.Legend = strings.Join(VillageNote, "\n")
	} else {
		t.Legend = StationLegend
	}
	for i := range t.DaysInMonth {
		d := attendance.Date{Year: m.Year, Month: m.Month, Day: i + 1}
		t.Weekdays[i] = WeekdayCN(d)
		t.DayTypes[i] = in.Table.DayType(d)
	}
	first, last := m.First(), m.Last()
	marks := map[dayKey]attendance.UnitMark{}
	if !opts.Blank {
		for _, dm := range in.Marks {
			if dm.Unit == u.Name {
				marks[dayKey{dm.UserID, dm.Date}] = dm.Mark
			}
		}
	}
	seen := map[string]int{}
	for _, p := range in.Table.Roster {
		if p.Unit != u.Name || !activeIn(p, first, last) || p.Tracking == attendance.TrackExempt {
			continue
		}
		if i, ok := seen[p.UserID]; ok { // on the roster twice: one row, the later entry's post
			t.Rows[i].Post = p.Post
			continue
		}
		seen[p.UserID] = len(t.Rows)
		row := Row{UserID: p.UserID, Name: p.Name, Post: p.Post, Unit: p.Unit}
		for i := range t.DaysInMonth {
			d := attendance.Date{Year: m.Year, Month: m.Month, Day: i + 1}
			if p.Active(d) {
				row.Marks[i] = Mark(marks[dayKey{p.UserID, d}])
			}
		}
		t.Rows = append(t.Rows, row)
	}
	slices.SortStableFunc(t.Rows, func(a, b Row) int { return CompareUserIDs(a.UserID, b.UserID) })
	if !opts.Blank {
		t.Notes, t.Conflicts = conflictNotes(in.Conflicts, t.Rows)
	}
	return t, nil
}

func activeIn(p attendance.Person, from, to attendance.Date) bool {
	return (p.From.IsZero() || !p.From.After(to)) && (p.To.IsZero() || !p.To.Before(from))
}

// conflictNotes are the footnote lines naming each conflict of the table's people, and their number.
func conflictNotes(cs []attendance.Conflict, rows []Row) ([]string, int) {
	if len(cs) == 0 {
		return nil, 0
	}
	names := map[string]string{}
	for _, r := range rows {
		names[r.UserID] = r.DisplayName()
	}
	var parts []string
	for _, c := range cs {
		name, ok := names[c.UserID]
		if !ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s（村记“√”，%s 在考勤机 %s 打卡）", name, DateCN(c.Date), c.Punch.Format("15:04"), c.Clock))
	}
	if len(parts) == 0 {
		return nil, 0
	}
	return []string{"核对：村记在村、当日工作时间却在镇上打卡，且无挂点领导同意的返岗登记：" + strings.Join(parts, "；") + "。"}, len(parts)
}

// blank empties the marks and totals of a table for filling in by hand.
func (t *Table) blank() {
	t.Blank = true
	t.Notes, t.Conflicts = nil, 0
	for i := range t.Rows {
		t.Rows[i].Marks = [MaxDays]Mark{}
		t.Rows[i].Totals = Totals{}
	}
}

// markTotalHeads are the totals of a table kept by marks.
var (
	villageTotalHeads = []string{"在村", "未在村", "请假", "出差"}
	stationTotalHeads = []string{"出勤", "缺勤", "请假", "出差"}
)

// TotalHeads are the headers of the table's total columns.
func (t Table) TotalHeads() []string {
	switch {
	case t.Kind == attendance.UnitVillage:
		return villageTotalHeads
	case t.ByMarks:
		return stationTotalHeads
	}
	return TotalHeaders
}

// RowTotals are a row's totals under TotalHeads: day counts per category.
func (t Table) RowTotals(r Row) []int {
	if !t.ByMarks {
		return r.Totals.Values()
	}
	var n [4]int
	for _, m := range r.Marks {
		switch attendance.UnitMark(m) {
		case attendance.MarkPresent:
			n[0]++
		case attendance.MarkAbsent:
			n[1]++
		case attendance.MarkLeave:
			n[2]++
		case attendance.MarkTrip:
			n[3]++
		}
	}
	return n[:]
}
