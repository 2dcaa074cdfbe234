package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/store"
)

// The fault tests drive the whole daemon (startRig: zksim over TCP, a real Mosquitto, the store in
// a temp dir) through what happens to a clock in an office: its cable pulled, its log cleared at
// the keypad, its time drifting, records with impossible dates. Each waits on what it can observe
// (metrics, the API, MQTT), never on a fixed sleep.

const clockStatusTopic = "punchd/jinbi/clocks/dangzhengban/status"

// watcher keeps every event and the last message of each topic under a filter.
type watcher struct {
	t   *testing.T
	sub *mqtttest.Subscriber
}

func watch(t *testing.T, url, filter string) *watcher {
	t.Helper()
	return &watcher{t: t, sub: mqtttest.Subscribe(t, url, filter)}
}

// clockStatus is the last retained status of the rig's clock.
func (w *watcher) clockStatus(t *testing.T) (event.ClockStatus, bool) {
	var cs event.ClockStatus
	var last []byte
	for _, m := range w.sub.Messages() {
		if m.Topic == clockStatusTopic {
			last = m.Payload
		}
	}
	if last == nil {
		return cs, false
	}
	if err := json.Unmarshal(last, &cs); err != nil {
		t.Fatalf("clock status %s: %v", last, err)
	}
	return cs, true
}

func (w *watcher) snapshot() []event.Event { return decodeEvents(w.t, w.sub.Messages()) }

// find returns the events matching keep.
func (w *watcher) find(keep func(event.Event) bool) []event.Event {
	var out []event.Event
	for _, e := range w.snapshot() {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// noRepeats fails when an (id, rev) pair arrived more than once or an id's revisions have a gap.
func (w *watcher) noRepeats(t *testing.T) {
	t.Helper()
	seen := map[string]map[int]int{}
	for _, e := range w.snapshot() {
		if seen[e.ID] == nil {
			seen[e.ID] = map[int]int{}
		}
		seen[e.ID][e.Rev]++
	}
	for id, revs := range seen {
		for rev, n := range revs {
			if n > 1 {
				t.Errorf("event %s rev %d arrived %d times", id, rev, n)
			}
		}
		for rev := 1; rev <= len(revs); rev++ {
			if revs[rev] == 0 {
				t.Errorf("event %s: revisions %v have a gap", id, revs)
			}
		}
	}
}

// scrape returns the daemon's /metrics as series → value.
func (r *rig) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	return scrapeMetrics(t, r.addrs.HTTP)
}

// metric is one series' value; a missing series fails the test (the daemon initialises its series).
func (r *rig) metric(t *testing.T, series string) float64 {
	t.Helper()
	m := r.scrape(t)
	v, ok := m[series]
	if !ok {
		t.Fatalf("metric %s not exported", series)
	}
	return v
}

// ingested is every punch newly stored from the clock, by either path.
func (r *rig) ingested(t *testing.T) float64 {
	m := r.scrape(t)
	return m[`punchd_punches_ingested_total{clock="dangzhengban",path="pull"}`] + m[`punchd_punches_ingested_total{clock="dangzhengban",path="realtime"}`]
}

func (r *rig) days(t *testing.T, from, to attendance.Date) []attendance.Day {
	t.Helper()
	c, err := api.Dial(context.Background(), r.addrs.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := c.Days(context.Background(), from, to)
	if err != nil {
		t.Fatalf("days %s..%s: %v", from, to, err)
	}
	return ds
}

// pulledAfter waits for a successful pull that finished after the daemon's time at. The deadline
// covers a reconnect after an outage: the loop's back-off (1 s doubling, ±20 %) may be at 8 s.
func (r *rig) pulledAfter(t *testing.T, what string, at time.Time, cond func(api.ClockStatus) bool) api.ClockStatus {
	t.Helper()
	var cs api.ClockStatus
	waitFor(t, what, 20*time.Second, func() bool {
		st := r.status(t)
		if len(st.Clocks) != 1 {
			return false
		}
		cs = st.Clocks[0]
		return cs.Up && cs.LastPull.After(at) && (cond == nil || cond(cs))
	})
	return cs
}

// holdFor checks cond throughout d (a window that spans several finaliser passes): for asserting
// that something does NOT happen.
func holdFor(t *testing.T, what string, d time.Duration, cond func() error) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := cond(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var monday = attendance.Date{Year: 2026, Month: 3, Day: 2}

func at(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, cst) }

// The clock's cable is pulled for a while: the daemon says it is down (metric, retained status),
// punches made on the keypad meanwhile are stored and judged once it is back, and the slots whose
// window closed while it was away stay pending (never published as missing) until then. "cut": the
// connection is reset (the clock powered off, the daemon sees the close); "silent": every byte is
// lost without a close (a switch port gone dark), so only the clock timeout notices.
func TestFaultClockUnplugged(t *testing.T) {
	for _, mode := range []string{"cut", "silent"} {
		t.Run(mode, func(t *testing.T) { testUnplugged(t, mode) })
	}
}

func testUnplugged(t *testing.T, mode string) {
	r := startRigWith(t, rigOptions{clockProxy: true, configure: func(c *config.Config) { c.Clock[0].Timeout = config.Duration(time.Second) }})
	unplug, plug := r.proxy.Pause, r.proxy.Resume
	if mode == "silent" {
		unplug, plug = func() { r.proxy.Blackhole(true) }, func() { r.proxy.Blackhole(false) }
	}
	w := watch(t, r.broker.URL(), "punchd/jinbi/#")
	users := r.sim.Data().Users
	r.pulledAfter(t, "the first pull", time.Time{}, nil)
	waitFor(t, "the retained clock status up", 10*time.Second, func() bool {
		cs, ok := w.clockStatus(t)
		return ok && cs.State == event.ClockUp
	})

	unplug()
	waitFor(t, "punchd_clock_up 0", 10*time.Second, func() bool {
		return r.metric(t, `punchd_clock_up{clock="dangzhengban"}`) == 0
	})
	waitFor(t, "the retained clock status down", 10*time.Second, func() bool {
		cs, ok := w.clockStatus(t)
		return ok && cs.State == event.ClockDown && cs.LastPull != nil
	})
	if st := r.status(t); st.Clocks[0].Up {
		t.Fatalf("API says the unplugged clock is up: %+v", st.Clocks[0])
	}

	// People punch while it is away: one late, one on time.
	if err := r.sim.InjectPunch(users[0].UserID, at(8, 40), 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.InjectPunch(users[1].UserID, at(8, 27), 0, 1); err != nil {
		t.Fatal(err)
	}
	// The morning passes (am_in's window closes at 10:15, am_out's at 13:15) with the clock away.
	r.clock.advance(5 * time.Hour)
	decided := func(e event.Event) bool { return e.Date == monday.String() && e.Kind != "late" }
	holdFor(t, "while the clock is away", 1500*time.Millisecond, func() error {
		if evs := w.find(decided); len(evs) > 0 {
			return fmt.Errorf("published %s for %s %s before the clock synced past the window", evs[0].Kind, evs[0].UserID, evs[0].Slot)
		}
		ds := r.days(t, monday, monday)
		if len(ds) != len(users) {
			return fmt.Errorf("%d days stored for %s, want one per person (%d), pending", len(ds), monday, len(users))
		}
		for _, d := range ds {
			for name, s := range d.Slots {
				if s.Result != attendance.ResultPending {
					return fmt.Errorf("%s %s judged %s while the clock is away", d.UserID, name, s.Result)
				}
			}
		}
		return nil
	})

	pluggedAt := r.clock.Now()
	plug()
	r.pulledAfter(t, "a pull after the cable is back", pluggedAt, nil)
	waitFor(t, "punchd_clock_up 1", 5*time.Second, func() bool {
		return r.metric(t, `punchd_clock_up{clock="dangzhengban"}`) == 1
	})
	waitFor(t, "the retained clock status up again", 10*time.Second, func() bool {
		cs, ok := w.clockStatus(t)
		return ok && cs.State == event.ClockUp
	})
	waitFor(t, "the late arrival made while unplugged", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool { return e.UserID == users[0].UserID && e.Kind == "late" && e.Slot == "am_in" })) > 0
	})
	late := w.find(func(e event.Event) bool { return e.UserID == users[0].UserID && e.Kind == "late" })[0]
	if late.Actual == nil || *late.Actual != "2026-03-02T08:40:00+08:00" || late.Minutes != 10 {
		t.Fatalf("late event = %+v", late)
	}
	// Now that the clock has synced past the morning, those who never punched are decided.
	waitFor(t, "the morning judged for someone who never punched", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool {
			return e.UserID == users[2].UserID && e.Date == monday.String() && (e.Kind == "absent" || e.Kind == "missing")
		})) > 0
	})
	for _, e := range w.find(decided) {
		if (e.UserID == users[0].UserID || e.UserID == users[1].UserID) && e.Slot == "am_in" {
			t.Errorf("am_in of %s, who punched while the clock was away, published as %s", e.UserID, e.Kind)
		}
	}
	byUser := map[string]attendance.Day{}
	for _, d := range r.days(t, monday, monday) {
		byUser[d.UserID] = d
	}
	for _, c := range []struct {
		user string
		want attendance.Result
		time time.Time
	}{{users[0].UserID, attendance.ResultLate, at(8, 40)}, {users[1].UserID, attendance.ResultOK, at(8, 27)}} {
		s := byUser[c.user].Slots[attendance.SlotName("am_in")]
		if s.Result != c.want || s.Time == nil || !s.Time.Equal(c.time) {
			t.Errorf("%s am_in = %s at %v, want %s at %s (the punch made while unplugged)", c.user, s.Result, s.Time, c.want, c.time)
		}
	}
	w.noRepeats(t)
}

// The log is cleared on the keypad between two pulls: every punch already stored stays, nothing is
// published twice, the daemon says the log shrank, and later punches are still ingested.
func TestFaultLogCleared(t *testing.T) {
	r := startRig(t)
	w := watch(t, r.broker.URL(), "punchd/jinbi/#")
	users := r.sim.Data().Users
	first := r.pulledAfter(t, "the first pull", time.Time{}, nil)
	if first.Records == 0 || first.Records != len(r.sim.Data().Records) {
		t.Fatalf("first pull saw %d records, the clock holds %d", first.Records, len(r.sim.Data().Records))
	}
	if err := r.sim.InjectPunch(users[0].UserID, at(8, 36), 0, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first late event", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool { return e.UserID == users[0].UserID && e.Kind == "late" })) > 0
	})
	// Settle: one more pull, so everything on the clock (the injected punch too) is counted.
	r.pulledAfter(t, "a pull with the injected punch", r.clock.Now(), func(cs api.ClockStatus) bool { return cs.Records == first.Records+1 })
	week := attendance.Date{Year: 2026, Month: 2, Day: 23}
	daysBefore, _ := json.Marshal(r.days(t, week, monday))
	storedBefore := r.ingested(t)
	if storedBefore < float64(first.Records+1) {
		t.Fatalf("ingested %v punches, the clock had %d", storedBefore, first.Records+1)
	}

	clearedAt := r.clock.Now()
	r.sim.ClearLog()
	r.pulledAfter(t, "a pull of the cleared log", clearedAt, func(cs api.ClockStatus) bool { return cs.Records == 0 })
	waitFor(t, "the daemon to log the shrink", 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "clock log shrank") })
	if !regexp.MustCompile(`was=` + strconv.Itoa(first.Records+1) + ` now=0`).MatchString(r.logs.String()) {
		t.Errorf("shrink log line lacks the counts:\n%s", grepLines(r.logs.String(), "shrank"))
	}
	if n := r.metric(t, `punchd_clock_log_shrunk_total{clock="dangzhengban"}`); n != 1 {
		t.Errorf("punchd_clock_log_shrunk_total = %v after one clear, want 1", n)
	}
	if daysAfter, _ := json.Marshal(r.days(t, week, monday)); string(daysAfter) != string(daysBefore) {
		t.Fatalf("stored days changed when the clock's log was cleared:\nbefore %s\nafter  %s", daysBefore, daysAfter)
	}

	// Life goes on: a new punch lands in the emptied log and is ingested and published once.
	if err := r.sim.InjectPunch(users[1].UserID, at(8, 37), 0, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late event after the clear", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool { return e.UserID == users[1].UserID && e.Kind == "late" })) > 0
	})
	r.pulledAfter(t, "a pull of the new log", r.clock.Now(), func(cs api.ClockStatus) bool { return cs.Records == 1 })
	if got := r.ingested(t); got != storedBefore+1 {
		t.Errorf("ingested %v punches after the clear and one new punch, want %v", got, storedBefore+1)
	}
	for _, u := range users[:2] {
		if n := len(w.find(func(e event.Event) bool { return e.UserID == u.UserID && e.Kind == "late" })); n != 1 {
			t.Errorf("%d late events for %s, want 1", n, u.UserID)
		}
	}
	w.noRepeats(t)
	if r.metric(t, `punchd_clock_up{clock="dangzhengban"}`) != 1 {
		t.Error("clock down after a cleared log")
	}
}

// The clock's time drifts 11 minutes ahead: the offset is measured on every pull, and with
// max_offset set the daemon sets the clock's time back.
func TestFaultClockDrift(t *testing.T) {
	const offsetSeries = `punchd_clock_offset_seconds{clock="dangzhengban"}`
	near := func(v, want float64) bool { return math.Abs(v-want) <= 2 }

	t.Run("measured", func(t *testing.T) {
		r := startRigWith(t, rigOptions{configure: func(c *config.Config) { c.Clock[0].MaxOffset = 0 }})
		w := watch(t, r.broker.URL(), "punchd/jinbi/#")
		r.pulledAfter(t, "the first pull", time.Time{}, nil)
		r.sim.SetOffset(11 * time.Minute)
		waitFor(t, "punchd_clock_offset_seconds ≈ 660", 10*time.Second, func() bool { return near(r.metric(t, offsetSeries), 660) })
		if st := r.status(t); !near(st.Clocks[0].OffsetSec, 660) {
			t.Errorf("API offset %v s, want ≈660", st.Clocks[0].OffsetSec)
		}
		waitFor(t, "the retained clock status with the offset", 10*time.Second, func() bool {
			cs, ok := w.clockStatus(t)
			return ok && near(cs.OffsetSeconds, 660)
		})
		// max_offset = 0: measured, never corrected.
		r.pulledAfter(t, "another pull", r.clock.Now(), nil)
		if got := r.sim.Offset(); got != 11*time.Minute {
			t.Errorf("clock offset %v after pulls with max_offset 0, want it left at 11m", got)
		}
		if strings.Contains(r.logs.String(), "corrected clock time") {
			t.Error("the daemon set the clock's time with max_offset 0")
		}
	})

	t.Run("corrected", func(t *testing.T) {
		r := startRigWith(t, rigOptions{configure: func(c *config.Config) { c.Clock[0].MaxOffset = config.Duration(2 * time.Minute) }})
		r.pulledAfter(t, "the first pull", time.Time{}, nil)
		r.sim.SetOffset(11 * time.Minute)
		waitFor(t, "the clock's time set back", 10*time.Second, func() bool { return r.sim.Offset().Abs() <= 2*time.Second })
		if !regexp.MustCompile(`corrected clock time" .*offset_was=1[01]m`).MatchString(r.logs.String()) {
			t.Errorf("no log line naming the corrected offset:\n%s", grepLines(r.logs.String(), "clock time"))
		}
		setAt := r.clock.Now()
		r.pulledAfter(t, "a pull after the correction", setAt, nil)
		waitFor(t, "punchd_clock_offset_seconds ≈ 0", 10*time.Second, func() bool { return near(r.metric(t, offsetSeries), 0) })
		if r.metric(t, `punchd_clock_errors_total{clock="dangzhengban",reason="other"}`) != 0 {
			t.Error("setting the clock's time counted an error")
		}
	})
}

// A few records with impossible dates (a dead clock battery) are skipped and counted under
// punches_rejected_total{reason="bad_date"}, every other punch is stored and judged, and the clock
// stays up. A log that is mostly implausible (a wrong layout) is refused whole and counted under
// implausible_dates; the daemon runs on and reads the clock again once it is sane.
func TestFaultBadDates(t *testing.T) {
	r := startRig(t)
	w := watch(t, r.broker.URL(), "punchd/jinbi/#")
	users := r.sim.Data().Users
	r.pulledAfter(t, "the first pull", time.Time{}, nil)
	const errSeries = `punchd_clock_errors_total{clock="dangzhengban",reason="implausible_dates"}`
	const rejSeries = `punchd_punches_rejected_total{clock="dangzhengban",reason="bad_date"}`
	errsBefore, rejBefore := r.metric(t, errSeries), r.metric(t, rejSeries)

	// A good punch and three bad-dated records in the same log: the good one stored and judged.
	if err := r.sim.InjectPunch(users[0].UserID, at(8, 41), 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.AppendBadDates(zksim.Year2000, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the three bad records counted under bad_date", 10*time.Second, func() bool { return r.metric(t, rejSeries) == rejBefore+3 })
	waitFor(t, "the late event of the good punch beside them", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool { return e.UserID == users[0].UserID && e.Kind == "late" })) == 1
	})
	if ds := r.days(t, attendance.Date{Year: 2000, Month: 1, Day: 1}, attendance.Date{Year: 2000, Month: 1, Day: 2}); len(ds) > 0 {
		t.Fatalf("days stored from skipped records: %+v", ds)
	}
	if got := r.metric(t, errSeries); got != errsBefore {
		t.Fatalf("a few bad records failed the read: implausible_dates %v → %v", errsBefore, got)
	}
	if !strings.Contains(r.logs.String(), "clock records skipped") || !strings.Contains(r.logs.String(), "year 2000") {
		t.Errorf("no log line naming the skipped records:\n%s", grepLines(r.logs.String(), "skipped"))
	}
	// Polled again: counted once.
	r.pulledAfter(t, "a pull after the skip", r.clock.Now(), nil)
	if got := r.metric(t, rejSeries); got != rejBefore+3 {
		t.Fatalf("bad records counted again: %v, want %v", got, rejBefore+3)
	}

	// Most of the log implausible: refused whole.
	if err := r.sim.AppendBadDates(zksim.Year2000, 2*len(r.sim.Data().Records)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rejected read counted under implausible_dates", 10*time.Second, func() bool { return r.metric(t, errSeries) > errsBefore })
	waitFor(t, "the retained clock status down, naming the reason", 10*time.Second, func() bool {
		cs, ok := w.clockStatus(t)
		return ok && cs.State == event.ClockDown && cs.Error == "implausible_dates"
	})
	select {
	case err := <-r.done:
		t.Fatalf("daemon stopped on a bad read: %v", err)
	default:
	}

	// The log is cleared at the keypad; the next punch is read and published.
	r.sim.ClearLog()
	if err := r.sim.InjectPunch(users[1].UserID, at(8, 38), 0, 1); err != nil {
		t.Fatal(err)
	}
	r.pulledAfter(t, "a good read after the bad records are gone", r.clock.Now(), func(cs api.ClockStatus) bool { return cs.Records == 1 })
	waitFor(t, "the late event of the punch after the clear", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool { return e.UserID == users[1].UserID && e.Kind == "late" })) == 1
	})
	w.noRepeats(t)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Without realtime events the pull alone must find every new punch: when the log grew since the
// last pull, and when it was cleared and refilled past its old length between two pulls (so a
// count alone would say "it just grew").
func TestFaultLogClearedAndRefilled(t *testing.T) {
	r := startRigWith(t, rigOptions{configure: func(c *config.Config) { c.Clock[0].Realtime = false }})
	users := r.sim.Data().Users
	first := r.pulledAfter(t, "the first pull", time.Time{}, nil)
	n := first.Records
	stored := r.ingested(t)
	inject := func(count int, from time.Time) {
		t.Helper()
		for i := 0; i < count; i++ {
			if err := r.sim.InjectPunch(users[i%len(users)].UserID, from.Add(time.Duration(i)*time.Minute), 0, 1); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The log grows: three punches, found by the next pull.
	inject(3, at(6, 0))
	r.pulledAfter(t, "a pull of the grown log", r.clock.Now(), func(cs api.ClockStatus) bool { return cs.Records == n+3 })
	waitFor(t, "the 3 new punches stored", 5*time.Second, func() bool { return r.ingested(t) == stored+3 })

	// Cleared and refilled with more records than it had, all new, between two pulls (or not: any
	// interleaving with the pulls must give the same result).
	refill := n + 5
	r.sim.ClearLog()
	inject(refill, at(0, 0).AddDate(0, 0, -1)) // Sunday from 00:00, one a minute: never stored before
	r.pulledAfter(t, "a pull of the refilled log", r.clock.Now(), func(cs api.ClockStatus) bool { return cs.Records == refill })
	waitFor(t, "every refilled punch stored", 5*time.Second, func() bool { return r.ingested(t) == stored+3+float64(refill) })
	// And nothing more on the next pulls.
	r.pulledAfter(t, "one more pull", r.clock.Now(), nil)
	if got := r.ingested(t); got != stored+3+float64(refill) {
		t.Fatalf("ingested %v, want %v", got, stored+3+float64(refill))
	}
}

// After a clean stop with the broker up, the outbox is empty: the clocks' retained "stopped"
// status queued at shutdown is published and acknowledged before the publisher disconnects.
func TestCleanStopLeavesOutboxEmpty(t *testing.T) {
	r := startRig(t)
	r.pulledAfter(t, "the first pull", time.Time{}, nil)
	r.stop(t)
	db, err := store.Open(r.cfg.Store.Path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	left, err := db.OutboxPeek(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in the outbox after a clean stop: seq %d topic %s key %q retained %v: %s", e.Seq, e.Topic, e.Key, e.Retained, e.Payload)
	}
}
