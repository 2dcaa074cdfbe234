package pull

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jinbi/punchd/device"
)

// Errors of Do and of the clock Loop.Clock returns.
var (
	// ErrNotConnected: the loop has no connection to its clock now (it is connecting or backing off).
	ErrNotConnected = errors.New("pull: clock not connected")
	// ErrUnsupported: the clock's driver cannot do what was asked (list users, read or set the time).
	ErrUnsupported = errors.New("pull: not supported by the clock's driver")
)

// op is one clock command handed to the loop's session.
type op struct {
	ctx  context.Context
	fn   func(ctx context.Context, c device.Clock) error
	done chan error
}

// run runs the command on clk; it is cancelled with the session or with the caller.
func (o op) run(sctx context.Context, clk device.Clock) {
	ctx, cancel := context.WithCancel(sctx)
	defer cancel()
	stop := context.AfterFunc(o.ctx, cancel)
	defer stop()
	o.done <- o.fn(ctx, clk)
}

// Do runs fn on the loop's connection to its clock, between two of its pulls: a clock serves one
// client at a time, so an operator's command goes through the loop that holds it. It returns
// ErrNotConnected when the loop has no connection (or loses it before fn starts), else waits for
// a pull in progress to finish. fn must not keep c.
func (l *Loop) Do(ctx context.Context, fn func(ctx context.Context, c device.Clock) error) error {
	notConnected := fmt.Errorf("clock %s: %w (see punchctl status; the daemon keeps retrying)", l.cfg.Name, ErrNotConnected)
	if err := ctx.Err(); err != nil {
		return err
	}
	ended := l.conn.Load()
	if ended == nil {
		return notConnected
	}
	o := op{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case l.ops <- o:
	case <-*ended:
		return notConnected
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-o.done // run returns promptly once ctx is done: the command's context follows it
}

// Clock is the loop's clock as a device.Clock whose every call goes through Do. Close does nothing:
// the connection is the loop's. Each call returns a new one: its progress hook is its own.
func (l *Loop) Clock() device.Clock { return &loopClock{l: l} }

type loopClock struct {
	l        *Loop
	progress func(done, total int)
}

var (
	_ device.Clock          = (*loopClock)(nil)
	_ device.LogReader      = (*loopClock)(nil)
	_ device.ProgressSetter = (*loopClock)(nil)
	_ device.UserReader     = (*loopClock)(nil)
	_ device.TimeGetter     = (*loopClock)(nil)
	_ device.TimeSetter     = (*loopClock)(nil)
)

// SetProgress implements device.ProgressSetter for the reads of this loopClock only: the loop's
// own pulls report to no one.
func (c *loopClock) SetProgress(fn func(done, total int)) { c.progress = fn }

// ReadLog reads the log on the loop's connection, as a driver without LogReader does through
// Punches (the whole log, nothing skipped). The loop's own mark is not moved: an operator's read
// changes nothing the next pull relies on.
func (c *loopClock) ReadLog(ctx context.Context, since device.Mark, full bool) (l device.Log, err error) {
	return l, c.l.Do(ctx, func(ctx context.Context, clk device.Clock) (err error) {
		lr, ok := clk.(device.LogReader)
		if !ok {
			l.Punches, err = clk.Punches(ctx)
			return err
		}
		if ps, ok := clk.(device.ProgressSetter); ok && c.progress != nil {
			ps.SetProgress(c.progress)
			defer ps.SetProgress(nil)
		}
		l, err = lr.ReadLog(ctx, since, full)
		return err
	})
}

// Info reads the clock's info as a fresh connection reports it: the record and user entry sizes
// the loop's connection learnt from its reads are left out, so that an operator's command shows
// the same whoever holds the clock.
func (c *loopClock) Info(ctx context.Context) (info device.Info, err error) {
	err = c.l.Do(ctx, func(ctx context.Context, clk device.Clock) (err error) {
		info, err = clk.Info(ctx)
		return err
	})
	info.RecordSize, info.UserEntrySize = 0, 0
	return info, err
}

func (c *loopClock) Punches(ctx context.Context) (ps []device.Punch, err error) {
	return ps, c.l.Do(ctx, func(ctx context.Context, clk device.Clock) (err error) {
		ps, err = clk.Punches(ctx)
		return err
	})
}

func (c *loopClock) Users(ctx context.Context) (us []device.User, err error) {
	return us, c.l.Do(ctx, func(ctx context.Context, clk device.Clock) (err error) {
		ur, ok := clk.(device.UserReader)
		if !ok {
			return fmt.Errorf("clock %s: read users: %w", c.l.cfg.Name, ErrUnsupported)
		}
		us, err = ur.Users(ctx)
		return err
	})
}

// Time reads the clock's time, from Info when the driver has no cheaper way.
func (c *loopClock) Time(ctx context.Context) (t time.Time, err error) {
	return t, c.l.Do(ctx, func(ctx context.Context, clk device.Clock) error {
		if tg, ok := clk.(device.TimeGetter); ok {
			t, err = tg.Time(ctx)
			return err
		}
		info, err := clk.Info(ctx)
		t = info.Time
		return err
	})
}

func (c *loopClock) SetTime(ctx context.Context, t time.Time) error {
	return c.l.Do(ctx, func(ctx context.Context, clk device.Clock) error {
		ts, ok := clk.(device.TimeSetter)
		if !ok {
			return fmt.Errorf("clock %s: set time: %w", c.l.cfg.Name, ErrUnsupported)
		}
		return ts.SetTime(ctx, t)
	})
}

func (*loopClock) Close() error { return nil }
