package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/event"
)

// What the 督查室 wants from the clock itself reaches {prefix}/clocks/{clock}/alerts over a real
// broker: users enrolled, removed and promoted at the keypad, the clock's time moved, its log
// cleared. Each alert arrives once, with its own id, and is counted. And an anomaly event carries
// the verify method of its punch.
func TestClockAlertsOverMQTT(t *testing.T) {
	r := startRig(t)
	sub := watch(t, r.broker.URL(), event.ClockAlertsFilter("punchd/jinbi")).sub
	r.pulledAfter(t, "the first pull", time.Time{}, nil)

	users := r.sim.Data().Users
	// A late punch by password: its event says so.
	events := watch(t, r.broker.URL(), "punchd/jinbi/events/#")
	if err := r.sim.InjectPunch(users[2].UserID, at(8, 36), 0, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late event of a password punch", 10*time.Second, func() bool {
		return len(events.find(func(e event.Event) bool {
			return e.UserID == users[2].UserID && e.Kind == "late" && e.Verify == "password"
		})) == 1
	})
	promoted := users[1]
	promoted.Privilege = 14
	r.sim.SetUsers(append([]zksim.User{promoted, {UserID: "900", Name: "赵六"}}, users[2:]...))
	r.sim.SetOffset(11 * time.Minute) // someone at the keypad; max_offset (2m) sets it back
	r.sim.ClearLog()

	want := []string{
		"admin_changed " + promoted.UserID,
		"log_cleared",
		"time_moved",
		"user_enrolled 900",
		"user_removed " + users[0].UserID,
	}
	var got []event.ClockAlert
	waitFor(t, fmt.Sprintf("alerts %v", want), 20*time.Second, func() bool {
		got = got[:0]
		for _, m := range sub.Messages() {
			if m.Topic != event.ClockAlertsTopic("punchd/jinbi", "dangzhengban") {
				t.Fatalf("alert on topic %s", m.Topic)
			}
			var a event.ClockAlert
			if err := json.Unmarshal(m.Payload, &a); err != nil {
				t.Fatalf("alert %s: %v", m.Payload, err)
			}
			got = append(got, a)
		}
		return len(got) >= len(want)
	})
	// One more pull after the correction: punchd setting the time back is not someone else's move.
	r.pulledAfter(t, "a pull after the alerts", r.clock.Now(), nil)
	r.pulledAfter(t, "another pull", r.clock.Now(), nil)
	got = got[:0]
	ids := map[string]bool{}
	for _, m := range sub.Messages() {
		var a event.ClockAlert
		if err := json.Unmarshal(m.Payload, &a); err != nil {
			t.Fatal(err)
		}
		if ids[a.ID] {
			t.Errorf("alert %s (%s) arrived twice", a.ID, a.Kind)
		}
		ids[a.ID] = true
		got = append(got, a)
	}
	var kinds []string
	for _, a := range got {
		k := string(a.Kind)
		if a.UserID != "" {
			k += " " + a.UserID
		}
		kinds = append(kinds, k)
		if a.Clock != "dangzhengban" || a.Serial != "SIM0001" || a.Site != "jinbi" {
			t.Errorf("alert %+v: clock, serial or site wrong", a)
		}
		if a.Kind == event.AlertTimeMoved && (a.OffsetSeconds == nil || *a.OffsetSeconds < 600) {
			t.Errorf("time_moved %+v: offset_seconds should be ≈660", a)
		}
	}
	slices.Sort(kinds)
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("alerts %v, want %v", kinds, want)
	}
	if n := r.metric(t, `punchd_clock_alerts_total{clock="dangzhengban",kind="log_cleared"}`); n != 1 {
		t.Errorf("punchd_clock_alerts_total{kind=log_cleared} = %v, want 1", n)
	}
}
