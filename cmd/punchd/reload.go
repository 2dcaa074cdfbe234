package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
)

// A reload (SIGHUP, `systemctl reload punchd`) reads the configuration file again and applies what
// can change while punchd runs: the rules, schedules, calendar, roster, units, points, reports,
// events_since, the clocks (added, removed, changed), the log level, the [mqtt] settings (with
// a reconnect) and [http] read_login; the web console serves the new settings from the next request. It refuses the whole file — punchd goes on with the previous one, says why in one
// log line and sets punchd_config_last_reload_successful to 0 — when it is invalid, when its
// calendar or roster cannot be read, or when it changes what only a restart can change.

// fixedKeys are the settings a running daemon cannot take up: it holds the store open, the
// listeners bound, its days keyed in the site's zone and its log handler built.
var fixedKeys = []struct {
	key string
	get func(config.Config) string
}{
	{"store.path", func(c config.Config) string { return c.Store.Path }},
	{"site.timezone", func(c config.Config) string { return c.Site.Timezone }},
	{"http.listen", func(c config.Config) string { return c.HTTP.Listen }},
	{"http.console", func(c config.Config) string { return strconv.FormatBool(c.HTTP.Console) }},
	{"http.tls_cert", func(c config.Config) string { return c.HTTP.TLSCert }},
	{"http.tls_key", func(c config.Config) string { return c.HTTP.TLSKey }},
	{"api.socket", func(c config.Config) string { return c.API.Socket }},
	{"log.format", func(c config.Config) string { return c.Log.Format }},
}

// errNeedsRestart: a reload changes a setting only a restart applies.
var errNeedsRestart = errors.New("cannot change while punchd runs: restart punchd to apply it")

// reloadPlan is a reloaded configuration checked and read, ready to apply.
type reloadPlan struct {
	cfg    config.Config
	cal    *calendar.Calendar
	people []attendance.Person // the roster file read; nil: keep the stored roster
	pub    *runningPublisher   // the publisher of new [mqtt] settings; nil: keep the running one
}

// reload reads the configuration file again and applies it, or refuses it whole.
func (d *daemon) reload(ctx context.Context) {
	d.reloadLock.Lock()
	defer d.reloadLock.Unlock()
	old := d.settings()
	path := old.cfg.Source()
	if path == "" {
		d.log.Warn("reload: the configuration was not read from a file: nothing to reload")
		return
	}
	p, err := d.prepareReload(old.cfg, path)
	if err == nil {
		err = d.applyReload(ctx, old, p)
	}
	if err != nil {
		d.m.configLoaded(false, d.now())
		d.log.Error("reload refused: punchd goes on with the previous configuration", "config", path, "err", err)
		return
	}
}

// prepareReload reads and checks everything the new configuration needs before anything changes.
func (d *daemon) prepareReload(old config.Config, path string) (*reloadPlan, error) {
	cfg, err := config.LoadDaemon(path)
	if err != nil {
		return nil, err
	}
	var fixed []string
	for _, k := range fixedKeys {
		if a, b := k.get(old), k.get(cfg); a != b {
			fixed = append(fixed, fmt.Sprintf("%s %q → %q", k.key, a, b))
		}
	}
	if a, b := pushClocks(old), pushClocks(cfg); !equal(a, b) {
		fixed = append(fixed, "the zk+push clocks")
	}
	if len(fixed) > 0 {
		return nil, fmt.Errorf("%s %w", strings.Join(fixed, ", "), errNeedsRestart)
	}
	p := &reloadPlan{cfg: cfg}
	if p.cal, err = cfg.NewCalendar(); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if cfg.Site.Roster != "" {
		if p.people, err = readRoster(cfg, d.log); err != nil {
			return nil, err
		}
	}
	if cfg.MQTT != old.MQTT {
		if p.pub, err = d.newPublisher(cfg); err != nil {
			return nil, fmt.Errorf("mqtt: %w", err)
		}
	}
	return p, nil
}

// applyReload makes p the running configuration. Only storing the roster can fail it, and that
// comes first, before anything changed.
func (d *daemon) applyReload(ctx context.Context, old *settings, p *reloadPlan) error {
	rosterChanged := false
	if p.people != nil {
		stored, err := d.db.Roster()
		rosterChanged = err != nil || !sameRoster(stored, p.people)
	}
	if err := putRoster(d.db, p.cfg, p.people); err != nil {
		return err
	}
	changed := changedSections(old.cfg, p.cfg)
	if rosterChanged {
		changed = append(changed, "roster")
	}
	since := d.eventsSince(p.cfg)
	d.set.Store(d.newSettings(p.cfg, p.cal, since))
	d.reloadConsole()
	d.calendarChecked(p.cfg, p.cal)
	// The open days are judged again under the new rules, schedules, calendar and roster.
	if err := d.eng.Reconfigure(ctx, ingestConfig(p.cfg, since), p.cal); err != nil {
		d.log.Error("reload: re-judging the open days failed (the finaliser tries again)", "err", err)
	}
	changed = append(changed, d.applyClocks(p.cfg, old.cfg.Clock)...)
	if p.pub != nil {
		old := d.pub.Load()
		old.stop(nil) // it drains briefly and says offline; the new one connects at once
		p.pub.run(d.log)
		d.pub.Store(p.pub)
		changed = append(changed, "mqtt: reconnected to "+p.cfg.MQTT.Broker)
	}
	d.m.configLoaded(true, d.now())
	if len(changed) == 0 {
		changed = []string{"nothing"}
	}
	// The verdict is said at the more verbose of the old and the new level.
	level := p.cfg.Log.SlogLevel()
	if d.level != nil && level < d.level.Level() {
		d.level.Set(level)
	}
	d.log.Info("configuration reloaded", "config", p.cfg.Source(), "changed", strings.Join(changed, "; "))
	if d.level != nil {
		d.level.Set(level)
	}
	return nil
}

// changedSections names the sections of the configuration that differ (clocks and [mqtt] are
// told by what they do when applied).
func changedSections(a, b config.Config) []string {
	var out []string
	for _, s := range []struct {
		name string
		a, b any
	}{
		{"site", a.Site, b.Site}, {"schedule", a.Schedule, b.Schedule}, {"rules", a.Rules, b.Rules},
		{"calendar", a.Calendar, b.Calendar}, {"unit", a.Unit, b.Unit}, {"points", a.Points, b.Points},
		{"reports", a.Reports, b.Reports}, {"http", a.HTTP, b.HTTP}, {"log.level", a.Log.Level, b.Log.Level},
	} {
		if !equal(s.a, s.b) {
			out = append(out, s.name)
		}
	}
	slices.Sort(out)
	return out
}

// equal compares two config values (sections hold slices and maps: reflect.DeepEqual).
func equal(a, b any) bool { return reflect.DeepEqual(a, b) }

// sameRoster says whether the roster file read holds what the store holds (in any order; a row
// without a name stands for the name the store fills in from the clocks).
func sameRoster(stored, read []attendance.Person) bool {
	if len(stored) != len(read) {
		return false
	}
	byID := make(map[string]attendance.Person, len(stored))
	for _, p := range stored {
		byID[p.UserID] = p
	}
	for _, p := range read {
		q, ok := byID[p.UserID]
		if p.Name == "" {
			p.Name = q.Name
		}
		if !ok || p != q {
			return false
		}
	}
	return true
}
