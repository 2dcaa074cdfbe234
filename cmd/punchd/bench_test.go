package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zk/zksim/zksimtest"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
)

// BenchmarkRealtimeLatency measures the time from the simulated clock emitting a punch (a realtime
// event on the ZK wire) to a subscriber of a real Mosquitto receiving the late event: through the
// zk client, the store commit, the rules, the outbox commit and the publisher. It reports p50 and
// p99 in milliseconds over b.N punches, one at a time (go test -bench RealtimeLatency -benchtime 1000x).
func BenchmarkRealtimeLatency(b *testing.B) {
	broker := mqtttest.Start(b)
	people := max(b.N, 10)
	clock := newShifted(time.Date(2026, 3, 2, 8, 40, 0, 0, cst))
	data, err := zksim.Generate(zksim.GenConfig{People: people, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, cst), Days: 1, Seed: 5, Location: cst})
	if err != nil {
		b.Fatal(err)
	}
	data.Records = nil // an empty log: every punch below is the person's first of the day
	sim, err := zksim.New(zksim.Config{Data: data, Location: cst, Now: clock.Now, Serial: "BENCH001"})
	if err != nil {
		b.Fatal(err)
	}
	clockAddr := zksimtest.ServeTCP(b, sim)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir := b.TempDir()
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Timezone, cfg.Site.Roster = "bench", "Asia/Shanghai", ""
	cfg.Site.EventsSince = config.Date(attendance.Date{Year: 2026, Month: 3, Day: 2})
	cfg.Store.Path, cfg.API.Socket = filepath.Join(dir, "punchd.db"), filepath.Join(dir, "punchd.sock")
	cfg.HTTP.Listen, cfg.Reports.Dir = "127.0.0.1:0", filepath.Join(dir, "reports")
	cfg.MQTT.Broker, cfg.MQTT.ClientID, cfg.MQTT.TopicPrefix = broker.URL(), "punchd-bench", "punchd/bench"
	c := config.DefaultClock()
	c.Name, c.URL, c.PollInterval, c.Realtime = "c1", "zk+tcp://"+clockAddr, config.Duration(time.Hour), true
	cfg.Clock = []config.Clock{c}
	ready := make(chan Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock.Now, Ready: func(a Addrs) { ready <- a }})
	}()
	select {
	case <-ready:
	case err := <-done:
		b.Fatal(err)
	}

	var mu sync.Mutex
	arrived := map[string]chan time.Time{}
	got := func(user string) chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		ch, ok := arrived[user]
		if !ok {
			ch = make(chan time.Time, 1)
			arrived[user] = ch
		}
		return ch
	}
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("bench-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer sub.Disconnect(0)
	tok := sub.Subscribe("punchd/bench/events/late", 1, func(_ mqtt.Client, m mqtt.Message) {
		t := time.Now()
		var e event.Event
		if json.Unmarshal(m.Payload(), &e) == nil && e.Rev == 1 {
			select {
			case got(e.UserID) <- t:
			default:
			}
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	// Wait for the realtime link (the first pull precedes it).
	time.Sleep(500 * time.Millisecond)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := data.Users[i%len(data.Users)].UserID
		ch := got(u)
		start := time.Now()
		if err := sim.InjectPunch(u, clock.Now().Truncate(time.Second), 0, 1); err != nil {
			b.Fatal(err)
		}
		select {
		case t := <-ch:
			lat = append(lat, t.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatalf("punch %d of %s: no late event within 10s", i, u)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	if testing.Verbose() {
		fmt.Printf("realtime latency over %d punches: p50 %.1f ms, p99 %.1f ms\n", len(lat), q(0.5), q(0.99))
	}
}
