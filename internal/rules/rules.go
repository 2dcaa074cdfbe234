// Package rules judges a person's four-punch working day: which punch counts for which slot
// (am_in, am_out, pm_in, pm_out), whether it is on time, late, seriously late, early, missing or
// absent, which registration excuses it, and whether the judgement is final yet.
//
// Judge is a pure function of its Input: no clock is read (the judging instant is Input.Now), no
// store, no calendar lookups (the caller passes the day type and the schedule). Same inputs, same
// Day, whatever the order of the punches and registrations and however often a punch repeats.
//
// The decision table, every threshold and worked examples are in docs/rules.md; the examples there
// are checked by TestDocExamples. In short:
//
//   - The day [Open, Close) is split at Noon into a morning and an afternoon half; each half splits
//     at its midpoint (AmSplit, PmSplit). Defaults: Open 05:00, Close 24:00, the splits at the
//     midpoints between the expected times (08:30/12:00/14:30/18:00 → 10:15, 13:15, 16:15). The
//     date's punches outside [Open, Close) count for no slot: Day.Uncounted lists them.
//   - Punches less than RepeatWindow after the last counted punch are repeats of it.
//   - In a half, the first punch is the arrival if it lies before the half's midpoint, or if it lies
//     before the expected end and an on-time departure follows; the last punch is the departure if it
//     lies at or after the midpoint. A lone punch is an arrival before the midpoint, a departure after.
//   - Lunch: if the afternoon has no arrival and the morning holds two or more punches at or after
//     its midpoint besides its arrival, the last of them is the afternoon arrival (the 12:40 punch)
//     and the one before it the morning departure.
//   - Times are compared at the minute the clock displays (seconds dropped). Only the minutes
//     between the expected time and the punch that no registration covers count: late by m such
//     minutes when m×1min > Grace; serious when it exceeds SeriousLateAfter; absent (that
//     half-day) when it exceeds AbsentAfter. Early likewise for "out". The covered minutes are
//     ExcusedMinutes; when they are all of it, the slot is excused.
//   - A slot without a punch whose expected time a registration covers is excused. A half with no
//     punch and neither expected time covered is absent (both slots); a slot without punch
//     otherwise missing.
//   - Late is final at the arrival punch. Everything decided by a punch that did not (yet) happen —
//     missing, absent, early, even ok for a departure — waits until Now and SyncedUntil have both
//     passed the slot's window close; until then the slot is pending.
//   - Registrations (non-revoked, non-makeup) excuse only when the slot is final. A registration
//     recorded more than RegisterWithin after the expected time of a slot it excuses marks the slot
//     LateRegistered. A makeup (补卡) registration is a punch marked manual.
//
// JudgeRange judges one person over a span of dates with a calendar; Events lists a judged day's
// final anomalies for the daemon's events. People not tracked by the clock (village, station,
// exempt) and dates outside their roster From..To get a Final day with StatusNotJudged.
//
// The package must not read the clock, the store or the network, and must not import the calendar
// (JudgeRange takes a small Calendar interface).
package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// StatusNotJudged is the Day.Status of a person this clock does not judge: tracked by a village,
// a station or exempt, or outside the roster's From..To. Such days are Final and have no slots;
// the monthly table leaves them out (blank).
const StatusNotJudged attendance.Status = "not_judged"

// ErrBadParams is returned by Params.Validate.
var ErrBadParams = errors.New("rules: bad parameters")

// Bounds are the optional window bounds of a day; a zero field takes its default. The morning
// half is [Open, Noon) and the afternoon [Noon, Close); AmSplit and PmSplit split the halves
// between their arrival and departure.
type Bounds struct {
	Open    attendance.TimeOfDay // earliest punch that counts; 0 = midnight (DefaultParams: DefaultOpen, 05:00)
	AmSplit attendance.TimeOfDay // default: midpoint of am_in and am_out
	Noon    attendance.TimeOfDay // default: midpoint of am_out and pm_in
	PmSplit attendance.TimeOfDay // default: midpoint of pm_in and pm_out
	Close   attendance.TimeOfDay // end of the day (exclusive); default 24:00
}

// Params are the thresholds of the rules ([rules] in the config).
type Params struct {
	Grace            time.Duration // late only when more than Grace after expected; default 0
	SeriousLateAfter time.Duration // late by more than this is serious_late; default 30m
	AbsentAfter      time.Duration // late or early by more than this: the slot is absent (its half-day); default 2h
	RepeatWindow     time.Duration // a punch less than this after the last counted one is a repeat; default 2m
	RegisterWithin   time.Duration // a registration recorded later than this after a slot it excuses is late_registered; default 24h
	UseStateKey      bool          // trust the clock's in/out key; default false (ignored)
	Windows          Bounds        // optional window bounds; zero = defaults
}

// DefaultParams are the township's defaults.
func DefaultParams() Params {
	return Params{
		Grace:            0,
		SeriousLateAfter: 30 * time.Minute,
		AbsentAfter:      2 * time.Hour,
		RepeatWindow:     2 * time.Minute,
		RegisterWithin:   24 * time.Hour,
		Windows:          Bounds{Open: DefaultOpen},
	}
}

// DefaultOpen is the default [rules.windows] open: a punch before 05:00 (someone leaving after
// overtime past midnight) is never the day's arrival.
const DefaultOpen attendance.TimeOfDay = 5 * 3600

// Validate checks the thresholds' order and the window bounds' range.
func (p Params) Validate() error {
	switch {
	case p.Grace < 0:
		return fmt.Errorf("%w: grace %s is negative", ErrBadParams, p.Grace)
	case p.RepeatWindow < 0:
		return fmt.Errorf("%w: repeat_window %s is negative", ErrBadParams, p.RepeatWindow)
	case p.RegisterWithin < 0:
		return fmt.Errorf("%w: register_within %s is negative", ErrBadParams, p.RegisterWithin)
	case p.SeriousLateAfter < p.Grace:
		return fmt.Errorf("%w: serious_late_after %s is shorter than grace %s", ErrBadParams, p.SeriousLateAfter, p.Grace)
	case p.AbsentAfter < p.SeriousLateAfter:
		return fmt.Errorf("%w: absent_after %s is shorter than serious_late_after %s", ErrBadParams, p.AbsentAfter, p.SeriousLateAfter)
	}
	w := p.Windows
	for _, f := range []struct {
		name string
		v    attendance.TimeOfDay
	}{{"open", w.Open}, {"am_split", w.AmSplit}, {"noon", w.Noon}, {"pm_split", w.PmSplit}, {"close", w.Close}} {
		if f.v < 0 || f.v > 24*3600 {
			return fmt.Errorf("%w: window %s %d s is not within the day", ErrBadParams, f.name, f.v)
		}
	}
	return nil
}

// LateRegistered reports whether registration r, excusing something due at t, was recorded more
// than RegisterWithin after t. A registration without RegisteredAt (read from a file that does
// not say) is not late.
func (p Params) LateRegistered(r attendance.Registration, t time.Time) bool {
	return !r.RegisteredAt.IsZero() && r.RegisteredAt.Sub(t) > p.RegisterWithin
}

// CheckSchedule reports whether the configured window bounds fit schedule s: Open ≤ am_in <
// AmSplit ≤ am_out < Noon ≤ pm_in < PmSplit ≤ pm_out < Close. Judge falls back to the default for
// a bound that does not fit; the config should call this to refuse such a setting instead.
func (p Params) CheckSchedule(s attendance.Schedule) error {
	eff, bad := p.bounds(s)
	if bad != "" {
		return fmt.Errorf("%w: schedule %q: window %s does not fit (effective %s %s %s %s %s)", ErrBadParams, s.Name, bad,
			eff.Open, eff.AmSplit, eff.Noon, eff.PmSplit, eff.Close)
	}
	return nil
}

// bounds resolves the effective bounds for s, naming the first configured bound that did not fit.
func (p Params) bounds(s attendance.Schedule) (Bounds, string) {
	w := p.Windows
	e := s.Expected()
	mid := func(a, b attendance.TimeOfDay) attendance.TimeOfDay { return a + (b-a)/2 }
	b := Bounds{Open: 0, AmSplit: mid(e[0], e[1]), Noon: mid(e[1], e[2]), PmSplit: mid(e[2], e[3]), Close: 24 * 3600}
	bad := ""
	use := func(name string, v attendance.TimeOfDay, ok bool, dst *attendance.TimeOfDay) {
		if v == 0 {
			return
		}
		if !ok {
			if bad == "" {
				bad = name
			}
			return
		}
		*dst = v
	}
	use("open", w.Open, w.Open <= e[0], &b.Open)
	use("am_split", w.AmSplit, e[0] < w.AmSplit && w.AmSplit <= e[1], &b.AmSplit)
	use("noon", w.Noon, e[1] < w.Noon && w.Noon <= e[2], &b.Noon)
	use("pm_split", w.PmSplit, e[2] < w.PmSplit && w.PmSplit <= e[3], &b.PmSplit)
	use("close", w.Close, e[3] < w.Close && w.Close <= 24*3600, &b.Close)
	return b, bad
}

// Input is everything one person's day is judged from.
type Input struct {
	Person        attendance.Person
	Date          attendance.Date
	DayType       attendance.DayType
	Schedule      attendance.Schedule
	Loc           *time.Location            // the site's zone; nil = UTC
	Params        Params                    // the zero Params means DefaultParams()
	Punches       []device.Punch            // any order; duplicates and other people's or days' punches are ignored
	Registrations []attendance.Registration // other people's and revoked ones are ignored
	SyncedUntil   time.Time                 // every clock the person uses has synced past this; zero = unknown
	Now           time.Time                 // the judging instant
}

// zone is the site's zone, UTC when none is given.
func (in Input) zone() *time.Location {
	if in.Loc == nil {
		return time.UTC
	}
	return in.Loc
}

// params are the thresholds, the defaults for the zero Params.
func (in Input) params() Params {
	if in.Params == (Params{}) {
		return DefaultParams()
	}
	return in.Params
}

// punch is a candidate punch of the day.
type punch struct {
	t      time.Time
	clock  string
	state  uint8
	verify uint8
	work   uint32
	regID  string // makeup registration id; "" for a clock punch
}

func (p punch) manual() bool { return p.regID != "" }

func comparePunch(a, b punch) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	if a.manual() != b.manual() { // a clock punch before a manual one at the same instant
		if a.manual() {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.clock, b.clock), cmp.Compare(a.state, b.state), cmp.Compare(a.verify, b.verify),
		cmp.Compare(a.work, b.work), cmp.Compare(a.regID, b.regID))
}

// Tracked reports whether the rules judge p on d: tracked by this clock and on the roster that day.
func Tracked(p attendance.Person, d attendance.Date) bool {
	return (p.Tracking == attendance.TrackClock || p.Tracking == "") && p.Active(d)
}

// state keys of ZK clocks (device.Punch.State)
func inKey(s uint8) bool  { return s == 0 || s == 3 || s == 4 }
func outKey(s uint8) bool { return s == 1 || s == 2 || s == 5 }

// Judge judges one person's day. See the package doc and docs/rules.md.
func Judge(in Input) attendance.Day {
	day := attendance.Day{UserID: in.Person.UserID, Date: in.Date, DayType: in.DayType}
	if !Tracked(in.Person, in.Date) {
		day.Status, day.Final = StatusNotJudged, true
		return day
	}
	loc, prm := in.zone(), in.params()
	b, _ := prm.bounds(in.Schedule)
	at := func(t attendance.TimeOfDay) time.Time { return in.Date.At(t, loc) }
	open, noon, closeT := at(b.Open), at(b.Noon), at(b.Close)

	ps, uncounted := collect(in, prm, open, closeT)
	day.Punches, day.Uncounted = len(ps), uncounted

	e := in.Schedule.Expected()
	var exp [4]time.Time
	for i := range e {
		exp[i] = at(e[i])
	}

	// Split the day into halves.
	var am, pm []punch
	for _, p := range ps {
		morning := p.t.Before(noon)
		if prm.UseStateKey {
			// the key decides around noon: an arrival key after the morning's end is the afternoon's
			// arrival, a departure key before the afternoon's start is the morning's departure
			if morning && inKey(p.state) && !p.t.Before(exp[1]) {
				morning = false
			} else if !morning && outKey(p.state) && p.t.Before(exp[2]) {
				morning = true
			}
		}
		if morning {
			am = append(am, p)
		} else {
			pm = append(pm, p)
		}
	}
	amSplit, pmSplit := at(b.AmSplit), at(b.PmSplit)
	var slot [4]int // index into the half's slice, -1 none
	slot[0], slot[1] = assignHalf(am, amSplit, exp[1], prm.UseStateKey)
	slot[2], slot[3] = assignHalf(pm, pmSplit, exp[3], prm.UseStateKey)
	chosen := [4]*punch{}
	for i := range 4 {
		half := am
		if i >= 2 {
			half = pm
		}
		if slot[i] >= 0 {
			chosen[i] = &half[slot[i]]
		}
	}

	// Lunch: the 12:40 punch.
	var closes [4]time.Time
	closes[0], closes[1], closes[2], closes[3] = noon, noon, closeT, closeT
	if prm.UseStateKey {
		// an out-key punch up to the expected pm_in still joins the morning (rule K)
		closes[0], closes[1] = exp[2], exp[2]
	}
	// An arrival after the split (rule A2) stands only beside an on-time departure; rule L may
	// still take that departure away, so such an arrival is final only with the morning.
	lateA2 := chosen[0] != nil && !chosen[0].t.Before(amSplit)
	lent := false
	if !prm.UseStateKey {
		var x []int
		for i, p := range am {
			if i != slot[0] && !p.t.Before(amSplit) {
				x = append(x, i)
			}
		}
		if len(x) >= 2 && chosen[2] == nil {
			chosen[2], chosen[1] = &am[x[len(x)-1]], &am[x[len(x)-2]]
			lent = true
			// an afternoon arrival may still come and undo the lending
			closes[0], closes[1] = closeT, closeT
			if lateA2 && chosen[1].t.Before(exp[1]) {
				chosen[0] = nil // A2 needs an on-time departure: the departure left is early
			}
		}
	}

	if !in.DayType.IsWorking() {
		day.Status, day.Final = attendance.StatusRest, true
		day.Slots = make(map[attendance.SlotName]attendance.Slot, 4)
		for i, name := range attendance.Slots {
			if chosen[i] != nil {
				day.Slots[name] = slotWith(attendance.Slot{Name: name, Expected: exp[i], Result: attendance.ResultOK}, chosen[i])
			}
		}
		return day
	}

	day.Slots = make(map[attendance.SlotName]attendance.Slot, 4)
	synced := func(t time.Time) bool {
		return !in.SyncedUntil.IsZero() && !in.SyncedUntil.Before(t) && !in.Now.Before(t)
	}
	cs := covers(in)
	var excuses [4]*attendance.Registration
	for i, name := range attendance.Slots {
		s := attendance.Slot{Name: name, Expected: exp[i]}
		p := chosen[i]
		final := synced(closes[i])
		var reg *attendance.Registration // the registration that excuses the slot, wholly or in part
		if p != nil {
			s = slotWith(s, p)
			if name.IsIn() && !(i == 2 && lent) && !(i == 0 && lateA2) {
				final = true // late is final at the arrival punch
			}
			reg = judgeMinutes(&s, p.t, cs, prm)
		} else {
			// A half without any punch is absent, unless a registration covers one of its
			// expected times: then that slot is excused and the other one only missing.
			other := i ^ 1
			halfEmpty := chosen[other] == nil && coveringAt(cs, exp[other]) == nil
			reg = coveringAt(cs, exp[i])
			switch {
			case reg != nil && chosen[other] == nil:
				s.Result, s.Unexcused = attendance.ResultExcused, attendance.ResultAbsent
			case reg != nil:
				s.Result, s.Unexcused = attendance.ResultExcused, attendance.ResultMissing
			case halfEmpty:
				s.Result = attendance.ResultAbsent
			default:
				s.Result = attendance.ResultMissing
			}
		}
		switch {
		case !final:
			s = attendance.Slot{Name: name, Expected: s.Expected, Time: s.Time, Clock: s.Clock, Manual: s.Manual,
				Registration: s.Registration, Result: attendance.ResultPending}
		case reg != nil:
			id := reg.ID
			s.Registration = &id
			s.LateRegistered = prm.LateRegistered(*reg, exp[i])
			if s.Result == attendance.ResultExcused {
				excuses[i] = reg
			}
		}
		day.Slots[name] = s
	}
	day.Status, day.Final = status(day.Slots)
	day.Excuse = mainExcuse(excuses)
	return day
}

// Closes are the instants at which the judgement of a day can change with time alone
// (WindowCloses): a slot waiting for its window to close turns final once Now and SyncedUntil
// have both passed it. A small value, kept per open day by a caller that re-judges open days as
// time goes by.
type Closes struct {
	at [3]int64 // Unix seconds, earliest first
	n  int
}

// Times lists the instants, earliest first, in loc.
func (c Closes) Times(loc *time.Location) []time.Time {
	out := make([]time.Time, c.n)
	for i := range out {
		out[i] = time.Unix(c.at[i], 0).In(loc)
	}
	return out
}

// Passed is how many of the instants Now and SyncedUntil have both passed: the part of the time
// Judge looks at. With the same punches and registrations, Judge returns the same Day for any two
// (Now, SyncedUntil) that have passed the same number of them; a caller can skip an open day
// until that number changes.
func (c Closes) Passed(syncedUntil, now time.Time) int {
	if syncedUntil.IsZero() {
		return 0
	}
	at := syncedUntil
	if now.Before(at) {
		at = now
	}
	n := 0
	for _, t := range c.at[:c.n] {
		if at.Unix() >= t { // closes fall on whole seconds
			n++
		}
	}
	return n
}

// WindowCloses is the Closes of in's day: noon, the expected pm_in when the state key decides
// (UseStateKey), and the day's close.
func WindowCloses(in Input) Closes {
	loc, prm := in.zone(), in.params()
	b, _ := prm.bounds(in.Schedule)
	c := Closes{n: 1}
	c.at[0] = in.Date.At(b.Noon, loc).Unix()
	if prm.UseStateKey {
		if pmIn := in.Date.At(in.Schedule.Expected()[2], loc).Unix(); pmIn > c.at[0] {
			c.at[c.n] = pmIn
			c.n++
		}
	}
	c.at[c.n] = in.Date.At(b.Close, loc).Unix()
	c.n++
	return c
}

// judgeMinutes judges slot s whose punch is at t: the minutes late (an arrival) or early (a
// departure) are those between the punch's displayed minute and the expected time that no
// registration covers, and the thresholds apply to them. When registrations cover all of them
// the slot is excused. It returns the registration named for the covered minutes, if any.
func judgeMinutes(s *attendance.Slot, t time.Time, cs []cover, prm Params) *attendance.Registration {
	m := minutesAfter(t, s.Expected)
	judge, start := lateResult, s.Expected
	if !s.Name.IsIn() {
		m = -m
		judge, start = earlyResult, s.Expected.Add(-time.Duration(m)*time.Minute)
	}
	s.Result, s.Minutes = judge(m, prm)
	if !anomaly(s.Result) || len(cs) == 0 {
		return nil
	}
	covered, reg := coveredMinutes(cs, start, m)
	if covered == 0 {
		return nil
	}
	raw := s.Result
	s.ExcusedMinutes = covered
	if s.Result, s.Minutes = judge(m-covered, prm); s.Result == attendance.ResultOK {
		s.Result, s.Unexcused = attendance.ResultExcused, raw
	}
	return reg
}

// cover is the span [from, to) a registration excuses: its From..To, To included to the second.
type cover struct {
	from, to time.Time
	reg      *attendance.Registration
}

// covers lists the person's excusing registrations (not makeups, not revoked), earliest From
// first, then by id: the order in which one is named when several cover a slot.
func covers(in Input) []cover {
	var cs []cover
	for i := range in.Registrations {
		r := &in.Registrations[i]
		if r.Kind == attendance.KindMakeup || r.Revoked() || r.UserID != in.Person.UserID || r.To.Before(r.From) {
			continue
		}
		cs = append(cs, cover{from: r.From, to: r.To.Add(time.Second), reg: r})
	}
	slices.SortFunc(cs, func(a, b cover) int {
		return cmp.Or(a.from.Compare(b.from), cmp.Compare(a.reg.ID, b.reg.ID))
	})
	return cs
}

// coveringAt is the registration that covers instant t (From ≤ t ≤ To), if any.
func coveringAt(cs []cover, t time.Time) *attendance.Registration {
	for _, c := range cs {
		if !t.Before(c.from) && t.Before(c.to) {
			return c.reg
		}
	}
	return nil
}

// coveredMinutes is how many of the m whole minutes from start the registrations cover
// entirely — a minute only partly covered counts against the person — and the registration named
// for them (the first in covers' order that covers any of the time).
func coveredMinutes(cs []cover, start time.Time, m int) (int, *attendance.Registration) {
	end := start.Add(time.Duration(m) * time.Minute)
	var named *attendance.Registration
	n := 0
	var lo, hi time.Time // the merged span being built
	flush := func() {
		if lo.Before(hi) {
			first := (lo.Sub(start) + time.Minute - 1) / time.Minute // the first minute wholly inside
			n += max(0, int(hi.Sub(start)/time.Minute-first))
		}
	}
	// cs is sorted by from, so one pass merges the overlapping and touching spans.
	for _, c := range cs {
		f, t := c.from, c.to
		if f.Before(start) {
			f = start
		}
		if t.After(end) {
			t = end
		}
		if !f.Before(t) {
			continue
		}
		if named == nil {
			named = c.reg
		}
		if lo.Before(hi) && !f.After(hi) {
			if t.After(hi) {
				hi = t
			}
			continue
		}
		flush()
		lo, hi = f, t
	}
	flush()
	if n == 0 {
		return 0, nil
	}
	return n, named
}

// collect returns the person's distinct punches in [open, close): clock punches and makeup
// registrations, sorted, repeats folded into the first punch of their run; and the person's
// punches of the date outside [open, close), distinct, in time order.
func collect(in Input, prm Params, open, closeT time.Time) ([]punch, []attendance.Uncounted) {
	loc := open.Location()
	dayStart, dayEnd := in.Date.Start(loc), in.Date.AddDays(1).Start(loc)
	all := make([]punch, 0, 8)
	var outside []attendance.Uncounted
	for _, p := range in.Punches {
		if p.UserID != in.Person.UserID {
			continue
		}
		if p.Time.Before(open) || !p.Time.Before(closeT) {
			if !p.Time.Before(dayStart) && p.Time.Before(dayEnd) {
				why := attendance.BeforeOpen
				if !p.Time.Before(closeT) {
					why = attendance.AfterClose
				}
				outside = append(outside, attendance.Uncounted{Time: p.Time.In(loc), Clock: p.Clock, Reason: why})
			}
			continue
		}
		all = append(all, punch{t: p.Time.In(loc), clock: p.Clock, state: p.State, verify: p.Verify, work: p.WorkCode})
	}
	for _, r := range in.Registrations {
		if r.Kind != attendance.KindMakeup || r.Revoked() || r.UserID != in.Person.UserID ||
			r.From.Before(open) || !r.From.Before(closeT) {
			continue
		}
		all = append(all, punch{t: r.From.In(loc), regID: r.ID})
	}
	slices.SortFunc(all, comparePunch)
	out := all[:0]
	for _, p := range all {
		if len(out) > 0 && p.t.Sub(out[len(out)-1].t) < prm.RepeatWindow {
			continue
		}
		if len(out) > 0 && prm.RepeatWindow <= 0 && comparePunch(p, out[len(out)-1]) == 0 {
			continue // an exact duplicate is one punch even without a repeat window
		}
		out = append(out, p)
	}
	if len(outside) > 1 {
		slices.SortFunc(outside, func(a, b attendance.Uncounted) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Clock, b.Clock))
		})
		outside = slices.CompactFunc(outside, func(a, b attendance.Uncounted) bool { return a.Time.Equal(b.Time) && a.Clock == b.Clock })
	}
	return out, outside
}

// assignHalf picks the arrival and the departure of one half among its sorted punches.
// split is the half's midpoint, end the expected departure. Returns indices or -1.
// A first punch after the split is an arrival only when an on-time departure follows it: then the
// later punch is surely the departure. Otherwise (11:50 and 11:58) it is not taken as a late
// arrival — that would judge "absent" from ambiguous punches.
func assignHalf(ps []punch, split, end time.Time, useKey bool) (arr, dep int) {
	arr, dep = -1, -1
	canIn := func(p punch) bool { return !useKey || !outKey(p.state) }
	canOut := func(p punch) bool { return !useKey || !inKey(p.state) }
	for i := len(ps) - 1; i >= 0; i-- {
		if canOut(ps[i]) {
			if !ps[i].t.Before(split) {
				dep = i
			}
			break
		}
	}
	for i, p := range ps {
		if canIn(p) {
			if p.t.Before(split) || (p.t.Before(end) && dep > i && !ps[dep].t.Before(end)) {
				arr = i
			}
			break
		}
	}
	return arr, dep
}

// minutesAfter is how many whole minutes the punch's displayed minute is after expected
// (negative: before). Seconds of the punch are dropped, as the clock's display does.
func minutesAfter(t, expected time.Time) int {
	d := t.Sub(expected)
	m := int(d / time.Minute)
	if d < 0 && d%time.Minute != 0 {
		m-- // floor
	}
	return m
}

func lateResult(m int, p Params) (attendance.Result, int) {
	d := time.Duration(m) * time.Minute
	switch {
	case m <= 0 || d <= p.Grace:
		return attendance.ResultOK, 0
	case d > p.AbsentAfter:
		return attendance.ResultAbsent, m
	case d > p.SeriousLateAfter:
		return attendance.ResultSeriousLate, m
	}
	return attendance.ResultLate, m
}

func earlyResult(m int, p Params) (attendance.Result, int) {
	switch {
	case m <= 0:
		return attendance.ResultOK, 0
	case time.Duration(m)*time.Minute > p.AbsentAfter:
		return attendance.ResultAbsent, m
	}
	return attendance.ResultEarly, m
}

func slotWith(s attendance.Slot, p *punch) attendance.Slot {
	t := p.t
	s.Time = &t
	s.Clock = p.clock
	if !p.manual() {
		s.Verify = device.VerifyMethod(p.verify)
	}
	if p.manual() {
		id := p.regID
		s.Manual, s.Registration = true, &id
	}
	return s
}

func anomaly(r attendance.Result) bool {
	switch r {
	case attendance.ResultLate, attendance.ResultSeriousLate, attendance.ResultEarly, attendance.ResultMissing, attendance.ResultAbsent:
		return true
	}
	return false
}

func status(slots map[attendance.SlotName]attendance.Slot) (attendance.Status, bool) {
	var pending, absent, abnormal, excused int
	for _, s := range slots {
		switch {
		case s.Result == attendance.ResultPending:
			pending++
		case s.Result == attendance.ResultAbsent:
			absent++
			abnormal++
		case anomaly(s.Result):
			abnormal++
		case s.Result == attendance.ResultExcused:
			excused++
		}
	}
	switch {
	case pending > 0:
		return attendance.StatusPending, false
	case absent == len(attendance.Slots):
		return attendance.StatusAbsent, true
	case abnormal > 0:
		return attendance.StatusAbnormal, true
	case excused > 0:
		return attendance.StatusExcused, true
	}
	return attendance.StatusNormal, true
}

// mainExcuse is the kind of the registration that excused the most slots (ties: the earlier slot).
func mainExcuse(ex [4]*attendance.Registration) attendance.Kind {
	count := map[string]int{}
	for _, r := range ex {
		if r != nil {
			count[r.ID]++
		}
	}
	var best *attendance.Registration
	for _, r := range ex {
		if r != nil && (best == nil || count[r.ID] > count[best.ID]) {
			best = r
		}
	}
	if best == nil {
		return ""
	}
	return best.Kind
}
