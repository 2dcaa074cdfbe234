// Package config reads punchd's TOML configuration: Default() gives every value a sensible start,
// the file is decoded over it (unknown keys are errors), and Validate checks what decoding cannot.
// Every problem is reported with the file and the full key, e.g.
//
//	config punchd.toml: schedule[0].am_in: "8:3" is not a time HH:MM
//
// It owns the shape of the file and the conversion of its values to the types other packages use
// (time.Location, attendance.Schedule, rules.Params). It must not open clocks, the store or the
// network: checks are on the text only (a clock URL is checked by scheme, not by dialing).
package config

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"
	_ "time/tzdata" // the office PC may lack a zoneinfo database; a validated timezone must always load

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/rules"
)

// Config is the whole file. Field names follow the TOML keys; see testdata/punchd.example.toml.
type Config struct {
	Site     Site       `toml:"site"`
	Schedule []Schedule `toml:"schedule"`
	Rules    Rules      `toml:"rules"`
	Calendar Calendar   `toml:"calendar"`
	Store    Store      `toml:"store"`
	Clock    []Clock    `toml:"clock"`
	MQTT     MQTT       `toml:"mqtt"`
	HTTP     HTTP       `toml:"http"`
	API      API        `toml:"api"`
	Reports  Reports    `toml:"reports"`
	Unit     []Unit     `toml:"unit"`
	Points   Points     `toml:"points"`
	Log      Log        `toml:"log"`

	source string // the file name used in error messages; "" for a config not read from a file
}

// Site is the township office punchd runs for.
type Site struct {
	Name string `toml:"name"` // the slug used in MQTT topics and event ids
	// DisplayName is the township's name in every title (金碧镇); "" = name.
	DisplayName string `toml:"display_name"`
	Timezone    string `toml:"timezone"` // IANA zone of the office, e.g. Asia/Shanghai
	Roster      string `toml:"roster"`   // roster CSV (or XLSX) path; "" = no roster: everyone on the clock is clock-tracked
	// EventsSince is the first day events are published for; zero = the day the store was created.
	EventsSince Date `toml:"events_since"`
}

// Schedule is one seasonal working-day schedule: it applies to the month-days From..To (inclusive,
// may wrap the year end).
type Schedule struct {
	Name  string               `toml:"name"`
	From  attendance.MonthDay  `toml:"from"`
	To    attendance.MonthDay  `toml:"to"`
	AmIn  attendance.TimeOfDay `toml:"am_in"`
	AmOut attendance.TimeOfDay `toml:"am_out"`
	PmIn  attendance.TimeOfDay `toml:"pm_in"`
	PmOut attendance.TimeOfDay `toml:"pm_out"`
}

// Rules are the thresholds of the four-punch rules (internal/rules).
type Rules struct {
	Grace            Duration `toml:"grace"`              // lateness/earliness tolerated as on time
	SeriousLateAfter Duration `toml:"serious_late_after"` // late beyond this is serious_late
	AbsentAfter      Duration `toml:"absent_after"`       // late/early beyond this counts the half-day absent
	RepeatWindow     Duration `toml:"repeat_window"`      // punches this close are one punch
	UseStateKey      bool     `toml:"use_state_key"`      // trust the clock's in/out key
	RegisterWithin   Duration `toml:"register_within"`    // a registration recorded later than this after a slot it excuses is late_registered
	Windows          Windows  `toml:"windows"`
}

// Windows are optional bounds of the slots' windows ([rules.windows]); "" takes the default:
// the day runs 05:00–24:00 and is split at the midpoints between the expected times.
type Windows struct {
	Open    OpenTime   `toml:"open"`     // earliest punch that counts; "" = 05:00
	AmSplit WindowTime `toml:"am_split"` // between am_in and am_out
	Noon    WindowTime `toml:"noon"`     // between am_out and pm_in: morning and afternoon halves
	PmSplit WindowTime `toml:"pm_split"` // between pm_in and pm_out
	Close   WindowTime `toml:"close"`    // end of the day (exclusive), up to "24:00"
}

// Calendar adds local decisions to the State Council holiday data.
type Calendar struct {
	Overrides    []Override `toml:"overrides"`
	HolidayFiles []string   `toml:"holiday_files"` // extra holiday data files, same format as the built-in data
}

// Override sets the type of one date, e.g. a local holiday or a working Saturday.
type Override struct {
	Date attendance.Date    `toml:"date"`
	Type attendance.DayType `toml:"type"` // workday, makeup_workday, rest or holiday
	Name string             `toml:"name"`
}

// Store is the bbolt database.
type Store struct {
	Path string `toml:"path"`
}

// Clock is one time clock punchd pulls from.
type Clock struct {
	Name         string   `toml:"name"` // used in topics, metrics and logs
	URL          string   `toml:"url"`  // zk+tcp://host:4370, zk+udp://host:4370, zk+serial:///dev/ttyUSB0?baud=115200&id=1 (Windows: zk+serial://COM3?baud=…)
	CommKey      int64    `toml:"comm_key"`
	Encoding     string   `toml:"encoding"`      // code page of names on the clock
	PollInterval Duration `toml:"poll_interval"` // read what is new on the clock this often
	// FullPullInterval: the whole log is read this often (the source of truth); polls in between
	// move only the records after the last one stored.
	FullPullInterval Duration `toml:"full_pull_interval"`
	Realtime         bool     `toml:"realtime"`
	Timeout          Duration `toml:"timeout"`   // per request / per chunk
	Heartbeat        Duration `toml:"heartbeat"` // how often a realtime link is checked
	// MaxOffset: the clock's time is corrected when it drifts further than this; 0 disables correction.
	MaxOffset Duration `toml:"max_offset"`
	// ClearLog allows erasing the clock's log, only of punches committed and older than ClearOlderThan.
	ClearLog       bool     `toml:"clear_log"`
	ClearOlderThan Duration `toml:"clear_older_than"`
	Timezone       string   `toml:"timezone"` // the zone the clock's wall time is in; "" = site.timezone
	// Unit is the [[unit]] (a station) whose people punch this clock; "" = the compound's.
	Unit string `toml:"unit"`
}

// MQTT is the broker events are published to.
type MQTT struct {
	Broker           string   `toml:"broker"` // tcp://, ssl://, ws://, wss://, mqtt://, mqtts://
	ClientID         string   `toml:"client_id"`
	TopicPrefix      string   `toml:"topic_prefix"`
	Username         string   `toml:"username"`
	PasswordFile     string   `toml:"password_file"`
	CAFile           string   `toml:"ca_file"`
	CertFile         string   `toml:"cert_file"`
	KeyFile          string   `toml:"key_file"`
	QoS              int64    `toml:"qos"`
	Inflight         int64    `toml:"inflight"` // publishes awaiting acknowledgement at once
	OutboxMaxEntries int64    `toml:"outbox_max_entries"`
	OutboxMaxAge     Duration `toml:"outbox_max_age"`
	Keepalive        Duration `toml:"keepalive"`
}

// HTTP is the listener of /metrics, /healthz, /readyz and the web console.
type HTTP struct {
	Listen string `toml:"listen"` // host:port; "" disables the listener
	// Console serves the web console on Listen (default true). A listen beyond loopback then
	// refuses to start without an account (punchctl account add).
	Console bool `toml:"console"`
	// ReadLogin makes reading the console need a login on loopback too (beyond loopback it always
	// does); every change needs one whatever this says.
	ReadLogin bool `toml:"read_login"`
	// TLSCert and TLSKey serve the listener over HTTPS (both or neither); the console's cookies
	// are then Secure.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
}

// API is the local socket punchctl talks to: a unix socket, on Windows a named pipe.
type API struct {
	Socket string `toml:"socket"`
}

// Reports are the monthly tables filed automatically.
type Reports struct {
	Dir string `toml:"dir"`
	// FileAt is "DD HH:MM": day of the month and time the last month's table is filed. It is the
	// same as setting FileDay and FileTime, which it fills in.
	FileAt     string               `toml:"file_at"`
	FileDay    int64                `toml:"file_day"`
	FileTime   attendance.TimeOfDay `toml:"file_time"`
	Title      string               `toml:"title"` // placeholders {site} {year} {month}
	Signatures []string             `toml:"signatures"`
	// BulletinIssuer signs the 通报 (镇督查室).
	BulletinIssuer string `toml:"bulletin_issuer"`
}

// Log is the daemon's log output.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Default is the configuration before any file is read, with this platform's Paths. It validates.
func Default() Config {
	return defaultFor(platform)
}

func defaultFor(p Paths) Config {
	c := Config{
		Site: Site{
			Name:     "jinbi",
			Timezone: "Asia/Shanghai",
			Roster:   "",
		},
		Schedule: []Schedule{{
			Name:  "all-year",
			From:  attendance.MonthDay{Month: time.January, Day: 1},
			To:    attendance.MonthDay{Month: time.December, Day: 31},
			AmIn:  hm(8, 30),
			AmOut: hm(12, 0),
			PmIn:  hm(14, 30),
			PmOut: hm(18, 0),
		}},
		Rules: Rules{
			Grace:            0,
			SeriousLateAfter: Duration(30 * time.Minute),
			AbsentAfter:      Duration(2 * time.Hour),
			RepeatWindow:     Duration(2 * time.Minute),
			RegisterWithin:   Duration(24 * time.Hour),
		},
		Store: Store{Path: p.Store},
		MQTT: MQTT{
			Broker:           "tcp://127.0.0.1:1883",
			ClientID:         "punchd-jinbi",
			TopicPrefix:      "punchd/jinbi",
			QoS:              1,
			Inflight:         16,
			OutboxMaxEntries: 1_000_000,
			OutboxMaxAge:     Duration(90 * 24 * time.Hour),
			Keepalive:        Duration(30 * time.Second),
		},
		HTTP: HTTP{Listen: "127.0.0.1:9810", Console: true},
		Reports: Reports{
			Dir:            p.Reports,
			FileDay:        1,
			FileTime:       hm(8, 0),
			Title:          "{site} {year}年{month}月考勤表",
			Signatures:     []string{"党组织书记签字", "包村挂点领导签字"},
			BulletinIssuer: DefaultBulletinIssuer,
		},
		Points: DefaultPoints(),
		Log:    Log{Level: "info", Format: "text"},
	}
	c.API.Socket = c.DefaultSocket()
	return c
}

// DefaultClock is a [[clock]] entry before its keys are read.
func DefaultClock() Clock {
	return Clock{
		Encoding:         "gbk",
		PollInterval:     Duration(time.Minute),
		FullPullInterval: Duration(24 * time.Hour),
		Realtime:         true,
		Timeout:          Duration(5 * time.Second),
		Heartbeat:        Duration(30 * time.Second),
		MaxOffset:        Duration(2 * time.Minute),
		ClearOlderThan:   Duration(90 * 24 * time.Hour),
	}
}

// DefaultSchedule is a [[schedule]] entry before its keys are read: it covers the whole year;
// the four times must be given.
func DefaultSchedule() Schedule {
	return Schedule{
		From: attendance.MonthDay{Month: time.January, Day: 1},
		To:   attendance.MonthDay{Month: time.December, Day: 31},
	}
}

func hm(h, m int) attendance.TimeOfDay { return attendance.TimeOfDay(h*3600 + m*60) }

// Source is the file the config was read from ("" when not read from a file).
func (c Config) Source() string { return c.source }

// DefaultSocket is the API socket used when [api] socket is not set: punchd.sock beside the store,
// on Windows a named pipe named after the store's directory (api.DefaultAddress decides).
func (c Config) DefaultSocket() string {
	return api.DefaultAddress(filepath.Dir(c.Store.Path))
}

// Location is the site's zone. Call it on a validated config; an unloadable zone gives UTC.
func (c Config) Location() *time.Location {
	return loadLocation(c.Site.Timezone)
}

// ClockLocation is the zone a clock's wall time is read in: its own timezone, else the site's.
func (c Config) ClockLocation(cl Clock) *time.Location {
	if cl.Timezone != "" {
		return loadLocation(cl.Timezone)
	}
	return c.Location()
}

func loadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Schedules converts the [[schedule]] entries for internal/calendar.
func (c Config) Schedules() []attendance.Schedule {
	out := make([]attendance.Schedule, len(c.Schedule))
	for i, s := range c.Schedule {
		out[i] = s.std()
	}
	return out
}

func (s Schedule) std() attendance.Schedule {
	return attendance.Schedule{
		Name: s.Name, From: s.From, To: s.To,
		AmIn: s.AmIn, AmOut: s.AmOut, PmIn: s.PmIn, PmOut: s.PmOut,
	}
}

// RulesParams converts [rules] for internal/rules.
func (c Config) RulesParams() rules.Params {
	w := c.Rules.Windows
	return rules.Params{
		Grace:            c.Rules.Grace.Std(),
		SeriousLateAfter: c.Rules.SeriousLateAfter.Std(),
		AbsentAfter:      c.Rules.AbsentAfter.Std(),
		RepeatWindow:     c.Rules.RepeatWindow.Std(),
		UseStateKey:      c.Rules.UseStateKey,
		RegisterWithin:   c.Rules.RegisterWithin.Std(),
		Windows: rules.Bounds{
			Open:    w.Open.Std(),
			AmSplit: attendance.TimeOfDay(w.AmSplit),
			Noon:    attendance.TimeOfDay(w.Noon),
			PmSplit: attendance.TimeOfDay(w.PmSplit),
			Close:   attendance.TimeOfDay(w.Close),
		},
	}
}

// ClockByName finds a [[clock]] entry.
func (c Config) ClockByName(name string) (Clock, bool) {
	for _, cl := range c.Clock {
		if cl.Name == name {
			return cl, true
		}
	}
	return Clock{}, false
}

// RenderTitle renders the report title for a month.
func (r Reports) RenderTitle(site string, year int, month time.Month) string {
	return strings.NewReplacer(
		"{site}", site,
		"{year}", fmt.Sprint(year),
		"{month}", fmt.Sprint(int(month)),
	).Replace(r.Title)
}

// SlogLevel is the configured level; call it on a validated config.
func (l Log) SlogLevel() slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return lv
}

// Handler builds the slog handler the config asks for, writing to w.
func (l Log) Handler(w io.Writer) slog.Handler { return l.HandlerAt(w, l.SlogLevel()) }

// HandlerAt is Handler at level: the daemon passes a slog.LevelVar, so that a reload can change
// the level of the loggers it already handed out.
func (l Log) HandlerAt(w io.Writer, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// DeviceOptions are the driver options of a [[clock]] entry.
func (c Config) DeviceOptions(cl Clock, logger *slog.Logger) device.Options {
	return device.Options{
		CommKey:  uint32(cl.CommKey),
		Encoding: cl.Encoding,
		Location: c.ClockLocation(cl),
		Timeout:  cl.Timeout.Std(),
		Logger:   logger,
		// The heartbeat of a realtime link.
		Heartbeat: cl.Heartbeat.Std(),
	}
}
