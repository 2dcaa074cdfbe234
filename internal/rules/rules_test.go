package rules

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"pgregory.net/rapid"
)

var calendarErrNoData = calendar.ErrNoData

var (
	monday   = attendance.Date{Year: 2026, Month: time.March, Day: 2}
	standard = attendance.Schedule{Name: "all-year", From: attendance.MonthDay{Month: 1, Day: 1}, To: attendance.MonthDay{Month: 12, Day: 31},
		AmIn: 8*3600 + 30*60, AmOut: 12 * 3600, PmIn: 14*3600 + 30*60, PmOut: 18 * 3600}
	worker = attendance.Person{UserID: "A1023", Name: "张三", Tracking: attendance.TrackClock}
)

func at(hms string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", "2026-03-02 "+hms, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func punches(user string, hms ...string) []device.Punch {
	var out []device.Punch
	for _, s := range hms {
		out = append(out, device.Punch{Clock: "CLK1", UserID: user, Time: at(s)})
	}
	return out
}

func baseInput(ps ...string) Input {
	next := monday.AddDays(1).Start(shanghai)
	return Input{Person: worker, Date: monday, DayType: attendance.Workday, Schedule: standard, Loc: shanghai,
		Params: DefaultParams(), Punches: punches(worker.UserID, ps...), SyncedUntil: next, Now: next}
}

type want struct {
	status  attendance.Status
	results [4]attendance.Result
	minutes [4]int
}

func check(t *testing.T, name string, d attendance.Day, w want) {
	t.Helper()
	if d.Status != w.status {
		t.Errorf("%s: status %s, want %s", name, d.Status, w.status)
	}
	for i, s := range attendance.Slots {
		if got := d.Slots[s]; got.Result != w.results[i] || got.Minutes != w.minutes[i] {
			t.Errorf("%s: %s = %s %d, want %s %d", name, s, got.Result, got.Minutes, w.results[i], w.minutes[i])
		}
	}
}

const (
	ok      = attendance.ResultOK
	late    = attendance.ResultLate
	serious = attendance.ResultSeriousLate
	early   = attendance.ResultEarly
	missing = attendance.ResultMissing
	absent  = attendance.ResultAbsent
	excused = attendance.ResultExcused
	pending = attendance.ResultPending
)

func TestThresholds(t *testing.T) {
	cases := []struct {
		name    string
		punches []string
		grace   time.Duration
		w       want
	}{
		{"on time", []string{"08:30:00", "12:00:00", "14:30:00", "18:00:00"}, 0, want{attendance.StatusNormal, [4]attendance.Result{ok, ok, ok, ok}, [4]int{}}},
		{"08:30:59 on time", []string{"08:30:59", "12:00:00", "14:30:59", "18:00:00"}, 0, want{attendance.StatusNormal, [4]attendance.Result{ok, ok, ok, ok}, [4]int{}}},
		{"late by one", []string{"08:31:00", "12:00:00", "14:30:00", "18:00:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{late, ok, ok, ok}, [4]int{1}}},
		{"grace edge", []string{"08:35:59", "12:00:00", "14:36:00", "18:00:00"}, 5 * time.Minute, want{attendance.StatusAbnormal, [4]attendance.Result{ok, ok, late, ok}, [4]int{0, 0, 6, 0}}},
		{"serious edge", []string{"09:00:59", "12:00:00", "15:01:00", "18:00:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{late, ok, serious, ok}, [4]int{30, 0, 31, 0}}},
		{"absent edge", []string{"10:30:00", "12:00:00", "16:31:00", "18:00:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{serious, ok, absent, ok}, [4]int{120, 0, 121, 0}}},
		{"early edge", []string{"08:00:00", "11:59:59", "14:00:00", "17:59:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{ok, early, ok, early}, [4]int{0, 1, 0, 1}}},
		{"early at the split", []string{"08:00:00", "10:15:00", "14:00:00", "18:00:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{ok, early, ok, ok}, [4]int{0, 105, 0, 0}}},
		{"before the split: no departure", []string{"08:00:00", "10:14:59", "14:00:00", "18:00:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{ok, missing, ok, ok}, [4]int{}}},
		{"no punch", nil, 0, want{attendance.StatusAbsent, [4]attendance.Result{absent, absent, absent, absent}, [4]int{}}},
		{"one punch all day", []string{"08:20:00"}, 0, want{attendance.StatusAbnormal, [4]attendance.Result{ok, missing, absent, absent}, [4]int{}}},
		{"punch at 23:59:59 counts", []string{"08:20:00", "12:00:00", "14:20:00", "23:59:59"}, 0, want{attendance.StatusNormal, [4]attendance.Result{ok, ok, ok, ok}, [4]int{}}},
	}
	for _, tc := range cases {
		in := baseInput(tc.punches...)
		in.Params.Grace = tc.grace
		check(t, tc.name, Judge(in), tc.w)
	}
}

func TestIgnoresOtherPeopleAndDays(t *testing.T) {
	in := baseInput("08:20:00", "12:00:00", "14:20:00", "18:00:00")
	ref := Judge(in)
	in.Punches = append(in.Punches, punches("B7", "08:50:00", "11:00:00")...)
	in.Punches = append(in.Punches,
		device.Punch{Clock: "CLK1", UserID: worker.UserID, Time: at("08:50:00").AddDate(0, 0, -1)},
		device.Punch{Clock: "CLK1", UserID: worker.UserID, Time: at("00:00:00").AddDate(0, 0, 1)},
		device.Punch{Clock: "CLK1", UserID: worker.UserID, Time: at("07:59:00").In(time.UTC)}, // same instant in another zone counts
	)
	in.Registrations = append(in.Registrations,
		attendance.Registration{ID: "X", UserID: "B7", Kind: attendance.KindLeave, From: at("00:00:00"), To: at("23:00:00")})
	got := Judge(in)
	if got.Slots[attendance.AmIn].Time.Format("15:04") != "07:59" {
		t.Errorf("am_in %v, want the 07:59 punch given in UTC", got.Slots[attendance.AmIn].Time)
	}
	got.Slots[attendance.AmIn] = ref.Slots[attendance.AmIn]
	got.Punches = ref.Punches
	if !reflect.DeepEqual(got, ref) {
		t.Errorf("other people's or days' data changed the day:\n%+v\n%+v", got, ref)
	}
}

func TestNotJudged(t *testing.T) {
	for _, p := range []attendance.Person{
		{UserID: "A1023", Tracking: attendance.TrackVillage},
		{UserID: "A1023", Tracking: attendance.TrackStation},
		{UserID: "A1023", Tracking: attendance.TrackExempt},
		{UserID: "A1023", Tracking: attendance.TrackClock, From: monday.AddDays(1)},
		{UserID: "A1023", Tracking: attendance.TrackClock, To: monday.AddDays(-1)},
	} {
		in := baseInput()
		in.Person = p
		d := Judge(in)
		if d.Status != StatusNotJudged || !d.Final || len(d.Slots) != 0 || Events(d) != nil {
			t.Errorf("%+v: %+v", p, d)
		}
	}
	in := baseInput()
	in.Person.From, in.Person.To = monday, monday
	if d := Judge(in); d.Status != attendance.StatusAbsent {
		t.Errorf("on the first and last roster day: %s", d.Status)
	}
}

func TestRestDayNeverAnomaly(t *testing.T) {
	for _, dt := range []attendance.DayType{attendance.RestDay, attendance.Holiday} {
		for _, ps := range [][]string{nil, {"10:00:00"}, {"08:00:00", "11:00:00", "15:00:00", "17:00:00"}} {
			in := baseInput(ps...)
			in.DayType = dt
			d := Judge(in)
			if d.Status != attendance.StatusRest || !d.Final || len(Events(d)) != 0 || d.Punches != len(ps) {
				t.Errorf("%s %v: %+v", dt, ps, d)
			}
			for _, s := range d.Slots {
				if s.Result != ok {
					t.Errorf("%s %v: slot %s %s", dt, ps, s.Name, s.Result)
				}
			}
		}
	}
}

func TestPendingAndSync(t *testing.T) {
	in := baseInput("08:35:00", "11:50:00")
	in.Now, in.SyncedUntil = at("12:30:00"), at("12:30:00")
	d := Judge(in)
	check(t, "before noon close", d, want{attendance.StatusPending, [4]attendance.Result{late, pending, pending, pending}, [4]int{5}})
	if d.Final {
		t.Error("final with pending slots")
	}
	in.Now, in.SyncedUntil = at("13:15:00"), at("13:15:00")
	check(t, "at noon close", Judge(in), want{attendance.StatusPending, [4]attendance.Result{late, early, pending, pending}, [4]int{5, 10}})
	in.SyncedUntil = at("13:14:59")
	check(t, "not synced", Judge(in), want{attendance.StatusPending, [4]attendance.Result{late, pending, pending, pending}, [4]int{5}})
	in.SyncedUntil = time.Time{}
	in.Now = at("23:00:00").AddDate(0, 0, 3)
	check(t, "sync unknown", Judge(in), want{attendance.StatusPending, [4]attendance.Result{late, pending, pending, pending}, [4]int{5}})

	// Rule L keeps am_out open until an afternoon arrival can no longer come.
	in = baseInput("08:25:00", "11:50:00", "12:40:00")
	in.Now, in.SyncedUntil = at("14:00:00"), at("14:00:00")
	check(t, "lent", Judge(in), want{attendance.StatusPending, [4]attendance.Result{ok, pending, pending, pending}, [4]int{}})
	in.Punches = append(in.Punches, punches(worker.UserID, "14:28:00")...)
	check(t, "lending undone", Judge(in), want{attendance.StatusPending, [4]attendance.Result{ok, ok, ok, pending}, [4]int{}})
}

func TestRegistrations(t *testing.T) {
	reg := func(id string, k attendance.Kind, from, to string) attendance.Registration {
		return attendance.Registration{ID: id, UserID: worker.UserID, Kind: k, From: at(from), To: at(to)}
	}
	// Leave 14:30–15:30, arrival 16:00: the 60 registered minutes are excused, the 30 after it count.
	in := baseInput("08:20:00", "12:00:00", "16:00:00", "18:00:00")
	in.Registrations = []attendance.Registration{reg("R9", attendance.KindLeave, "14:30:00", "15:30:00")}
	d := Judge(in)
	if s := d.Slots[attendance.PmIn]; s.Result != late || s.Minutes != 30 || s.ExcusedMinutes != 60 || *s.Registration != "R9" {
		t.Errorf("pm_in %+v", s)
	}
	if d.Status != attendance.StatusAbnormal || d.Excuse != "" {
		t.Errorf("status %s excuse %s", d.Status, d.Excuse)
	}
	// Leave until 16:00 covers the whole lateness: excused.
	in.Registrations = []attendance.Registration{reg("R9", attendance.KindLeave, "14:30:00", "16:00:00")}
	d = Judge(in)
	if s := d.Slots[attendance.PmIn]; s.Result != excused || s.Unexcused != serious || s.Minutes != 0 || s.ExcusedMinutes != 90 || *s.Registration != "R9" {
		t.Errorf("pm_in %+v", s)
	}
	if d.Status != attendance.StatusExcused || d.Excuse != attendance.KindLeave {
		t.Errorf("status %s excuse %s", d.Status, d.Excuse)
	}
	// A registration ending just before the expected time covers none of the lateness.
	in.Registrations = []attendance.Registration{reg("R9", attendance.KindLeave, "13:00:00", "14:29:59")}
	if s := Judge(in).Slots[attendance.PmIn]; s.Result != serious || s.Minutes != 90 || s.ExcusedMinutes != 0 || s.Registration != nil {
		t.Errorf("uncovered pm_in %+v", s)
	}
	// Two covering: the earlier start is named, whatever their order.
	in.Registrations = []attendance.Registration{reg("R2", attendance.KindMeeting, "14:00:00", "16:00:00"), reg("R1", attendance.KindOffsite, "13:00:00", "15:00:00")}
	if s := Judge(in).Slots[attendance.PmIn]; *s.Registration != "R1" {
		t.Errorf("named %s, want R1", *s.Registration)
	}
	// An ok slot is not marked excused.
	in = baseInput("08:20:00", "12:00:00", "14:20:00", "18:00:00")
	in.Registrations = []attendance.Registration{reg("R1", attendance.KindOffsite, "08:00:00", "18:00:00")}
	if d := Judge(in); d.Status != attendance.StatusNormal || d.Excuse != "" {
		t.Errorf("ok day with registration: %s %s", d.Status, d.Excuse)
	}
	// Recorded within register_within (24h) of the slot's expected time: in time; a second later: late.
	in = baseInput("08:20:00", "12:00:00", "18:00:00")
	r := reg("R3", attendance.KindOffsite, "14:00:00", "16:00:00")
	r.RegisteredAt = at("14:30:00").Add(24 * time.Hour)
	in.Registrations = []attendance.Registration{r}
	if s := Judge(in).Slots[attendance.PmIn]; s.Result != excused || s.LateRegistered {
		t.Errorf("registered within 24h: %+v", s)
	}
	in.Registrations[0].RegisteredAt = in.Registrations[0].RegisteredAt.Add(time.Second)
	if s := Judge(in).Slots[attendance.PmIn]; s.Result != excused || !s.LateRegistered || *s.Registration != "R3" {
		t.Errorf("registered 24h and a second after: %+v", s)
	}
	// A makeup within the repeat window of a clock punch: the earlier one counts.
	in = baseInput("08:21:00", "12:00:00", "14:20:00", "18:00:00")
	in.Registrations = []attendance.Registration{reg("M1", attendance.KindMakeup, "08:20:00", "08:20:00")}
	d = Judge(in)
	if s := d.Slots[attendance.AmIn]; !s.Manual || *s.Registration != "M1" || d.Punches != 4 {
		t.Errorf("makeup %+v punches %d", s, d.Punches)
	}
	// A revoked makeup is no punch.
	in.Punches = punches(worker.UserID, "12:00:00", "14:20:00", "18:00:00")
	in.Registrations[0].RevokedAt = at("20:00:00")
	if s := Judge(in).Slots[attendance.AmIn]; s.Result != missing {
		t.Errorf("revoked makeup %+v", s)
	}
}

func TestEvents(t *testing.T) {
	in := baseInput("09:10:00", "11:40:00", "14:40:00")
	in.Registrations = []attendance.Registration{{ID: "R5", UserID: worker.UserID, Kind: attendance.KindMeeting, From: at("14:00:00"), To: at("15:00:00")}}
	got := Events(Judge(in))
	type ev struct {
		slot      attendance.SlotName
		kind      attendance.EventKind
		sev       attendance.Severity
		min       int
		excused   bool
		reg       string
		hasActual bool
	}
	var short []ev
	for _, a := range got {
		short = append(short, ev{a.Slot, a.Kind, a.Severity, a.Minutes, a.Excused, a.Registration, a.Actual != nil})
	}
	wantEv := []ev{
		{attendance.AmIn, attendance.EventLate, attendance.SeveritySerious, 40, false, "", true},
		{attendance.AmOut, attendance.EventEarly, attendance.SeverityMinor, 20, false, "", true},
		{attendance.PmIn, attendance.EventLate, attendance.SeverityMinor, 10, true, "R5", true},
		{attendance.PmOut, attendance.EventMissing, attendance.SeveritySerious, 0, false, "", false},
	}
	if !reflect.DeepEqual(short, wantEv) {
		t.Errorf("events\n got %+v\nwant %+v", short, wantEv)
	}
	if ev := Events(Judge(baseInput())); len(ev) != 4 || ev[0].Kind != attendance.EventAbsent || ev[0].Severity != attendance.SeveritySerious {
		t.Errorf("absent day events %+v", ev)
	}
	in = baseInput("08:35:00")
	in.Now = at("09:00:00")
	if ev := Events(Judge(in)); len(ev) != 1 || ev[0].Kind != attendance.EventLate {
		t.Errorf("pending day events %+v", ev)
	}
}

// TestEventsExcusedKeepKindAndSeverity: a registration added after the judgement keeps the kind
// and severity the slot had, so the correction goes out under the published id. A half-day
// absence by arriving beyond absent_after stays absent (serious), not late.
func TestEventsExcusedKeepKindAndSeverity(t *testing.T) {
	in := baseInput("10:45:00", "12:00:00", "14:30:00", "18:00:00")
	before := Events(Judge(in))
	in.Registrations = []attendance.Registration{{ID: "R8", UserID: worker.UserID, Kind: attendance.KindLeave, From: at("08:00:00"), To: at("10:45:00")}}
	after := Events(Judge(in))
	if len(before) != 1 || len(after) != 1 {
		t.Fatalf("events before %+v, after %+v; want one each", before, after)
	}
	b, a := before[0], after[0]
	if b.Kind != attendance.EventAbsent || b.Severity != attendance.SeveritySerious || b.Minutes != 135 || b.Excused {
		t.Errorf("before the registration: %+v, want absent, serious, 135 min", b)
	}
	if a.Kind != b.Kind || a.Severity != b.Severity || a.Minutes != b.Minutes || !a.Excused || a.Registration != "R8" || a.Actual == nil {
		t.Errorf("after the registration: %+v, want %+v excused by R8", a, b)
	}
}

func TestParams(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Params{
		{Grace: -1, SeriousLateAfter: time.Hour, AbsentAfter: 2 * time.Hour},
		{Grace: time.Hour, SeriousLateAfter: 30 * time.Minute, AbsentAfter: 2 * time.Hour},
		{SeriousLateAfter: time.Hour, AbsentAfter: time.Minute},
		{SeriousLateAfter: time.Hour, AbsentAfter: 2 * time.Hour, Windows: Bounds{Close: 25 * 3600}},
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrBadParams) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	p := DefaultParams()
	p.Windows.AmSplit = 13 * 3600
	if err := p.CheckSchedule(standard); !errors.Is(err, ErrBadParams) {
		t.Errorf("am_split after am_out accepted: %v", err)
	}
	// Configured windows: am_split at 11:00 lets a lone 10:31 be a (absent) late arrival.
	p.Windows = Bounds{AmSplit: 11 * 3600, Close: 22 * 3600}
	if err := p.CheckSchedule(standard); err != nil {
		t.Fatal(err)
	}
	in := baseInput("10:31:00", "14:28:00", "18:05:00", "22:30:00")
	in.Params = p
	check(t, "configured windows", Judge(in), want{attendance.StatusAbnormal, [4]attendance.Result{absent, missing, ok, ok}, [4]int{121}})
	if Judge(in).Punches != 3 {
		t.Error("a punch after close counted")
	}
	// The zero Params are the defaults.
	in = baseInput("09:01:00", "12:00:00", "14:30:00", "18:00:00")
	in.Params = Params{}
	check(t, "zero params", Judge(in), want{attendance.StatusAbnormal, [4]attendance.Result{serious, ok, ok, ok}, [4]int{31}})
}

// --- properties ---

func genInput(t *rapid.T) Input {
	in := baseInput()
	base := monday.Start(shanghai)
	n := rapid.IntRange(0, 10).Draw(t, "n")
	in.Punches = nil
	for i := range n {
		sec := rapid.IntRange(-3600, 25*3600).Draw(t, fmt.Sprintf("t%d", i))
		if rapid.Bool().Draw(t, "near") { // most punches sit near an expected time
			e := standard.Expected()[rapid.IntRange(0, 3).Draw(t, "slot")]
			sec = int(e) + rapid.IntRange(-150, 150).Draw(t, "min")*60 + rapid.IntRange(0, 59).Draw(t, "sec")
		}
		in.Punches = append(in.Punches, device.Punch{
			Clock:  rapid.SampledFrom([]string{"CLK1", "CLK2"}).Draw(t, "clock"),
			UserID: rapid.SampledFrom([]string{worker.UserID, worker.UserID, worker.UserID, "B7"}).Draw(t, "user"),
			Time:   base.Add(time.Duration(sec) * time.Second),
			State:  uint8(rapid.IntRange(0, 5).Draw(t, "state")),
		})
	}
	nr := rapid.IntRange(0, 3).Draw(t, "nr")
	for i := range nr {
		from := base.Add(time.Duration(rapid.IntRange(0, 24*3600).Draw(t, "from")) * time.Second)
		r := attendance.Registration{ID: fmt.Sprintf("R%d", i), UserID: worker.UserID,
			Kind: rapid.SampledFrom([]attendance.Kind{attendance.KindOffsite, attendance.KindLeave, attendance.KindMeeting, attendance.KindMakeup}).Draw(t, "kind"),
			From: from, To: from.Add(time.Duration(rapid.IntRange(0, 6*3600).Draw(t, "len")) * time.Second),
			RegisteredAt: from.Add(time.Duration(rapid.IntRange(-3600, 72*3600).Draw(t, "registered")) * time.Second)}
		if r.Kind == attendance.KindMakeup {
			r.To = r.From
		}
		in.Registrations = append(in.Registrations, r)
	}
	in.Params.UseStateKey = rapid.Bool().Draw(t, "key")
	in.Params.Grace = time.Duration(rapid.IntRange(0, 10).Draw(t, "grace")) * time.Minute
	in.Params.RepeatWindow = time.Duration(rapid.IntRange(0, 300).Draw(t, "repeat")) * time.Second
	in.Now = base.Add(time.Duration(rapid.IntRange(0, 30*3600).Draw(t, "now")) * time.Second)
	in.SyncedUntil = in.Now.Add(-time.Duration(rapid.IntRange(0, 4*3600).Draw(t, "lag")) * time.Second)
	return in
}

func TestPropertyOrderAndDuplicates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		ref := Judge(in)
		shuffled := slices.Clone(in.Punches)
		for i := range shuffled {
			j := rapid.IntRange(0, len(shuffled)-1).Draw(t, "swap")
			shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
		}
		for _, p := range in.Punches {
			if rapid.Bool().Draw(t, "dup") {
				shuffled = append(shuffled, p) // the same record read twice (pull and realtime)
			}
		}
		regs := slices.Clone(in.Registrations)
		slices.Reverse(regs)
		in2 := in
		in2.Punches, in2.Registrations = shuffled, regs
		if got := Judge(in2); !reflect.DeepEqual(got, ref) {
			t.Fatalf("order or duplication changed the judgement:\n got %+v\nwant %+v", got, ref)
		}
	})
}

func TestPropertyRevokeRestores(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		ref := Judge(in)
		from := monday.Start(shanghai).Add(time.Duration(rapid.IntRange(0, 24*3600).Draw(t, "from")) * time.Second)
		r := attendance.Registration{ID: "NEW", UserID: worker.UserID,
			Kind: rapid.SampledFrom([]attendance.Kind{attendance.KindOffsite, attendance.KindTrip, attendance.KindLeave, attendance.KindMeeting, attendance.KindMakeup}).Draw(t, "kind"),
			From: from, To: from.Add(time.Duration(rapid.IntRange(0, 12*3600).Draw(t, "len")) * time.Second)}
		in.Registrations = append(slices.Clone(in.Registrations), r)
		_ = Judge(in) // added
		in.Registrations[len(in.Registrations)-1].RevokedAt = from.Add(time.Hour)
		in.Registrations[len(in.Registrations)-1].RevokedBy = "office"
		if got := Judge(in); !reflect.DeepEqual(got, ref) {
			t.Fatalf("revoking did not restore:\n got %+v\nwant %+v", got, ref)
		}
	})
}

// Invariants that must hold for any input: every working day has four slots, Final iff no slot
// pending, excused slots name a registration and what they excuse, Events only list final slots.
func TestPropertyInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		d := Judge(in)
		if len(d.Slots) != 4 {
			t.Fatalf("%d slots", len(d.Slots))
		}
		anyPending := false
		for _, s := range d.Slots {
			switch s.Result {
			case pending:
				anyPending = true
			case excused:
				if s.Registration == nil || !anomaly(s.Unexcused) {
					t.Fatalf("excused slot %+v", s)
				}
			case ok, late, serious, early, missing, absent:
			default:
				t.Fatalf("result %q", s.Result)
			}
			if s.Minutes < 0 {
				t.Fatalf("negative minutes %+v", s)
			}
		}
		if d.Final == anyPending || (d.Status == attendance.StatusPending) != anyPending {
			t.Fatalf("final %v status %s pending %v", d.Final, d.Status, anyPending)
		}
		for _, a := range Events(d) {
			if d.Slots[a.Slot].Result == pending {
				t.Fatalf("event for a pending slot %+v", a)
			}
		}
	})
}

func TestJudgeRange(t *testing.T) {
	cal := testCalendar(t)
	from := attendance.Date{Year: 2026, Month: time.December, Day: 30}
	to := attendance.Date{Year: 2027, Month: time.January, Day: 5}
	var ps []device.Punch
	for d := from; !d.After(to); d = d.AddDays(1) {
		for _, hm := range []attendance.TimeOfDay{8 * 3600, 12*3600 + 60, 14 * 3600, 18*3600 + 60} {
			ps = append(ps, device.Punch{Clock: "CLK1", UserID: worker.UserID, Time: d.At(hm, shanghai)})
		}
	}
	ps = append(ps, device.Punch{Clock: "CLK1", UserID: "other", Time: from.At(9*3600, shanghai)})
	slices.Reverse(ps)
	now := to.AddDays(1).Start(shanghai)
	days, err := JudgeRange(cal, Range{Person: worker, From: from, To: to, Loc: shanghai, Params: DefaultParams(),
		Punches: ps, SyncedUntil: now, Now: now})
	if !errors.Is(err, calendarErrNoData) {
		t.Fatalf("err %v, want the calendar's ErrNoData for 2027", err)
	}
	if len(days) != 7 {
		t.Fatalf("%d days", len(days))
	}
	for _, d := range days {
		dt, _ := cal.DayType(d.Date)
		want := attendance.StatusNormal
		if !dt.IsWorking() {
			want = attendance.StatusRest
		}
		if d.Status != want {
			t.Errorf("%s (%s): %s, want %s", d.Date, dt, d.Status, want)
		}
	}
	if _, err := JudgeRange(cal, Range{Person: worker, From: to, To: from}); err == nil {
		t.Error("reversed range accepted")
	}
}

// Judge must not panic on any schedule or window setting, valid or not (a caller may pass the
// zero Schedule for a date no entry covers).
func TestPropertyNoPanicAnySchedule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		tod := func(name string) attendance.TimeOfDay {
			return attendance.TimeOfDay(rapid.IntRange(-100, 90000).Draw(t, name))
		}
		in.Schedule = attendance.Schedule{AmIn: tod("a"), AmOut: tod("b"), PmIn: tod("c"), PmOut: tod("d")}
		in.Params.Windows = Bounds{Open: tod("o"), AmSplit: tod("s1"), Noon: tod("n"), PmSplit: tod("s2"), Close: tod("cl")}
		in.DayType = rapid.SampledFrom([]attendance.DayType{attendance.Workday, attendance.MakeupWorkday, attendance.RestDay, attendance.Holiday, ""}).Draw(t, "type")
		d := Judge(in)
		_ = Events(d)
		if d.DayType.IsWorking() && len(d.Slots) != 4 {
			t.Fatalf("%d slots", len(d.Slots))
		}
	})
}

// A final slot never changes when time moves on: punches that arrive later (at or after the old
// judging instant), a later judging instant and a later sync leave every final slot as it was.
// (Punches delivered late by a lagging clock for times before Now may correct a late arrival —
// by design — so they are not generated here.)
func TestPropertyFinalIsFinal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		if in.SyncedUntil.After(in.Now) {
			in.SyncedUntil = in.Now
		}
		// what exists at Now: no punch or makeup from the future
		in.Punches = slices.DeleteFunc(slices.Clone(in.Punches), func(p device.Punch) bool { return p.Time.After(in.Now) })
		in.Registrations = slices.DeleteFunc(slices.Clone(in.Registrations), func(r attendance.Registration) bool {
			return r.Kind == attendance.KindMakeup && r.From.After(in.Now)
		})
		d1 := Judge(in)
		in2 := in
		in2.Now = in.Now.Add(time.Second + time.Duration(rapid.IntRange(0, 30*3600).Draw(t, "advance"))*time.Second)
		in2.SyncedUntil = in.SyncedUntil.Add(time.Duration(rapid.IntRange(0, int(in2.Now.Sub(in.SyncedUntil)/time.Second)).Draw(t, "sync")) * time.Second)
		in2.Punches = slices.Clone(in.Punches)
		k := rapid.IntRange(0, 6).Draw(t, "k")
		for range k {
			off := rapid.IntRange(1, 1+int(in2.Now.Sub(in.Now)/time.Second)).Draw(t, "off")
			in2.Punches = append(in2.Punches, device.Punch{Clock: "CLK1", UserID: worker.UserID,
				Time: in.Now.Add(time.Duration(off) * time.Second), State: uint8(rapid.IntRange(0, 5).Draw(t, "st"))})
		}
		d2 := Judge(in2)
		for name, s1 := range d1.Slots {
			if s1.Result == pending {
				continue
			}
			if s2 := d2.Slots[name]; !reflect.DeepEqual(s1, s2) {
				t.Fatalf("final %s changed:\n before %+v\n after  %+v", name, s1, s2)
			}
		}
	})
}

func TestLateArrivalAndLunchRule(t *testing.T) {
	in := baseInput("10:31:00", "11:00:00", "12:40:00")
	in.Now, in.SyncedUntil = at("12:41:00"), at("12:41:00")
	check(t, "morning open", Judge(in), want{attendance.StatusPending, [4]attendance.Result{pending, pending, pending, pending}, [4]int{}})
	in.Now, in.SyncedUntil = at("13:20:00"), at("13:20:00")
	check(t, "lent, undecided", Judge(in), want{attendance.StatusPending, [4]attendance.Result{pending, pending, pending, pending}, [4]int{}})
	in.Now, in.SyncedUntil = at("23:59:59").Add(time.Second), at("23:59:59").Add(time.Second)
	in.Punches = append(in.Punches, punches(worker.UserID, "18:05:00")...)
	// 12:40 is the afternoon arrival; the morning departure left is 11:00 (early), so 10:31 is no arrival.
	check(t, "lent", Judge(in), want{attendance.StatusAbnormal, [4]attendance.Result{missing, early, ok, ok}, [4]int{0, 60, 0, 0}})
	in.Punches = append(in.Punches, punches(worker.UserID, "14:28:00")...)
	check(t, "not lent", Judge(in), want{attendance.StatusAbnormal, [4]attendance.Result{absent, ok, ok, ok}, [4]int{121, 0, 0, 0}})
}

// rawMinutes is the minutes between a slot's expected time and its punch's displayed minute
// (arrivals: after, departures: before) and the first of them.
func rawMinutes(s attendance.Slot) (int, time.Time) {
	m := minutesAfter(*s.Time, s.Expected)
	if s.Name.IsIn() {
		return m, s.Expected
	}
	return -m, s.Expected.Add(time.Duration(m) * time.Minute)
}

// wholeMinuteCovered reports, independently of the code under test, whether the registrations
// (not makeups, not revoked, To included to the second) cover [a, a+1min) entirely.
func wholeMinuteCovered(regs []attendance.Registration, a time.Time) bool {
	reach, end := a, a.Add(time.Minute)
	for progress := true; progress && reach.Before(end); {
		progress = false
		for _, r := range regs {
			if r.Kind == attendance.KindMakeup || r.Revoked() || r.UserID != worker.UserID {
				continue
			}
			if !reach.Before(r.From) && reach.Before(r.To.Add(time.Second)) {
				reach, progress = r.To.Add(time.Second), true
			}
		}
	}
	return !reach.Before(end)
}

// Excused minutes are never counted: a slot's Minutes are exactly the minutes between the expected
// time and the punch that no registration covers (the thresholds judge those), its ExcusedMinutes
// the rest; a slot excused has none left beyond grace.
func TestPropertyOnlyUncoveredMinutesCount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		d := Judge(in)
		for name, s := range d.Slots {
			s.Name = name
			if s.Time == nil || s.Result == pending {
				continue
			}
			m, start := rawMinutes(s)
			uncovered := 0
			for k := range max(m, 0) {
				if !wholeMinuteCovered(in.Registrations, start.Add(time.Duration(k)*time.Minute)) {
					uncovered++
				}
			}
			judged := lateResult
			if !name.IsIn() {
				judged = earlyResult
			}
			want, wantMin := judged(uncovered, in.Params)
			switch {
			case s.Result == excused:
				if want != ok || s.Minutes != 0 || s.ExcusedMinutes != m-uncovered || s.ExcusedMinutes == 0 {
					t.Fatalf("%s excused with %d of %d minutes uncovered: %+v", name, uncovered, m, s)
				}
			case s.Result != want || s.Minutes != wantMin:
				t.Fatalf("%s: %d of %d minutes uncovered should be %s %d: %+v", name, uncovered, m, want, wantMin, s)
			case s.Result != ok && s.ExcusedMinutes != m-uncovered:
				t.Fatalf("%s: excused minutes %d, want %d: %+v", name, s.ExcusedMinutes, m-uncovered, s)
			case s.Result == ok && s.ExcusedMinutes != 0:
				t.Fatalf("%s: ok with excused minutes: %+v", name, s)
			}
		}
	})
}

// A registration that covers nothing — no slot's expected time, no minute between an expected
// time and its punch — changes nothing; one that covers something never adds a counted minute.
func TestPropertyRegistrationCoveringNothingChangesNothing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		ref := Judge(in)
		base := monday.Start(shanghai)
		from := base.Add(time.Duration(rapid.IntRange(-6*3600, 30*3600).Draw(t, "from")) * time.Second)
		r := attendance.Registration{ID: "NEW", UserID: worker.UserID,
			Kind: rapid.SampledFrom([]attendance.Kind{attendance.KindOffsite, attendance.KindTrip, attendance.KindLeave, attendance.KindMeeting}).Draw(t, "kind"),
			From: from, To: from.Add(time.Duration(rapid.IntRange(0, 3*3600).Draw(t, "len")) * time.Second),
			RegisteredAt: from.Add(time.Duration(rapid.IntRange(0, 72*3600).Draw(t, "registered")) * time.Second)}
		end := r.To.Add(time.Second)
		touches := false
		for name, s := range ref.Slots {
			s.Name = name
			if !s.Expected.Before(r.From) && !s.Expected.After(r.To) {
				touches = true
			}
			if s.Time != nil {
				if m, start := rawMinutes(s); m > 0 && r.From.Before(start.Add(time.Duration(m)*time.Minute)) && end.After(start) {
					touches = true
				}
			}
		}
		in2 := in
		in2.Registrations = append(slices.Clone(in.Registrations), r)
		got := Judge(in2)
		if !touches && !reflect.DeepEqual(got, ref) {
			t.Fatalf("a registration %s–%s covering nothing changed the day:\n got %+v\nwant %+v",
				r.From.Format("15:04:05"), r.To.Format("15:04:05"), got, ref)
		}
		for name, s := range got.Slots {
			if old := ref.Slots[name]; s.Result != pending && s.Minutes > old.Minutes {
				t.Fatalf("%s: a registration added counted minutes: %+v, was %+v", name, s, old)
			}
		}
	})
}

// A correction means one thing: an anomaly that a change (here a registration added) makes
// disappear is retracted as it was published — its severity, never excused.
func TestPropertyRetractionNeverExcused(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		before := Judge(in)
		from := monday.Start(shanghai).Add(time.Duration(rapid.IntRange(0, 24*3600).Draw(t, "from")) * time.Second)
		in.Registrations = append(slices.Clone(in.Registrations), attendance.Registration{ID: "NEW", UserID: worker.UserID,
			Kind: rapid.SampledFrom([]attendance.Kind{attendance.KindLeave, attendance.KindMakeup}).Draw(t, "kind"),
			From: from, To: from.Add(time.Duration(rapid.IntRange(0, 8*3600).Draw(t, "len")) * time.Second)})
		if in.Registrations[len(in.Registrations)-1].Kind == attendance.KindMakeup {
			in.Registrations[len(in.Registrations)-1].To = from
		}
		after := Judge(in)
		still := map[[2]string]bool{}
		for _, a := range Events(after) {
			still[[2]string{string(a.Slot), string(a.Kind)}] = true
		}
		for _, old := range Events(before) {
			if still[[2]string{string(old.Slot), string(old.Kind)}] {
				continue
			}
			r := Retraction(before, after, old.Slot, old.Kind)
			if !r.Retracted || r.Excused || r.Severity != old.Severity || r.Kind != old.Kind || r.Minutes != old.Minutes {
				t.Fatalf("retraction of %+v is %+v", old, r)
			}
		}
	})
}

// Time alone changes a day only where WindowCloses says: two judging instants that have passed
// the same number of closes give the same Day (what lets the daemon skip unchanged open days).
func TestPropertyWindowClosesBoundTimeChanges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		closes := WindowCloses(in)
		if ts := closes.Times(shanghai); !slices.IsSortedFunc(ts, func(a, b time.Time) int { return a.Compare(b) }) {
			t.Fatalf("closes not in order: %v", ts)
		}
		in2 := in
		in2.Now = in.Now.Add(time.Duration(rapid.IntRange(-30*3600, 30*3600).Draw(t, "now2")) * time.Second)
		in2.SyncedUntil = in.SyncedUntil.Add(time.Duration(rapid.IntRange(-30*3600, 30*3600).Draw(t, "synced2")) * time.Second)
		if rapid.Bool().Draw(t, "unsynced") {
			in.SyncedUntil, in2.SyncedUntil = time.Time{}, time.Time{}
		}
		if closes.Passed(in.SyncedUntil, in.Now) != closes.Passed(in2.SyncedUntil, in2.Now) {
			t.Skip("a close passed between the two instants")
		}
		if d1, d2 := Judge(in), Judge(in2); !reflect.DeepEqual(d1, d2) {
			t.Fatalf("same closes passed (%v), different days:\n at %s/%s: %+v\n at %s/%s: %+v", closes.Times(shanghai),
				in.Now, in.SyncedUntil, d1, in2.Now, in2.SyncedUntil, d2)
		}
	})
}
