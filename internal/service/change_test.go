package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/service"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/pull"
)

// units is a service over a store with a village (金碧村, its leader 李书记) whose 王五 (2001)
// punched the office clock at 09:12 on Monday 9 March 2026.
type units struct {
	*service.Service
	db  *store.DB
	cfg config.Config
	eng *ingest.Engine
}

var conflictDay = attendance.Date{Year: 2026, Month: time.March, Day: 9}

func openUnits(t *testing.T) units {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "punchd.toml")
	if err := os.WriteFile(path, []byte(`
[site]
name = "jinbi"
timezone = "Asia/Shanghai"
events_since = "2026-03-01"
[store]
path = "`+filepath.Join(dir, "punchd.db")+`"
[[clock]]
name = "main"
url = "zk+tcp://127.0.0.1:4370"
[[unit]]
name = "党政办"
kind = "office"
[[unit]]
name = "金碧村"
kind = "village"
leader = "李书记"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	people, err := cfg.ApplyUnits([]attendance.Person{
		{UserID: "1001", Name: "张三", Unit: "党政办"},
		{UserID: "2001", Name: "王五", Post: "组长", Unit: "金碧村"},
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	db, err := store.Open(cfg.Store.Path, store.Options{Location: cfg.Location(), Now: clock, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutRoster(people, nil); err != nil {
		t.Fatal(err)
	}
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	since := attendance.Date{Year: 2026, Month: time.March, Day: 1}
	eng := ingest.New(ingest.Config{Site: cfg.Site.Name, Prefix: cfg.MQTT.TopicPrefix, Location: cfg.Location(),
		Params: cfg.RulesParams(), EventsSince: since, Clocks: []string{"main"}}, db, cal, clock, nil, nil, nil)
	if err := eng.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ps := []device.Punch{{Clock: "SN1", UserID: "2001", Time: time.Date(2026, 3, 9, 9, 12, 0, 0, cst), Verify: 1}}
	if err := eng.Pulled(t.Context(), pull.Pull{Clock: "main", Info: device.Info{Serial: "SN1", Records: 1, RecordCap: 100000},
		Punches: ps, At: now}); err != nil {
		t.Fatal(err)
	}
	return units{Service: service.New(cfg, db, cal, eng, since, clock), db: db, cfg: cfg, eng: eng}
}

// clerk is the context of a change made by the clerk 王 on the web console.
func clerk(t *testing.T) context.Context {
	return audit.WithActor(t.Context(), audit.Actor{Name: "wang", Role: "clerk", From: "10.0.0.7", Via: audit.ViaWeb})
}

// queued is what the outbox holds: the events by id (their revisions in order) and the audit
// entries published.
func queued(t *testing.T, db *store.DB) (map[string][]event.Event, []audit.Entry) {
	t.Helper()
	entries, err := db.OutboxPeek(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	evs := map[string][]event.Event{}
	var aud []audit.Entry
	for _, e := range entries {
		if strings.HasSuffix(e.Topic, "/audit") {
			var a audit.Entry
			if err := json.Unmarshal(e.Payload, &a); err != nil {
				t.Fatal(err)
			}
			aud = append(aud, a)
			continue
		}
		if !strings.Contains(e.Topic, "/events/") {
			continue // the days' summaries
		}
		var ev event.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			t.Fatalf("%s: %v", e.Topic, err)
		}
		if ev.Rev != e.Rev {
			t.Errorf("%s: payload rev %d, outbox rev %d", e.EventID, ev.Rev, e.Rev)
		}
		evs[e.EventID] = append(evs[e.EventID], ev)
	}
	return evs, aud
}

func returnReg() attendance.Registration {
	return attendance.Registration{UserID: "2001", Kind: attendance.KindReturn, Reason: "回站所办理业务", RegisteredBy: "党政办",
		ApprovedBy: "李书记", From: time.Date(2026, 3, 9, 8, 30, 0, 0, cst), To: time.Date(2026, 3, 9, 12, 0, 0, 0, cst)}
}

// A return registration added after the marks retracts the conflict already queued, in the
// transaction that stores it; revoking it raises the conflict again.
func TestReturnAfterMarksRetractsTheConflict(t *testing.T) {
	u := openUnits(t)
	ctx := clerk(t)
	if err := u.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: conflictDay, Mark: attendance.MarkPresent, RecordedBy: "王支书"}}); err != nil {
		t.Fatal(err)
	}
	id := event.ID("jinbi", "2001", conflictDay, "", attendance.EventConflict)
	evs, _ := queued(t, u.db)
	if len(evs[id]) != 1 || evs[id][0].Retracted || evs[id][0].Actual == nil || *evs[id][0].Actual != "2026-03-09T09:12:00+08:00" {
		t.Fatalf("after the marks, conflict %+v", evs[id])
	}

	r, err := u.AddRegistration(ctx, returnReg())
	if err != nil {
		t.Fatal(err)
	}
	evs, aud := queued(t, u.db)
	if got := evs[id]; len(got) != 2 || got[1].Rev != 2 || !got[1].Retracted || got[1].Excused || got[1].Severity != got[0].Severity || got[1].Kind != attendance.EventConflict {
		t.Fatalf("after the return registration, conflict %+v: want rev 2 retracted, %s, not excused", got, evs[id][0].Severity)
	}
	if cs, err := u.Conflicts(ctx, conflictDay, conflictDay); err != nil || len(cs) != 0 {
		t.Errorf("Conflicts after the return = %+v %v", cs, err)
	}
	if n := len(aud); n != 2 || aud[1].Action != audit.RegistrationAdd || aud[1].Target != r.ID || aud[1].Who != "wang" {
		t.Errorf("audit entries %+v: want the marks' and the return's (%s)", aud, r.ID)
	}
	// Nothing more to say when the marks are set again the same.
	if err := u.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: conflictDay, Mark: attendance.MarkPresent, RecordedBy: "王支书"}}); err != nil {
		t.Fatal(err)
	}
	if evs, _ = queued(t, u.db); len(evs[id]) != 2 {
		t.Errorf("setting the same marks again queued %+v", evs[id][2:])
	}

	if _, err := u.RevokeRegistration(ctx, r.ID, "李书记", "未回镇"); err != nil {
		t.Fatal(err)
	}
	evs, aud = queued(t, u.db)
	if got := evs[id]; len(got) != 3 || got[2].Rev != 3 || got[2].Retracted || got[2].Actual == nil || *got[2].Actual != "2026-03-09T09:12:00+08:00" {
		t.Errorf("after the revocation, conflict %+v: want rev 3 standing again", got)
	}
	if last := aud[len(aud)-1]; last.Action != audit.RegistrationRevoke || last.Target != r.ID {
		t.Errorf("last audit entry %+v", last)
	}
}

// A return registration for a day without marks queues no event; one covering a day marked before
// events_since neither.
func TestReturnWithoutMarksQueuesNothing(t *testing.T) {
	u := openUnits(t)
	if _, err := u.AddRegistration(clerk(t), returnReg()); err != nil {
		t.Fatal(err)
	}
	evs, aud := queued(t, u.db)
	for id := range evs {
		if strings.Contains(id, "2001") {
			t.Errorf("event %s queued for a return without marks", id)
		}
	}
	if len(aud) != 1 || aud[0].Action != audit.RegistrationAdd {
		t.Errorf("audit %+v", aud)
	}
}

// Every change through the service is stored with its audit entry and the entry's message, in one
// transaction: a change whose entry cannot be made (an actor without a name) is not stored at all.
func TestChangesStoredWithTheirAuditEntry(t *testing.T) {
	u := openUnits(t)
	nameless := audit.WithActor(t.Context(), audit.Actor{From: "local", Via: audit.ViaCLI})
	if _, err := u.AddRegistration(nameless, returnReg()); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("a return without an actor's name = %v, want audit.ErrInvalid", err)
	}
	if _, err := u.AddRegistration(nameless, meeting("1001")); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("a meeting without an actor's name = %v, want audit.ErrInvalid", err)
	}
	if err := u.SetMarks(nameless, []attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: conflictDay, Mark: attendance.MarkAbsent, RecordedBy: "王支书"}}); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("marks without an actor's name = %v, want audit.ErrInvalid", err)
	}
	if _, err := u.AddFinding(nameless, attendance.Finding{Date: conflictDay, Unit: "金碧村", UserID: "2001", Kind: attendance.FindingNegative, Text: "不在岗", RecordedBy: "督查室"}); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("a finding without an actor's name = %v, want audit.ErrInvalid", err)
	}
	if _, err := u.WithCost(4).AddAccount(nameless, "li", "viewer", "correct horse"); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("an account without an actor's name = %v, want audit.ErrInvalid", err)
	}
	regs, _ := u.db.Registrations(time.Time{}, time.Time{})
	marks, _ := u.db.Marks("", conflictDay, conflictDay)
	findings, _ := u.db.Findings(conflictDay, conflictDay)
	accounts, _ := u.db.Accounts()
	if len(regs)+len(marks)+len(findings)+len(accounts) != 0 {
		t.Errorf("stored without their audit entries: %+v %+v %+v %+v", regs, marks, findings, accounts)
	}

	ctx := clerk(t)
	r, err := u.AddRegistration(ctx, returnReg())
	if err != nil {
		t.Fatal(err)
	}
	m, err := u.AddRegistration(ctx, meeting("1001"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.RevokeRegistration(ctx, m.ID, "李主任", "会议取消"); err != nil {
		t.Fatal(err)
	}
	if err := u.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: conflictDay, Mark: attendance.MarkAbsent, RecordedBy: "王支书"}}); err != nil {
		t.Fatal(err)
	}
	f, err := u.AddFinding(ctx, attendance.Finding{Date: conflictDay, Unit: "金碧村", UserID: "2001", Kind: attendance.FindingNegative, Text: "不在岗", RecordedBy: "督查室"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.RevokeFinding(ctx, f.ID, "督查室", "误记"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.WithCost(4).AddAccount(ctx, "li", "viewer", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := u.WithCost(4).SetPassword(ctx, "li", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if err := u.RemoveAccount(ctx, "li"); err != nil {
		t.Fatal(err)
	}
	people, _ := u.Roster(ctx)
	if err := u.PutRoster(ctx, people); err != nil {
		t.Fatal(err)
	}
	want := []struct{ action, target string }{
		{audit.RegistrationAdd, r.ID}, {audit.RegistrationAdd, m.ID}, {audit.RegistrationRevoke, m.ID},
		{audit.MarkSet, "金碧村 2001 2026-03-09"}, {audit.FindingAdd, f.ID}, {audit.FindingRevoke, f.ID},
		{audit.AccountAdd, "li"}, {audit.AccountPasswd, "li"}, {audit.AccountRemove, "li"}, {audit.RosterPut, "roster"},
	}
	stored, err := u.db.Audit(time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, published := queued(t, u.db)
	if len(stored) != len(want) || len(published) != len(want) {
		t.Fatalf("%d entries stored, %d queued, want %d: %+v", len(stored), len(published), len(want), stored)
	}
	for i, w := range want {
		if s := stored[i]; s.Action != w.action || s.Target != w.target || s.Who != "wang" || published[i].ID != s.ID {
			t.Errorf("entry %d: stored %+v, queued %+v; want %s %s by wang", i, s, published[i], w.action, w.target)
		}
	}
}

// A compound-clock punch that arrives after the village's √ for its day (a realtime punch, a clock
// pulled later) raises the conflict in the commit that stores it, as setting the marks would have;
// a punch outside working hours or within an approved return does not, and setting the marks
// again says nothing more.
func TestPunchAfterMarksRaisesTheConflict(t *testing.T) {
	u := openUnits(t)
	ctx := clerk(t)
	day := conflictDay.AddDays(1) // Tuesday 10 March: no punch of 王五 yet
	marks := []attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: day, Mark: attendance.MarkPresent, RecordedBy: "王支书"}}
	if err := u.SetMarks(ctx, marks); err != nil {
		t.Fatal(err)
	}
	id := event.ID("jinbi", "2001", day, "", attendance.EventConflict)
	at := func(hh, mm int) device.Punch {
		return device.Punch{Clock: "SN1", UserID: "2001", Time: time.Date(2026, 3, 10, hh, mm, 0, 0, cst), Verify: 1}
	}
	realtime := func(p device.Punch) {
		t.Helper()
		if err := u.eng.Realtime(t.Context(), "main", p); err != nil {
			t.Fatal(err)
		}
	}
	realtime(at(7, 40)) // before working hours
	if evs, _ := queued(t, u.db); len(evs[id]) != 0 {
		t.Fatalf("a punch before working hours raised %+v", evs[id])
	}
	realtime(at(10, 5))
	evs, _ := queued(t, u.db)
	if got := evs[id]; len(got) != 1 || got[0].Rev != 1 || got[0].Retracted || got[0].Kind != attendance.EventConflict ||
		got[0].Actual == nil || *got[0].Actual != "2026-03-10T10:05:00+08:00" || got[0].Clock != "main" || got[0].Unit != "金碧村" || got[0].Name != "王五" {
		t.Fatalf("after the punch, conflict %+v: want rev 1 at 10:05 on main", got)
	}
	realtime(at(10, 30)) // the conflict stands as it was
	if err := u.SetMarks(ctx, marks); err != nil {
		t.Fatal(err)
	}
	if evs, _ = queued(t, u.db); len(evs[id]) != 1 {
		t.Errorf("a later punch and the same marks again queued %+v", evs[id][1:])
	}
	if cs, err := u.Conflicts(ctx, day, day); err != nil || len(cs) != 1 || !cs[0].Punch.Equal(at(10, 5).Time) {
		t.Errorf("Conflicts = %+v %v", cs, err)
	}
}

// A pulled punch within an approved return raises nothing; one after it, in the same read, does.
func TestPulledPunchAfterMarksAndReturn(t *testing.T) {
	u := openUnits(t)
	ctx := clerk(t)
	day := conflictDay.AddDays(1)
	if err := u.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: day, Mark: attendance.MarkPresent, RecordedBy: "王支书"}}); err != nil {
		t.Fatal(err)
	}
	r := returnReg()
	r.From, r.To = time.Date(2026, 3, 10, 8, 30, 0, 0, cst), time.Date(2026, 3, 10, 10, 0, 0, 0, cst)
	if _, err := u.AddRegistration(ctx, r); err != nil {
		t.Fatal(err)
	}
	id := event.ID("jinbi", "2001", day, "", attendance.EventConflict)
	pulled := func(ps ...device.Punch) {
		t.Helper()
		if err := u.eng.Pulled(t.Context(), pull.Pull{Clock: "main", Info: device.Info{Serial: "SN1", Records: 1 + len(ps), RecordCap: 100000},
			From: 1, Punches: ps, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	pulled(device.Punch{Clock: "SN1", UserID: "2001", Time: time.Date(2026, 3, 10, 9, 30, 0, 0, cst), Verify: 1})
	if evs, _ := queued(t, u.db); len(evs[id]) != 0 {
		t.Fatalf("a punch within the return raised %+v", evs[id])
	}
	pulled(device.Punch{Clock: "SN1", UserID: "2001", Time: time.Date(2026, 3, 10, 9, 30, 0, 0, cst), Verify: 1},
		device.Punch{Clock: "SN1", UserID: "2001", Time: time.Date(2026, 3, 10, 10, 20, 0, 0, cst), Verify: 1})
	evs, _ := queued(t, u.db)
	if got := evs[id]; len(got) != 1 || got[0].Retracted || got[0].Actual == nil || *got[0].Actual != "2026-03-10T10:20:00+08:00" {
		t.Fatalf("after the punch past the return, conflict %+v: want rev 1 at 10:20", got)
	}
}
