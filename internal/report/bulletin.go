package report

import (
	"fmt"
	"sort"

	"github.com/jinbi/punchd/internal/attendance"
)

// DefaultBulletinTitle is the bulletin's title template. Placeholders: {site} {year} {month} {unit}.
const DefaultBulletinTitle = "{site} {year}年{month}月工作纪律督查通报（考勤）"

// DefaultWorst is how many records the bulletin's worst list holds when BulletinInput.Worst is 0.
const DefaultWorst = 10

// BulletinInput is everything the monthly bulletin is built from.
type BulletinInput struct {
	Month         Month
	PeriodEndDay  int // 0: the calendar month; d (1–28): day d+1 of the previous month to day d of Month
	Days          []attendance.Day
	Roster        []attendance.Person
	DayType       func(attendance.Date) attendance.DayType
	Registrations []attendance.Registration
	Options       Options // Site, Title, Unit, Today; Signatures are not used
	Worst         int     // length of the worst-records list; 0 = DefaultWorst, negative = none
}

// Bulletin is the monthly bulletin: the facts it names, sorted for pasting.
type Bulletin struct {
	Title       string          `json:"title"`
	Unit        string          `json:"unit,omitempty"`
	From        attendance.Date `json:"from"`
	To          attendance.Date `json:"to"`           // the period's last day
	CheckedTo   attendance.Date `json:"checked_to"`   // the last day checked (To, or Today if earlier)
	WorkingDays int             `json:"working_days"` // working days in [From, CheckedTo]
	People      int             `json:"people"`       // people who had to punch on at least one of them
	PersonDays  int             `json:"person_days"`  // person × working day pairs checked
	Totals      Counts          `json:"totals"`
	Persons     []PersonRecord  `json:"persons"` // everyone checked, in roster order
	Units       []UnitSummary   `json:"units"`   // in roster order of first appearance
	Clean       []PersonRecord  `json:"clean"`   // no unexcused anomaly, nothing pending, not excused every day
	Worst       []PersonRecord  `json:"worst"`   // the worst records, worst first
}

// Counts are anomaly counts. Late and SeriousLate are disjoint occurrence counts; Absent is in
// half-days; Excused is in days with an excused slot; Pending in days not decided yet.
type Counts struct {
	Late         int `json:"late"`
	SeriousLate  int `json:"serious_late"`
	Early        int `json:"early"`
	Missing      int `json:"missing"`
	AbsentHalves int `json:"absent_half_days"`
	Excused      int `json:"excused_days"`
	Pending      int `json:"pending_days"`
	LateMinutes  int `json:"late_minutes"`
	EarlyMinutes int `json:"early_minutes"`
	// LateRegistered counts registrations (each once a day) recorded later than [rules]
	// register_within that excused something: excused, not violations, but not registered in time.
	LateRegistered int `json:"late_registered"`
}

// Violations is the number of unexcused anomalies (absent half-days counted one each).
func (c Counts) Violations() int {
	return c.Late + c.SeriousLate + c.Early + c.Missing + c.AbsentHalves
}

func (c *Counts) addFacts(f facts) {
	c.Late += f.late
	c.SeriousLate += f.serious
	c.Early += f.early
	c.Missing += f.missing
	c.AbsentHalves += f.absentHalves
	c.LateMinutes += f.lateMin
	c.EarlyMinutes += f.earlyMin
	regs := map[string]bool{}
	for _, lr := range f.lateRegs {
		regs[lr.Registration] = true
	}
	c.LateRegistered += len(regs)
	if f.excuse != MarkNone {
		c.Excused++
	}
	if f.pending && !f.anomalous() {
		c.Pending++
	}
}

func (c *Counts) add(o Counts) {
	c.Late += o.Late
	c.SeriousLate += o.SeriousLate
	c.Early += o.Early
	c.Missing += o.Missing
	c.AbsentHalves += o.AbsentHalves
	c.Excused += o.Excused
	c.Pending += o.Pending
	c.LateMinutes += o.LateMinutes
	c.EarlyMinutes += o.EarlyMinutes
	c.LateRegistered += o.LateRegistered
}

// PersonRecord is one person's month.
type PersonRecord struct {
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Post      string    `json:"post"`
	Unit      string    `json:"unit"`
	Unknown   bool      `json:"unknown,omitempty"`
	Days      int       `json:"days"` // working days checked
	Counts    Counts    `json:"counts"`
	Anomalies []Anomaly `json:"anomalies"` // every unexcused anomaly, by date and slot
	// LateRegistered are the slots excused by a registration recorded late, by date and slot.
	LateRegistered []LateRegistration `json:"late_registered"`
}

// DisplayName is the roster name, or the user id marked as not on the roster.
func (p PersonRecord) DisplayName() string {
	switch {
	case p.Unknown:
		return p.UserID + "（未在册）"
	case p.Name == "":
		return p.UserID
	}
	return p.Name
}

// UnitSummary sums a unit's people.
type UnitSummary struct {
	Unit       string `json:"unit"`
	People     int    `json:"people"`
	PersonDays int    `json:"person_days"`
	Counts     Counts `json:"counts"`
	Clean      int    `json:"clean"` // people with a clean month
	Offenders  int    `json:"offenders"`
}

// BuildBulletin builds the monthly bulletin. It fails on a bad month or period end day, a period that
// starts after Options.Today, a unit not on the roster, a missing calendar or a bad title template.
func BuildBulletin(in BulletinInput) (Bulletin, error) {
	from, to, err := Period(in.Month, in.PeriodEndDay)
	if err != nil {
		return Bulletin{}, err
	}
	if in.DayType == nil {
		return Bulletin{}, ErrNoCalendar
	}
	today := in.Options.Today
	if !today.IsZero() && from.After(today) {
		return Bulletin{}, fmt.Errorf("%w: the period %v – %v starts after today %v", ErrFutureMonth, from, to, today)
	}
	tmpl := in.Options.Title
	if tmpl == "" {
		tmpl = DefaultBulletinTitle
	}
	title, err := expandTitle(tmpl, in.Options.Site, in.Month, in.Options.Unit)
	if err != nil {
		return Bulletin{}, err
	}
	checkedTo := to
	if !today.IsZero() && today.Before(to) {
		checkedTo = today
	}
	ppl, err := people(in.Roster, in.Days, from, checkedTo, in.Options.Unit)
	if err != nil {
		return Bulletin{}, err
	}
	b := Bulletin{Title: title, Unit: in.Options.Unit, From: from, To: to, CheckedTo: checkedTo}

	var dates []attendance.Date
	var types []attendance.DayType
	for d := from; !d.After(checkedTo); d = d.AddDays(1) {
		dt := in.DayType(d)
		dates = append(dates, d)
		types = append(types, dt)
		if dt.IsWorking() {
			b.WorkingDays++
		}
	}
	ix := newRegIndex(in.Registrations)
	days := indexDays(in.Days)
	unitAt := map[string]int{}
	for _, p := range ppl {
		rec := PersonRecord{UserID: p.UserID, Name: p.Name, Post: p.Post, Unit: p.Unit, Unknown: p.unknown, Anomalies: []Anomaly{}}
		for i, d := range dates {
			if !p.mustPunch(d) {
				continue
			}
			day := days[dayKey{p.UserID, d}]
			if day == nil && p.unknown {
				continue
			}
			f := ix.judge(day, p.UserID, d, types[i])
			if !f.working {
				continue
			}
			rec.Days++
			rec.Counts.addFacts(f)
			rec.Anomalies = append(rec.Anomalies, f.anomalies...)
			rec.LateRegistered = append(rec.LateRegistered, f.lateRegs...)
		}
		if rec.Days == 0 {
			continue
		}
		b.People++
		b.PersonDays += rec.Days
		b.Totals.add(rec.Counts)
		b.Persons = append(b.Persons, rec)
		ui, ok := unitAt[rec.Unit]
		if !ok {
			ui = len(b.Units)
			unitAt[rec.Unit] = ui
			b.Units = append(b.Units, UnitSummary{Unit: rec.Unit})
		}
		u := &b.Units[ui]
		u.People++
		u.PersonDays += rec.Days
		u.Counts.add(rec.Counts)
		switch {
		case rec.Counts.Violations() > 0:
			u.Offenders++
		case rec.Counts.Pending == 0 && rec.Counts.Excused < rec.Days:
			u.Clean++
			b.Clean = append(b.Clean, rec)
		}
	}
	n := in.Worst
	if n == 0 {
		n = DefaultWorst
	}
	var offenders []PersonRecord
	for _, p := range b.Persons {
		if p.Counts.Violations() > 0 {
			offenders = append(offenders, p)
		}
	}
	sort.SliceStable(offenders, func(i, j int) bool { return worse(offenders[i], offenders[j]) })
	if n > 0 && len(offenders) > n {
		offenders = offenders[:n]
	}
	if n < 0 {
		offenders = nil
	}
	b.Worst = offenders
	return b, nil
}

// worse orders records worst first: most absent half-days, then missing punches, then late minutes,
// then seriously-late arrivals, then early minutes, then the number of violations, then user id.
func worse(a, b PersonRecord) bool {
	ca, cb := a.Counts, b.Counts
	for _, k := range [][2]int{
		{ca.AbsentHalves, cb.AbsentHalves},
		{ca.Missing, cb.Missing},
		{ca.LateMinutes, cb.LateMinutes},
		{ca.SeriousLate, cb.SeriousLate},
		{ca.EarlyMinutes, cb.EarlyMinutes},
		{ca.Violations(), cb.Violations()},
	} {
		if k[0] != k[1] {
			return k[0] > k[1]
		}
	}
	return a.UserID < b.UserID
}
