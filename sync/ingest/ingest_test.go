package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/pull"
)

var cst = time.FixedZone("CST", 8*3600)

type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time  { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) Set(t time.Time) { f.mu.Lock(); defer f.mu.Unlock(); f.t = t }

func at(d, hm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", d+" "+hm, cst)
	if err != nil {
		panic(err)
	}
	return t
}

type fixture struct {
	db  *store.DB
	eng *Engine
	now *fakeNow
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	now := &fakeNow{t: at("2026-03-02", "07:00")}
	db, err := store.Open(filepath.Join(t.TempDir(), "punchd.db"), store.Options{Location: cst, Now: now.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutRoster([]attendance.Person{
		{UserID: "A1023", Name: "张伟", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "7", Name: "李娜", Post: "站长", Unit: "农技中心", Tracking: attendance.TrackStation},
	}, nil); err != nil {
		t.Fatal(err)
	}
	tod := func(s string) attendance.TimeOfDay { v, _ := attendance.ParseTimeOfDay(s); return v }
	cal, err := calendar.New(calendar.Options{Schedules: []attendance.Schedule{{Name: "all-year",
		From: attendance.MonthDay{Month: 1, Day: 1}, To: attendance.MonthDay{Month: 12, Day: 31},
		AmIn: tod("08:30"), AmOut: tod("12:00"), PmIn: tod("14:30"), PmOut: tod("18:00")}}})
	if err != nil {
		t.Fatal(err)
	}
	eng := New(Config{Site: "jinbi", Prefix: "punchd/jinbi", Location: cst, Params: rules.DefaultParams(),
		EventsSince: attendance.Date{Year: 2026, Month: 3, Day: 2}, Clocks: []string{"dangzhengban"}}, db, cal, now.Now, nil, nil, nil)
	if err := eng.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, eng: eng, now: now}
}

func (f *fixture) events(t *testing.T) []event.Event {
	t.Helper()
	entries, err := f.db.OutboxPeek(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for _, e := range entries {
		if !strings.Contains(e.Topic, "/events/") {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			t.Fatalf("event payload %s: %v", e.Payload, err)
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %s: %v", e.Payload, err)
		}
		if e.Topic != event.Topic("punchd/jinbi", ev.Kind) {
			t.Fatalf("event of kind %s on topic %s", ev.Kind, e.Topic)
		}
		out = append(out, ev)
	}
	return out
}

func punch(user string, t time.Time) device.Punch {
	return device.Punch{Clock: "SN0001", UserID: user, Time: t, Verify: 1}
}

func (f *fixture) pull(t testing.TB, ps ...device.Punch) {
	t.Helper()
	now := f.now.Now()
	err := f.eng.Pulled(context.Background(), pull.Pull{Clock: "dangzhengban",
		Info: device.Info{Serial: "SN0001", Records: len(ps), RecordCap: 100000, Time: now}, Punches: ps, At: now})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLateIsPublishedAtOnceAndOnlyOnce(t *testing.T) {
	f := newFixture(t)
	f.pull(t) // the clock has synced; nothing punched yet
	f.now.Set(at("2026-03-02", "08:41"))
	late := punch("A1023", at("2026-03-02", "08:41"))
	if err := f.eng.Realtime(t.Context(), "dangzhengban", late); err != nil {
		t.Fatal(err)
	}
	evs := f.events(t)
	if len(evs) != 1 {
		t.Fatalf("events after a late realtime punch = %+v, want exactly one", evs)
	}
	ev := evs[0]
	if ev.Kind != "late" || ev.Rev != 1 || ev.Minutes != 11 || ev.Slot != "am_in" || ev.Name != "张伟" || ev.Clock != "dangzhengban" ||
		ev.Expected != "2026-03-02T08:30:00+08:00" || ev.Actual == nil || *ev.Actual != "2026-03-02T08:41:00+08:00" || ev.Excused || ev.Verify != "fingerprint" {
		t.Fatalf("late event = %+v", ev)
	}
	// The same punch read again by the pull and by a repeated event: no new event, nothing stored twice.
	f.pull(t, late)
	if err := f.eng.Realtime(t.Context(), "dangzhengban", late); err != nil {
		t.Fatal(err)
	}
	if got := f.events(t); len(got) != 1 {
		t.Fatalf("events after re-reading the same punch = %d, want 1", len(got))
	}
	if n, _ := f.db.CountPunches(); n != 1 {
		t.Fatalf("punches stored = %d, want 1", n)
	}
	// The station person punching is recorded but never judged here.
	if err := f.eng.Realtime(t.Context(), "dangzhengban", punch("7", at("2026-03-02", "09:30"))); err != nil {
		t.Fatal(err)
	}
	if got := f.events(t); len(got) != 1 {
		t.Fatalf("a station-tracked punch raised an event: %+v", got)
	}
}

// The event says how the punch that decided it was verified: a password punch by someone who
// always uses the finger is how 代打卡 shows.
func TestEventCarriesVerify(t *testing.T) {
	f := newFixture(t)
	f.pull(t)
	f.now.Set(at("2026-03-02", "08:50"))
	p := punch("A1023", at("2026-03-02", "08:50"))
	p.Verify = 0 // password
	if err := f.eng.Realtime(t.Context(), "dangzhengban", p); err != nil {
		t.Fatal(err)
	}
	evs := f.events(t)
	if len(evs) != 1 || evs[0].Verify != "password" {
		t.Fatalf("events %+v, want one late event verified by password", evs)
	}
	day, _, err := f.db.Day("A1023", attendance.Date{Year: 2026, Month: 3, Day: 2})
	if err != nil || day.Slots[attendance.AmIn].Verify != "password" {
		t.Fatalf("stored am_in %+v (%v): verify password", day.Slots[attendance.AmIn], err)
	}
}

func TestRegistrationCorrectsPublishedEvent(t *testing.T) {
	f := newFixture(t)
	f.pull(t)
	f.now.Set(at("2026-03-02", "09:10"))
	if err := f.eng.Realtime(t.Context(), "dangzhengban", punch("A1023", at("2026-03-02", "09:05"))); err != nil {
		t.Fatal(err)
	}
	reg, err := f.db.AddRegistration(attendance.Registration{UserID: "A1023", Kind: attendance.KindOffsite,
		From: at("2026-03-02", "08:00"), To: at("2026-03-02", "12:00"), Reason: "到村开展工作", RegisteredBy: "党政办"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := attendance.Date{Year: 2026, Month: 3, Day: 2}
	if err := f.eng.Rejudge(t.Context(), "A1023", d, d); err != nil {
		t.Fatal(err)
	}
	evs := f.events(t)
	if len(evs) != 2 || evs[0].ID != evs[1].ID || evs[1].Rev != 2 || !evs[1].Excused ||
		evs[1].Registration == nil || *evs[1].Registration != reg.ID {
		t.Fatalf("events = %+v, want the late event and its excused correction (same id, rev 2, registration %s)", evs, reg.ID)
	}
	// Re-judging again changes nothing.
	if err := f.eng.Rejudge(t.Context(), "A1023", d, d); err != nil {
		t.Fatal(err)
	}
	if got := f.events(t); len(got) != 2 {
		t.Fatalf("a second re-judge queued %d events, want none new", len(got)-2)
	}
}

func TestMissingWaitsForWindowAndSync(t *testing.T) {
	f := newFixture(t)
	f.pull(t)
	ps := []device.Punch{punch("A1023", at("2026-03-02", "08:20")), punch("A1023", at("2026-03-02", "12:05")),
		punch("A1023", at("2026-03-02", "14:25"))}
	f.now.Set(at("2026-03-02", "14:26"))
	f.pull(t, ps...)
	if got := f.events(t); len(got) != 0 {
		t.Fatalf("events before the evening window closed: %+v", got)
	}
	// Evening: the pm_out window has closed but the clock has not synced since 14:26.
	f.now.Set(at("2026-03-03", "02:00"))
	if err := f.eng.Finalise(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.events(t); len(got) != 0 {
		t.Fatalf("missing published before the clock synced past the window: %+v", got)
	}
	// The next pull syncs past it: the missing evening punch is final.
	f.pull(t, ps...)
	evs := f.events(t)
	if len(evs) != 1 || evs[0].Kind != "missing" || evs[0].Slot != "pm_out" || evs[0].Actual != nil || evs[0].Severity != "serious" {
		t.Fatalf("events after sync = %+v, want one missing pm_out", evs)
	}
	day, ok, err := f.db.Day("A1023", attendance.Date{Year: 2026, Month: 3, Day: 2})
	if err != nil || !ok || !day.Final || day.Status != attendance.StatusAbnormal {
		t.Fatalf("stored day = %+v ok=%v err=%v, want final abnormal", day, ok, err)
	}
	// A day published once on {prefix}/days.
	entries, _ := f.db.OutboxPeek(1000)
	days := 0
	for _, e := range entries {
		if e.Topic == "punchd/jinbi/days" {
			days++
		}
	}
	if days != 1 {
		t.Fatalf("day payloads queued = %d, want 1", days)
	}
}

func TestPullsOfAGrowingClearedAndRegrownLog(t *testing.T) {
	f := newFixture(t)
	var log []device.Punch
	for i := 0; i < 5; i++ {
		log = append(log, punch("A1023", at("2026-02-23", "08:00").Add(time.Duration(i)*time.Hour)))
	}
	f.pull(t, log[:3]...)
	f.pull(t, log...) // grew: only the two after the mark are new
	if n, _ := f.db.CountPunches(); n != 5 {
		t.Fatalf("after growth: %d punches stored, want 5", n)
	}
	// Cleared on the keypad and refilled past the old length before the next pull: the record at
	// the old mark differs, so the whole log is compared and nothing is skipped.
	var refill []device.Punch
	for i := 0; i < 7; i++ {
		refill = append(refill, punch("7", at("2026-02-24", "08:00").Add(time.Duration(i)*time.Minute*7)))
	}
	f.pull(t, refill...)
	if n, _ := f.db.CountPunches(); n != 12 {
		t.Fatalf("after clear and regrowth: %d punches stored, want 12", n)
	}
	// Shrunk (cleared) to fewer records than before: all compared, the new one stored.
	f.pull(t, punch("7", at("2026-02-25", "09:00")))
	if n, _ := f.db.CountPunches(); n != 13 {
		t.Fatalf("after a shrink: %d punches stored, want 13", n)
	}
}

// rejected is what punchd_punches_rejected_total says of the office clock, by reason.
func (f *fixture) rejected() map[string]float64 {
	out := map[string]float64{}
	for _, r := range rejectReasons {
		out[r] = testutil.ToFloat64(f.eng.met.rejected.WithLabelValues("dangzhengban", r))
	}
	return out
}

func TestRealtimePunchWithImpossibleDateIsRejected(t *testing.T) {
	f := newFixture(t)
	bad := punch("A1023", time.Date(2000, 1, 1, 8, 0, 0, 0, cst)) // a clock whose battery died
	if err := f.eng.Realtime(t.Context(), "dangzhengban", bad); err != nil {
		t.Fatal(err)
	}
	future := punch("A1023", f.now.Now().Add(72*time.Hour))
	if err := f.eng.Realtime(t.Context(), "dangzhengban", future); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.db.CountPunches(); n != 0 {
		t.Fatalf("%d impossible punches stored", n)
	}
	if got := f.rejected(); got["bad_date"] != 2 {
		t.Fatalf("rejected = %v, want 2 bad_date", got)
	}
}

// TestCorrectionsMeanOneThing: a morning published absent (both slots, serious), then a 补卡 for
// the noon punch and a leave covering the arrival. The absences no longer exist: each is retracted
// as it was published (serious, not excused); the arrival is now an excused missing punch, never
// announced. No revision is both retracted and excused.
func TestCorrectionsMeanOneThing(t *testing.T) {
	f := newFixture(t)
	f.pull(t)
	f.now.Set(at("2026-03-03", "00:30"))
	f.pull(t, punch("A1023", at("2026-03-02", "14:28")), punch("A1023", at("2026-03-02", "18:05")))
	evs := f.events(t)
	if len(evs) != 2 || evs[0].Kind != attendance.EventAbsent || evs[0].Severity != attendance.SeveritySerious {
		t.Fatalf("events %+v, want the morning's two absences", evs)
	}
	for _, r := range []attendance.Registration{
		{UserID: "A1023", Kind: attendance.KindMakeup, From: at("2026-03-02", "12:01"), Reason: "忘打卡", RegisteredBy: "党政办"},
		{UserID: "A1023", Kind: attendance.KindLeave, From: at("2026-03-02", "08:00"), To: at("2026-03-02", "09:00"), Reason: "看病", RegisteredBy: "党政办"},
	} {
		if _, err := f.db.AddRegistration(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	d := attendance.Date{Year: 2026, Month: 3, Day: 2}
	if err := f.eng.Rejudge(t.Context(), "A1023", d, d); err != nil {
		t.Fatal(err)
	}
	evs = f.events(t)
	if len(evs) != 4 {
		t.Fatalf("%d events, want the two absences and their two retractions: %+v", len(evs), evs)
	}
	for i, ev := range evs[2:] {
		if ev.ID != evs[i].ID || ev.Rev != 2 || !ev.Retracted || ev.Excused || ev.Registration != nil ||
			ev.Severity != attendance.SeveritySerious || ev.Kind != attendance.EventAbsent {
			t.Errorf("correction %d = %+v, want rev 2 of %s: retracted, not excused, serious as published", i, ev, evs[i].ID)
		}
	}
}

// Records a pull skipped are counted by reason once: a later whole read that sees them again
// (before its New index) does not count them twice. The mark is kept for the next pull.
func TestSkippedRecordsCountedOnce(t *testing.T) {
	f := newFixture(t)
	good := []device.Punch{punch("A1023", at("2026-02-27", "08:20")), punch("A1023", at("2026-02-27", "12:05"))}
	skipped := []device.Skipped{{Index: 1, Reason: device.SkipBadDate, Detail: "year 2000"}, {Index: 3, Reason: device.SkipMalformed, Detail: "no user id"}}
	now := f.now.Now()
	mark := device.Mark{Count: 4, Last: []byte("record 3")}
	r := pull.Pull{Clock: "dangzhengban", Info: device.Info{Serial: "SN0001", Records: 4, Time: now}, Punches: good, Skipped: skipped,
		Mark: mark, Full: true, At: now}
	if err := f.eng.Pulled(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if got := f.rejected(); got["bad_date"] != 1 || got["malformed"] != 1 {
		t.Fatalf("rejected = %v after the first pull", got)
	}
	if n, _ := f.db.CountPunches(); n != 2 {
		t.Fatalf("%d punches stored, want the 2 good ones", n)
	}
	if got := f.eng.Mark("dangzhengban"); got.Count != 4 || string(got.Last) != "record 3" {
		t.Fatalf("mark %+v", got)
	}
	// The daily whole read: the same records, all before New.
	r.New = 4
	if err := f.eng.Pulled(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if got := f.rejected(); got["bad_date"] != 1 || got["malformed"] != 1 {
		t.Fatalf("rejected = %v: counted again", got)
	}
}

// twoClocks is an engine over f's store judging with the office clock and a station clock, as
// the daemon (or punchctl on the stopped store) builds one: a new one is a restart.
func (f *fixture) twoClocks(t *testing.T) *Engine {
	t.Helper()
	e := New(Config{Site: "jinbi", Prefix: "punchd/jinbi", Location: cst, Params: rules.DefaultParams(),
		EventsSince: attendance.Date{Year: 2026, Month: 3, Day: 2}, Clocks: []string{"dangzhengban", "station"}}, f.db, f.eng.cal, f.now.Now, nil, nil, nil)
	if err := e.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e
}

func pullClock(t *testing.T, e *Engine, now time.Time, clock string, ps ...device.Punch) {
	t.Helper()
	if err := e.Pulled(t.Context(), pull.Pull{Clock: clock, Info: device.Info{Serial: "SN-" + clock, Records: len(ps), Time: now},
		Punches: ps, At: now, Full: true}); err != nil {
		t.Fatal(err)
	}
}

// historyDays checks every working day of the history the clocks hold: judged for each person on
// the roster, final, the ones without any punch absent; and none before the earliest record.
func historyDays(t *testing.T, db *store.DB, from, to attendance.Date, people []string, punched map[string]bool) {
	t.Helper()
	days, err := db.Days(attendance.Date{Year: 2026, Month: 1, Day: 1}, to)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]attendance.Day{}
	for _, d := range days {
		if d.Date.Before(from) && slices.Contains(people, d.UserID) {
			t.Errorf("%s %s judged before the earliest record (%s): %s", d.UserID, d.Date, from, d.Status)
		}
		got[d.UserID+" "+d.Date.String()] = d
	}
	for d := from; !d.After(to); d = d.AddDays(1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || (d.Month == 2 && d.Day >= 15 && d.Day <= 23) {
			continue // weekends and the Spring Festival holiday 2026
		}
		for _, id := range people {
			k := id + " " + d.String()
			day, ok := got[k]
			switch {
			case !ok:
				t.Errorf("%s: not judged (the table would show 待)", k)
			case !day.Final || day.Status == attendance.StatusPending:
				t.Errorf("%s: %s, final %v: every clock was read long after it", k, day.Status, day.Final)
			case !punched[k] && day.Status != attendance.StatusAbsent:
				t.Errorf("%s: no punch all day but %s", k, day.Status)
			}
		}
	}
}

// History months are judged whichever clock is read first and however often punchd restarts in
// between: the office clock read first holds January, punchd restarts, then the station clock is
// read for the first time. Everyone without a punch on a workday of those months is absent.
func TestHistoryJudgedAcrossClocksAndRestarts(t *testing.T) {
	f := newFixture(t)
	people := []string{"A1023", "B2", "C3"}
	if err := f.db.PutRoster([]attendance.Person{
		{UserID: "A1023", Name: "张伟", Tracking: attendance.TrackClock},
		{UserID: "B2", Name: "王芳", Tracking: attendance.TrackClock},
		{UserID: "C3", Name: "赵强", Tracking: attendance.TrackClock, From: attendance.Date{Year: 2026, Month: 1, Day: 20}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	now := at("2026-03-02", "07:00")
	e := f.twoClocks(t)
	pullClock(t, e, now, "dangzhengban", punch("A1023", at("2026-01-12", "08:20")), punch("A1023", at("2026-01-12", "12:01")),
		punch("A1023", at("2026-01-13", "08:20")))
	e = f.twoClocks(t) // a restart before the station clock was ever read
	if err := e.Finalise(t.Context()); err != nil {
		t.Fatal(err)
	}
	e = f.twoClocks(t)
	pullClock(t, e, now, "station", punch("B2", at("2026-01-14", "08:20")))
	historyDays(t, f.db, attendance.Date{Year: 2026, Month: 1, Day: 12}, attendance.Date{Year: 2026, Month: 3, Day: 1},
		[]string{"A1023", "B2"}, map[string]bool{"A1023 2026-01-12": true, "A1023 2026-01-13": true, "B2 2026-01-14": true})
	historyDays(t, f.db, attendance.Date{Year: 2026, Month: 1, Day: 20}, attendance.Date{Year: 2026, Month: 3, Day: 1}, people[2:], nil)
	if d, ok, _ := f.db.Day("C3", attendance.Date{Year: 2026, Month: 1, Day: 19}); ok && d.Status != rules.StatusNotJudged {
		t.Errorf("C3 judged before joining the roster: %+v", d)
	}
	// The station clock turns out to hold older records still (read again after a fault): the
	// judged span reaches back to them, for everyone.
	e = f.twoClocks(t)
	pullClock(t, e, now, "station", punch("B2", at("2026-01-14", "08:20")), punch("B2", at("2026-01-05", "08:25")))
	historyDays(t, f.db, attendance.Date{Year: 2026, Month: 1, Day: 5}, attendance.Date{Year: 2026, Month: 1, Day: 16},
		[]string{"A1023", "B2"}, map[string]bool{"A1023 2026-01-12": true, "A1023 2026-01-13": true, "B2 2026-01-14": true, "B2 2026-01-05": true})
	// The January table from the store: 旷 for a whole day without a punch, never 待.
	jan := report.Month{Year: 2026, Month: time.January}
	days, err := f.db.Days(jan.First(), jan.Last())
	if err != nil {
		t.Fatal(err)
	}
	roster, err := f.db.Roster()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := report.BuildTable(report.TableInput{Month: jan, Days: days, Roster: roster,
		DayType: func(d attendance.Date) attendance.DayType { dt, _ := f.eng.cal.DayType(d); return dt },
		Options: report.Options{Today: attendance.Date{Year: 2026, Month: 3, Day: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tb.Rows {
		var marks strings.Builder
		for _, m := range r.Marks {
			marks.WriteString(cmp.Or(string(m), "·"))
		}
		// 01-01..03 the New Year holiday, 01-04 a make-up Sunday before the earliest record (no
		// judged day: 待), then from 01-05 every workday judged: a half-day or whole day without
		// punches 旷. C3 is on the roster from 01-20 (blank before).
		want := map[string]string{
			"A1023": "休休休待 旷旷旷旷旷 休休 旷旷旷旷旷 休休 旷旷旷旷旷 休休 旷旷旷旷旷 休",
			"B2":    "休休休待 旷旷旷旷旷 休休 旷旷旷旷旷 休休 旷旷旷旷旷 休休 旷旷旷旷旷 休",
			"C3":    "··················· 旷旷旷旷 休休 旷旷旷旷旷 休",
		}[r.UserID]
		if got := strings.ReplaceAll(marks.String(), " ", ""); got != strings.ReplaceAll(want, " ", "") {
			t.Errorf("%s January: %s, want %s", r.UserID, got, want)
		}
	}
}

// A roster imported after the clocks were first read (the usual first day of a new install): the
// people it adds are judged over the whole history, not only from the next open day.
func TestRosterAfterHistory(t *testing.T) {
	f := newFixture(t)
	if err := f.db.PutRoster(nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.ReloadRoster(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.pull(t, punch("A1023", at("2026-01-12", "08:20")), punch("A1023", at("2026-01-12", "12:01")),
		punch("B2", at("2026-01-14", "08:20")))
	if err := f.db.PutRoster([]attendance.Person{
		{UserID: "A1023", Name: "张伟", Tracking: attendance.TrackClock},
		{UserID: "C3", Name: "赵强", Tracking: attendance.TrackClock},
		{UserID: "B2", Name: "王芳", Tracking: attendance.TrackVillage},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.ReloadRoster(t.Context()); err != nil {
		t.Fatal(err)
	}
	historyDays(t, f.db, attendance.Date{Year: 2026, Month: 1, Day: 12}, attendance.Date{Year: 2026, Month: 3, Day: 1},
		[]string{"A1023", "C3"}, map[string]bool{"A1023 2026-01-12": true})
	// B2 is now kept by a village: the days judged while there was no roster are not his record.
	if d, ok, _ := f.db.Day("B2", attendance.Date{Year: 2026, Month: 1, Day: 15}); ok && d.Status != rules.StatusNotJudged {
		t.Errorf("B2 (village) still judged %s on 01-15", d.Status)
	}
}

// BenchmarkFirstPullHistory: the first pull of a clock holding two months of history for 30 people
// (four punches every workday): every day of it judged and stored in one commit. One op = the pull.
func BenchmarkFirstPullHistory(b *testing.B) {
	var ps []device.Punch
	var roster []attendance.Person
	for u := range 30 {
		id := fmt.Sprintf("%04d", 1000+u)
		roster = append(roster, attendance.Person{UserID: id, Tracking: attendance.TrackClock})
		for d := (attendance.Date{Year: 2026, Month: 1, Day: 5}); d.Before(attendance.Date{Year: 2026, Month: 3, Day: 2}); d = d.AddDays(1) {
			if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				continue
			}
			for _, hm := range []string{"08:21", "12:02", "14:25", "18:04"} {
				ps = append(ps, punch(id, at(d.String(), hm)))
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		if err := f.db.PutRoster(roster, nil); err != nil {
			b.Fatal(err)
		}
		if err := f.eng.ReloadRoster(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		f.pull(b, ps...)
	}
	b.ReportMetric(float64(len(ps)), "punches/op")
}

// twelveDays is a log of twelve days of four punches for two people.
func twelveDays() []device.Punch {
	var log []device.Punch
	for d := 0; d < 12; d++ {
		day := at("2026-02-16", "08:20").AddDate(0, 0, d)
		for _, u := range []string{"A1023", "7"} {
			log = append(log, punch(u, day), punch(u, day.Add(3*time.Hour+45*time.Minute)),
				punch(u, day.Add(6*time.Hour)), punch(u, day.Add(9*time.Hour+50*time.Minute)))
		}
	}
	return log
}

// storeState is what a fixture's store holds: punches, the days judged (as JSON) and events.
func storeState(t *testing.T, f *fixture) (int, string, int) {
	t.Helper()
	n, err := f.db.CountPunches()
	if err != nil {
		t.Fatal(err)
	}
	days, err := f.db.Days(attendance.Date{Year: 2026, Month: 1, Day: 1}, attendance.Date{Year: 2026, Month: 3, Day: 31})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(days)
	return n, string(j), len(f.events(t))
}

// A whole log with more new punches than a batch is stored in bounded transactions, then judged:
// the store ends up exactly as with one transaction (punches, days, events).
func TestPulledInBoundedBatches(t *testing.T) {
	log := twelveDays()
	one := newFixture(t)
	one.pull(t, log...)
	batched := newFixture(t)
	batched.eng.cfg.Batch = 7
	batched.pull(t, log...)
	n1, d1, e1 := storeState(t, one)
	n2, d2, e2 := storeState(t, batched)
	if n1 != len(log) || n2 != n1 || d1 != d2 || e1 != e2 || len(d1) < 100 {
		t.Fatalf("one transaction: %d punches, %d events; batches of 7: %d punches, %d events; days equal: %v", n1, e1, n2, e2, d1 == d2)
	}
}

// A record repeated within one read (a clock that wrote it twice) is stored once and counted as a
// duplicate, not as a rejection: there is no "duplicate_in_batch" reason.
func TestRepeatWithinOneReadCountedAsDuplicate(t *testing.T) {
	f := newFixture(t)
	p := punch("A1023", at("2026-02-27", "08:20"))
	f.pull(t, p, p, punch("A1023", at("2026-02-27", "12:05")))
	if n, _ := f.db.CountPunches(); n != 2 {
		t.Fatalf("%d punches stored, want 2", n)
	}
	ingested := testutil.ToFloat64(f.eng.met.ingested.WithLabelValues("dangzhengban", pathPull))
	dup := testutil.ToFloat64(f.eng.met.duplicate.WithLabelValues("dangzhengban", pathPull))
	if ingested != 2 || dup != 1 {
		t.Errorf("ingested %v, duplicate %v; want 2 and 1", ingested, dup)
	}
	for r, n := range f.rejected() {
		if n != 0 {
			t.Errorf("rejected %s = %v, want 0", r, n)
		}
	}
}

// A whole log streamed by the driver and staged batch by batch (pull.Stager), then ended by a
// Pulled that holds no punches, stores and judges exactly what one Pulled with the log does; a
// read that fails after some batches leaves them to be judged with the next Pulled.
func TestStagedReadSameAsOnePull(t *testing.T) {
	log := twelveDays()
	one := newFixture(t)
	one.pull(t, log...)
	staged := newFixture(t)
	stage := func(ps []device.Punch) {
		for i := 0; i < len(ps); i += 7 {
			if err := staged.eng.Stage(t.Context(), "dangzhengban", ps[i:min(i+7, len(ps))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	stage(log[:30]) // a read that failed after 30 punches
	stage(log)      // the next read, whole
	now := staged.now.Now()
	if err := staged.eng.Pulled(t.Context(), pull.Pull{Clock: "dangzhengban",
		Info: device.Info{Serial: "SN0001", Records: len(log), RecordCap: 100000, Time: now}, Staged: len(log), At: now}); err != nil {
		t.Fatal(err)
	}
	n1, d1, e1 := storeState(t, one)
	n2, d2, e2 := storeState(t, staged)
	if n1 != len(log) || n2 != n1 || d1 != d2 || e1 != e2 || len(d1) < 100 {
		t.Fatalf("one pull: %d punches, %d events; staged: %d punches, %d events; days equal: %v", n1, e1, n2, e2, d1 == d2)
	}
	wms, err := staged.db.Watermarks()
	if err != nil {
		t.Fatal(err)
	}
	if want := log[len(log)-1].Time; !wms["dangzhengban"].LastPunch.Equal(want) {
		t.Errorf("last punch %s, want %s", wms["dangzhengban"].LastPunch, want)
	}
}
