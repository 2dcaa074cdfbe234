package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zk/zksim/zksimtest"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
)

// TestKillMidPullAndMidPublish runs the real binary against a simulated clock holding a week of a
// 40-person office (and a few thousand records of older history) and a real Mosquitto, kills it with
// SIGKILL twice — during the first pull and while the outbox is draining — and restarts it. At the
// end every unexcused anomaly of every stored day has reached the subscriber, and no id arrived
// with a revision that does not exist.
func TestKillMidPullAndMidPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon binary")
	}
	dir := t.TempDir()
	bin := buildCommand(t, dir, "punchd")
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	today := attendance.DateOf(time.Now().In(loc))
	start := today.AddDays(-60)
	data, err := zksim.Generate(zksim.GenConfig{People: 40, Start: start.Start(loc), Days: 60, Seed: 11, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	// Keep today out: a day still in progress depends on the minute the test runs.
	kept := data.Records[:0]
	for _, r := range data.Records {
		if attendance.DateOf(r.Time.In(loc)).Before(today) {
			kept = append(kept, r)
		}
	}
	data.Records = kept
	sim, err := zksim.New(zksim.Config{Data: data, Location: loc, Serial: "KILL0001", Pacing: 0})
	if err != nil {
		t.Fatal(err)
	}
	clockAddr := zksimtest.ServeTCP(t, sim)
	broker := mqtttest.Start(t)

	sub := mqtttest.Subscribe(t, broker.URL(), "punchd/kill/events/#")
	// received maps each event id to the revisions that arrived.
	received := func() map[string]map[int]bool {
		out := map[string]map[int]bool{}
		for _, m := range sub.Messages() {
			var e event.Event
			if err := json.Unmarshal(m.Payload, &e); err != nil {
				t.Errorf("payload %s: %v", m.Payload, err)
				continue
			}
			if out[e.ID] == nil {
				out[e.ID] = map[int]bool{}
			}
			out[e.ID][e.Rev] = true
		}
		return out
	}
	count := func() int { return len(received()) }

	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Timezone, cfg.Site.Roster = "kill", "Asia/Shanghai", ""
	cfg.Site.EventsSince = config.Date(today.AddDays(-7))
	cfg.Store.Path = filepath.Join(dir, "punchd.db")
	cfg.API.Socket = filepath.Join(dir, "punchd.sock")
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Reports.Dir = filepath.Join(dir, "reports")
	cfg.MQTT.Broker, cfg.MQTT.ClientID, cfg.MQTT.TopicPrefix = broker.URL(), "punchd-kill", "punchd/kill"
	cfg.MQTT.Inflight = 4
	c := config.DefaultClock()
	c.Name, c.URL, c.PollInterval, c.Realtime = "dangzhengban", "zk+tcp://"+clockAddr, config.Duration(time.Second), false
	cfg.Clock = []config.Clock{c}
	cfgPath := filepath.Join(dir, "punchd.toml")
	f, err := os.Create(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.NewEncoder(f).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	f.Close()

	startDaemon := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfgPath)
		cmd.Stderr = &strings.Builder{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	waitUntil := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s", d, what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	kill := func(cmd *exec.Cmd) {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}

	// 1. Killed mid-pull: as soon as the clock has a client.
	d := startDaemon()
	waitUntil("the daemon to connect to the clock", 20*time.Second, func() bool { return sim.Stats().Connects > 0 })
	kill(d)

	// 2. Killed mid-publish: once a few events have arrived.
	d = startDaemon()
	waitUntil("the first events", 60*time.Second, func() bool { return count() >= 5 })
	kill(d)
	mid := count()

	// 3. Run to the end: the outbox drains.
	d = startDaemon()
	var st api.Status
	waitUntil("an empty outbox after the restart", 90*time.Second, func() bool {
		cl, err := api.Dial(context.Background(), cfg.API.Socket)
		if err != nil {
			return false
		}
		st, err = cl.Status(context.Background())
		return err == nil && len(st.Clocks) == 1 && !st.Clocks[0].LastPull.IsZero() && st.Outbox == 0 && count() > mid
	})
	time.Sleep(500 * time.Millisecond) // the last acknowledged messages reach the subscriber
	d.Process.Signal(syscall.SIGTERM)
	stopped := make(chan error, 1)
	go func() { stopped <- d.Wait() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.Stderr)
		}
	case <-time.After(5 * time.Second):
		kill(d)
		t.Fatal("daemon did not stop within 5s of SIGTERM")
	}

	// Every final unexcused anomaly of a stored day since events_since reached the subscriber.
	db, err := store.Open(cfg.Store.Path, store.Options{Location: loc, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _ := db.CountPunches(); n != len(data.Records) {
		t.Fatalf("punches stored = %d, want the %d on the clock, each once", n, len(data.Records))
	}
	days, err := db.Days(today.AddDays(-7), today.AddDays(-1))
	if err != nil {
		t.Fatal(err)
	}
	got := received()
	want := 0
	for _, day := range days {
		for _, a := range rules.Events(day) {
			if a.Excused {
				continue
			}
			want++
			id := event.ID("kill", day.UserID, day.Date, a.Slot, a.Kind)
			if !got[id][1] {
				t.Errorf("lost: %s %s %s %s (id %s)", day.UserID, day.Date, a.Slot, a.Kind, id)
			}
		}
	}
	for id, revs := range got {
		for rev := range revs {
			if rev < 1 || (rev > 1 && !revs[rev-1]) {
				t.Errorf("event %s: revision %d arrived without %d", id, rev, rev-1)
			}
		}
	}
	if want == 0 {
		t.Fatal("the generated week had no anomalies: the test proves nothing")
	}
	t.Logf("%d anomalies over %d stored days; %d ids received (%d before the second kill)", want, len(days), len(got), mid)
}
