package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/web"
)

// liveFeed passes what the publisher sends to the web console's live feed once the console
// exists (the publisher is built first).
type liveFeed struct{ console atomic.Pointer[web.Server] }

func (f *liveFeed) send(topic string, payload []byte) {
	if c := f.console.Load(); c != nil {
		c.Publish(topic, payload)
	}
}

// mountConsole adds the web console to the HTTP mux when [http] console is on. Beyond loopback it
// refuses to start without an account; on loopback reading needs no login unless [http] read_login.
// A reload reaches it through reloadConsole.
func (d *daemon) mountConsole(ctx context.Context, mux *http.ServeMux, feed *liveFeed, log *slog.Logger) error {
	s := d.settings()
	cfg := s.cfg
	if cfg.HTTP.Listen == "" || !cfg.HTTP.Console {
		return nil
	}
	loopback, err := web.CheckListen(ctx, cfg.HTTP.Listen, s.svc)
	if err != nil {
		return err
	}
	d.consoleLoopback = loopback
	c, err := web.New(apiBackend{s.svc, d}, s.svc, d.consoleOptions(s, log))
	if err != nil {
		return err
	}
	c.Register(mux)
	feed.console.Store(c)
	return nil
}

// reloadConsole gives the console the current settings: their service, site, calendar, units,
// reports, topic prefix and read access ([http] listen and console themselves need a restart).
func (d *daemon) reloadConsole() {
	if c := d.feed.console.Load(); c != nil {
		s := d.settings()
		c.Reload(apiBackend{s.svc, d}, s.svc, d.consoleOptions(s, d.log))
	}
}

func (d *daemon) consoleOptions(s *settings, log *slog.Logger) web.Options {
	cfg := s.cfg
	return web.Options{Site: cfg.SiteTitle(), Location: cfg.Location(), Now: d.now, Calendar: s.cal,
		Report: report.Options{Title: cfg.Reports.Title, Signatures: cfg.Reports.Signatures}, Units: cfg.Units(), Issuer: cfg.Reports.BulletinIssuer,
		Prefix: cfg.MQTT.TopicPrefix, Logger: log.With("component", "web"), Metrics: d.m.reg, Sessions: d.db,
		AnonymousRead: d.consoleLoopback && !cfg.HTTP.ReadLogin}
}
