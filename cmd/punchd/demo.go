package main

// punchd --demo runs punchd with no set-up: a simulated ZK clock for a small office on loopback, an
// embedded MQTT broker on loopback, and the real daemon wired to both, with an accelerated day, in a
// temporary directory. It prints the anomaly feed as it is published. Everything it runs is the
// production code; this file only wires the demo.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/feed"
)

// demoOptions tune the demo.
type demoOptions struct {
	People int           // office size; default 20
	Speed  float64       // simulated seconds per real second; default 60 (a working day in ~10 minutes)
	For    time.Duration // stop after this long (real time); 0 = until ctx is cancelled
	Seed   uint64
	Dir    string // working directory; "" = a new temp dir, removed at the end
}

// demoClock is an accelerated wall clock: it starts at start and runs speed times faster than real time.
type demoClock struct {
	start, real0 time.Time
	speed        float64
}

// Now is the accelerated time.
func (c *demoClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.real0)) * c.speed))
}

// runDemo starts the demo and blocks until ctx is done or o.For has passed.
func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	if o.People <= 0 {
		o.People = 20
	}
	if o.Speed <= 0 {
		o.Speed = 60
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	if o.For > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.For)
		defer cancel()
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "punchd-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	cfg := config.Default()
	cfg.Site.Name = "jinbi-demo"
	cfg.Site.Timezone = "Asia/Shanghai"
	cfg.Site.Roster = "" // everyone on the clock is clock-tracked
	loc := cfg.Location()

	// The simulated day: today if it is a working day, else the last working day before it.
	cal, err := cfg.NewCalendar()
	if err != nil {
		return err
	}
	day := attendance.DateOf(time.Now().In(loc))
	for i := 0; i < 14; i++ {
		if t, _ := cal.DayType(day); t.IsWorking() {
			break
		}
		day = day.AddDays(-1)
	}
	clk := &demoClock{start: day.At(8*3600+20*60, loc), real0: time.Now(), speed: o.Speed}

	// The simulated clock: a week of history and today's punches injected as the day goes by.
	hist, err := zksim.Generate(zksim.GenConfig{People: o.People, Start: day.AddDays(-7).Start(loc), Days: 7, Seed: o.Seed, Location: loc})
	if err != nil {
		return err
	}
	sim, err := zksim.New(zksim.Config{Data: hist, Location: loc, Now: clk.Now, Logger: log})
	if err != nil {
		return err
	}
	ln, err := zksim.ListenTCP("127.0.0.1:0")
	if err != nil {
		return err
	}
	// The embedded broker, loopback only. It stops last, after the daemon said goodbye.
	brokerAddr, stopBroker, err := startBroker()
	if err != nil {
		return err
	}
	defer stopBroker()
	var wg sync.WaitGroup
	defer wg.Wait()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); sim.ServeTCP(runCtx, ln) }()

	cfg.Store.Path = filepath.Join(dir, "punchd.db")
	cfg.API.Socket = cfg.DefaultSocket() // beside the store; on Windows a pipe named after it
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Reports.Dir = filepath.Join(dir, "reports")
	cfg.MQTT.Broker = "tcp://" + brokerAddr
	cfg.MQTT.ClientID = "punchd-demo"
	cfg.MQTT.TopicPrefix = "punchd/demo"
	cfg.Site.EventsSince = config.Date(day)
	c := config.DefaultClock()
	c.Name = "dangzhengban"
	c.URL = "zk+tcp://" + ln.Addr().String()
	c.PollInterval = config.Duration(5 * time.Second)
	c.Realtime = true
	cfg.Clock = []config.Clock{c}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}

	cfgPath := filepath.Join(dir, "punchd.toml")
	if err := writeConfig(cfgPath, cfg); err != nil {
		return err
	}

	ready := make(chan Addrs, 1)
	daemonErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		daemonErr <- runDaemon(runCtx, cfg, Options{Logger: log, Now: clk.Now, FinaliseEvery: time.Second,
			Ready: func(a Addrs) { ready <- a }})
	}()
	var addrs Addrs
	select {
	case addrs = <-ready:
	case err := <-daemonErr:
		return fmt.Errorf("daemon: %w", err)
	case <-ctx.Done():
		return nil
	}
	fmt.Fprintf(stdout, "punchd demo — %d people, simulated %s from 08:20 at %gx speed\n", o.People, day, o.Speed)
	fmt.Fprintf(stdout, "  simulated clock  zk+tcp://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  MQTT broker      tcp://%s   (topics punchd/demo/#)\n", brokerAddr)
	fmt.Fprintf(stdout, "  metrics          http://%s/metrics   health: /healthz /readyz\n", addrs.HTTP)
	fmt.Fprintf(stdout, "  store            %s\n", cfg.Store.Path)
	fmt.Fprintf(stdout, "  status           go run ./cmd/punchctl --config %s status\n", cfgPath)
	fmt.Fprintf(stdout, "anomaly feed (Ctrl-C to stop):\n")

	wg.Add(2)
	go func() {
		defer wg.Done()
		err := feed.Run(runCtx, feed.Options{Broker: cfg.MQTT.Broker, Prefix: cfg.MQTT.TopicPrefix, ClientID: "punchd-demo-feed"}, stdout)
		if err != nil && runCtx.Err() == nil {
			log.Error("feed", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		punchTheDay(runCtx, sim, hist.Users, day, loc, clk, o.Seed)
	}()

	select {
	case <-ctx.Done():
	case err := <-daemonErr:
		if err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
	}
	cancel()
	return nil
}

// punchTheDay injects today's four punches of everyone as the accelerated clock reaches them: most
// on time, some late, some leaving early, some forgetting a punch, a few absent.
func punchTheDay(ctx context.Context, sim *zksim.Sim, users []zksim.User, day attendance.Date, loc *time.Location, clk *demoClock, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	type planned struct {
		user string
		at   time.Time
	}
	var plan []planned
	jitter := func(base, spread int) time.Time { // base and spread in minutes from midnight
		return day.Start(loc).Add(time.Duration(base*60+r.IntN(spread*60+1)) * time.Second)
	}
	for _, u := range users {
		if r.IntN(20) == 0 {
			continue // absent
		}
		arrive := jitter(8*60+5, 24) // 08:05..08:29
		if r.IntN(4) == 0 {
			arrive = jitter(8*60+31, 40) // late
		}
		plan = append(plan, planned{u.UserID, arrive})
		if r.IntN(8) == 0 {
			plan = append(plan, planned{u.UserID, arrive.Add(40 * time.Second)}) // pressed twice
		}
		if r.IntN(6) != 0 {
			plan = append(plan, planned{u.UserID, jitter(12*60, 15)})
		}
		pmIn := jitter(14*60, 28)
		if r.IntN(6) == 0 {
			pmIn = jitter(14*60+31, 30)
		}
		plan = append(plan, planned{u.UserID, pmIn})
		leave := jitter(18*60, 20)
		if r.IntN(6) == 0 {
			leave = jitter(17*60+20, 30) // early
		}
		if r.IntN(10) != 0 {
			plan = append(plan, planned{u.UserID, leave})
		}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at.Before(plan[j].at) })
	for _, p := range plan {
		for clk.Now().Before(p.at) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		if err := sim.InjectPunch(p.user, p.at, 0, 1); err != nil {
			return
		}
	}
}

// startBroker runs an embedded MQTT broker on a free loopback port.
func startBroker() (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = l.Addr().String()
	l.Close()
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return "", nil, err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "demo", Address: addr})); err != nil {
		return "", nil, err
	}
	if err := srv.Serve(); err != nil {
		return "", nil, err
	}
	return addr, func() { srv.Close() }, nil
}

// writeConfig saves the demo's config so that punchctl can find the daemon's socket.
func writeConfig(path string, cfg config.Config) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(cfg); err != nil {
		f.Close()
		return fmt.Errorf("write demo config: %w", err)
	}
	return f.Close()
}
