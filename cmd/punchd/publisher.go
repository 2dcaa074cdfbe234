package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/metrics"
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
	m, prefix := d.m, cfg.MQTT.TopicPrefix
	o.Hooks = publish.Hooks{
		OnSend:       d.feed.send,
		OnConnect:    func() { m.SetMQTTConnected(true) },
		OnDisconnect: func(error) { m.SetMQTTConnected(false) },
		OnReconnect:  m.MQTTReconnected,
		OnPublish:    func(topic string, l time.Duration) { m.MQTTPublished(messageType(prefix, topic), l) },
		OnError:      m.MQTTPublishFailed,
		OnDrop:       func(reason string, n int) { m.OutboxDropped(reason, n) },
		OnOutbox: func(n int, oldest time.Time) {
			m.SetOutbox(n, oldest)
			d.live.Beat("publish") // the publisher looks at the outbox every poll, connected or not
		},
	}
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
