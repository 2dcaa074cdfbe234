package ingest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/sync/pull"
)

// alerts takes the clock alerts out of the outbox (and everything else with them).
func (f *fixture) alerts(t *testing.T) []event.ClockAlert {
	t.Helper()
	entries, err := f.db.OutboxPeek(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.ClockAlert
	var seqs []uint64
	for _, e := range entries {
		seqs = append(seqs, e.Seq)
		if e.Topic != event.ClockAlertsTopic("punchd/jinbi", "dangzhengban") {
			continue
		}
		if e.Retained {
			t.Error("alert entry retained, want not retained")
		}
		var a event.ClockAlert
		if err := json.Unmarshal(e.Payload, &a); err != nil {
			t.Fatalf("alert payload %s: %v", e.Payload, err)
		}
		out = append(out, a)
	}
	if err := f.db.OutboxDelete(seqs...); err != nil {
		t.Fatal(err)
	}
	return out
}

func kinds(as []event.ClockAlert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a.Kind)
		if a.UserID != "" {
			out[i] += " " + a.UserID
		}
	}
	slices.Sort(out)
	return out
}

// log is a clock log of n punches of one person, a minute apart from first.
func clockLog(n int, user string, first time.Time) []device.Punch {
	ps := make([]device.Punch, n)
	for i := range ps {
		ps[i] = punch(user, first.Add(time.Duration(i)*time.Minute))
	}
	return ps
}

func TestClockAlerts(t *testing.T) {
	f := newFixture(t)
	users := func(us ...device.User) []device.User { return us }
	alice, bob, carol := device.User{UserID: "A1023", Name: "张伟"}, device.User{UserID: "7", Name: "李娜"}, device.User{UserID: "9", Name: "王芳"}
	admin := alice
	admin.Privilege = 14
	base := at("2026-03-02", "06:00")
	step := 0
	type state struct {
		punches []device.Punch
		users   []device.User
		offset  time.Duration
		cleared bool
		timeSet bool
		records int // the clock's own count when not len(punches)
	}
	do := func(s state, want ...string) {
		t.Helper()
		step++
		f.now.Set(at("2026-03-02", "07:00").Add(time.Duration(step) * time.Minute))
		now := f.now.Now()
		records := s.records
		if records == 0 {
			records = len(s.punches)
		}
		r := pull.Pull{Clock: "dangzhengban", Info: device.Info{Serial: "SN0001", Records: records, RecordCap: 100, Time: now.Add(s.offset)},
			Punches: s.punches, Users: s.users, At: now, Offset: s.offset, Cleared: s.cleared, TimeSet: s.timeSet}
		r.Mark, r.New = wholeRead(f.eng.Mark("dangzhengban"), s.punches)
		if err := f.eng.Pulled(t.Context(), r); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		got := f.alerts(t)
		if fmt.Sprint(kinds(got)) != fmt.Sprint(want) {
			t.Fatalf("step %d: alerts %v, want %v", step, kinds(got), want)
		}
		for _, a := range got {
			if a.ID != event.AlertID("jinbi", "dangzhengban", a.Kind, a.UserID, now) || a.Site != "jinbi" || a.Serial != "SN0001" ||
				a.At != now.Format(time.RFC3339) || a.Detail == "" {
				t.Errorf("step %d: alert %+v: id, site, serial, at or detail wrong", step, a)
			}
		}
	}
	log10 := clockLog(10, "A1023", base)

	do(state{punches: log10, users: users(alice, bob)}) // the first pull is the baseline: nothing to compare
	do(state{punches: log10, users: users(admin, carol)}, "admin_changed A1023", "user_enrolled 9", "user_removed 7")
	do(state{punches: log10}) // no user table read: no user alerts
	do(state{punches: log10, offset: 5 * time.Minute}, "time_moved")
	do(state{punches: log10, offset: 5*time.Minute + 2*time.Second}) // drift, not a jump
	// punchd corrected the clock after measuring: the jump to 10 min was someone else's, the
	// return to ~0 at the next pull is punchd's own.
	do(state{punches: log10, offset: 10 * time.Minute, timeSet: true}, "time_moved")
	do(state{punches: log10, offset: time.Second})
	do(state{punches: clockLog(90, "A1023", base)}, "log_near_full")
	do(state{punches: clockLog(95, "A1023", base)}) // still near full: once per crossing
	do(state{punches: clockLog(40, "A1023", base)}, "log_shrunk")
	do(state{punches: nil}, "log_cleared")
	do(state{punches: clockLog(3, "7", base)})
	do(state{punches: clockLog(3, "7", base)[:0], cleared: true}) // punchd cleared it (clear_log)
	do(state{punches: clockLog(5, "A1023", base)})
	// Cleared and refilled past the old length: the record where the last pull ended changed.
	do(state{punches: clockLog(8, "7", base)}, "log_cleared")

	got := f.alertsPayloadOf(t, state2pull(f, clockLog(10, "7", base), 95))
	if got.Records == nil || *got.Records != 95 || got.Capacity == nil || *got.Capacity != 100 || got.RecordsWas == nil || *got.RecordsWas != 8 {
		t.Errorf("near-full alert %+v: records 95 of 100, was 8", got)
	}
}

// wholeRead is what a driver says of a whole read of ps after mark: the new mark (a punch's key
// stands for its raw bytes) and where the records the mark did not cover begin.
func wholeRead(mark device.Mark, ps []device.Punch) (device.Mark, int) {
	var m device.Mark
	if len(ps) > 0 {
		m = device.Mark{Count: len(ps), Last: []byte(ps[len(ps)-1].Key())}
	}
	if mark.Count > 0 && mark.Count <= len(ps) && string(mark.Last) == ps[mark.Count-1].Key() {
		return m, mark.Count
	}
	return m, 0
}

func state2pull(f *fixture, ps []device.Punch, records int) pull.Pull {
	now := f.now.Now().Add(time.Hour)
	f.now.Set(now)
	r := pull.Pull{Clock: "dangzhengban", Info: device.Info{Serial: "SN0001", Records: records, RecordCap: 100, Time: now},
		Punches: ps, At: now}
	r.Mark, r.New = wholeRead(f.eng.Mark("dangzhengban"), ps)
	return r
}

// alertsPayloadOf commits r and returns its one alert.
func (f *fixture) alertsPayloadOf(t *testing.T, r pull.Pull) event.ClockAlert {
	t.Helper()
	if err := f.eng.Pulled(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	got := f.alerts(t)
	if len(got) != 1 {
		t.Fatalf("alerts %v, want one", kinds(got))
	}
	return got[0]
}

func TestClockAlertUserTableStoredWithThePull(t *testing.T) {
	f := newFixture(t)
	bad := []device.User{{UserID: "A1023"}, {UserID: ""}}
	r := state2pull(f, nil, 0)
	r.Users = bad
	if err := f.eng.Pulled(t.Context(), r); err != nil {
		t.Fatalf("a user table the store refuses must not stop the punches: %v", err)
	}
	stored, err := f.db.ClockUsers()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored["dangzhengban"]) != 0 {
		t.Errorf("stored %v, want nothing of a refused table", stored)
	}
	r = state2pull(f, nil, 0)
	r.Users = bad[:1]
	if err := f.eng.Pulled(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if stored, _ = f.db.ClockUsers(); len(stored["dangzhengban"]) != 1 {
		t.Errorf("stored %v, want A1023", stored)
	}
}
