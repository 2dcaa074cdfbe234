// Package daemon wires punchd together: config → clock loops → ingest (store, rules) → outbox →
// MQTT publisher, with metrics, health, the systemd notify/watchdog protocol, the local API and the
// monthly filing of reports. cmd/punchd is a thin main around Run; tests and the demo call Run too.
//
// It owns lifetimes and nothing else: every decision about punches, days and events lives in the
// packages it wires.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk" // registers zk+tcp, zk+udp, zk+serial
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/health"
	"github.com/jinbi/punchd/internal/metrics"
	"github.com/jinbi/punchd/internal/roster"
	"github.com/jinbi/punchd/internal/sdnotify"
	"github.com/jinbi/punchd/internal/service"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/publish"
	"github.com/jinbi/punchd/sync/pull"
	"github.com/jinbi/punchd/sync/push"
)

// After a whole-log read of releaseAfter punches the daemon gives back the store's mapped pages it
// touched; of bigPull, the heap too.
const (
	releaseAfter = 1000
	bigPull      = 20000
)

// zkReasons are the ZK driver's errors by the reason punchd_clock_errors_total counts them
// under, in the order they are tried: the first a failure matches is its one reason.
var zkReasons = []pull.ErrorReason{
	{Err: zk.ErrImplausibleDates, Reason: metrics.ReasonImplausibleDates},
	{Err: zk.ErrTimeout, Reason: metrics.ReasonTimeout},
	{Err: zk.ErrNoAnswer, Reason: metrics.ReasonBusy},
	{Err: zk.ErrUnauthorized, Reason: metrics.ReasonAuth},
	{Err: zk.ErrChecksum, Reason: metrics.ReasonChecksum},
	{Err: zk.ErrTruncated, Reason: metrics.ReasonTruncated},
	{Err: zk.ErrUnknownRecordSize, Reason: metrics.ReasonRecordSize},
	{Err: zk.ErrUnknownEventLength, Reason: metrics.ReasonProtocol},
	{Err: zk.ErrProtocol, Reason: metrics.ReasonProtocol},
	{Err: zk.ErrBadMagic, Reason: metrics.ReasonProtocol},
	{Err: zk.ErrOversize, Reason: metrics.ReasonProtocol},
	{Err: zk.ErrClosed, Reason: metrics.ReasonClosed},
	{Err: zk.ErrRefused, Reason: metrics.ReasonConnect},
}

// Options are what the caller supplies beyond the config.
type Options struct {
	Logger *slog.Logger     // nil: built from [log] onto Stderr
	Stderr io.Writer        // where logs go when Logger is nil
	Now    func() time.Time // the wall clock (the demo accelerates it); nil: time.Now
	// FinaliseEvery is how often open days are re-judged as windows close; default 30s.
	FinaliseEvery time.Duration
	// Ready, when set, is called once the store is open and the listeners are up, with the
	// addresses actually bound (useful with port 0).
	Ready func(Addrs)
	// Opener connects to clocks; nil: device.Open.
	Opener pull.Opener
}

// Addrs are the listeners a running daemon bound.
type Addrs struct {
	HTTP   string            // host:port of /metrics, /healthz, /readyz ("" when disabled)
	Socket string            // the API socket
	Push   map[string]string // zk+push clock name -> the host:port its device pushes to
}

// Run starts the daemon and blocks until ctx is cancelled; then it stops within 5 s, leaving the
// store consistent (every commit is one bbolt transaction) and the outbox holding what the broker
// has not acknowledged.
func Run(ctx context.Context, cfg config.Config, o Options) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FinaliseEvery <= 0 {
		o.FinaliseEvery = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		w := o.Stderr
		if w == nil {
			w = os.Stderr
		}
		log = slog.New(cfg.Log.Handler(w))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	build := buildinfo.Read()
	m := metrics.New(metrics.BuildInfo{Version: build.Version, Revision: build.Revision, GoVersion: build.GoVersion}, metrics.WithNow(o.Now))
	m.ConfigLoaded(true, o.Now())
	cal, err := cfg.NewCalendar()
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	loc := cfg.Location()
	m.SetCalendarYears(cal.Needed(o.Now().In(loc)))

	db, err := store.Open(cfg.Store.Path, store.Options{Location: loc, Now: o.Now, Logger: log.With("component", "store")})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	if cfg.Site.Roster != "" {
		if err := loadRoster(db, cfg, log); err != nil {
			return err
		}
	}
	since := attendance.Date(cfg.Site.EventsSince)
	if since.IsZero() {
		since = attendance.DateOf(db.Created().In(loc))
	}

	d := &daemon{cfg: cfg, db: db, cal: cal, m: m, log: log, now: o.Now, started: o.Now(), since: since, clocks: map[string]*clockState{}}
	for _, c := range cfg.Clock {
		d.clocks[c.Name] = &clockState{}
		m.InitClock(c.Name)
	}
	d.live = health.NewLiveness(time.Now, 2*time.Minute)
	m.Registry().MustRegister(d.live)

	pubOpts := publish.FromConfig(cfg.MQTT)
	pubOpts.Version, pubOpts.Logger = build.Version, log.With("component", "publish")
	pubOpts.Now = func() time.Time { return o.Now().In(loc) } // status times carry the site's offset
	feed := &liveFeed{}
	pubOpts.Hooks = publish.Hooks{
		OnSend:       feed.send,
		OnConnect:    func() { m.SetMQTTConnected(true) },
		OnDisconnect: func(error) { m.SetMQTTConnected(false) },
		OnReconnect:  m.MQTTReconnected,
		OnPublish:    func(topic string, l time.Duration) { m.MQTTPublished(messageType(cfg.MQTT.TopicPrefix, topic), l) },
		OnError:      m.MQTTPublishFailed,
		OnDrop:       func(reason string, n int) { m.OutboxDropped(reason, n) },
		OnOutbox: func(n int, oldest time.Time) {
			m.SetOutbox(n, oldest)
			d.live.Beat("publish") // the publisher looks at the outbox every poll, connected or not
		},
	}
	pub, err := publish.New(publish.FromStore(db), pubOpts)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	d.pub = pub

	clockNames := make([]string, len(cfg.Clock))
	for i, c := range cfg.Clock {
		clockNames[i] = c.Name
	}
	d.eng = ingest.New(ingest.Config{Site: cfg.Site.Name, Prefix: cfg.MQTT.TopicPrefix, Location: loc, Params: cfg.RulesParams(),
		EventsSince: since, Clocks: clockNames}, db, cal, o.Now, log.With("component", "ingest"), ingestObserver{m}, pub.Notify)
	if err := d.eng.Load(ctx); err != nil {
		return err
	}
	d.svc = service.New(cfg, db, cal, d.eng, since, o.Now)
	d.svc.SetAuditNotify(pub.Notify)

	// Listeners: metrics and health on loopback by default, the API on its unix socket.
	ready := health.NewReadiness()
	ready.Set("store", func(context.Context) error { _, err := db.Size(); return err })
	ready.Set("config", func(context.Context) error { return nil })
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/healthz", d.live.Handler())
	mux.Handle("/readyz", ready.Handler(2*time.Second))
	if err := d.mountConsole(ctx, mux, feed, log); err != nil {
		return err
	}
	var addrs Addrs
	var servers []*http.Server
	if cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
		addrs.HTTP = ln.Addr().String()
		// Requests end when punchd stops: the console's live feed holds its request open.
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
		if cfg.HTTP.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
			if err != nil {
				ln.Close()
				return fmt.Errorf("http tls_cert %s, tls_key %s: %w", cfg.HTTP.TLSCert, cfg.HTTP.TLSKey, err)
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		}
		servers = append(servers, srv)
		go srv.Serve(ln)
	}
	if cfg.API.Socket != "" {
		ln, err := api.Listen(cfg.API.Socket)
		if err != nil {
			return err
		}
		defer os.Remove(cfg.API.Socket)
		addrs.Socket = cfg.API.Socket
		srv := &http.Server{Handler: api.Handler(apiBackend{d.svc, d}, log.With("component", "api")), ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go srv.Serve(ln)
	}

	// ZK PUSH devices call us: their listeners are up before Ready.
	var pushClocks []push.Clock
	for _, c := range cfg.Clock {
		if push.IsPush(c.URL) {
			pushClocks = append(pushClocks, push.Clock{Name: c.Name, URL: c.URL, Location: cfg.ClockLocation(c), SyncEvery: c.PollInterval.Std()})
		}
	}
	var pushSrv *push.Server
	if len(pushClocks) > 0 {
		if pushSrv, err = push.New(pushClocks, d.eng, o.Now, log, pullObserver{d}); err != nil {
			return err
		}
		m.Registry().MustRegister(pushSrv.Collectors()...)
		if addrs.Push, err = pushSrv.Listen(); err != nil {
			return err
		}
	}

	// The loops. The publisher stops last, so that what the others queue as they stop (every
	// clock's retained status) still goes out.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pubCtx, cancelPub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPub()
	var wg, pubDone sync.WaitGroup
	spawn := func(name string, within time.Duration, f func(context.Context)) {
		d.live.Register(name, within)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(runCtx)
		}()
	}
	d.live.Register("publish", 2*time.Minute)
	pubDone.Add(1)
	go func() {
		defer pubDone.Done()
		if err := pub.Run(pubCtx); err != nil && pubCtx.Err() == nil {
			log.Error("publisher stopped", "err", err)
		}
	}()
	if pushSrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pushSrv.Run(runCtx, db)
		}()
	}
	for _, c := range cfg.Clock {
		if push.IsPush(c.URL) {
			continue
		}
		lc := pull.Config{Name: c.Name, URL: c.URL, Options: cfg.DeviceOptions(c, log.With("clock", c.Name)),
			PollInterval: c.PollInterval.Std(), FullPullInterval: c.FullPullInterval.Std(), Realtime: c.Realtime, MaxOffset: c.MaxOffset.Std(),
			ClearLog: c.ClearLog, ClearOlderThan: c.ClearOlderThan.Std(), Reasons: zkReasons}
		loop := pull.New(lc, d.eng, o.Opener, o.Now, log, pullObserver{d})
		d.mu.Lock()
		d.clocks[c.Name].loop = loop
		d.mu.Unlock()
		within := max(2*lc.PollInterval, time.Minute)
		spawn("pull/"+c.Name, within, func(ctx context.Context) { loop.Run(ctx) })
	}
	spawn("finalise", 4*o.FinaliseEvery, func(ctx context.Context) {
		d.eng.RunFinaliser(ctx, o.FinaliseEvery, func() { d.live.Beat("finalise") })
	})
	spawn("housekeeping", 2*time.Minute, d.housekeeping)
	spawn("reports", 2*time.Minute, d.fileReports)

	// SIGHUP reloads the roster file.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				d.reload(runCtx)
			}
		}
	}()

	notifier, err := sdnotify.FromEnv()
	if err != nil {
		log.Warn("systemd notify socket", "err", err)
	}
	if notifier != nil && notifier.Enabled() {
		if err := notifier.Ready(); err != nil {
			log.Warn("notify READY", "err", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			notifier.RunWatchdog(runCtx, d.live.Healthy)
		}()
	}
	sinceFrom := "config [site] events_since"
	if cfg.Site.EventsSince.Std().IsZero() {
		sinceFrom = "the store's creation day"
	}
	log.Info("punchd started", "version", build.Version, "site", cfg.Site.Name, "store", cfg.Store.Path, "clocks", len(cfg.Clock),
		"broker", cfg.MQTT.Broker, "http", addrs.HTTP, "socket", addrs.Socket, "events_since", since.String(), "events_since_from", sinceFrom)
	if len(cfg.Clock) == 0 {
		log.Warn("no clock configured: nothing is pulled (add a [[clock]] section)")
	}
	if o.Ready != nil {
		o.Ready(addrs)
	}

	<-ctx.Done()
	log.Info("punchd stopping")
	if notifier != nil && notifier.Enabled() {
		notifier.Stopping()
	}
	d.stopping.Store(true)
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	stopBy := time.After(4 * time.Second)
	select {
	case <-done:
		d.clocksStopped()
	case <-stopBy:
		log.Error("loops did not stop within 4s; closing the store anyway (every commit is atomic)")
	}
	cancelPub()
	pubStopped := make(chan struct{})
	go func() { pubDone.Wait(); close(pubStopped) }()
	select {
	case <-pubStopped:
	case <-stopBy:
		log.Error("publisher did not stop within 4s; closing the store anyway (the outbox keeps what was not acknowledged)")
	}
	shut, cancelShut := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancelShut()
	for _, s := range servers {
		s.Shutdown(shut)
	}
	return nil
}

func loadRoster(db *store.DB, cfg config.Config, log *slog.Logger) error {
	path := cfg.Site.Roster
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		log.Warn("roster file missing: keeping the stored roster (with none, everyone on the clock is judged)", "roster", path)
		return nil
	}
	people, err := roster.ParseFile(path)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	if people, err = cfg.ApplyUnits(people); err != nil {
		return fmt.Errorf("roster %s: %w", path, err)
	}
	if err := db.PutRoster(people); err != nil {
		return fmt.Errorf("roster %s: store: %w", path, err)
	}
	return nil
}

type daemon struct {
	cfg     config.Config
	db      *store.DB
	cal     *calendar.Calendar
	m       *metrics.Metrics
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	since   attendance.Date
	eng     *ingest.Engine
	svc     *service.Service // the store's side of the local API; reports read through it too
	pub     *publish.Publisher
	live    *health.Liveness

	mu     sync.Mutex
	clocks map[string]*clockState
	// stopping: the loops are being stopped; a clock's loop ending is not the clock going down.
	stopping atomic.Bool
}

// clocksStopped queues every clock's retained status as down because punchd stopped, for the
// publisher to send before it disconnects: a retained "up" would outlive the daemon.
func (d *daemon) clocksStopped() {
	now := d.now()
	for _, c := range d.cfg.Clock {
		if err := d.eng.ClockDown(context.Background(), c.Name, now, clockStatusStopped); err != nil {
			d.log.Warn("queue clock status at shutdown", "clock", c.Name, "err", err)
		}
	}
	d.pub.Notify()
}

// clockStatusStopped is the error of every clock's retained status once punchd stopped.
const clockStatusStopped = "punchd stopped"

type clockState struct {
	loop     *pull.Loop
	up       bool
	realtime bool
	since    time.Time
	last     pull.Pull
	lastErr  string
}

// reload re-reads the roster file and re-judges the open days.
func (d *daemon) reload(ctx context.Context) {
	if d.cfg.Site.Roster == "" {
		d.log.Info("SIGHUP: no roster file configured")
		return
	}
	if err := loadRoster(d.db, d.cfg, d.log); err != nil {
		d.m.ConfigLoaded(false, d.now())
		d.log.Error("SIGHUP: roster not reloaded; the previous one stays", "err", err)
		return
	}
	d.m.ConfigLoaded(true, d.now())
	if err := d.eng.ReloadRoster(ctx); err != nil {
		d.log.Error("SIGHUP: re-judge after roster reload", "err", err)
		return
	}
	d.log.Info("SIGHUP: roster reloaded", "file", d.cfg.Site.Roster)
}

// housekeeping refreshes the gauges that nobody else updates.
func (d *daemon) housekeeping(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		d.live.Beat("housekeeping")
		if n, err := d.db.Size(); err == nil {
			d.m.SetStoreSize(n)
		}
		if people, err := d.db.Roster(); err == nil {
			unknown, _ := d.db.Unknown()
			d.m.SetRoster(len(people), len(unknown))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pullObserver feeds metrics, liveness and the retained clock status from the pull loops.
type pullObserver struct{ d *daemon }

func (o pullObserver) ClockUp(clock string, up bool) {
	d := o.d
	d.m.ClockUp(clock, up)
	d.mu.Lock()
	st := d.clocks[clock]
	changed := st.up != up || st.since.IsZero()
	if changed {
		st.up, st.since = up, d.now()
	}
	reason := st.lastErr
	since := st.since
	d.mu.Unlock()
	if changed && !up && !d.stopping.Load() {
		if err := d.eng.ClockDown(context.Background(), clock, since, reason); err != nil {
			d.log.Warn("queue clock status", "clock", clock, "err", err)
		}
	}
}

func (o pullObserver) ClockError(clock, reason string) {
	o.d.m.ClockError(clock, reason)
	o.d.mu.Lock()
	o.d.clocks[clock].lastErr = reason
	up := o.d.clocks[clock].up
	o.d.mu.Unlock()
	if !up {
		o.ClockUp(clock, false)
	}
}

func (o pullObserver) PullFailed(clock, reason string, took time.Duration) {
	o.d.m.PullFailed(clock, reason, took) // counts the error too
	o.d.mu.Lock()
	o.d.clocks[clock].lastErr = reason
	o.d.mu.Unlock()
}

func (o pullObserver) Pulled(clock string, r pull.Pull) {
	d := o.d
	d.m.PullSucceeded(clock, r.At, r.Duration)
	d.m.SetClockInfo(clock, r.Info.Serial, r.Info.Firmware, r.Info.Platform)
	d.m.SetClockLog(clock, r.Info.Records, r.Info.RecordCap)
	d.m.SetClockOffset(clock, r.Offset)
	d.m.ClockRead(clock, r.Bytes, r.Retries)
	if r.From == 0 && len(r.Punches) >= releaseAfter {
		// A whole log read (the first start against months of history, the daily full read): hand
		// the memory of that one-off back now rather than carry it until the next forced GC, and
		// the store's mapped pages it compared against (they stay in the page cache).
		big := len(r.Punches) >= bigPull
		go func() {
			if big {
				debug.FreeOSMemory()
			}
			if err := d.db.ReleaseMapped(); err != nil {
				d.log.Debug("release the store's mapped pages", "err", err)
			}
		}()
	}
	r.Punches, r.Users, r.Skipped = nil, nil, nil // Status needs the summary only: keeping them held each clock's whole log between pulls
	d.mu.Lock()
	d.clocks[clock].last = r
	d.clocks[clock].lastErr = ""
	d.mu.Unlock()
}

func (o pullObserver) RealtimeConnected(clock string, connected bool) {
	o.d.m.SetRealtimeConnected(clock, connected)
	o.d.mu.Lock()
	o.d.clocks[clock].realtime = connected
	o.d.mu.Unlock()
}

func (o pullObserver) Beat(loop string) { o.d.live.Beat(loop) }

func (o pullObserver) RealtimePunch(clock string) { o.d.m.RealtimeEvent(clock, true) }

type ingestObserver struct{ m *metrics.Metrics }

func (o ingestObserver) PunchesIngested(clock, path string, n int) {
	o.m.PunchesIngested(clock, path, n)
}
func (o ingestObserver) PunchesRejected(clock, reason string, n int) {
	o.m.PunchesRejected(clock, reason, n)
}
func (o ingestObserver) EventQueued(kind attendance.EventKind, correction bool) {
	o.m.EventQueued(kind, correction)
}
func (o ingestObserver) PunchesDuplicate(clock, path string, n int) {
	o.m.PunchesDuplicate(clock, path, n)
}
func (o ingestObserver) LogShrunk(clock string) { o.m.LogShrunk(clock) }
func (o ingestObserver) AlertQueued(clock string, kind event.AlertKind) {
	o.m.ClockAlert(clock, string(kind))
}
func (o ingestObserver) Committed(d time.Duration) { o.m.ObserveCommit(d) }

// apiBackend is the local API while the daemon runs: the store's service, with the live state of
// the clocks and the broker added to Status, and a hot backup.
type apiBackend struct {
	*service.Service
	d *daemon
}

var (
	_ api.Backend    = apiBackend{}
	_ api.Accounts   = apiBackend{}
	_ api.Backuper   = apiBackend{}
	_ api.ClockOwner = apiBackend{}
)

func (b apiBackend) Status(ctx context.Context) (api.Status, error) {
	s, err := b.Service.Status(ctx)
	if err != nil {
		return s, err
	}
	d := b.d
	s.Version, s.Started, s.MQTT = buildinfo.Read().Version, d.started, d.pub.Connected()
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, c := range s.Clocks {
		st := d.clocks[c.Name]
		s.Clocks[i] = api.ClockStatus{Name: c.Name, Serial: st.last.Info.Serial, Up: st.up, Since: st.since, LastPull: st.last.At,
			Records: st.last.Info.Records, Capacity: st.last.Info.RecordCap, OffsetSec: st.last.Offset.Seconds(),
			Realtime: st.realtime, LastError: st.lastErr}
	}
	return s, nil
}

// Clock implements api.ClockOwner: punchctl's clock commands run on the clock's loop, between its
// pulls.
func (b apiBackend) Clock(ctx context.Context, name string) (device.Clock, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	st, ok := b.d.clocks[name]
	if !ok {
		return nil, fmt.Errorf("the daemon has no [[clock]] named %q", name)
	}
	if st.loop == nil {
		return nil, fmt.Errorf("clock %s is a ZK PUSH device: it calls punchd, which holds no connection to it to run commands on", name)
	}
	return st.loop.Clock(), nil
}

// Backup implements api.Backuper: a hot backup of the store while the daemon runs.
func (b apiBackend) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return b.d.db.Backup(ctx, w)
}

// messageType classes a topic for punchd_mqtt_publishes_total.
func messageType(prefix, topic string) string {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	switch {
	case !ok:
		return metrics.MessageOther
	case strings.HasPrefix(rest, "events/"):
		return metrics.MessageEvent
	case rest == "days":
		return metrics.MessageDay
	case strings.HasPrefix(rest, "clocks/") && strings.HasSuffix(rest, "/alerts"):
		return metrics.MessageClockAlert
	case strings.HasPrefix(rest, "clocks/"):
		return metrics.MessageClockStatus
	case rest == "status":
		return metrics.MessageStatus
	case strings.HasPrefix(rest, "reports/"):
		return metrics.MessageReport
	}
	return metrics.MessageOther
}
