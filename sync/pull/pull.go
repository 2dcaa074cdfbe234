// Package pull runs one loop per clock: connect with back-off, read what is new on the clock's
// attendance log every poll interval (only the records after the last committed mark cross the
// wire, where the driver can), read the whole log as the source of truth every full-pull interval
// and on any doubt, listen for realtime punches in between, measure the clock's time offset on
// every pull and hand everything read to a Sink that commits it.
//
// It owns the connection to one clock, and the clocks' metrics (Metrics), and nothing else: it never
// judges, stores or publishes. It never clears a clock's log unless configured, and then only after
// the Sink has committed every punch.
package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/backoff"
)

// Sink commits what a loop read. Both methods must have durably committed the punches before
// returning nil; they are called from the loop's goroutines, possibly concurrently for one clock.
type Sink interface {
	// Pulled commits a full read of a clock's log together with the clock's sync state.
	Pulled(ctx context.Context, r Pull) error
	// Realtime commits one punch that arrived as a realtime event.
	Realtime(ctx context.Context, clock string, p device.Punch) error
	// Mark is where the last committed pull of a clock ended (Pull.Mark); zero when unknown. A
	// loop hands it to the driver so that only the records after it are read.
	Mark(clock string) device.Mark
}

// Stager is a Sink that can commit the punches of a long read as they arrive, ahead of the Pulled
// that ends it: a loop whose clock streams its log (device.LogStreamer) hands a whole read over
// in batches, and no process holds a never-cleared clock's log whole.
type Stager interface {
	// Stage durably commits punches read from the clock's log before returning nil; their days
	// are judged with the clock's next Pulled (which holds the rest of the read: the skipped
	// records, the mark, the counts). A read that fails after some batches leaves them stored,
	// to be judged with the next Pulled that succeeds.
	Stage(ctx context.Context, clock string, ps []device.Punch) error
}

// Pull is the result of one read of a clock's log: the whole log, or what followed the mark.
type Pull struct {
	Clock   string         // the configured clock name
	Info    device.Info    // identity, counts and capacities at the time of the read
	Punches []device.Punch // the good records read, in the clock's order (none when Staged)
	// Staged is how many punches of this read went to the Sink's Stage ahead of Pulled (a whole
	// log streamed in batches); Punches is then empty.
	Staged  int
	Skipped []device.Skipped // the records read that did not become punches (impossible dates, malformed)
	// From is the index in the clock's log of the first record read (0: the whole log); New the
	// index of the first record the previous mark did not cover: records before it were committed
	// by an earlier pull.
	From, New int
	Full      bool          // the whole log was read (periodically, or on doubt)
	Mark      device.Mark   // where the log ends now; the Sink keeps it for the next pull
	Users     []device.User // the clock's user table, read on the first pull of each connection; else nil
	At        time.Time     // host time when the read finished
	Offset    time.Duration // clock time minus host time, measured before the read
	Duration  time.Duration // how long the read took
	Bytes     int           // record bytes moved over the wire (0 when the driver does not say)
	Retries   int           // chunks asked for again on a noisy line
	// Cleared: this loop cleared the clock's log after its previous committed pull (ClearLog), so
	// a shorter log is punchd's doing, not someone's at the keypad.
	Cleared bool
	// TimeSet: after measuring Offset, this loop set the clock's time to the host's (MaxOffset).
	TimeSet bool
}

// Observer is told what happens to the clock, for the daemon's view of it (its status, the
// liveness of the loop); the loop counts it in its Metrics first. All methods must be safe for
// concurrent use.
type Observer interface {
	ClockUp(clock string, up bool)
	ClockError(clock, reason string)
	PullFailed(clock, reason string, took time.Duration)
	Pulled(clock string, r Pull)
	RealtimeConnected(clock string, connected bool)
	Beat(loop string)
}

// Config is one clock's loop settings.
type Config struct {
	Name         string
	URL          string
	Options      device.Options
	PollInterval time.Duration // read what is new every this long; default 1m
	// FullPullInterval is how often the whole log is read even when a tail would do: the
	// source of truth. Default DefaultFullPullInterval.
	FullPullInterval time.Duration
	Realtime         bool          // listen for realtime punches where the clock allows
	MaxOffset        time.Duration // set the clock's time when it drifts past this; 0 = never
	ClearLog         bool          // clear the clock's log after a committed pull (guarded)
	ClearOlderThan   time.Duration // only when every punch on the clock is older than this
	MinBackoff       time.Duration // default 1s
	MaxBackoff       time.Duration // default 2m
	// Metrics are shared by every loop; nil: kept on a registry of their own that nobody serves.
	Metrics *Metrics
}

// DefaultFullPullInterval is how often a loop reads a clock's whole log when nothing else asks for it.
const DefaultFullPullInterval = 24 * time.Hour

// Opener connects to a clock; device.Open in production.
type Opener func(ctx context.Context, url string, opts device.Options) (device.Clock, error)

// Loop pulls one clock. Create with New; Run blocks until ctx is cancelled.
type Loop struct {
	cfg  Config
	sink Sink
	open Opener
	now  func() time.Time
	log  *slog.Logger
	obs  Observer
	met  *Metrics
	kick chan struct{}
	ops  chan op // clock commands to run between pulls (Do)
	// conn, while a session is up, holds a channel closed when it ends: Do has a connection to run on.
	conn atomic.Pointer[chan struct{}]

	// Whether the clock answers, for the logs: a change is logged once (down at WARN with the
	// reason, up at INFO with how long it was down), the retries in between at DEBUG. Only Run's
	// goroutine touches them.
	everUp    bool
	downSince time.Time // zero while up (or before the first attempt)

	// Owned by the goroutine that pulls.
	cleared   bool      // the log was cleared after the last committed pull
	users     [2]int    // the user and admin counts when the user table was last read
	usersRead time.Time // when it was last read
	lastFull  time.Time // when the last whole read was committed; zero: never in this process
	doubt     bool      // the last commit failed: read the whole log next
}

// usersEvery is how often the user table is read even when the clock's user and admin counts
// stay the same (one user removed and another enrolled between two pulls).
const usersEvery = time.Hour

// New builds a loop. now is the host clock (injected so tests and the demo control time).
func New(cfg Config, sink Sink, open Opener, now func() time.Time, log *slog.Logger, obs Observer) *Loop {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Minute
	}
	if cfg.FullPullInterval <= 0 {
		cfg.FullPullInterval = DefaultFullPullInterval
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Minute
	}
	if open == nil {
		open = device.Open
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if obs == nil {
		obs = nopObserver{}
	}
	met := cfg.Metrics
	if met == nil {
		met = NewMetrics(prometheus.NewRegistry(), nil)
	}
	met.Init(cfg.Name)
	return &Loop{cfg: cfg, sink: sink, open: open, now: now, log: log.With("clock", cfg.Name), obs: obs, met: met, kick: make(chan struct{}, 1), ops: make(chan op)}
}

// Kick asks for a pull as soon as possible (used after a SIGHUP or from the API).
func (l *Loop) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Run connects, pulls and listens until ctx is cancelled, reconnecting with jittered back-off.
func (l *Loop) Run(ctx context.Context) error {
	bo := backoff.New(l.cfg.MinBackoff, l.cfg.MaxBackoff)
	for ctx.Err() == nil {
		l.obs.Beat(l.loopName())
		clk, err := l.open(ctx, l.cfg.URL, l.cfg.Options)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			l.clockError(l.met.Reason(err))
			wait := bo.Next()
			l.down("connect", err, wait)
			if !l.sleep(ctx, wait) {
				break
			}
			continue
		}
		err = l.session(ctx, clk, bo)
		if cerr := clk.Close(); cerr != nil && ctx.Err() == nil {
			l.log.Debug("close clock", "err", cerr)
		}
		l.clockUp(false)
		l.realtimeConnected(false)
		if ctx.Err() != nil {
			break
		}
		step := "pull"
		if !errors.As(err, new(counted)) {
			step = "session"
			l.clockError(l.met.Reason(err))
		}
		wait := bo.Next()
		l.down(step, err, wait)
		if !l.sleep(ctx, wait) {
			break
		}
	}
	return nil
}

func (l *Loop) loopName() string { return "pull/" + l.cfg.Name }

// jitter spreads d by ±10% so that the loops of several clocks drift out of phase and their pulls
// (each holding a whole clock log in memory) do not coincide.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// sleep waits out a back-off, beating meanwhile: a loop waiting for an unplugged clock is alive.
func (l *Loop) sleep(ctx context.Context, d time.Duration) bool {
	for d > 0 {
		step := min(d, 10*time.Second)
		if !backoff.Sleep(ctx, step) {
			return false
		}
		l.obs.Beat(l.loopName())
		d -= step
	}
	return true
}

// session serves one connection: an immediate pull, then a pull every interval, with a realtime
// listener alongside. It returns the error that ended the connection.
func (l *Loop) session(ctx context.Context, clk device.Clock, bo *backoff.Backoff) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if err := l.pullOnce(sctx, clk, true); err != nil {
		return err
	}
	bo.Reset()
	ended := make(chan struct{})
	l.conn.Store(&ended)
	defer func() { l.conn.Store(nil); close(ended) }()

	listenErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if lst, ok := clk.(device.Listener); ok && l.cfg.Realtime {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.realtimeConnected(true)
			err := lst.Listen(sctx, func(p device.Punch) {
				l.met.realtimeEvents.WithLabelValues(l.cfg.Name, "understood").Inc()
				if err := l.sink.Realtime(sctx, l.cfg.Name, p); err != nil {
					l.log.Error("commit realtime punch", "user", p.UserID, "time", p.Time, "err", err)
					l.clockError("store")
					l.Kick() // the next pull reads it again
				}
			})
			l.realtimeConnected(false)
			if err == nil {
				err = errors.New("realtime listener ended")
			}
			listenErr <- err
		}()
	}

	// The beat keeps /healthz and the watchdog informed while the clock is quiet.
	beat := time.NewTicker(min(l.cfg.PollInterval, 10*time.Second))
	defer beat.Stop()
	next := time.NewTimer(jitter(l.cfg.PollInterval))
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-listenErr:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("realtime: %w", err)
		case <-beat.C:
			l.obs.Beat(l.loopName())
		case <-l.kick:
			if err := l.pullOnce(sctx, clk, false); err != nil {
				return err
			}
		case o := <-l.ops:
			o.run(sctx, clk)
		case <-next.C:
			if err := l.pullOnce(sctx, clk, false); err != nil {
				return err
			}
			next.Reset(jitter(l.cfg.PollInterval))
		}
	}
}

// pullOnce reads info and the whole log, commits it and applies the optional time correction and
// log clearing.
func (l *Loop) pullOnce(ctx context.Context, clk device.Clock, withUsers bool) (err error) {
	l.obs.Beat(l.loopName())
	start := l.now()
	defer func() {
		if err != nil && ctx.Err() == nil {
			reason, took := l.met.Reason(err), l.now().Sub(start)
			l.met.pullFailed(l.cfg.Name, reason, took)
			l.obs.PullFailed(l.cfg.Name, reason, took)
			err = counted{err}
		}
	}()
	info, err := clk.Info(ctx)
	if err != nil {
		return fmt.Errorf("clock %s: read info: %w", l.cfg.Name, err)
	}
	hostAt := l.now()
	var offset time.Duration
	if !info.Time.IsZero() {
		offset = info.Time.Sub(hostAt).Round(time.Second)
	}
	l.clockUp(true)
	l.up(info)
	// Correct a drifting clock before reading its log: a clock whose battery died and holds
	// impossible dates is set right even when the read that follows is refused.
	timeSet := l.correctTime(ctx, clk, offset)

	lg, full, staged, err := l.readLog(ctx, clk)
	if err != nil {
		return fmt.Errorf("clock %s: read attendance: %w", l.cfg.Name, err)
	}
	var users []device.User
	counts := [2]int{info.Users, info.Admins}
	if ur, ok := clk.(device.UserReader); ok && (withUsers || counts != l.users || l.now().Sub(l.usersRead) >= usersEvery) {
		// Names only: a failed user read does not stop the punches from being committed.
		if users, err = ur.Users(ctx); err != nil {
			l.log.Warn("read user table", "err", err)
			l.clockError(l.met.Reason(err))
			users = nil
		} else {
			l.users, l.usersRead = counts, l.now()
		}
	}
	r := Pull{Clock: l.cfg.Name, Info: info, Punches: lg.Punches, Skipped: lg.Skipped, From: lg.From, New: lg.New, Full: full,
		Mark: lg.Mark, Users: users, At: l.now(), Offset: offset, Bytes: lg.Bytes, Retries: lg.Retries,
		Cleared: l.cleared, TimeSet: timeSet, Staged: staged.n}
	r.Duration = r.At.Sub(start)
	if err := l.sink.Pulled(ctx, r); err != nil {
		l.clockError("store")
		l.doubt = true
		return fmt.Errorf("clock %s: commit %d punches: %w", l.cfg.Name, len(r.Punches)+r.Staged, err)
	}
	l.doubt = false
	if full {
		l.lastFull = start
	}
	l.cleared = false
	l.met.Pulled(l.cfg.Name, r)
	l.obs.Pulled(l.cfg.Name, r)
	l.log.Debug("pulled", "records", len(r.Punches)+r.Staged, "from", r.From, "full", full, "bytes", r.Bytes, "retries", r.Retries, "offset", offset, "took", r.Duration)
	if l.cfg.ClearLog && full {
		for _, p := range r.Punches {
			if p.Time.After(staged.newest) {
				staged.newest = p.Time
			}
		}
		l.maybeClear(ctx, clk, r, staged.newest)
	}
	return nil
}

// readLog reads what is new on the clock since the Sink's mark, or the whole log when it is time
// for the periodic full read (FullPullInterval), on doubt (no mark, a failed commit, the first
// read of this process) or when the driver cannot read from a mark. full says which it was. A
// whole read goes to the Sink in batches as it arrives when the driver streams and the Sink
// stages (staged: how many, and the newest punch among them).
func (l *Loop) readLog(ctx context.Context, clk device.Clock) (device.Log, bool, staged, error) {
	mark := l.sink.Mark(l.cfg.Name)
	full := l.doubt || mark.Count == 0 || l.lastFull.IsZero() || l.now().Sub(l.lastFull) >= l.cfg.FullPullInterval
	ls, streams := clk.(device.LogStreamer)
	st, stages := l.sink.(Stager)
	if streams && stages && full {
		var s staged
		lg, err := ls.StreamLog(ctx, mark, true, func(ps []device.Punch) error {
			if err := st.Stage(ctx, l.cfg.Name, ps); err != nil {
				return fmt.Errorf("commit %d punches as they were read (%d before them): %w", len(ps), s.n, err)
			}
			s.n += len(ps)
			for _, p := range ps {
				if p.Time.After(s.newest) {
					s.newest = p.Time
				}
			}
			return nil
		})
		return lg, true, s, err
	}
	if lr, ok := clk.(device.LogReader); ok {
		lg, err := lr.ReadLog(ctx, mark, full)
		return lg, full || lg.From == 0, staged{}, err
	}
	ps, err := clk.Punches(ctx)
	if err != nil {
		return device.Log{}, true, staged{}, err
	}
	lg := device.Log{Punches: ps, Mark: device.Mark{Count: len(ps)}}
	if mark.Count > 0 && mark.Count <= len(ps) {
		lg.New = mark.Count // the driver cannot say whether the log was rewritten; ingest compares
	}
	return lg, true, staged{}, nil
}

// staged counts the punches of a streamed read that went to the Sink's Stage.
type staged struct {
	n      int
	newest time.Time
}

// correctTime sets the clock's time from ours when it drifted past MaxOffset (if configured),
// and reports whether it did.
func (l *Loop) correctTime(ctx context.Context, clk device.Clock, offset time.Duration) bool {
	if l.cfg.MaxOffset <= 0 || (offset <= l.cfg.MaxOffset && offset >= -l.cfg.MaxOffset) {
		return false
	}
	ts, ok := clk.(device.TimeSetter)
	if !ok {
		return false
	}
	loc := l.cfg.Options.Location
	if loc == nil {
		loc = time.Local
	}
	if err := ts.SetTime(ctx, l.now().In(loc)); err != nil {
		l.log.Warn("correct clock time", "offset", offset, "err", err)
		l.clockError(reasonProtocol)
		return false
	}
	l.log.Info("corrected clock time", "offset_was", offset)
	return true
}

// counted marks an error already counted as a failed pull.
type counted struct{ error }

func (c counted) Unwrap() error { return c.error }

// maybeClear clears the clock's log only after a whole read whose every punch was just committed
// and is older than ClearOlderThan (newest is the read's newest punch), and when the record count
// did not change since the read (no punch slipped in between).
func (l *Loop) maybeClear(ctx context.Context, clk device.Clock, r Pull, newest time.Time) {
	cl, ok := clk.(device.LogClearer)
	if !ok || len(r.Punches)+r.Staged == 0 {
		return
	}
	clockNow := r.At.Add(r.Offset)
	if clockNow.Sub(newest) < l.cfg.ClearOlderThan {
		return
	}
	again, err := clk.Info(ctx)
	if err != nil || again.Records != r.Mark.Count {
		l.log.Info("not clearing clock log: it changed since the read", "read", r.Mark.Count, "now", again.Records, "err", err)
		return
	}
	if err := cl.ClearLog(ctx); err != nil {
		l.log.Error("clear clock log", "err", err)
		l.clockError("clear")
		return
	}
	l.cleared = true
	l.log.Info("cleared clock log after commit", "records", r.Mark.Count, "newest", newest)
}

// down logs a failed attempt to reach the clock: WARN when it was up (or never reached yet), DEBUG
// while it stays down.
func (l *Loop) down(step string, err error, retryIn time.Duration) {
	reason := l.met.Reason(err)
	if l.downSince.IsZero() {
		l.downSince = l.now()
		l.log.Warn("clock down", "step", step, "reason", reason, "err", err, "retry_in", retryIn.Round(time.Millisecond))
		return
	}
	l.log.Debug("clock still down", "step", step, "reason", reason, "err", err,
		"down_for", l.now().Sub(l.downSince).Round(time.Second), "retry_in", retryIn.Round(time.Millisecond))
}

// up logs that the clock answered: once at the first answer, once after it was down.
func (l *Loop) up(info device.Info) {
	attrs := []any{"serial", info.Serial}
	if !l.downSince.IsZero() {
		attrs = append(attrs, "down_for", l.now().Sub(l.downSince).Round(time.Second))
	}
	switch {
	case !l.everUp:
		l.log.Info("clock up", append(attrs, "records", info.Records, "capacity", info.RecordCap)...)
	case !l.downSince.IsZero():
		l.log.Info("clock up again", attrs...)
	}
	l.everUp, l.downSince = true, time.Time{}
}

// clockUp, clockError and realtimeConnected count what happened to the clock and tell the
// observer.
func (l *Loop) clockUp(up bool) {
	l.met.Up(l.cfg.Name, up)
	l.obs.ClockUp(l.cfg.Name, up)
}

func (l *Loop) clockError(reason string) {
	l.met.Error(l.cfg.Name, reason)
	l.obs.ClockError(l.cfg.Name, reason)
}

func (l *Loop) realtimeConnected(connected bool) {
	l.met.realtimeConnected(l.cfg.Name, connected)
	l.obs.RealtimeConnected(l.cfg.Name, connected)
}

type nopObserver struct{}

func (nopObserver) ClockUp(string, bool)                     {}
func (nopObserver) ClockError(string, string)                {}
func (nopObserver) PullFailed(string, string, time.Duration) {}
func (nopObserver) Pulled(string, Pull)                      {}
func (nopObserver) RealtimeConnected(string, bool)           {}
func (nopObserver) Beat(string)                              {}
