package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/store"
)

// reloadWith writes cfg as the rig's config file, sends SIGHUP and waits for the reload's verdict
// in the log (the n-th one).
func (r *rig) reloadWith(t *testing.T, reload chan os.Signal, cfg config.Config, n int) {
	t.Helper()
	if err := writeConfig(r.cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.logs.String())
		}
	}()
	waitFor(t, "the reload's log line", 20*time.Second, func() bool {
		l := r.logs.String()
		return strings.Count(l, `msg="configuration reloaded"`)+strings.Count(l, `msg="reload refused`) >= n
	})
}

// page GETs a page of the daemon's web console (loopback: no login needed to read).
func (r *rig) page(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + r.addrs.HTTP + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// TestReload: SIGHUP applies what can change while punchd runs — a clock added and then removed,
// a schedule that re-judges the open day, the log level, the [mqtt] settings with a reconnect, a
// unit and display name the web console shows — and refuses a file that changes the store path,
// whole, with one line and the metric at 0.
func TestReload(t *testing.T) {
	reload := make(chan os.Signal, 1)
	r := startRigWith(t, rigOptions{reload: reload})
	sub := subscribe(t, r.broker.URL(), "punchd/jinbi/#")
	waitFor(t, "the first pull", 20*time.Second, func() bool {
		st := r.status(t)
		return len(st.Clocks) == 1 && st.Clocks[0].Up
	})
	// A late arrival at 08:36 under the 08:30 schedule.
	user := r.sim.Data().Users[0].UserID
	lateAt := time.Date(2026, 3, 2, 8, 36, 0, 0, cst)
	if err := r.sim.InjectPunch(user, lateAt, 0, 1); err != nil {
		t.Fatal(err)
	}
	lateID := event.ID("jinbi", user, attendance.Date{Year: 2026, Month: 3, Day: 2}, attendance.AmIn, attendance.EventLate)
	revOf := func() (rev int, excusedOrRetracted bool) {
		evs, _ := sub.snapshot()
		for _, e := range evs {
			if e.ID == lateID && e.Rev > rev {
				rev, excusedOrRetracted = e.Rev, e.Excused || e.Retracted
			}
		}
		return rev, excusedOrRetracted
	}
	waitFor(t, "the late event", 20*time.Second, func() bool { rev, _ := revOf(); return rev == 1 })

	// 1. A second clock, the schedule moved to 08:45, the log level down to warn, another client id.
	cfg := r.cfg
	second := config.DefaultClock()
	second.Name, second.URL = "station", "zk+tcp://127.0.0.1:1"
	cfg.Clock = append(cfg.Clock, second)
	cfg.Schedule = append([]config.Schedule(nil), cfg.Schedule...)
	for i := range cfg.Schedule {
		cfg.Schedule[i].AmIn, _ = attendance.ParseTimeOfDay("08:45")
	}
	cfg.Log.Level = "warn"
	cfg.MQTT.ClientID = "punchd-test-2"
	// The console's side: another display name and a village of its own.
	if code, page := r.page(t, "/marks"); code != http.StatusBadRequest || !strings.Contains(page, "no [[unit]] keeps its people by marks") {
		t.Fatalf("GET /marks before the reload = %d, want 400: no unit kept by marks yet\n%s", code, page)
	}
	cfg.Site.DisplayName = "金碧镇（重载）"
	cfg.Unit = append(append([]config.Unit(nil), cfg.Unit...), config.Unit{Name: "石桥村", Kind: attendance.UnitVillage})
	r.reloadWith(t, reload, cfg, 1)
	logs := r.logs.String()
	if !strings.Contains(logs, `msg="configuration reloaded"`) || !strings.Contains(logs, "clock station added") ||
		!strings.Contains(logs, "schedule") || !strings.Contains(logs, "mqtt: reconnected to") {
		t.Fatalf("reload log:\n%s", logs)
	}
	if code, page := r.page(t, "/marks"); code != 200 || !strings.Contains(page, "石桥村") || !strings.Contains(page, "金碧镇（重载）") {
		t.Errorf("GET /marks after the reload = %d: the console does not show the new unit and display name:\n%s", code, page)
	}
	waitFor(t, "two clocks, the station down", 20*time.Second, func() bool {
		st := r.status(t)
		return len(st.Clocks) == 2 && st.Clocks[1].Name == "station" && !st.Clocks[1].Up && st.Clocks[1].LastError != ""
	})
	waitFor(t, "the late event retracted under the 08:45 schedule", 20*time.Second, func() bool {
		rev, gone := revOf()
		return rev == 2 && gone
	})
	waitFor(t, "MQTT connected again", 20*time.Second, func() bool { return r.status(t).MQTT })
	m := r.scrape(t)
	if up, ok := m[`punchd_clock_up{clock="station"}`]; !ok || up != 0 || m["punchd_config_last_reload_successful"] != 1 {
		t.Errorf("metrics after the reload: station up %v (%v), last reload successful %v", up, ok, m["punchd_config_last_reload_successful"])
	}
	// The log level: no DEBUG line (a pull logs one) once a whole pull has run since the reload.
	pulledAfter := func(after time.Time) func() bool {
		return func() bool { return r.status(t).Clocks[0].LastPull.After(after) }
	}
	waitFor(t, "a pull after the reload", 20*time.Second, pulledAfter(r.status(t).Clocks[0].LastPull))
	from := len(r.logs.String())
	waitFor(t, "another pull", 20*time.Second, pulledAfter(r.status(t).Clocks[0].LastPull))
	if after := r.logs.String()[from:]; strings.Contains(after, "level=DEBUG") || strings.Contains(after, "level=INFO") {
		t.Errorf("the log level warn was not applied:\n%s", after)
	}

	// 2. The store path changed (and the station removed): refused whole.
	bad := cfg
	bad.Store.Path = cfg.Store.Path + ".other"
	bad.Clock = cfg.Clock[:1]
	r.reloadWith(t, reload, bad, 2)
	logs = r.logs.String()
	if !strings.Contains(logs, `level=ERROR msg="reload refused: punchd goes on with the previous configuration"`) ||
		!strings.Contains(logs, `store.path \"`+cfg.Store.Path+`\" → \"`+bad.Store.Path+`\" cannot change while punchd runs: restart punchd to apply it`) {
		t.Errorf("refusal not logged as one line naming store.path:\n%s", logs)
	}
	if st := r.status(t); len(st.Clocks) != 2 {
		t.Errorf("a refused reload was applied in part: %d clocks", len(st.Clocks))
	}
	if v := r.scrape(t)["punchd_config_last_reload_successful"]; v != 0 {
		t.Errorf("punchd_config_last_reload_successful %v after a refused reload, want 0", v)
	}

	// 3. The station removed: its loop stops, its series go, its retained status says why.
	third := bad
	third.Store.Path, third.Log.Level = cfg.Store.Path, "debug"
	r.reloadWith(t, reload, third, 3)
	if st := r.status(t); len(st.Clocks) != 1 || st.Clocks[0].Name != "dangzhengban" {
		t.Errorf("clocks after removing the station: %+v", st.Clocks)
	}
	m = r.scrape(t)
	for series := range m {
		if strings.Contains(series, `clock="station"`) {
			t.Errorf("series of the removed clock still exported: %s", series)
		}
	}
	if m["punchd_config_last_reload_successful"] != 1 {
		t.Errorf("punchd_config_last_reload_successful %v after a good reload", m["punchd_config_last_reload_successful"])
	}
	waitFor(t, "the station's retained status", 20*time.Second, func() bool {
		for _, m := range sub.sub.Messages() {
			if m.Topic == "punchd/jinbi/clocks/station/status" && strings.Contains(string(m.Payload), `"error":"removed from the configuration"`) {
				return true
			}
		}
		return false
	})

	// 4. A roster file: the reload that brings it names the roster, the next one with the same
	// file names nothing.
	fourth := third
	fourth.Site.Roster = filepath.Join(filepath.Dir(r.cfgPath), "roster.csv")
	fourth.Unit = append(append([]config.Unit(nil), third.Unit...), config.Unit{Name: "党政办", Kind: attendance.UnitOffice})
	if err := os.WriteFile(fourth.Site.Roster, []byte("user_id,name,post,unit,tracking\n"+user+",,科员,党政办,clock\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.reloadWith(t, reload, fourth, 4)
	r.reloadWith(t, reload, fourth, 5)
	var verdicts []string
	for _, l := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(l, `msg="configuration reloaded"`) {
			verdicts = append(verdicts, l)
		}
	}
	if n := len(verdicts); n < 4 || !strings.Contains(verdicts[n-2], "roster") || !strings.Contains(verdicts[n-1], `changed=nothing`) {
		t.Errorf("the roster's reloads, want it named once then nothing changed:\n%s", strings.Join(verdicts, "\n"))
	}
}

// TestRegistrationThroughTheDaemon: a registration through the running daemon's API re-judges the
// day and publishes the correction; an unknown person is refused; after the daemon stops, the
// store holds it.
func TestRegistrationThroughTheDaemon(t *testing.T) {
	r := startRig(t)
	sub := subscribe(t, r.broker.URL(), "punchd/jinbi/events/#")
	waitFor(t, "the first pull", 20*time.Second, func() bool {
		st := r.status(t)
		return len(st.Clocks) == 1 && st.Clocks[0].Up
	})
	user := r.sim.Data().Users[0].UserID
	if err := r.sim.InjectPunch(user, time.Date(2026, 3, 2, 8, 37, 0, 0, cst), 0, 1); err != nil {
		t.Fatal(err)
	}
	day := attendance.Date{Year: 2026, Month: 3, Day: 2}
	lateID := event.ID("jinbi", user, day, attendance.AmIn, attendance.EventLate)
	latest := func() (e event.Event) {
		evs, _ := sub.snapshot()
		for _, ev := range evs {
			if ev.ID == lateID && ev.Rev > e.Rev {
				e = ev
			}
		}
		return e
	}
	waitFor(t, "the late event", 20*time.Second, func() bool { return latest().Rev == 1 })

	c, err := api.Dial(context.Background(), r.addrs.Socket)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.AddRegistration(context.Background(), attendance.Registration{UserID: user, Kind: attendance.KindOffsite,
		From: time.Date(2026, 3, 2, 8, 0, 0, 0, cst), To: time.Date(2026, 3, 2, 12, 0, 0, 0, cst), Reason: "县里开会", RegisteredBy: "党政办"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the correction", 20*time.Second, func() bool { e := latest(); return e.Rev == 2 && e.Excused })
	if e := latest(); e.Registration == nil || *e.Registration != reg.ID {
		t.Errorf("correction %+v does not name registration %s", e, reg.ID)
	}
	if _, err := c.AddRegistration(context.Background(), attendance.Registration{UserID: "nobody", Kind: attendance.KindLeave,
		From: time.Date(2026, 3, 2, 8, 0, 0, 0, cst), To: time.Date(2026, 3, 2, 12, 0, 0, 0, cst), Reason: "x", RegisteredBy: "y"}); err == nil {
		t.Error("a registration for someone not on the clocks was accepted")
	}
	r.stop(t)
	db, err := store.Open(r.cfg.Store.Path, store.Options{ReadOnly: true, Location: cst})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	regs, err := db.Registrations(time.Date(2026, 3, 1, 0, 0, 0, 0, cst), time.Date(2026, 4, 1, 0, 0, 0, 0, cst))
	if err != nil || len(regs) != 1 || regs[0].ID != reg.ID {
		t.Errorf("registrations in the store after the daemon stopped: %+v %v", regs, err)
	}
}
