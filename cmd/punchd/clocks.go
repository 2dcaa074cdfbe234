package main

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/sync/pull"
	"github.com/jinbi/punchd/sync/push"
)

// The clock set: one pull loop per configured clock, started at start and when a reload adds or
// changes a clock, stopped when a reload removes or changes it and at shutdown. Whatever else
// talks to a clock finds it in d.clocks by its configured name.

// After a whole-log read of releaseAfter punches the daemon gives back the store's mapped pages it
// touched; of bigPull, the heap too.
const (
	releaseAfter = 1000
	bigPull      = 20000
)

// Why a clock's retained status says down although nobody saw it fail.
const (
	clockStatusStopped = "punchd stopped"                 // the daemon stopped: nobody watches the clock
	clockStatusRemoved = "removed from the configuration" // a reload removed it
)

// clockState is one clock of the set: its loop and what the loop last reported.
type clockState struct {
	cfg      config.Clock
	loop     *pull.Loop
	cancel   context.CancelFunc
	done     chan struct{}
	retiring bool // its loop is being stopped: its end is not the clock going down

	up       bool
	realtime bool
	since    time.Time
	last     pull.Pull
	lastErr  string
}

// startClock starts the pull loop of c (a ZK PUSH device has none: it calls the push server).
func (d *daemon) startClock(cfg config.Config, c config.Clock) {
	if push.IsPush(c.URL) {
		return
	}
	lc := pull.Config{Name: c.Name, URL: c.URL, Options: cfg.DeviceOptions(c, d.log.With("clock", c.Name)),
		PollInterval: c.PollInterval.Std(), FullPullInterval: c.FullPullInterval.Std(), Realtime: c.Realtime, MaxOffset: c.MaxOffset.Std(),
		ClearLog: c.ClearLog, ClearOlderThan: c.ClearOlderThan.Std(), Metrics: d.m.clocks}
	ctx, cancel := context.WithCancel(d.loopCtx)
	st := &clockState{cfg: c, cancel: cancel, done: make(chan struct{})}
	st.loop = pull.New(lc, d.eng, d.o.Opener, d.now, d.log, pullObserver{d})
	d.mu.Lock()
	d.clocks[c.Name] = st
	d.mu.Unlock()
	d.spawn("pull/"+c.Name, max(2*lc.PollInterval, time.Minute), func(context.Context) {
		defer close(st.done)
		st.loop.Run(ctx)
	})
}

// stopClock stops the loop of a clock and forgets it.
func (d *daemon) stopClock(name string) {
	d.mu.Lock()
	st := d.clocks[name]
	if st != nil {
		st.retiring = true
	}
	d.mu.Unlock()
	if st == nil {
		return
	}
	st.cancel()
	<-st.done
	d.mu.Lock()
	delete(d.clocks, name)
	d.mu.Unlock()
	d.live.Unregister("pull/" + name)
}

// applyClocks brings the pulled clocks from old to next: removed clocks stop (their retained
// status says so and their metrics go), changed ones restart, added ones start. It returns what
// changed.
func (d *daemon) applyClocks(next config.Config, old []config.Clock) (changed []string) {
	was := make(map[string]config.Clock, len(old))
	for _, c := range old {
		if !push.IsPush(c.URL) { // the push clocks stay as they started (a reload refuses to change them)
			was[c.Name] = c
		}
	}
	for _, c := range next.Clock {
		if push.IsPush(c.URL) {
			continue
		}
		prev, ok := was[c.Name]
		delete(was, c.Name)
		switch {
		case !ok:
			d.startClock(next, c)
			changed = append(changed, "clock "+c.Name+" added")
		case !equal(prev, c):
			d.stopClock(c.Name)
			d.startClock(next, c)
			changed = append(changed, "clock "+c.Name+" changed")
		}
	}
	for name := range was {
		d.stopClock(name)
		d.m.clocks.Remove(name)
		if err := d.eng.ClockDown(context.Background(), name, d.now(), clockStatusRemoved); err != nil {
			d.log.Warn("queue clock status", "clock", name, "err", err)
		}
		changed = append(changed, "clock "+name+" removed")
	}
	return changed
}

// clocksStopped queues every clock's retained status as down because punchd stopped, for the
// publisher to send before it disconnects: a retained "up" would outlive the daemon.
func (d *daemon) clocksStopped() {
	now := d.now()
	for _, c := range d.settings().cfg.Clock {
		if err := d.eng.ClockDown(context.Background(), c.Name, now, clockStatusStopped); err != nil {
			d.log.Warn("queue clock status at shutdown", "clock", c.Name, "err", err)
		}
	}
	d.notify()
}

// pullObserver keeps the clocks' state (for Status), their liveness and their retained status from
// what the pull loops and the push server tell it (they count it in the metrics themselves).
type pullObserver struct{ d *daemon }

// state runs f on the clock's state under the lock; a clock no longer in the set is ignored.
func (o pullObserver) state(clock string, f func(st *clockState)) {
	o.d.mu.Lock()
	defer o.d.mu.Unlock()
	if st := o.d.clocks[clock]; st != nil {
		f(st)
	}
}

func (o pullObserver) ClockUp(clock string, up bool) {
	d := o.d
	var changed, retiring bool
	var reason string
	var since time.Time
	o.state(clock, func(st *clockState) {
		changed = st.up != up || st.since.IsZero()
		if changed {
			st.up, st.since = up, d.now()
		}
		reason, since, retiring = st.lastErr, st.since, st.retiring
	})
	if changed && !up && !retiring && !d.stopping.Load() {
		if err := d.eng.ClockDown(context.Background(), clock, since, reason); err != nil {
			d.log.Warn("queue clock status", "clock", clock, "err", err)
		}
	}
}

func (o pullObserver) ClockError(clock, reason string) {
	up := true
	o.state(clock, func(st *clockState) { st.lastErr, up = reason, st.up })
	if !up {
		o.ClockUp(clock, false)
	}
}

func (o pullObserver) PullFailed(clock, reason string, took time.Duration) {
	o.state(clock, func(st *clockState) { st.lastErr = reason })
}

func (o pullObserver) Pulled(clock string, r pull.Pull) {
	d := o.d
	if read := len(r.Punches) + r.Staged; r.From == 0 && read >= releaseAfter {
		// A whole log read (the first start against months of history, the daily full read): hand
		// the memory of that one-off back now rather than carry it until the next forced GC, and
		// the store's mapped pages it compared against (they stay in the page cache).
		big := read >= bigPull
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
	o.state(clock, func(st *clockState) { st.last, st.lastErr = r, "" })
}

func (o pullObserver) RealtimeConnected(clock string, connected bool) {
	o.state(clock, func(st *clockState) { st.realtime = connected })
}

func (o pullObserver) Beat(loop string) { o.d.live.Beat(loop) }

var _ pull.Observer = pullObserver{}
