package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
)

// villageRig is a daemon with a clock and a village (金碧村, its leader 李书记) keeping the clock's
// second user, the villager; the others are in the office.
type villageRig struct {
	*rig
	sub      *subscriber
	client   *api.Client
	villager zksim.User
}

func startVillageRig(t *testing.T) villageRig {
	t.Helper()
	r := startRigWith(t, rigOptions{configure: func(c *config.Config) {
		c.Unit = []config.Unit{{Name: "党政办", Kind: attendance.UnitOffice}, {Name: "金碧村", Kind: attendance.UnitVillage, Leader: "李书记"}}
	}})
	sub := subscribe(t, r.broker.URL(), "punchd/jinbi/#")
	ctx := context.Background()
	waitFor(t, "the first pull", 20*time.Second, func() bool {
		st := r.status(t)
		return len(st.Clocks) == 1 && st.Clocks[0].Up && !st.Clocks[0].LastPull.IsZero()
	})
	c, err := api.Dial(ctx, r.addrs.Socket)
	if err != nil {
		t.Fatal(err)
	}
	users := r.sim.Data().Users
	villager := users[1]
	var people []attendance.Person
	for _, u := range users {
		p := attendance.Person{UserID: u.UserID, Name: u.Name, Unit: "党政办"}
		if u.UserID == villager.UserID {
			p.Unit = "金碧村"
		}
		people = append(people, p)
	}
	if people, err = r.cfg.ApplyUnits(people); err != nil {
		t.Fatal(err)
	}
	if err := c.PutRoster(ctx, people); err != nil {
		t.Fatal(err)
	}
	return villageRig{rig: r, sub: sub, client: c, villager: villager}
}

// published is every revision of event id the subscriber has received, in order.
func (v villageRig) published(id string) []event.Event {
	evs, _ := v.sub.snapshot()
	var out []event.Event
	for _, e := range evs {
		if e.ID == id {
			out = append(out, e)
		}
	}
	return out
}

// TestReturnRetractsTheConflictOnTheBroker: a village's √ on a day its person punched the office
// clock is a conflict, published; the leader's return registration, added afterwards, retracts it
// on the broker at once (not when the day's marks are next set), with the severity it was
// published with and not excused; revoking the registration publishes the conflict again. Each
// registration's audit entry is published too.
func TestReturnRetractsTheConflictOnTheBroker(t *testing.T) {
	v := startVillageRig(t)
	ctx, c, villager := context.Background(), v.client, v.villager

	day := attendance.Date{Year: 2026, Month: time.March, Day: 2}
	if err := v.sim.InjectPunch(villager.UserID, time.Date(2026, 3, 2, 9, 12, 0, 0, cst), 0, 1); err != nil {
		t.Fatal(err)
	}
	marks := []attendance.DayMark{{Unit: "金碧村", UserID: villager.UserID, Date: day, Mark: attendance.MarkPresent, RecordedBy: "王支书"}}
	if err := c.SetMarks(ctx, marks); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the punch in the cross-check", 20*time.Second, func() bool {
		cs, err := c.Conflicts(ctx, day, day)
		return err == nil && len(cs) == 1
	})
	// Set again, now that the punch is stored: the conflict is queued once, by the marks or by the
	// punch's commit, whichever came second.
	if err := c.SetMarks(ctx, marks); err != nil {
		t.Fatal(err)
	}
	conflicts := func() []event.Event {
		return v.published(event.ID("jinbi", villager.UserID, day, "", attendance.EventConflict))
	}
	waitFor(t, "the conflict on the broker", 20*time.Second, func() bool { return len(conflicts()) == 1 })
	first := conflicts()[0]
	if first.Rev != 1 || first.Retracted || first.Actual == nil || *first.Actual != "2026-03-02T09:12:00+08:00" {
		t.Fatalf("conflict %+v", first)
	}

	reg, err := c.AddRegistration(ctx, attendance.Registration{UserID: villager.UserID, Kind: attendance.KindReturn, Reason: "回站所办理业务",
		RegisteredBy: "党政办", ApprovedBy: "李书记", From: time.Date(2026, 3, 2, 8, 30, 0, 0, cst), To: time.Date(2026, 3, 2, 12, 0, 0, 0, cst)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retraction on the broker", 20*time.Second, func() bool { return len(conflicts()) == 2 })
	if got := conflicts()[1]; got.Rev != 2 || !got.Retracted || got.Excused || got.Severity != first.Severity || got.Kind != attendance.EventConflict {
		t.Fatalf("after the return registration %+v; want rev 2 retracted, %s, not excused", got, first.Severity)
	}
	if err := conflicts()[1].Validate(); err != nil {
		t.Error(err)
	}

	if _, err := c.RevokeRegistration(ctx, reg.ID, "李书记", "未回镇"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the conflict again on the broker", 20*time.Second, func() bool { return len(conflicts()) == 3 })
	if got := conflicts()[2]; got.Rev != 3 || got.Retracted || got.Actual == nil || *got.Actual != *first.Actual {
		t.Fatalf("after the revocation %+v; want rev 3 standing", got)
	}

	// Who added and revoked it, on {prefix}/audit.
	var actions []string
	for _, m := range v.sub.sub.Messages() {
		var e audit.Entry
		if m.Topic == "punchd/jinbi/audit" && json.Unmarshal(m.Payload, &e) == nil && e.Target == reg.ID {
			actions = append(actions, e.Action)
		}
	}
	if len(actions) != 2 || actions[0] != audit.RegistrationAdd || actions[1] != audit.RegistrationRevoke {
		t.Errorf("audit messages for %s: %v", reg.ID, actions)
	}
}

// TestPunchAfterMarksRaisesTheConflictOnTheBroker: a village's √ set on a day its person had not
// punched the office clock raises nothing; the punch arriving afterwards (the clock read later) is
// a conflict published with it, without the marks being set again.
func TestPunchAfterMarksRaisesTheConflictOnTheBroker(t *testing.T) {
	v := startVillageRig(t)
	ctx, c, villager := context.Background(), v.client, v.villager

	day := attendance.Date{Year: 2026, Month: time.March, Day: 2}
	if err := c.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: villager.UserID, Date: day, Mark: attendance.MarkPresent, RecordedBy: "王支书"}}); err != nil {
		t.Fatal(err)
	}
	if cs, err := c.Conflicts(ctx, day, day); err != nil || len(cs) != 0 {
		t.Fatalf("before the punch, conflicts %+v %v", cs, err)
	}
	if err := v.sim.InjectPunch(villager.UserID, time.Date(2026, 3, 2, 9, 12, 0, 0, cst), 0, 1); err != nil {
		t.Fatal(err)
	}
	conflicts := func() []event.Event {
		return v.published(event.ID("jinbi", villager.UserID, day, "", attendance.EventConflict))
	}
	waitFor(t, "the conflict on the broker", 20*time.Second, func() bool { return len(conflicts()) == 1 })
	got := conflicts()[0]
	if got.Rev != 1 || got.Retracted || got.Actual == nil || *got.Actual != "2026-03-02T09:12:00+08:00" || got.Clock == "" || got.Unit != "金碧村" {
		t.Fatalf("conflict %+v: want rev 1 at 09:12 from the clock", got)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}
