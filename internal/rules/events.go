package rules

import (
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Event kinds, as in the MQTT topics {prefix}/events/{kind}.
const (
	KindLate    = "late"
	KindEarly   = "early"
	KindMissing = "missing"
	KindAbsent  = "absent"
)

// Severities.
const (
	SeverityNormal  = "normal"
	SeveritySerious = "serious" // serious_late, and absent
)

// Anomaly is one slot's final anomaly, excused or not: what the daemon publishes as an event.
type Anomaly struct {
	Slot         attendance.SlotName
	Kind         string // late, early, missing, absent
	Severity     string // normal or serious
	Minutes      int    // minutes late or early; 0 for missing and for absent without a punch
	Expected     time.Time
	Actual       *time.Time // the punch; nil when missing or absent without a punch
	Excused      bool
	Registration string // the excusing registration's id when Excused; else "" (or the makeup's id when the punch was manual)
	Manual       bool   // the punch is a 补卡
}

// Events lists the final anomalies of day in slot order: late and serious_late as "late" (severity
// serious for serious_late), early as "early", missing as "missing", absent as "absent" (severity
// serious). Excused slots are listed with Excused set and the kind they would have had, so an event
// published before the registration can be corrected under the same id. Pending slots, ok slots,
// rest days and days not judged yield nothing.
func Events(day attendance.Day) []Anomaly {
	if !day.DayType.IsWorking() || day.Status == StatusNotJudged || day.Status == attendance.StatusRest {
		return nil
	}
	var out []Anomaly
	for _, name := range attendance.Slots {
		s, ok := day.Slots[name]
		if !ok {
			continue
		}
		r, excused := s.Result, false
		if r == attendance.ResultExcused {
			r, excused = s.Unexcused, true
		}
		a := Anomaly{Slot: name, Minutes: s.Minutes, Expected: s.Expected, Actual: s.Time, Excused: excused,
			Severity: SeverityNormal, Manual: s.Manual}
		switch r {
		case attendance.ResultLate:
			a.Kind = KindLate
		case attendance.ResultSeriousLate:
			a.Kind, a.Severity = KindLate, SeveritySerious
		case attendance.ResultEarly:
			a.Kind = KindEarly
		case attendance.ResultMissing:
			a.Kind = KindMissing
		case attendance.ResultAbsent:
			a.Kind, a.Severity = KindAbsent, SeveritySerious
		default:
			continue
		}
		if s.Registration != nil {
			a.Registration = *s.Registration
		}
		out = append(out, a)
	}
	return out
}
