package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// Calendar is what JudgeRange needs from internal/calendar (*calendar.Calendar implements it).
type Calendar interface {
	DayType(d attendance.Date) (attendance.DayType, error)
	Schedule(d attendance.Date) (attendance.Schedule, error)
}

// Range is one person's punches and registrations over the dates From..To (inclusive).
type Range struct {
	Person        attendance.Person
	From, To      attendance.Date
	Loc           *time.Location
	Params        Params
	Punches       []device.Punch
	Registrations []attendance.Registration
	SyncedUntil   time.Time
	Now           time.Time
}

// JudgeRange judges every date From..To for one person, looking up each date's type and schedule
// in cal. It returns one Day per date (rest days and not-judged days included; callers filter).
// A day type that is only the Monday–Friday guess (a year without holiday data) is used, and the
// returned error then wraps that calendar error once per year, beside the complete days. A date
// without a schedule stops the run with an error naming the date and no days.
func JudgeRange(cal Calendar, r Range) ([]attendance.Day, error) {
	if r.To.Before(r.From) {
		return nil, fmt.Errorf("rules: range %s..%s ends before it starts", r.From, r.To)
	}
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	ps := make([]device.Punch, 0, len(r.Punches))
	for _, p := range r.Punches {
		if p.UserID == r.Person.UserID {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b device.Punch) int { return a.Time.Compare(b.Time) })
	var regs []attendance.Registration
	for _, g := range r.Registrations {
		if g.UserID == r.Person.UserID && !g.Revoked() {
			regs = append(regs, g)
		}
	}
	var days []attendance.Day
	var errs []error
	seenYear := map[int]bool{}
	for d := r.From; !d.After(r.To); d = d.AddDays(1) {
		dt, err := cal.DayType(d)
		if err != nil && !seenYear[d.Year] {
			seenYear[d.Year] = true
			errs = append(errs, err)
		}
		sc, err := cal.Schedule(d)
		if err != nil {
			return nil, fmt.Errorf("rules: judge %s %s: %w", r.Person.UserID, d, err)
		}
		start, end := d.Start(loc), d.AddDays(1).Start(loc)
		i, _ := slices.BinarySearchFunc(ps, start, func(p device.Punch, t time.Time) int { return p.Time.Compare(t) })
		j, _ := slices.BinarySearchFunc(ps, end, func(p device.Punch, t time.Time) int { return p.Time.Compare(t) })
		days = append(days, Judge(Input{Person: r.Person, Date: d, DayType: dt, Schedule: sc, Loc: loc, Params: r.Params,
			Punches: ps[i:j], Registrations: regs, SyncedUntil: r.SyncedUntil, Now: r.Now}))
	}
	return days, errors.Join(errs...)
}
