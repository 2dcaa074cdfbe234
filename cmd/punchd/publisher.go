package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/sync/publish"
)

// runningPublisher is the outbox → MQTT publisher of one [mqtt] configuration and how to stop it:
// a reload with other [mqtt] settings stops it and runs a new one (a reconnect).
type runningPublisher struct {
	*publish.Publisher
	mqtt   config.MQTT
	cancel context.CancelFunc
	done   chan struct{}
}

// newPublisher builds (and validates) the publisher of cfg's [mqtt]; it does not run yet.
func (d *daemon) newPublisher(cfg config.Config) (*runningPublisher, error) {
	o := publish.FromConfig(cfg.MQTT)
	o.Version, o.Logger = buildinfo.Read().Version, d.log.With("component", "publish")
	loc := cfg.Location()
	o.Now = func() time.Time { return d.now().In(loc) } // status times carry the site's offset
	o.Metrics, o.OnSend = d.m.publish, d.feed.send
	o.OnPoll = func() { d.live.Beat("publish") } // the publisher looks at the outbox every poll, connected or not
	p, err := publish.New(publish.FromStore(d.db), o)
	if err != nil {
		return nil, err
	}
	return &runningPublisher{Publisher: p, mqtt: cfg.MQTT, done: make(chan struct{})}, nil
}

// run starts the publisher. It runs until stop: it stops after the other loops, so that what they
// queue as they stop still goes out.
func (p *runningPublisher) run(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		if err := p.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("publisher stopped", "err", err)
		}
	}()
}

// stop stops a running publisher (it drains briefly and says offline) and says whether it
// stopped before the deadline (nil: wait for it).
func (p *runningPublisher) stop(deadline <-chan time.Time) bool {
	p.cancel()
	select {
	case <-p.done:
		return true
	case <-deadline:
		return false
	}
}

// notify wakes the current publisher after something was queued in the outbox.
func (d *daemon) notify() {
	if p := d.pub.Load(); p != nil {
		p.Notify()
	}
}
