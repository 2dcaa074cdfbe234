package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Mark is the one-character mark of a person's day in the table.
type Mark string

// The marks of the township's form. See the package doc for their precedence.
const (
	MarkNone    Mark = ""
	MarkOK      Mark = "✓"
	MarkLate    Mark = "迟"
	MarkEarly   Mark = "早"
	MarkMissing Mark = "缺"
	MarkAbsent  Mark = "旷"
	MarkOffsite Mark = "外"
	MarkTrip    Mark = "差"
	MarkLeave   Mark = "假"
	MarkRest    Mark = "休"
	MarkPending Mark = "待"
	// MarkLateRegistered follows a day's mark when a registration recorded more than [rules]
	// register_within after the slot excused (wholly or in part) something that day: "外△".
	MarkLateRegistered Mark = "△"
)

// Legend is the line printed under the table.
const Legend = "说明：✓ 四次打卡均正常；迟 迟到；早 早退；缺 缺卡；旷 旷工；外 外出登记（含会议）；差 出差；假 请假；" +
	"休 休息日或节假日；待 尚未判定；空白 未到日期或不在册；△ 事后补登（登记晚于规定时限，仍予认可，如“外△”）。" +
	"一天有多种情况时格内只显示一项（旷>缺>迟>早），合计按类别各计一次。"

// SlotCN is the Chinese name of a slot as the office says it.
func SlotCN(s attendance.SlotName) string {
	switch s {
	case attendance.AmIn:
		return "上午上班"
	case attendance.AmOut:
		return "上午下班"
	case attendance.PmIn:
		return "下午上班"
	case attendance.PmOut:
		return "下午下班"
	case "":
		return "全天"
	}
	return string(s)
}

// kindMark maps a registration kind to its mark. A meeting shows 外 (see the package doc).
func kindMark(k attendance.Kind) Mark {
	switch k {
	case attendance.KindTrip:
		return MarkTrip
	case attendance.KindLeave:
		return MarkLeave
	case attendance.KindMakeup:
		return MarkOK
	}
	return MarkOffsite
}

var excuseRank = map[Mark]int{MarkLeave: 3, MarkTrip: 2, MarkOffsite: 1}

// Anomaly is one unexcused anomaly of a person's day. Slot is empty for a whole absent day; a
// half-day without any punch is one anomaly (HalfDay, Slot its arrival), not one per slot.
type Anomaly struct {
	Date    attendance.Date     `json:"date"`
	Slot    attendance.SlotName `json:"slot,omitempty"`
	Result  attendance.Result   `json:"result"`
	Minutes int                 `json:"minutes"`
	Time    *time.Time          `json:"time,omitempty"`
	HalfDay bool                `json:"half_day,omitempty"`
}

// LateRegistration is a slot excused (wholly or in part) by a registration recorded more than
// [rules] register_within after it: still excused, but not registered in time (及时).
type LateRegistration struct {
	Date         attendance.Date     `json:"date"`
	Slot         attendance.SlotName `json:"slot"`
	Registration string              `json:"registration"`
	Kind         attendance.Kind     `json:"kind,omitempty"`
	RegisteredAt time.Time           `json:"registered_at,omitzero"`
}

// statusNotJudged is internal/rules' StatusNotJudged: a day of a person the clock does not judge
// (village- or station-tracked, exempt, off the roster). Kept as a literal so that report does not
// import rules; cmd/punchctl's tests check the two agree.
const statusNotJudged attendance.Status = "not_judged"

// facts is what a judged day says once excuses are taken into account.
type facts struct {
	blank        bool // no mark at all (not judged)
	working      bool
	late         int // late slots (not seriously)
	serious      int
	early        int
	missing      int
	absentHalves int // 0, 1 or 2
	lateMin      int
	earlyMin     int
	pending      bool
	excuse       Mark // MarkNone when nothing was excused
	anomalies    []Anomaly
	lateRegs     []LateRegistration
}

func (f facts) anomalous() bool {
	return f.late+f.serious+f.early+f.missing+f.absentHalves > 0
}

// mark is the table mark of a working or rest day with these facts, followed by
// MarkLateRegistered when a late registration excused something that day.
func (f facts) mark() Mark {
	m := f.baseMark()
	if len(f.lateRegs) > 0 && m != MarkNone && m != MarkRest {
		m += MarkLateRegistered
	}
	return m
}

// Base is the mark without MarkLateRegistered.
func (m Mark) Base() Mark { return Mark(strings.TrimSuffix(string(m), string(MarkLateRegistered))) }

func (f facts) baseMark() Mark {
	switch {
	case f.blank:
		return MarkNone
	case !f.working:
		return MarkRest
	case f.absentHalves > 0:
		return MarkAbsent
	case f.missing > 0:
		return MarkMissing
	case f.late+f.serious > 0:
		return MarkLate
	case f.early > 0:
		return MarkEarly
	case f.pending:
		return MarkPending
	case f.excuse != MarkNone:
		return f.excuse
	}
	return MarkOK
}

// regIndex finds registrations by id and by the days they overlap.
type regIndex struct {
	byID   map[string]attendance.Registration
	byUser map[string][]attendance.Registration
}

func newRegIndex(regs []attendance.Registration) regIndex {
	ix := regIndex{byID: map[string]attendance.Registration{}, byUser: map[string][]attendance.Registration{}}
	for _, r := range regs {
		if r.Revoked() {
			continue
		}
		if r.ID != "" {
			ix.byID[r.ID] = r
		}
		if r.Kind != attendance.KindMakeup {
			ix.byUser[r.UserID] = append(ix.byUser[r.UserID], r)
		}
	}
	return ix
}

// covering returns the mark of the registrations overlapping date d for the user (in the registration's
// own zone), or MarkNone.
func (ix regIndex) covering(user string, d attendance.Date) Mark {
	best := MarkNone
	for _, r := range ix.byUser[user] {
		loc := r.From.Location()
		start, end := d.Start(loc), d.AddDays(1).Start(loc)
		if r.From.Before(end) && r.To.After(start) {
			if m := kindMark(r.Kind); excuseRank[m] > excuseRank[best] {
				best = m
			}
		}
	}
	return best
}

// judge turns a judged day into facts. dt is the calendar's type for days with no judged record.
func (ix regIndex) judge(day *attendance.Day, user string, d attendance.Date, dt attendance.DayType) facts {
	if day == nil {
		if !dt.IsWorking() {
			return facts{}
		}
		f := facts{working: true}
		if m := ix.covering(user, d); m != MarkNone {
			f.excuse = m
		} else {
			f.pending = true
		}
		return f
	}
	if day.Status == statusNotJudged {
		return facts{blank: true} // the rules do not judge this person that day: blank, not counted
	}
	if day.DayType != "" {
		dt = day.DayType
	}
	if !dt.IsWorking() || day.Status == attendance.StatusRest {
		return facts{}
	}
	f := facts{working: true}
	kinds := map[Mark]int{}
	var halves [2]bool
	var absentSlots []attendance.Slot
	for _, name := range attendance.Slots {
		s, ok := day.Slots[name]
		if !ok {
			continue
		}
		s.Name = name
		an := Anomaly{Date: d, Slot: name, Result: s.Result, Minutes: s.Minutes, Time: s.Time}
		switch s.Result {
		case attendance.ResultLate:
			f.late++
			f.lateMin += s.Minutes
			f.anomalies = append(f.anomalies, an)
		case attendance.ResultSeriousLate:
			f.serious++
			f.lateMin += s.Minutes
			f.anomalies = append(f.anomalies, an)
		case attendance.ResultEarly:
			f.early++
			f.earlyMin += s.Minutes
			f.anomalies = append(f.anomalies, an)
		case attendance.ResultMissing:
			f.missing++
			f.anomalies = append(f.anomalies, an)
		case attendance.ResultAbsent:
			halves[halfOf(name)] = true
			absentSlots = append(absentSlots, s)
		case attendance.ResultPending:
			f.pending = true
		case attendance.ResultExcused:
			k := day.Excuse
			if s.Registration != nil {
				if r, ok := ix.byID[*s.Registration]; ok {
					k = r.Kind
				}
			}
			kinds[kindMark(k)]++
		}
		if s.LateRegistered && s.Registration != nil && (s.Result == attendance.ResultExcused || s.ExcusedMinutes > 0) {
			lr := LateRegistration{Date: d, Slot: name, Registration: *s.Registration}
			if r, ok := ix.byID[lr.Registration]; ok {
				lr.Kind, lr.RegisteredAt = r.Kind, r.RegisteredAt
			}
			f.lateRegs = append(f.lateRegs, lr)
		}
	}
	switch {
	case day.Status == attendance.StatusAbsent && len(absentSlots) == 0 && len(day.Slots) == 0:
		halves = [2]bool{true, true}
		fallthrough
	case halves[0] && halves[1] && len(absentSlots) == len(day.Slots):
		// The whole day: one anomaly, not four.
		f.anomalies = append(f.anomalies, Anomaly{Date: d, Result: attendance.ResultAbsent})
	default:
		for h := range 2 {
			var hs []attendance.Slot
			for _, s := range absentSlots {
				if halfOf(s.Name) == h {
					hs = append(hs, s)
				}
			}
			if len(hs) == 2 && hs[0].Time == nil && hs[1].Time == nil {
				// A half-day without any punch: one absence, named once.
				f.anomalies = append(f.anomalies, Anomaly{Date: d, Slot: hs[0].Name, Result: attendance.ResultAbsent, HalfDay: true})
				continue
			}
			for _, s := range hs {
				f.anomalies = append(f.anomalies, Anomaly{Date: d, Slot: s.Name, Result: s.Result, Minutes: s.Minutes, Time: s.Time})
			}
		}
	}
	for _, h := range halves {
		if h {
			f.absentHalves++
		}
	}
	if day.Status == attendance.StatusPending {
		f.pending = true
	}
	if len(kinds) > 0 || day.Status == attendance.StatusExcused {
		f.excuse = pickExcuse(day.Excuse, kinds)
	}
	sort.SliceStable(f.anomalies, func(i, j int) bool { return slotIndex(f.anomalies[i].Slot) < slotIndex(f.anomalies[j].Slot) })
	return f
}

func pickExcuse(dayKind attendance.Kind, kinds map[Mark]int) Mark {
	if dayKind != "" && dayKind != attendance.KindMakeup {
		return kindMark(dayKind)
	}
	best, n := MarkNone, -1
	for m, c := range kinds {
		if c > n || (c == n && excuseRank[m] > excuseRank[best]) {
			best, n = m, c
		}
	}
	if best == MarkNone {
		return MarkOffsite
	}
	return best
}

func halfOf(s attendance.SlotName) int {
	if s == attendance.PmIn || s == attendance.PmOut {
		return 1
	}
	return 0
}

func slotIndex(s attendance.SlotName) int {
	for i, n := range attendance.Slots {
		if n == s {
			return i
		}
	}
	return -1 // the whole day comes first
}

// personSpan merges the roster entries of one user id (a person moved between units has two).
type personSpan struct {
	attendance.Person
	entries []attendance.Person
	unknown bool
}

// mustPunch reports whether the person must punch here on d.
func (p *personSpan) mustPunch(d attendance.Date) bool {
	if p.unknown {
		return true
	}
	for _, e := range p.entries {
		if clockTracked(e) && e.Active(d) {
			return true
		}
	}
	return false
}

// clockTracked reports whether the roster entry must punch this clock (an empty tracking means clock,
// as in internal/rules).
func clockTracked(p attendance.Person) bool {
	return p.Tracking == attendance.TrackClock || p.Tracking == ""
}

// entryOn is the roster entry in force on d (the last active one), or the person's first entry.
func (p *personSpan) entryOn(d attendance.Date) attendance.Person {
	for i := len(p.entries) - 1; i >= 0; i-- {
		if p.entries[i].Active(d) && clockTracked(p.entries[i]) {
			return p.entries[i]
		}
	}
	return p.Person
}

// CompareUserIDs orders user ids the way the office counts them: two all-digit ids by number
// ("2" < "10", "007" = "7" then by text), anything else as text.
func CompareUserIDs(a, b string) int {
	if digits(a) && digits(b) {
		ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(ta) != len(tb) {
			return len(ta) - len(tb)
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// people groups the roster by user id, in user id order (CompareUserIDs) whatever order the roster
// came in — the store keeps it by id, a file by line, and both must give the same table — and adds users who have judged days but
// no roster entry (listed as unknown, never dropped). Only people who must punch on at least one day of
// [from, to] are kept; unit filters by the unit in force on those days.
func people(roster []attendance.Person, days []attendance.Day, from, to attendance.Date, unit string) ([]*personSpan, error) {
	var out []*personSpan
	by := map[string]*personSpan{}
	units := map[string]bool{}
	for _, p := range roster {
		units[p.Unit] = true
		if s, ok := by[p.UserID]; ok {
			s.entries = append(s.entries, p)
			continue
		}
		s := &personSpan{Person: p, entries: []attendance.Person{p}}
		by[p.UserID] = s
		out = append(out, s)
	}
	if unit != "" && !units[unit] {
		return nil, unknownUnit(unit, units)
	}
	for _, d := range days {
		if _, ok := by[d.UserID]; ok || d.Date.Before(from) || d.Date.After(to) {
			continue
		}
		if d.Status == attendance.StatusRest || d.Status == statusNotJudged || !d.DayType.IsWorking() && d.DayType != "" {
			continue
		}
		s := &personSpan{Person: attendance.Person{UserID: d.UserID, Tracking: attendance.TrackClock}, unknown: true}
		by[d.UserID] = s
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b *personSpan) int {
		if a.unknown != b.unknown {
			if a.unknown {
				return 1
			}
			return -1
		}
		return CompareUserIDs(a.UserID, b.UserID)
	})
	kept := out[:0]
	for _, s := range out {
		var last attendance.Person
		found := false
		for d := from; !d.After(to); d = d.AddDays(1) {
			if s.mustPunch(d) {
				last, found = s.entryOn(d), true
			}
		}
		if !found {
			continue
		}
		if !s.unknown {
			s.Person = last
		}
		if unit != "" && s.Unit != unit {
			continue
		}
		kept = append(kept, s)
	}
	return kept, nil
}

func unknownUnit(unit string, units map[string]bool) error {
	var names []string
	for u := range units {
		if u != "" {
			names = append(names, u)
		}
	}
	sort.Strings(names)
	return &unitError{unit: unit, known: names}
}

type unitError struct {
	unit  string
	known []string
}

func (e *unitError) Error() string {
	return fmt.Sprintf("report: unit %q is not on the roster (units: %s)", e.unit, strings.Join(e.known, ", "))
}

func (e *unitError) Unwrap() error { return ErrUnknownUnit }

// dayKey indexes judged days by user and date.
type dayKey struct {
	user string
	date attendance.Date
}

func indexDays(days []attendance.Day) map[dayKey]*attendance.Day {
	m := make(map[dayKey]*attendance.Day, len(days))
	for i := range days {
		m[dayKey{days[i].UserID, days[i].Date}] = &days[i]
	}
	return m
}
