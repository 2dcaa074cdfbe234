package main

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
	"sync"
	"sync/atomic"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk" // registers zk+tcp, zk+udp, zk+serial
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/health"
	"github.com/jinbi/punchd/internal/roster"
	"github.com/jinbi/punchd/internal/sdnotify"
	"github.com/jinbi/punchd/internal/service"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/pull"
	"github.com/jinbi/punchd/sync/push"
)

// zkReasons are the ZK driver's errors by the reason punchd_clock_errors_total counts them
// under, in the order they are tried: the first a failure matches is its one reason.
var zkReasons = []pull.ErrorReason{
	{Err: zk.ErrImplausibleDates, Reason: "implausible_dates"}, // a whole read refused for its dates
	{Err: zk.ErrTimeout, Reason: "timeout"},
	{Err: zk.ErrNoAnswer, Reason: "busy"},     // the clock ignores CONNECT: another program holds it
	{Err: zk.ErrUnauthorized, Reason: "auth"}, // the comm key was refused
	{Err: zk.ErrChecksum, Reason: "checksum"},
	{Err: zk.ErrTruncated, Reason: "truncated"},
	{Err: zk.ErrUnknownRecordSize, Reason: "record_size"},
	{Err: zk.ErrUnknownEventLength, Reason: "protocol"},
	{Err: zk.ErrProtocol, Reason: "protocol"},
	{Err: zk.ErrBadMagic, Reason: "protocol"},
	{Err: zk.ErrOversize, Reason: "protocol"},
	{Err: zk.ErrClosed, Reason: "closed"},
	{Err: zk.ErrRefused, Reason: "connect"},
}

// Options are what the caller supplies beyond the config.
type Options struct {
	Logger *slog.Logger     // nil: built from [log] onto Stderr (and its level follows a reload)
	Stderr io.Writer        // where logs go when Logger is nil
	Now    func() time.Time // the wall clock (the demo accelerates it); nil: time.Now
	// FinaliseEvery is how often open days are re-judged as windows close; default 30s.
	FinaliseEvery time.Duration
	// Ready, when set, is called once the store is open and the listeners are up, with the
	// addresses actually bound (useful with port 0).
	Ready func(Addrs)
	// Opener connects to clocks; nil: device.Open.
	Opener pull.Opener
	// Reload: every value received makes the daemon read its configuration file again (main
	// sends SIGHUP here). nil: no reloads.
	Reload <-chan os.Signal
	// LogAlso, with Logger nil, gets every record too, at its own level (the Windows service's
	// event log takes the warnings and errors).
	LogAlso slog.Handler
}

// Addrs are the listeners a running daemon bound.
type Addrs struct {
	HTTP   string            // host:port of /metrics, /healthz, /readyz ("" when disabled)
	Socket string            // the API socket
	Push   map[string]string // zk+push clock name -> the host:port its device pushes to
}

// runDaemon runs punchd on cfg until ctx is cancelled; then it stops within 5 s, leaving the store
// consistent (every commit is one bbolt transaction) and the outbox holding what the broker has
// not acknowledged. Read top-down, it is the whole daemon.
func runDaemon(ctx context.Context, cfg config.Config, o Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	d, err := open(ctx, cfg, o) // store, calendar, roster, engine, publisher, the API's service
	if err != nil {
		return err
	}
	defer d.db.Close()
	l, err := d.listen(ctx, cfg) // metrics, health and the console over HTTP, the local API on its socket
	if err != nil {
		return err
	}
	defer l.close()
	notifier := d.start(ctx) // the publisher, a loop per clock, the timers, reloads, the watchdog
	d.logStarted(l.addrs)
	if o.Ready != nil {
		o.Ready(l.addrs)
	}
	<-ctx.Done()
	d.log.Info("punchd stopping")
	if notifier != nil {
		notifier.Stopping()
	}
	d.stop() // the clocks first and their status queued, then the publisher
	return nil
}

// daemon is a running punchd: what the loops share.
type daemon struct {
	o       Options
	db      *store.DB
	m       *metrics
	log     *slog.Logger
	level   *slog.LevelVar // the level of log, set again by a reload; nil when the caller gave the logger
	now     func() time.Time
	started time.Time
	eng     *ingest.Engine
	live    *health.Liveness
	feed    *liveFeed // what the publisher sends, for the web console's live feed
	// consoleLoopback: [http] listen is loopback, where the console may be read without a login.
	consoleLoopback bool
	push            *push.Server // the server ZK PUSH devices call; nil without one

	set atomic.Pointer[settings]         // what a reload replaces, as one snapshot
	pub atomic.Pointer[runningPublisher] // a reload with other [mqtt] settings replaces it

	loopCtx    context.Context // every loop but the publisher's; cancelled first at stop
	stopLoops  context.CancelFunc
	loops      sync.WaitGroup
	mu         sync.Mutex
	clocks     map[string]*clockState // the clock set: one pull loop each (clocks.go)
	stopping   atomic.Bool            // the loops are being stopped: a loop ending is not a clock going down
	reloadLock sync.Mutex             // one reload at a time
}

// settings are what a reload replaces. Read them with d.settings() once per use, never field by
// field from d across a reload.
type settings struct {
	cfg   config.Config
	cal   *calendar.Calendar
	since attendance.Date  // the first day events are published for
	svc   *service.Service // the store's side of the local API; the reports read through it too
	api   http.Handler     // the local API over svc
}

func (d *daemon) settings() *settings { return d.set.Load() }

// newSettings are the settings of cfg and cal over the daemon's store and engine.
func (d *daemon) newSettings(cfg config.Config, cal *calendar.Calendar, since attendance.Date) *settings {
	svc := service.New(cfg, d.db, cal, d.eng, since, d.now)
	svc.SetAuditNotify(d.notify)
	return &settings{cfg: cfg, cal: cal, since: since, svc: svc,
		api: api.Handler(apiBackend{svc, d}, d.log.With("component", "api"))}
}

// open builds the daemon's parts in the order they depend on each other; nothing runs yet.
func open(ctx context.Context, cfg config.Config, o Options) (*daemon, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FinaliseEvery <= 0 {
		o.FinaliseEvery = 30 * time.Second
	}
	d := &daemon{o: o, now: o.Now, started: o.Now(), log: o.Logger, feed: &liveFeed{}, clocks: map[string]*clockState{}}
	if d.log == nil {
		w := o.Stderr
		if w == nil {
			w = os.Stderr
		}
		d.level = new(slog.LevelVar)
		d.level.Set(cfg.Log.SlogLevel())
		h := cfg.Log.HandlerAt(w, d.level)
		if o.LogAlso != nil {
			h = slog.NewMultiHandler(h, o.LogAlso)
		}
		d.log = slog.New(h)
	}
	build := buildinfo.Read()
	d.m = newMetrics(build, o.Now)
	d.m.configLoaded(true, o.Now())
	d.live = health.NewLiveness(time.Now, 2*time.Minute)
	d.m.reg.MustRegister(d.live)

	cal, err := cfg.NewCalendar()
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	d.calendarChecked(cfg, cal)
	d.db, err = store.Open(cfg.Store.Path, store.Options{Location: cfg.Location(), Now: o.Now, Logger: d.log.With("component", "store")})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	fail := func(err error) (*daemon, error) { d.db.Close(); return nil, err }
	if cfg.Site.Roster != "" {
		people, err := readRoster(cfg, d.log)
		if err != nil {
			return fail(err)
		}
		if err := putRoster(d.db, cfg, people); err != nil {
			return fail(err)
		}
	}
	pub, err := d.newPublisher(cfg)
	if err != nil {
		return fail(fmt.Errorf("mqtt: %w", err))
	}
	d.pub.Store(pub)
	since := d.eventsSince(cfg)
	d.eng = ingest.New(ingestConfig(cfg, since), d.db, cal, o.Now, d.log.With("component", "ingest"), d.m.engine, d.notify)
	if err := d.eng.Load(ctx); err != nil {
		return fail(err)
	}
	d.set.Store(d.newSettings(cfg, cal, since))
	if pc := pushClocks(cfg); len(pc) > 0 {
		for _, c := range cfg.Clock {
			if push.IsPush(c.URL) {
				d.clocks[c.Name] = &clockState{cfg: c} // no loop: the device calls the push server
			}
		}
		if d.push, err = push.New(pc, d.eng, o.Now, d.log, pullObserver{d}, d.m.clocks, d.m.reg); err != nil {
			return fail(err)
		}
	}
	return d, nil
}

// pushClocks are the ZK PUSH devices of cfg: they call punchd's push server instead of being
// pulled. They are set at start; a reload that changes them is refused.
func pushClocks(cfg config.Config) []push.Clock {
	var out []push.Clock
	for _, c := range cfg.Clock {
		if push.IsPush(c.URL) {
			out = append(out, push.Clock{Name: c.Name, URL: c.URL, Location: cfg.ClockLocation(c), SyncEvery: c.PollInterval.Std()})
		}
	}
	return out
}

// eventsSince is [site] events_since, or the day the store was created.
func (d *daemon) eventsSince(cfg config.Config) attendance.Date {
	if since := cfg.Site.EventsSince.Std(); !since.IsZero() {
		return since
	}
	return attendance.DateOf(d.db.Created().In(cfg.Location()))
}

// ingestConfig is what the engine needs of the config: decided here once, at start and at reload.
func ingestConfig(cfg config.Config, since attendance.Date) ingest.Config {
	names := make([]string, len(cfg.Clock))
	for i, c := range cfg.Clock {
		names[i] = c.Name
	}
	return ingest.Config{Site: cfg.Site.Name, Prefix: cfg.MQTT.TopicPrefix, Location: cfg.Location(),
		Params: cfg.RulesParams(), EventsSince: since, Clocks: names}
}

// calendarChecked sets the gauges of the holiday years needed now (the engine warns, once, when
// it judges a day of a year without data).
func (d *daemon) calendarChecked(cfg config.Config, cal *calendar.Calendar) {
	d.m.calendarYears(cal.Needed(d.now().In(cfg.Location())))
}

// readRoster reads [site] roster; a missing file keeps the stored roster (nil people).
func readRoster(cfg config.Config, log *slog.Logger) ([]attendance.Person, error) {
	path := cfg.Site.Roster
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		log.Warn("roster file missing: keeping the stored roster (with none, everyone on the clock is judged)", "roster", path)
		return nil, nil
	}
	people, err := roster.ParseFile(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	if people, err = cfg.ApplyUnits(people); err != nil {
		return nil, fmt.Errorf("roster %s: %w", path, err)
	}
	return people, nil
}

// putRoster stores the roster read by readRoster (nil: keep the stored one).
func putRoster(db *store.DB, cfg config.Config, people []attendance.Person) error {
	if people == nil {
		return nil
	}
	if err := db.PutRoster(people, nil); err != nil {
		return fmt.Errorf("roster %s: store: %w", cfg.Site.Roster, err)
	}
	return nil
}

// httpServers are the daemon's listeners and their servers.
type httpServers struct {
	addrs  Addrs
	list   []*http.Server
	socket string
}

// listen serves the HTTP surface (routes) and the local API on its unix socket.
func (d *daemon) listen(ctx context.Context, cfg config.Config) (*httpServers, error) {
	l := &httpServers{}
	if cfg.HTTP.Listen != "" {
		mux, err := d.routes(ctx)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return nil, fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
		l.addrs.HTTP = ln.Addr().String()
		if cfg.HTTP.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("http tls_cert %s, tls_key %s: %w", cfg.HTTP.TLSCert, cfg.HTTP.TLSKey, err)
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		}
		// Requests end when punchd stops: the console's live feed holds its request open.
		l.serve(ln, mux, func(net.Listener) context.Context { return ctx })
	}
	// ZK PUSH devices call us: their listeners are up before Ready.
	if d.push != nil {
		var err error
		if l.addrs.Push, err = d.push.Listen(); err != nil {
			l.close()
			return nil, err
		}
	}
	if cfg.API.Socket != "" {
		ln, err := api.Listen(cfg.API.Socket)
		if err != nil {
			l.close()
			return nil, err
		}
		l.addrs.Socket, l.socket = cfg.API.Socket, cfg.API.Socket
		// The API of the current settings: a reload replaces the service behind it.
		l.serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.settings().api.ServeHTTP(w, r) }), nil)
	}
	return l, nil
}

// routes is the daemon's HTTP surface: metrics, health and the web console. Whatever else the
// daemon serves over HTTP is added here.
func (d *daemon) routes(ctx context.Context) (*http.ServeMux, error) {
	ready := health.NewReadiness()
	ready.Set("store", func(context.Context) error { _, err := d.db.Size(); return err })
	ready.Set("config", func(context.Context) error { return nil })
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.m.handler())
	mux.Handle("/healthz", d.live.Handler())
	mux.Handle("/readyz", ready.Handler(2*time.Second))
	if err := d.mountConsole(ctx, mux, d.feed, d.log); err != nil {
		return nil, err
	}
	return mux, nil
}

func (l *httpServers) serve(ln net.Listener, h http.Handler, base func(net.Listener) context.Context) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, BaseContext: base}
	l.list = append(l.list, srv)
	go srv.Serve(ln)
}

func (l *httpServers) close() {
	shut, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	for _, s := range l.list {
		s.Shutdown(shut)
	}
	if l.socket != "" {
		os.Remove(l.socket)
	}
}

// start runs the publisher, a pull loop per clock, the finaliser, housekeeping, the monthly
// reports, the reloads and the systemd watchdog. It returns the systemd notifier (nil without one).
func (d *daemon) start(ctx context.Context) *sdnotify.Notifier {
	d.loopCtx, d.stopLoops = context.WithCancel(ctx)
	d.live.Register("publish", 2*time.Minute)
	d.pub.Load().run(d.log)
	s := d.settings()
	for _, c := range s.cfg.Clock {
		d.startClock(s.cfg, c)
	}
	if d.push != nil {
		d.spawn("", 0, func(ctx context.Context) { d.push.Run(ctx, d.db) })
	}
	d.spawn("finalise", 4*d.o.FinaliseEvery, func(ctx context.Context) {
		d.eng.RunFinaliser(ctx, d.o.FinaliseEvery, func() { d.live.Beat("finalise") })
	})
	d.spawn("housekeeping", 2*time.Minute, d.housekeeping)
	d.spawn("reports", 2*time.Minute, d.fileReports)
	if d.o.Reload != nil {
		d.spawn("", 0, func(ctx context.Context) {
			for {
				select {
				case <-ctx.Done():
					return
				case <-d.o.Reload:
					d.reload(ctx)
				}
			}
		})
	}
	notifier, err := sdnotify.FromEnv()
	if err != nil {
		d.log.Warn("systemd notify socket", "err", err)
	}
	if notifier == nil || !notifier.Enabled() {
		return nil
	}
	if err := notifier.Ready(); err != nil {
		d.log.Warn("notify READY", "err", err)
	}
	d.spawn("", 0, func(ctx context.Context) { notifier.RunWatchdog(ctx, d.live.Healthy) })
	return notifier
}

// spawn runs f until the loops stop; a named loop must beat within the given time (/healthz).
func (d *daemon) spawn(name string, within time.Duration, f func(context.Context)) {
	if name != "" {
		d.live.Register(name, within)
	}
	d.loops.Add(1)
	go func() {
		defer d.loops.Done()
		f(d.loopCtx)
	}()
}

func (d *daemon) logStarted(addrs Addrs) {
	s := d.settings()
	sinceFrom := "config [site] events_since"
	if s.cfg.Site.EventsSince.Std().IsZero() {
		sinceFrom = "the store's creation day"
	}
	d.log.Info("punchd started", "version", buildinfo.Read().Version, "site", s.cfg.Site.Name, "store", s.cfg.Store.Path,
		"clocks", len(s.cfg.Clock), "broker", s.cfg.MQTT.Broker, "http", addrs.HTTP, "socket", addrs.Socket,
		"events_since", s.since.String(), "events_since_from", sinceFrom)
	if len(s.cfg.Clock) == 0 {
		d.log.Warn("no clock configured: nothing is pulled (add a [[clock]] section)")
	}
}

// stop stops the loops, queues every clock's retained status, and stops the publisher last so
// that it still sends them; all within 4 s.
func (d *daemon) stop() {
	d.stopping.Store(true)
	d.stopLoops()
	stopBy := time.After(4 * time.Second)
	if waitOr(&d.loops, stopBy) {
		d.clocksStopped()
	} else {
		d.log.Error("loops did not stop within 4s; closing the store anyway (every commit is atomic)")
	}
	if !d.pub.Load().stop(stopBy) {
		d.log.Error("publisher did not stop within 4s; closing the store anyway (the outbox keeps what was not acknowledged)")
	}
}

// waitOr waits for wg unless deadline comes first; it says whether wg was done.
func waitOr(wg *sync.WaitGroup, deadline <-chan time.Time) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-deadline:
		return false
	}
}

// housekeeping refreshes the gauges that nobody else updates.
func (d *daemon) housekeeping(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for i := 0; ; i++ {
		d.live.Beat("housekeeping")
		if n, err := d.db.Size(); err == nil {
			d.m.storeSize.Set(float64(n))
		}
		// Every fifth minute: counting the people decodes every clock's user table (3,000
		// entries with 50 clocks), a good part of an idle daemon's CPU when done every 30 s.
		if i%10 == 0 {
			if people, err := d.db.Roster(); err == nil {
				unknown, _ := d.db.Unknown()
				d.m.people.Set(float64(len(people)))
				d.m.unknown.Set(float64(len(unknown)))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

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
	s.Version, s.Started, s.MQTT = buildinfo.Read().Version, d.started, d.pub.Load().Connected()
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, c := range s.Clocks {
		st := d.clocks[c.Name]
		if st == nil {
			continue
		}
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
