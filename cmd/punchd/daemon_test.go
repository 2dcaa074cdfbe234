package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/internal/testlog"
)

var cst = time.FixedZone("CST", 8*3600)

// shiftedClock runs at real speed from a chosen start instant; advance jumps it forward.
type shiftedClock struct{ offset atomic.Int64 }

func newShifted(start time.Time) *shiftedClock {
	c := &shiftedClock{}
	c.offset.Store(int64(time.Until(start)))
	return c
}
func (c *shiftedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())).In(cst) }

// advance moves the wall clock (the daemon's and the simulated clock's) forward by d.
func (c *shiftedClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// subscriber records every message under a filter; snapshot decodes the events among them.
type subscriber struct {
	t   *testing.T
	sub *mqtttest.Subscriber
}

func subscribe(t *testing.T, url, filter string) *subscriber {
	t.Helper()
	return &subscriber{t: t, sub: mqtttest.Subscribe(t, url, filter)}
}

// snapshot returns the events received so far and how many messages came on each topic.
func (s *subscriber) snapshot() ([]event.Event, map[string]int) {
	msgs := s.sub.Messages()
	topics := map[string]int{}
	for _, m := range msgs {
		topics[m.Topic]++
	}
	return decodeEvents(s.t, msgs), topics
}

// decodeEvents decodes the event payloads among msgs, failing the test on a malformed one.
func decodeEvents(t *testing.T, msgs []mqtttest.Message) []event.Event {
	var out []event.Event
	for _, m := range msgs {
		if !strings.Contains(m.Topic, "/events/") {
			continue
		}
		var e event.Event
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Errorf("event payload on %s: %s: %v", m.Topic, m.Payload, err)
			continue
		}
		out = append(out, e)
	}
	return out
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type rig struct {
	sim     *zksim.Sim
	broker  *mqtttest.Broker
	proxy   *mqtttest.Proxy // between the daemon and the clock, when rigOptions.clockProxy
	logs    *testlog.Buffer // the daemon's log (text, info and above)
	cfg     config.Config
	cfgPath string // the config file, when rigOptions.reload
	clock   *shiftedClock
	addrs   Addrs
	cancel  context.CancelFunc
	done    chan error
}

// rigOptions vary the rig; the zero value is the plain rig of startRig.
type rigOptions struct {
	// clockProxy puts a TCP proxy between the daemon and the clock (rig.proxy), so a test can
	// unplug the clock's cable (Pause) and plug it back (Resume).
	clockProxy bool
	// configure, when set, edits the config (e.g. the clock's max_offset) before the daemon starts.
	configure func(*config.Config)
	// reload, when set, makes the rig write its config to a file the daemon reads (rig.cfgPath)
	// and hand the daemon this channel as its SIGHUP; the logs are then the daemon's own, built
	// from [log] at debug level.
	reload chan os.Signal
}

// startRig runs the daemon against a simulated clock (a small office with history) and a real
// Mosquitto, with the wall clock set to 2026-03-02 08:25 CST, a Monday.
func startRig(t *testing.T) *rig { return startRigWith(t, rigOptions{}) }

// startRigWith is startRig with options.
func startRigWith(t *testing.T, o rigOptions) *rig {
	t.Helper()
	broker := mqtttest.Start(t)
	clock := newShifted(time.Date(2026, 3, 2, 8, 25, 0, 0, cst))
	data, err := zksim.Generate(zksim.GenConfig{People: 8, Start: time.Date(2026, 2, 23, 0, 0, 0, 0, cst), Days: 7, Seed: 3, Location: cst})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := zksim.New(zksim.Config{Data: data, Location: cst, Now: clock.Now, Serial: "SIM0001"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := zksim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go sim.ServeTCP(ctx, ln)
	clockAddr := ln.Addr().String()
	var proxy *mqtttest.Proxy
	if o.clockProxy {
		proxy = mqtttest.NewProxy(t, clockAddr)
		clockAddr = proxy.Addr()
	}

	dir := t.TempDir()
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Timezone, cfg.Site.Roster = "jinbi", "Asia/Shanghai", ""
	cfg.Site.EventsSince = config.Date(attendance.Date{Year: 2026, Month: 3, Day: 2})
	cfg.Store.Path = filepath.Join(dir, "punchd.db")
	cfg.API.Socket = filepath.Join(dir, "punchd.sock")
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Reports.Dir = filepath.Join(dir, "reports")
	cfg.MQTT.Broker, cfg.MQTT.ClientID, cfg.MQTT.TopicPrefix = broker.URL(), "punchd-test", "punchd/jinbi"
	c := config.DefaultClock()
	c.Name, c.URL, c.PollInterval, c.Realtime = "dangzhengban", "zk+tcp://"+clockAddr, config.Duration(2*time.Second), true
	cfg.Clock = []config.Clock{c}
	if o.configure != nil {
		o.configure(&cfg)
	}

	r := &rig{sim: sim, broker: broker, proxy: proxy, logs: &testlog.Buffer{}, cfg: cfg, clock: clock, cancel: cancel, done: make(chan error, 1)}
	opts := Options{Logger: slog.New(slog.NewTextHandler(r.logs, nil)), Now: clock.Now,
		FinaliseEvery: 200 * time.Millisecond}
	if o.reload != nil {
		cfg.Log.Level = "debug"
		r.cfgPath = filepath.Join(dir, "punchd.toml")
		if err := writeConfig(r.cfgPath, cfg); err != nil {
			t.Fatal(err)
		}
		if cfg, err = config.Load(r.cfgPath); err != nil {
			t.Fatal(err)
		}
		r.cfg = cfg
		opts.Logger, opts.Stderr, opts.Reload = nil, r.logs, o.reload
	}
	ready := make(chan Addrs, 1)
	opts.Ready = func(a Addrs) { ready <- a }
	go func() { r.done <- runDaemon(ctx, cfg, opts) }()
	select {
	case r.addrs = <-ready:
	case err := <-r.done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon not ready after 20s")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *rig) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	start := time.Now()
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("daemon returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("daemon did not stop within 5s of the signal")
	}
	t.Logf("daemon stopped in %v", time.Since(start).Round(time.Millisecond))
}

func (r *rig) status(t *testing.T) api.Status {
	t.Helper()
	c, err := api.Dial(context.Background(), r.addrs.Socket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestShutdownSetsClockStatus: once punchd stops, no clock's retained status says "up".
func TestShutdownSetsClockStatus(t *testing.T) {
	r := startRig(t)
	topic := "punchd/jinbi/clocks/dangzhengban/status"
	sub := mqtttest.Subscribe(t, r.broker.URL(), topic)
	state := func(s *mqtttest.Subscriber) (cs event.ClockStatus) {
		if msgs := s.Messages(); len(msgs) > 0 {
			if err := json.Unmarshal(msgs[len(msgs)-1].Payload, &cs); err != nil {
				t.Fatal(err)
			}
		}
		return cs
	}
	waitFor(t, "the clock's status up", 20*time.Second, func() bool { return state(sub).State == event.ClockUp })
	r.stop(t)
	after := mqtttest.Subscribe(t, r.broker.URL(), topic) // a newcomer gets the retained one
	waitFor(t, "the retained clock status", 10*time.Second, func() bool { return state(after).Clock != "" })
	if cs := state(after); cs.State != event.ClockDown || cs.Error != "punchd stopped" || cs.LastPull == nil || cs.Serial != "SIM0001" || cs.Capacity == 0 {
		t.Errorf("retained clock status after shutdown = %+v, want down with error \"punchd stopped\" and the last pull's facts (capacity)", cs)
	}
	if strings.Contains(r.logs.String(), "queue clock status") {
		t.Errorf("log:\n%s", r.logs.String())
	}
}

// TestStartupLogs: the start-up line says where events start and why; no clock is a warning.
func TestStartupLogs(t *testing.T) {
	r := startRigWith(t, rigOptions{configure: func(c *config.Config) { c.Clock = nil }})
	r.stop(t)
	logs := r.logs.String()
	for _, want := range []string{
		`msg="punchd started"`, `events_since=2026-03-02 events_since_from="config [site] events_since"`,
		`level=WARN msg="no clock configured: nothing is pulled (add a [[clock]] section)"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %s:\n%s", want, logs)
		}
	}
}

func TestDaemonEndToEnd(t *testing.T) {
	r := startRig(t)
	sub := subscribe(t, r.broker.URL(), "punchd/jinbi/#")
	users := r.sim.Data().Users

	// The first pull stores the week of history (before events_since: no events for it).
	waitFor(t, "the first pull", 20*time.Second, func() bool {
		st := r.status(t)
		return len(st.Clocks) == 1 && st.Clocks[0].Up && !st.Clocks[0].LastPull.IsZero()
	})

	// A late arrival, as a realtime event: published at once with the documented fields.
	lateAt := r.clock.Now().Add(11 * time.Minute).Truncate(time.Minute) // 08:36 or so on the clock
	if err := r.sim.InjectPunch(users[0].UserID, lateAt, 0, 1); err != nil {
		t.Fatal(err)
	}
	var got event.Event
	waitFor(t, "the late event", 10*time.Second, func() bool {
		evs, _ := sub.snapshot()
		for _, e := range evs {
			if e.UserID == users[0].UserID && e.Kind == "late" {
				got = e
				return true
			}
		}
		return false
	})
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	wantMin := int(lateAt.Sub(time.Date(2026, 3, 2, 8, 30, 0, 0, cst)) / time.Minute)
	if got.Rev != 1 || got.Site != "jinbi" || got.Clock != "dangzhengban" || got.Date != "2026-03-02" || got.Slot != "am_in" ||
		got.Minutes != wantMin || got.Name != users[0].Name || got.Actual == nil || got.Expected != "2026-03-02T08:30:00+08:00" {
		t.Fatalf("late event = %+v (want %d minutes, name %s)", got, wantMin, users[0].Name)
	}
	_, topics := sub.snapshot()
	if topics["punchd/jinbi/status"] == 0 || topics["punchd/jinbi/clocks/dangzhengban/status"] == 0 {
		t.Fatalf("retained status topics not seen: %v", topics)
	}

	// Metrics, health and readiness.
	for path, want := range map[string]string{"/metrics": "punchd_clock_up{clock=\"dangzhengban\"} 1", "/healthz": "", "/readyz": "store"} {
		resp, err := http.Get("http://" + r.addrs.HTTP + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s = %d, body lacks %q:\n%.2000s", path, resp.StatusCode, want, body)
		}
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		resp, err := http.Get("http://" + r.addrs.HTTP + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = resp.Body
		out, err := cmd.CombinedOutput()
		resp.Body.Close()
		if err != nil {
			t.Fatalf("promtool check metrics on a real scrape: %v\n%s", err, out)
		}
	}

	// The broker goes away; punches keep coming; nothing is lost, each id arrives.
	r.broker.Stop()
	var lateUsers []string
	for _, u := range users[1:4] {
		if err := r.sim.InjectPunch(u.UserID, lateAt.Add(2*time.Minute), 0, 1); err != nil {
			t.Fatal(err)
		}
		lateUsers = append(lateUsers, u.UserID)
	}
	waitFor(t, "events queued in the outbox while the broker is down", 10*time.Second, func() bool { return r.status(t).Outbox >= 3 })
	r.broker.Restart()
	waitFor(t, "the queued late events after the broker came back", 30*time.Second, func() bool {
		evs, _ := sub.snapshot()
		seen := map[string]bool{}
		for _, e := range evs {
			if e.Kind == "late" {
				seen[e.UserID] = true
			}
		}
		for _, u := range lateUsers {
			if !seen[u] {
				return false
			}
		}
		return true
	})
	waitFor(t, "an empty outbox", 10*time.Second, func() bool { return r.status(t).Outbox == 0 })

	// A hot backup through the API while the daemon runs opens and checks.
	cl, err := api.Dial(context.Background(), r.addrs.Socket)
	if err != nil {
		t.Fatal(err)
	}
	bpath := filepath.Join(t.TempDir(), "backup.db")
	bf, err := os.Create(bpath)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := cl.Backup(context.Background(), bf); err != nil || n == 0 {
		t.Fatalf("hot backup: %d bytes, %v", n, err)
	}
	bf.Close()
	bdb, err := store.Open(bpath, store.Options{ReadOnly: true, Location: cst})
	if err != nil {
		t.Fatalf("the hot backup does not open: %v", err)
	}
	if n, _ := bdb.CountPunches(); n < len(r.sim.Data().Records)-1 {
		t.Fatalf("backup holds %d punches, the clock %d", n, len(r.sim.Data().Records))
	}
	bdb.Close()

	// Every (id, rev) at most once apart from redelivery of an already-used id.
	evs, _ := sub.snapshot()
	revs := map[string]map[int]bool{}
	for _, e := range evs {
		if revs[e.ID] == nil {
			revs[e.ID] = map[int]bool{}
		}
		revs[e.ID][e.Rev] = true
	}
	for id, rs := range revs {
		for rev := 1; rev <= len(rs); rev++ {
			if !rs[rev] {
				t.Fatalf("event %s: revisions %v have a gap", id, rs)
			}
		}
	}
}
