package rules

import (
	"slices"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// CrossCheck is the check no paper can do: a person a village keeps, marked √ (在村开展工作) on a
// working day, who punched a clock between that day's am_in and pm_out is a conflict, unless a
// return registration (kind return, not revoked, approved by the village's leader — by anyone
// when the unit names no leader) covers the punch. One conflict per day, at its first such punch.
// marks, punches and regs are the person's; cal classes the days and gives their schedule.
func CrossCheck(unit attendance.Unit, userID string, marks []attendance.DayMark, punches []device.Punch,
	regs []attendance.Registration, cal Calendar, loc *time.Location) ([]attendance.Conflict, error) {
	if unit.Kind != attendance.UnitVillage {
		return nil, nil
	}
	var out []attendance.Conflict
	for _, m := range marks {
		if m.UserID != userID || m.Unit != unit.Name || m.Mark != attendance.MarkPresent {
			continue
		}
		dt, err := cal.DayType(m.Date)
		if err != nil || !dt.IsWorking() {
			continue // a rest day's √ is no claim of working hours; a year without data is not guessed at
		}
		sched, err := cal.Schedule(m.Date)
		if err != nil {
			return nil, err
		}
		start, end := m.Date.At(sched.AmIn, loc), m.Date.At(sched.PmOut, loc)
		for _, p := range punches {
			if p.UserID != userID || p.Time.Before(start) || p.Time.After(end) || returned(unit, regs, p.Time) {
				continue
			}
			out = append(out, attendance.Conflict{UserID: userID, Unit: unit.Name, Date: m.Date, Punch: p.Time.In(loc), Clock: p.Clock})
			break
		}
	}
	slices.SortFunc(out, func(a, b attendance.Conflict) int { return a.Date.Compare(b.Date) })
	return out, nil
}

// returned reports whether an approved return registration covers t.
func returned(u attendance.Unit, regs []attendance.Registration, t time.Time) bool {
	for _, r := range regs {
		if r.Kind != attendance.KindReturn || r.Revoked() || r.ApprovedBy == "" || (u.Leader != "" && r.ApprovedBy != u.Leader) {
			continue
		}
		if !t.Before(r.From) && !t.After(r.To) {
			return true
		}
	}
	return false
}

// VillageAbsence is the event of a day a village marked × (未在村开展工作): a serious anomaly of
// the whole day, expected at the schedule's am_in. retracted: the day is no longer marked ×.
func VillageAbsence(d attendance.Date, sched attendance.Schedule, loc *time.Location, retracted bool) attendance.Anomaly {
	return attendance.Anomaly{Kind: attendance.EventVillageAbsent, Severity: attendance.SeveritySerious,
		Expected: d.At(sched.AmIn, loc), Retracted: retracted}
}

// ConflictAnomaly is the event of a conflict: serious, expected at am_in, the punch as its actual
// time. retracted: the conflict no longer stands (the mark changed, a return was approved).
func ConflictAnomaly(c attendance.Conflict, sched attendance.Schedule, loc *time.Location, retracted bool) attendance.Anomaly {
	a := attendance.Anomaly{Kind: attendance.EventConflict, Severity: attendance.SeveritySerious,
		Expected: c.Date.At(sched.AmIn, loc), Retracted: retracted}
	if !c.Punch.IsZero() {
		t := c.Punch
		a.Actual = &t
	}
	return a
}
