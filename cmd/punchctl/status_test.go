package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/api"
)

// TestStatusStopped: with the daemon stopped, status reads the store: not running, the clock's
// watermark, the queued outbox, the punch count.
func TestStatusStopped(t *testing.T) {
	f := newBkFixture(t)
	db := f.open(t)
	queued, oldest, err := db.OutboxStats()
	db.Close()
	if err != nil || queued == 0 {
		t.Fatalf("fixture outbox: %d %v", queued, err)
	}

	code, out, errs := f.ctl(t, bkNow, "status", "--json")
	if code != 3 {
		t.Fatalf("status --json = %d, want 3 (not running)\n%s%s", code, out, errs)
	}
	if errs != "punchctl: daemon not running: using store "+f.dbPath+" directly\n" {
		t.Errorf("stderr %q", errs)
	}
	var s struct {
		State        string    `json:"state"`
		Problems     []string  `json:"problems"`
		Daemon       string    `json:"daemon"`
		Via          string    `json:"via"`
		Site         string    `json:"site"`
		Store        string    `json:"store"`
		StoreBytes   int64     `json:"store_bytes"`
		StoreCreated time.Time `json:"store_created"`
		EventsSince  string    `json:"events_since"`
		Punches      *int      `json:"punches"`
		Outbox       int       `json:"outbox"`
		OutboxOldest time.Time `json:"outbox_oldest"`
		OutboxAge    float64   `json:"outbox_age_seconds"`
		MQTT         *bool     `json:"mqtt_connected"`
		Missing      []int     `json:"calendar_missing_years"`
		Clocks       []struct {
			Name        string    `json:"name"`
			Serial      string    `json:"serial"`
			Up          bool      `json:"up"`
			LastPull    time.Time `json:"last_pull"`
			Records     int       `json:"records"`
			SyncedUntil time.Time `json:"synced_until"`
			LastPunch   time.Time `json:"last_punch"`
		} `json:"clocks"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("status --json %s = %v, want %v", what, got, want)
		}
	}
	check("state", s.State, "not running")
	check("problems", len(s.Problems) == 0 && s.Problems != nil, true)
	check("daemon", s.Daemon, "not running")
	check("via", s.Via, f.dbPath)
	check("site", s.Site, "jinbi")
	check("store", s.Store, f.dbPath)
	check("store_bytes > 0", s.StoreBytes > 0, true)
	check("store_created", s.StoreCreated.Equal(bkPulledAt), true)
	check("events_since", s.EventsSince, "2026-03-01")
	check("punches present", s.Punches != nil, true)
	if s.Punches != nil {
		check("punches", *s.Punches, 4)
	}
	check("outbox", s.Outbox, queued)
	check("outbox_oldest", s.OutboxOldest.Equal(oldest), true)
	check("outbox_age_seconds", s.OutboxAge, bkNow.Sub(oldest).Seconds())
	check("mqtt_connected present", s.MQTT != nil, true)
	if s.MQTT != nil {
		check("mqtt_connected", *s.MQTT, false)
	}
	// March: only this year's holiday data is needed yet (next year's from December, the same
	// rule as the running daemon's: calendar.Needed).
	check("calendar_missing_years", len(s.Missing) == 0, true)
	if len(s.Clocks) != 1 {
		t.Fatalf("clocks %+v", s.Clocks)
	}
	c := s.Clocks[0]
	check("clock name", c.Name, "main")
	check("clock serial", c.Serial, "SN1")
	check("clock up", c.Up, false)
	check("clock last_pull", c.LastPull.Equal(bkPulledAt), true)
	check("clock records", c.Records, 4)
	check("clock synced_until", c.SyncedUntil.Equal(bkPulledAt), true)
	check("clock last_punch", c.LastPunch.Equal(time.Date(2026, 3, 9, 18, 2, 0, 0, bkZone)), true)
	if !strings.Contains(out, `"last_pull": "2026-03-10T10:00:00+08:00"`) {
		t.Errorf("times not in the site's zone:\n%s", out)
	}

	code, out, _ = f.ctl(t, bkNow, "status")
	if code != 3 {
		t.Fatalf("status = %d, want 3", code)
	}
	if !strings.HasPrefix(out, "status: daemon NOT RUNNING (what the store says follows)\n") {
		t.Errorf("first line of status is not the verdict:\n%s", out)
	}
	for _, want := range []string{
		"daemon: not running\n",
		"site: jinbi, events published from 2026-03-01\n",
		"store: " + f.dbPath + ", ",
		", 4 punches\n",
		"mqtt: not connected (daemon not running)\n",
		"outbox: " + itoa(queued) + " waiting, oldest queued 2026-03-10 10:00:00 (1h0m0s ago)\n",
		"calendar: holiday data present\n",
		"clock main (serial SN1): last pull 2026-03-10 10:00:00 (1h0m0s ago), 4 records on the clock then, synced until 2026-03-10 10:00:00, last punch 2026-03-09 18:02:00\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status text lacks %q:\n%s", want, out)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestStatusViaDaemon: with a daemon on the socket, status is the daemon's api.Status.
func TestStatusViaDaemon(t *testing.T) {
	f := newBkFixture(t)
	f.serve(t)
	code, out, errs := f.ctl(t, bkNow, "status", "--json")
	if code != 1 {
		t.Fatalf("status = %d, want 1 (degraded: the clock is down, MQTT disconnected)\n%s%s", code, out, errs)
	}
	if errs != "punchctl: via daemon socket "+f.sock+"\n" {
		t.Errorf("stderr %q", errs)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"state": "degraded", "daemon": "running", "via": f.sock, "site": "jinbi", "store": f.dbPath,
		"events_since": "2026-03-01", "mqtt_connected": false} {
		if s[k] != v {
			t.Errorf("status via daemon: %s = %v, want %v", k, s[k], v)
		}
	}
	if _, ok := s["punches"]; ok {
		t.Error("status via daemon reports a punch count only the store knows")
	}
	clocks, _ := s["clocks"].([]any)
	if len(clocks) != 1 {
		t.Fatalf("clocks %v", s["clocks"])
	}
	c := clocks[0].(map[string]any)
	if c["name"] != "main" || c["serial"] != "SN1" || c["up"] != false || c["records"] != 4.0 || c["last_pull"] != "2026-03-10T10:00:00+08:00" {
		t.Errorf("clock via daemon: %v", c)
	}

	if p, _ := s["problems"].([]any); len(p) != 2 || p[0] != "clock main down" || p[1] != "mqtt disconnected" {
		t.Errorf("problems %v", s["problems"])
	}
	code, out, _ = f.ctl(t, bkNow, "status")
	if code != 1 || !strings.HasPrefix(out, "status: DEGRADED: clock main down; mqtt disconnected\n"+
		"daemon: running (version , started never), socket "+f.sock+"\n") ||
		!strings.Contains(out, "mqtt: DISCONNECTED\n") ||
		!strings.Contains(out, "clock main (serial SN1): DOWN, last pull 2026-03-10 10:00:00 (1h0m0s ago), records 4 (capacity unknown), offset +0s, realtime off\n") {
		t.Errorf("status text via daemon:\n%s", out)
	}
}

// upBackend is a daemon whose clocks are all up and whose broker is connected.
type upBackend struct{ *storeBackend }

func (b upBackend) Status(ctx context.Context) (api.Status, error) {
	s, err := b.storeBackend.Status(ctx)
	s.MQTT = true
	for i := range s.Clocks {
		s.Clocks[i].Up = true
	}
	return s, err
}

// hostZoneBackend is a daemon whose clock times come in another zone than the site's (the
// daemon's host zone, UTC): when the clock went down, its last pull and its start.
type hostZoneBackend struct{ *storeBackend }

func (b hostZoneBackend) Status(ctx context.Context) (api.Status, error) {
	s, err := b.storeBackend.Status(ctx)
	s.Started = time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)
	for i := range s.Clocks {
		s.Clocks[i].Since = time.Date(2026, 3, 10, 2, 30, 0, 0, time.UTC)
		s.Clocks[i].LastPull = s.Clocks[i].LastPull.UTC()
	}
	return s, err
}

// TestStatusTimesInSiteZone: status --json shows every time of the daemon in the site's zone,
// whatever zone the daemon's host reads them in.
func TestStatusTimesInSiteZone(t *testing.T) {
	f := newBkFixture(t)
	f.serveAs(t, func(sb *storeBackend) api.Backend { return hostZoneBackend{sb} })
	_, out, errs := f.ctl(t, bkNow, "status", "--json")
	var s struct {
		Started string `json:"started"`
		Clocks  []struct {
			Since    string `json:"since"`
			LastPull string `json:"last_pull"`
		} `json:"clocks"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s%s", err, out, errs)
	}
	if len(s.Clocks) != 1 || s.Clocks[0].Since != "2026-03-10T10:30:00+08:00" || s.Clocks[0].LastPull != "2026-03-10T10:00:00+08:00" ||
		s.Started != "2026-03-10T09:00:00+08:00" {
		t.Errorf("times not in the site's zone: %s", out)
	}
}

// TestStatusExitCodes: 0 all well, 1 degraded, 3 not running, with no store either.
func TestStatusExitCodes(t *testing.T) {
	f := newBkFixture(t)
	f.serveAs(t, func(sb *storeBackend) api.Backend { return upBackend{sb} })
	code, out, errs := f.ctl(t, bkNow, "status")
	if code != 0 || !strings.HasPrefix(out, "status: ok\ndaemon: running") {
		t.Errorf("all well: status = %d\n%s%s", code, out, errs)
	}

	g := newBkFixture(t)
	if err := os.Remove(g.dbPath); err != nil {
		t.Fatal(err)
	}
	code, out, errs = g.ctl(t, bkNow, "status")
	if code != 3 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "status: daemon NOT RUNNING (no answer on socket "+g.sock+") and no store at "+g.dbPath) || errs != "" {
		t.Errorf("no daemon, no store: status = %d\n%q\n%q", code, out, errs)
	}
}

func TestStatusJudge(t *testing.T) {
	for _, c := range []struct {
		s        statusJSON
		code     int
		state    string
		problems string
	}{
		{statusJSON{Daemon: "not running"}, 3, "not running", ""},
		{statusJSON{Daemon: "running", MQTT: true}, 0, "ok", ""},
		{statusJSON{Daemon: "running", MQTT: true, MissingYears: []int{2027}}, 0, "ok", ""},
		{statusJSON{Daemon: "running", MQTT: true, MissingYears: []int{2026}}, 1, "degraded", "no holiday data for 2026"},
		{statusJSON{Daemon: "running", MQTT: false}, 1, "degraded", "mqtt disconnected"},
		{statusJSON{Daemon: "running", MQTT: true, Clocks: []clockStatusJSON{
			{ClockStatus: api.ClockStatus{Name: "a", Up: true}},
			{ClockStatus: api.ClockStatus{Name: "b", LastError: "timeout"}},
			{ClockStatus: api.ClockStatus{Name: "c"}},
		}}, 1, "degraded", "clock b down (timeout); clock c down"},
	} {
		code := c.s.judge(2026)
		if code != c.code || c.s.State != c.state || strings.Join(c.s.Problems, "; ") != c.problems {
			t.Errorf("%+v: judge = %d %q %q, want %d %q %q", c.s, code, c.s.State, c.s.Problems, c.code, c.state, c.problems)
		}
	}
}

func TestWriteStatusTextRunning(t *testing.T) {
	now := time.Date(2026, 3, 10, 11, 0, 0, 0, bkZone)
	s := statusJSON{Daemon: "running", Via: "/run/punchd/punchd.sock", Version: "1.2.3", Started: now.Add(-72 * time.Hour),
		Site: "jinbi", Store: "/var/lib/punchd/punchd.db", EventsSince: "2026-01-01", Outbox: 0, MQTT: true,
		MissingYears: []int{2027},
		Clocks: []clockStatusJSON{
			{ClockStatus: api.ClockStatus{Name: "dangzhengban", Up: true, LastPull: now.Add(-30 * time.Second), Records: 9000,
				Capacity: 100000, OffsetSec: -3, Realtime: true}},
			{ClockStatus: api.ClockStatus{Name: "station", LastError: "connect: i/o timeout"}},
		}}
	s.judge(now.Year())
	var b strings.Builder
	if err := writeStatusText(&b, s, now); err != nil {
		t.Fatal(err)
	}
	want := "status: DEGRADED: clock station down (connect: i/o timeout)\n" +
		"daemon: running (version 1.2.3, started 2026-03-07 11:00:00 (3d ago)), socket /run/punchd/punchd.sock\n" +
		"site: jinbi, events published from 2026-01-01\n" +
		"store: /var/lib/punchd/punchd.db\n" +
		"mqtt: connected\n" +
		"outbox: empty\n" +
		"calendar: NO HOLIDAY DATA for 2027 (judged by the Monday–Friday week; add [calendar] holiday_files)\n" +
		"clock dangzhengban: up, last pull 2026-03-10 10:59:30 (30s ago), records 9000/100000 (9.0%), offset -3s, realtime on\n" +
		"clock station: DOWN, not reached yet, realtime off, last error: connect: i/o timeout\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
