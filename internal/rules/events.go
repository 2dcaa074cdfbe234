package rules

import (
	"github.com/jinbi/punchd/internal/attendance"
)

// Events lists the final anomalies of day in slot order, with the kind and severity each is
// published under: late as late (minor), serious_late as late (serious), early as early (minor),
// missing as missing (serious), absent as absent (serious) — docs/events.md's contract. Excused
// slots are listed with Excused set and the kind and severity they would have had, so an event
// published before the registration is corrected under the same id. Pending slots, ok slots,
// rest days and days not judged yield nothing.
func Events(day attendance.Day) []attendance.Anomaly {
	if !day.DayType.IsWorking() || day.Status == StatusNotJudged || day.Status == attendance.StatusRest {
		return nil
	}
	var out []attendance.Anomaly
	for _, name := range attendance.Slots {
		s, ok := day.Slots[name]
		if !ok {
			continue
		}
		r, excused := s.Result, false
		if r == attendance.ResultExcused {
			r, excused = s.Unexcused, true
		}
		kind, severity, ok := anomalyOf(r)
		if !ok {
			continue
		}
		a := attendance.Anomaly{Slot: name, Kind: kind, Severity: severity, Minutes: s.Minutes,
			Expected: s.Expected, Actual: s.Time, Excused: excused, Manual: s.Manual, Verify: s.Verify,
			ExcusedMinutes: s.ExcusedMinutes, LateRegistered: s.LateRegistered}
		if excused {
			// what is excused is the anomaly's whole size (a day stored before excused minutes
			// were counted apart kept it in Minutes)
			a.Minutes, a.ExcusedMinutes = s.Minutes+s.ExcusedMinutes, 0
		}
		if s.Registration != nil {
			a.Registration = *s.Registration
		}
		out = append(out, a)
	}
	return out
}

// anomalyOf is the one place a slot result becomes an event kind and severity.
func anomalyOf(r attendance.Result) (attendance.EventKind, attendance.Severity, bool) {
	switch r {
	case attendance.ResultLate:
		return attendance.EventLate, attendance.SeverityMinor, true
	case attendance.ResultSeriousLate:
		return attendance.EventLate, attendance.SeveritySerious, true
	case attendance.ResultEarly:
		return attendance.EventEarly, attendance.SeverityMinor, true
	case attendance.ResultMissing:
		return attendance.EventMissing, attendance.SeveritySerious, true
	case attendance.ResultAbsent:
		return attendance.EventAbsent, attendance.SeveritySerious, true
	}
	return "", "", false
}

// Retraction is the correction of an anomaly of kind at slot that Events no longer lists for
// the day as judged now: the anomaly no longer exists. It is the anomaly as it was last judged
// (before: the day as judged before — its minutes, punch and severity) with Retracted set, and
// never Excused: a retraction says the anomaly is gone, an excuse that it stands and is excused,
// and one revision never says both. Without the earlier judgement (before lists no such anomaly)
// the slot as judged now gives the times and the kind its usual severity.
func Retraction(before, now attendance.Day, slot attendance.SlotName, kind attendance.EventKind) attendance.Anomaly {
	for _, a := range Events(before) {
		if a.Slot == slot && a.Kind == kind {
			if a.Excused || a.ExcusedMinutes > 0 {
				a.Registration = "" // the excuse went with the anomaly (a makeup's id stays)
			}
			a.Retracted, a.Excused, a.ExcusedMinutes, a.LateRegistered = true, false, 0, false
			return a
		}
	}
	s := now.Slots[slot]
	severity := attendance.SeverityMinor
	if kind == attendance.EventMissing || kind == attendance.EventAbsent {
		severity = attendance.SeveritySerious
	}
	a := attendance.Anomaly{Slot: slot, Kind: kind, Severity: severity, Expected: s.Expected, Actual: s.Time,
		Manual: s.Manual, Verify: s.Verify, Retracted: true}
	if s.Manual && s.Registration != nil {
		a.Registration = *s.Registration
	}
	return a
}
