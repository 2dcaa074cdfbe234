package report

import (
	"fmt"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
)

// DefaultTitle is the title template of the table. Placeholders: {site} {year} {month} {unit}.
const DefaultTitle = "{site} {year}年{month}月考勤表"

// DefaultSignatures are the signature lines at the foot of the table (附件 1).
var DefaultSignatures = []string{"党组织书记签字", "包村挂点领导签字"}

// Options are the presentation choices of a table or bulletin.
type Options struct {
	Site       string          // site name in the title, e.g. "金碧镇"
	Title      string          // title template; "" = DefaultTitle (table) or DefaultBulletinTitle
	Unit       string          // only people of this unit; "" = everyone; a unit not on the roster is an error
	Signatures []string        // nil = DefaultSignatures; an empty non-nil slice prints none
	Today      attendance.Date // days after it are not reached yet (blank / not checked); zero = all reached
	Blank      bool            // the empty form with the names filled in (BuildUnitTable), for filling in by hand
}

// TableInput is everything the monthly table is built from.
type TableInput struct {
	Month         Month
	Days          []attendance.Day                         // judged days; days outside the month are ignored
	Roster        []attendance.Person                      // who must punch: tracking clock, active in the month
	DayType       func(attendance.Date) attendance.DayType // the calendar; used for days with no judged day
	Registrations []attendance.Registration                // registration kinds behind excused slots, and unjudged days
	Options       Options
}

// MaxDays is the number of day columns of the form.
const MaxDays = 31

// Table is the monthly attendance table: the grid of the township's form.
type Table struct {
	Title       string                      `json:"title"`
	Unit        string                      `json:"unit"`               // the unit line
	Kind        attendance.UnitKind         `json:"kind,omitempty"`     // the unit's kind, for a unit's own form
	ByMarks     bool                        `json:"by_marks,omitempty"` // marks are the unit's own (√ × 假 差 休), not judged punches
	Blank       bool                        `json:"blank,omitempty"`    // an empty form for filling in by hand
	Month       Month                       `json:"month"`
	DaysInMonth int                         `json:"days_in_month"`
	Weekdays    [MaxDays]string             `json:"weekdays"`  // 一…日 under each day; "" beyond the month
	DayTypes    [MaxDays]attendance.DayType `json:"day_types"` // the calendar's class of each day; "" beyond
	Rows        []Row                       `json:"rows"`
	Legend      string                      `json:"legend"`
	Notes       []string                    `json:"notes,omitempty"`     // footnotes: the cross-check's conflicts
	Conflicts   int                         `json:"conflicts,omitempty"` // conflicts named in Notes
	UnitName    string                      `json:"unit_name,omitempty"` // the unit of a unit's own form
	Signatures  []string                    `json:"signatures"`
}

// Row is one person's line of the table.
type Row struct {
	UserID  string        `json:"user_id"`
	Name    string        `json:"name"`
	Post    string        `json:"post"`
	Unit    string        `json:"unit"`
	Unknown bool          `json:"unknown,omitempty"` // judged days but no roster entry
	Marks   [MaxDays]Mark `json:"marks"`
	Totals  Totals        `json:"totals"`
}

// Totals are a row's day counts per category (a day can count in several, see the package doc).
type Totals struct {
	Late    int `json:"late"`
	Early   int `json:"early"`
	Missing int `json:"missing"`
	Absent  int `json:"absent"`
	Offsite int `json:"offsite"`
	Trip    int `json:"trip"`
	Leave   int `json:"leave"`
}

// TotalHeaders are the column headers of Totals, in order.
var TotalHeaders = []string{"迟到", "早退", "缺卡", "旷工", "外出", "出差", "请假"}

// Values returns the totals in the order of TotalHeaders.
func (t Totals) Values() []int {
	return []int{t.Late, t.Early, t.Missing, t.Absent, t.Offsite, t.Trip, t.Leave}
}

// Sum adds up the totals of every row (the summary a filing notice publishes).
func (t Table) Sum() Totals {
	var s Totals
	for _, r := range t.Rows {
		s.Late += r.Totals.Late
		s.Early += r.Totals.Early
		s.Missing += r.Totals.Missing
		s.Absent += r.Totals.Absent
		s.Offsite += r.Totals.Offsite
		s.Trip += r.Totals.Trip
		s.Leave += r.Totals.Leave
	}
	return s
}

// DisplayName is the name shown in the table: the roster name, or the user id marked as not on the roster.
func (r Row) DisplayName() string {
	switch {
	case r.Unknown:
		return r.UserID + "（未在册）"
	case r.Name == "":
		return r.UserID
	}
	return r.Name
}

// BuildTable builds the monthly table. It fails on a month that is not a month, a unit not on the
// roster, a missing calendar or a bad title template.
func BuildTable(in TableInput) (Table, error) {
	m := in.Month
	if m.Month < 1 || m.Month > 12 || m.Year < 1 {
		return Table{}, fmt.Errorf("%w: %v", ErrBadMonth, m)
	}
	if in.DayType == nil {
		return Table{}, ErrNoCalendar
	}
	if !in.Options.Today.IsZero() && m.After(MonthOf(in.Options.Today)) {
		return Table{}, fmt.Errorf("%w: %v is after today %v", ErrFutureMonth, m, in.Options.Today)
	}
	tmpl := in.Options.Title
	if tmpl == "" {
		tmpl = DefaultTitle
	}
	title, err := expandTitle(tmpl, in.Options.Site, m, in.Options.Unit)
	if err != nil {
		return Table{}, err
	}
	first, last := m.First(), m.Last()
	ppl, err := people(in.Roster, in.Days, first, last, in.Options.Unit)
	if err != nil {
		return Table{}, err
	}
	t := Table{
		Title:       title,
		Month:       m,
		DaysInMonth: m.Len(),
		Legend:      Legend,
		Signatures:  in.Options.Signatures,
	}
	if t.Signatures == nil {
		t.Signatures = DefaultSignatures
	}
	t.Unit = unitLine(in.Options.Unit, ppl)
	types := make([]attendance.DayType, t.DaysInMonth)
	for i := range t.DaysInMonth {
		d := attendance.Date{Year: m.Year, Month: m.Month, Day: i + 1}
		types[i] = in.DayType(d)
		t.Weekdays[i] = WeekdayCN(d)
		t.DayTypes[i] = types[i]
	}
	ix := newRegIndex(in.Registrations)
	days := indexDays(in.Days)
	today := in.Options.Today
	t.Rows = make([]Row, 0, len(ppl))
	for _, p := range ppl {
		row := Row{UserID: p.UserID, Name: p.Name, Post: p.Post, Unit: p.Unit, Unknown: p.unknown}
		for i := range t.DaysInMonth {
			d := attendance.Date{Year: m.Year, Month: m.Month, Day: i + 1}
			if (!today.IsZero() && d.After(today)) || !p.mustPunch(d) {
				continue
			}
			day := days[dayKey{p.UserID, d}]
			if day == nil && p.unknown {
				continue // we know nothing of an unrostered person's days but the judged ones
			}
			f := ix.judge(day, p.UserID, d, types[i])
			row.Marks[i] = f.mark()
			row.Totals.add(f)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func (t *Totals) add(f facts) {
	if !f.working {
		return
	}
	if f.late+f.serious > 0 {
		t.Late++
	}
	if f.early > 0 {
		t.Early++
	}
	if f.missing > 0 {
		t.Missing++
	}
	if f.absentHalves > 0 {
		t.Absent++
	}
	switch f.excuse {
	case MarkOffsite:
		t.Offsite++
	case MarkTrip:
		t.Trip++
	case MarkLeave:
		t.Leave++
	}
}

// unitLine is the line under the title: the filtered unit, or the units of the people listed in roster order.
func unitLine(filter string, ppl []*personSpan) string {
	if filter != "" {
		return "单位：" + filter
	}
	seen := map[string]bool{}
	var units []string
	for _, p := range ppl {
		if p.Unit != "" && !seen[p.Unit] {
			seen[p.Unit] = true
			units = append(units, p.Unit)
		}
	}
	if len(units) == 0 {
		return "单位："
	}
	return "单位：" + strings.Join(units, "、")
}
