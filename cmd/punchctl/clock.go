package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jinbi/punchd/device"
	_ "github.com/jinbi/punchd/device/zk" // registers zk+tcp, zk+udp, zk+serial
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/punchio"
)

func init() {
	register(command{
		Name:    "clock info",
		Args:    "--clock URL|NAME [--config FILE] [--comm-key N] [--tz ZONE] [--timeout D] [--json]",
		Summary: "a clock's firmware, serial number, platform, counts, capacities, time and offset",
		Run:     runClockInfo,
	})
	register(command{
		Name:    "clock users",
		Args:    "--clock URL|NAME [--config FILE] [--comm-key N] [--encoding CP] [--json|--text]",
		Summary: "a clock's user table, one JSON object a line",
		Run:     runClockUsers,
	})
	register(command{
		Name:    "clock dump",
		Args:    "--clock URL|NAME [--config FILE] [--comm-key N] [--tz ZONE] [--json|--text]",
		Summary: "every attendance record on a clock, one JSON object a line, in the clock's order; on a terminal, progress on stderr",
		Run:     runClockDump,
	})
	register(command{
		Name:    "clock time",
		Args:    "--clock URL|NAME [--config FILE] [--comm-key N] [--tz ZONE] [--set] [--json]",
		Summary: "a clock's time and its offset from this computer; --set sets it from this computer",
		Run:     runClockTime,
	})
}

// clockFlags are the flags every clock command takes.
type clockFlags struct {
	url      string
	commKey  uint64
	tz       string
	encoding string
	timeout  time.Duration
	json     bool
	text     bool

	// The daemon that may hold the clock: the [[clock]] the URL or name is, and the API socket of
	// that config. Empty when no config names the clock.
	name   string
	socket string
	// viaDaemon: the command runs on the daemon's connection (daemonClock).
	viaDaemon bool
}

func (e *env) clockFlagSet(name string, f *clockFlags) *flag.FlagSet {
	fs := e.newFlags(name)
	e.configFlag(fs)
	fs.StringVar(&f.url, "clock", "", "clock `URL` (zk+tcp://HOST:4370, zk+udp://HOST:4370, zk+serial:///dev/ttyUSB0?baud=115200&id=1) or the name of a [[clock]] in the config")
	fs.Uint64Var(&f.commKey, "comm-key", 0, "the clock's communication password `N` (0 = none)")
	fs.StringVar(&f.tz, "tz", "", "`ZONE` the clock's time is set in, e.g. Asia/Shanghai (default: the clock's or site's zone with --config or a clock name, else the default site zone "+config.Default().Site.Timezone+", not this computer's)")
	fs.StringVar(&f.encoding, "encoding", "gbk", "code page `CP` of names on the clock")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "per request or chunk")
	fs.BoolVar(&f.json, "json", false, "JSON output")
	return fs
}

func (e *env) parseClockFlags(fs *flag.FlagSet, name string, f *clockFlags, args []string) (*time.Location, error) {
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return nil, err
	}
	if f.url == "" {
		return nil, usagef("--clock URL is required")
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.commKey > 1<<32-1 {
		return nil, usagef("--comm-key %d is not in 0..4294967295", f.commKey)
	}
	if f.json && f.text {
		return nil, usagef("--json and --text exclude each other")
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout %s is not positive", f.timeout)
	}
	var loc *time.Location
	if f.tz != "" {
		var err error
		if loc, err = time.LoadLocation(f.tz); err != nil {
			return nil, usagef("--tz %q is not a known time zone", f.tz)
		}
	}
	// A clock by name, or an explicit --config: the config supplies what the flags do not.
	byName := !strings.Contains(f.url, "://")
	if !byName && !e.ConfigSet {
		// A URL alone: the default config, if there is one, only says whether a daemon holds it.
		if cfg, err := e.loadConfig(); err == nil {
			if cl, ok := clockByURL(cfg, f.url); ok {
				f.name, f.socket = cl.Name, cfg.API.Socket
			}
		}
	}
	if byName || e.ConfigSet {
		cfg, err := e.loadConfig()
		if err != nil {
			return nil, err
		}
		cl, ok := cfg.ClockByName(f.url)
		if !ok && !byName {
			cl, ok = clockByURL(cfg, f.url)
		}
		if byName && !ok {
			return nil, usagef("--clock %q is neither a URL nor the name of a [[clock]] in %s", f.url, e.ConfigPath)
		}
		if ok {
			f.name, f.socket = cl.Name, cfg.API.Socket
			f.url = cl.URL
			if !set["comm-key"] {
				f.commKey = uint64(cl.CommKey)
			}
			if !set["encoding"] {
				f.encoding = cl.Encoding
			}
			if !set["timeout"] {
				f.timeout = cl.Timeout.Std()
			}
			if loc == nil {
				loc = cfg.ClockLocation(cl)
			}
		}
		if loc == nil {
			loc = cfg.Location()
		}
	}
	if loc == nil {
		// Not this computer's zone: a service PC set to UTC would shift every punch of a
		// Shanghai clock by 8 h. The clock keeps the site's wall time; the default site zone it is.
		loc = config.Default().Location()
	}
	return loc, nil
}

// clockByURL is the [[clock]] with exactly this URL.
func clockByURL(cfg config.Config, url string) (config.Clock, bool) {
	for _, cl := range cfg.Clock {
		if cl.URL == url {
			return cl, true
		}
	}
	return config.Clock{}, false
}

// withClock parses a clock command's flags (extra adds the command's own), connects (through the
// daemon when it runs and holds the clock), runs fn and closes the clock; a failure to close is
// reported when fn succeeded.
func (e *env) withClock(ctx context.Context, name string, args []string, extra func(*flag.FlagSet, *clockFlags),
	fn func(c device.Clock, f *clockFlags, loc *time.Location) error) (err error) {
	var f clockFlags
	fs := e.clockFlagSet(name, &f)
	if extra != nil {
		extra(fs, &f)
	}
	loc, err := e.parseClockFlags(fs, name, &f, args)
	if err != nil {
		return err
	}
	c, err := e.daemonClock(ctx, &f)
	if err != nil {
		return err
	}
	if c == nil {
		if c, err = e.openClock(ctx, &f, loc); err != nil {
			return err
		}
	}
	defer closeClock(c, f.url, &err)
	return fn(c, &f, loc)
}

// daemonClock is the clock through the running daemon's socket when the daemon holds it (a clock
// serves one client at a time: connecting beside the daemon times out), else nil. The daemon uses
// its own comm key, encoding and timeout for the clock; the output is the same.
func (e *env) daemonClock(ctx context.Context, f *clockFlags) (device.Clock, error) {
	if f.name == "" || f.socket == "" {
		return nil, nil
	}
	cl, err := api.Dial(ctx, f.socket)
	if err != nil {
		return nil, nil // no daemon: connect directly
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("daemon socket %s: %w", f.socket, err)
	}
	if !slices.ContainsFunc(st.Clocks, func(c api.ClockStatus) bool { return c.Name == f.name }) {
		return nil, nil // that daemon does not hold this clock
	}
	fmt.Fprintf(e.Stderr, "punchctl: via daemon socket %s\n", f.socket)
	f.viaDaemon = true
	return cl.Clock(ctx, f.name)
}

// openClock connects to f.url. Errors name the clock and the step.
func (e *env) openClock(ctx context.Context, f *clockFlags, loc *time.Location) (device.Clock, error) {
	c, err := device.Open(ctx, f.url, device.Options{
		CommKey:  uint32(f.commKey),
		Encoding: f.encoding,
		Location: loc,
		Timeout:  f.timeout,
		Logger:   e.Logger,
	})
	if err != nil {
		return nil, clockErr(f.url, "connect", err)
	}
	return c, nil
}

// clockErr names the clock and the step, unless the driver's error already does ("clock …: step: …").
// A comm_key in the URL is redacted from the message.
func clockErr(url, step string, err error) error {
	if !strings.HasPrefix(err.Error(), "clock ") {
		err = fmt.Errorf("clock %s: %s: %w", url, step, err)
	}
	if shown := redactURL(url); shown != url && strings.Contains(err.Error(), url) {
		return &redactedError{msg: strings.ReplaceAll(err.Error(), url, shown), err: err}
	}
	return err
}

// redactedError is err with the comm key taken out of its message; errors.Is/As still see err.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactURL is a clock URL fit to print: the value of a comm_key query parameter (the clock's
// password) becomes "xxx"; everything else is kept as written, in its order.
func redactURL(raw string) string {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	frag := ""
	if q, f, ok := strings.Cut(query, "#"); ok {
		query, frag = q, "#"+f
	}
	params := strings.Split(query, "&")
	changed := false
	for i, p := range params {
		k, _, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "comm_key") {
			params[i], changed = k+"=xxx", true
		}
	}
	if !changed {
		return raw
	}
	return base + "?" + strings.Join(params, "&") + frag
}

// writeJSONLine writes v as one JSON line, without HTML escapes (a URL keeps its "&").
func writeJSONLine(e *env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// clockOffset is how far the clock is from the host. The clock keeps whole seconds, so the host's
// time is cut to the second as well: a clock just set from this computer reads 0, not -1 s.
func clockOffset(clk, host time.Time) time.Duration {
	return clk.Truncate(time.Second).Sub(host.Truncate(time.Second))
}

// closeClock ends the session; a failure to say goodbye is reported only if nothing else failed.
func closeClock(c device.Clock, url string, err *error) {
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = clockErr(url, "disconnect", cerr)
	}
}

// clockTime reads the clock's time: from TimeGetter, else from Info. It returns the clock's time
// and the host's time at the middle of the exchange.
func clockTime(ctx context.Context, c device.Clock, url string, now func() time.Time) (clk, host time.Time, err error) {
	before := now()
	if tg, ok := c.(device.TimeGetter); ok {
		clk, err = tg.Time(ctx)
		if err != nil {
			return clk, host, clockErr(url, "read time", err)
		}
	} else {
		info, err := c.Info(ctx)
		if err != nil {
			return clk, host, clockErr(url, "read info", err)
		}
		clk = info.Time
	}
	after := now()
	host = before.Add(after.Sub(before) / 2)
	return clk, host, nil
}

// offsetText says how far the clock is from the host, in whole seconds.
func offsetText(off time.Duration) string {
	off = off.Round(time.Second)
	switch {
	case off == 0:
		return "0s (in step with this computer)"
	case off > 0:
		return fmt.Sprintf("+%s (clock ahead of this computer)", off)
	default:
		return fmt.Sprintf("-%s (clock behind this computer)", -off)
	}
}

type infoJSON struct {
	Clock string `json:"clock"`
	device.Info
	HostTime      time.Time `json:"host_time"`
	OffsetSeconds float64   `json:"offset_seconds"`
}

func runClockInfo(ctx context.Context, e *env, args []string) error {
	return e.withClock(ctx, "clock info", args, nil, func(c device.Clock, f *clockFlags, loc *time.Location) error {
		before := e.Now()
		info, err := c.Info(ctx)
		if err != nil {
			return clockErr(f.url, "read info", err)
		}
		host := before.Add(e.Now().Sub(before) / 2)
		if info.Time.IsZero() {
			if info.Time, host, err = clockTime(ctx, c, f.url, e.Now); err != nil {
				return err
			}
		}
		off := clockOffset(info.Time, host)
		if f.json {
			return writeJSONLine(e, infoJSON{Clock: redactURL(f.url), Info: info, HostTime: host.In(loc).Truncate(time.Second), OffsetSeconds: off.Seconds()})
		}
		tw := newTextTable(e.Stdout)
		row := func(k, format string, a ...any) { tw.row(k, fmt.Sprintf(format, a...)) }
		row("clock", "%s", redactURL(f.url))
		row("serial number", "%s", info.Serial)
		row("firmware", "%s", info.Firmware)
		row("platform", "%s", info.Platform)
		row("device name", "%s", info.DeviceName)
		row("MAC", "%s", info.MAC)
		row("PIN width", "%d", info.PINWidth)
		row("users", "%d / %d", info.Users, info.UserCapacity)
		row("fingerprints", "%d / %d", info.Fingers, info.FingerCap)
		row("faces", "%d / %d", info.Faces, info.FaceCap)
		if info.RecordCap > 0 {
			row("records", "%d / %d (%.1f%% full)", info.Records, info.RecordCap, 100*float64(info.Records)/float64(info.RecordCap))
		} else {
			row("records", "%d / %d", info.Records, info.RecordCap)
		}
		row("admins", "%d", info.Admins)
		row("clock time", "%s", info.Time.Format(time.RFC3339))
		row("host time", "%s", host.In(loc).Truncate(time.Second).Format(time.RFC3339))
		row("offset", "%s", offsetText(off))
		return tw.flush()
	})
}

// userJSON is one line of `clock users`.
type userJSON struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	Privilege uint8  `json:"privilege"`
	Card      uint32 `json:"card"`
	// UserIDHex is the user id's bytes in hex when they are not valid text (device.IDHex).
	UserIDHex string `json:"user_id_hex,omitempty"`
}

// escapeText makes a string from a clock safe to print on a terminal: control bytes (an escape
// sequence in a name could rewrite the screen), a backslash and bytes that are not UTF-8 become
// \xNN / \\, so two different ids never print alike; Chinese names print as they are.
func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, "\\x%02x", c)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func runClockUsers(ctx context.Context, e *env, args []string) error {
	return e.withClock(ctx, "clock users", args, func(fs *flag.FlagSet, f *clockFlags) {
		fs.BoolVar(&f.text, "text", false, "a table for reading instead of JSON lines")
	}, func(c device.Clock, f *clockFlags, loc *time.Location) error {
		ur, ok := c.(device.UserReader)
		if !ok {
			return clockErr(f.url, "read users", errors.New("this clock's driver cannot list users"))
		}
		users, err := ur.Users(ctx)
		if err != nil {
			return clockErr(f.url, "read users", err)
		}
		if f.text {
			t := newTextTable(e.Stdout, "USER_ID", "NAME", "PRIVILEGE", "CARD")
			for _, u := range users {
				t.rowf("%s	%s	%d	%d", escapeText(u.UserID), escapeText(u.Name), u.Privilege, u.Card)
			}
			return t.flush()
		}
		w := bufio.NewWriter(e.Stdout)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, u := range users {
			j := userJSON{UserID: u.UserID, Name: u.Name, Privilege: u.Privilege, Card: u.Card, UserIDHex: device.IDHex(u.UserID)}
			if err := enc.Encode(j); err != nil {
				return err
			}
		}
		return w.Flush()
	})
}

func runClockDump(ctx context.Context, e *env, args []string) error {
	return e.withClock(ctx, "clock dump", args, func(fs *flag.FlagSet, f *clockFlags) {
		fs.BoolVar(&f.text, "text", false, "a table for reading instead of JSON lines")
	}, func(c device.Clock, f *clockFlags, loc *time.Location) error {
		pr := newProgress(e.Stderr, e.Now)
		if ps, ok := c.(device.ProgressSetter); ok {
			update := pr.update
			if f.viaDaemon {
				// The daemon's driver logs its chunks in the daemon's log; -v shows them here too.
				update = func(done, total int) {
					e.Logger.Debug("chunk read", "what", "attendance", "records", done, "of", total, "via", "daemon")
					pr.update(done, total)
				}
			}
			ps.SetProgress(update)
		}
		punches, skipped, err := readWholeLog(ctx, c)
		if err != nil {
			if pr.drawn {
				fmt.Fprintln(e.Stderr)
			}
			return clockErr(f.url, "read attendance", err)
		}
		pr.clear()
		defer pr.finish(len(punches), len(skipped))
		if len(skipped) > 0 {
			fmt.Fprintf(e.Stderr, "clock %s: skipped %d records that cannot be punches (printed the other %d): %s\n",
				redactURL(f.url), len(skipped), len(punches), device.SkippedSummary(skipped, 20))
		}
		if f.text {
			tw := newTextTable(e.Stdout)
			tw.row("USER_ID", "TIME", "STATE", "VERIFY", "WORKCODE")
			for _, p := range punches {
				tw.rowf("%s\t%s\t%d\t%d\t%d", p.UserID, p.Time.Format(time.RFC3339), p.State, p.Verify, p.WorkCode)
			}
			return tw.flush()
		}
		w := bufio.NewWriter(e.Stdout)
		for _, p := range punches {
			if err := punchio.WriteJSONLine(w, p); err != nil {
				return err
			}
		}
		return w.Flush()
	})
}

// readWholeLog reads every record on the clock: the good ones as punches, and the ones skipped
// for impossible dates or fields, when the driver says which.
func readWholeLog(ctx context.Context, c device.Clock) ([]device.Punch, []device.Skipped, error) {
	if lr, ok := c.(device.LogReader); ok {
		l, err := lr.ReadLog(ctx, device.Mark{}, true)
		return l.Punches, l.Skipped, err
	}
	ps, err := c.Punches(ctx)
	return ps, nil, err
}

type timeJSON struct {
	Clock         string     `json:"clock"`
	ClockTime     time.Time  `json:"clock_time"`
	HostTime      time.Time  `json:"host_time"`
	OffsetSeconds float64    `json:"offset_seconds"`
	Set           bool       `json:"set"`
	Before        *time.Time `json:"clock_time_before,omitempty"`
	OffsetBefore  *float64   `json:"offset_seconds_before,omitempty"`
}

func runClockTime(ctx context.Context, e *env, args []string) error {
	var set bool
	return e.withClock(ctx, "clock time", args, func(fs *flag.FlagSet, f *clockFlags) {
		fs.BoolVar(&set, "set", false, "set the clock's time from this computer's")
	}, func(c device.Clock, f *clockFlags, loc *time.Location) error {
		clk, host, err := clockTime(ctx, c, f.url, e.Now)
		if err != nil {
			return err
		}
		out := timeJSON{Clock: redactURL(f.url), ClockTime: clk, HostTime: host.In(loc).Truncate(time.Second), OffsetSeconds: clockOffset(clk, host).Seconds()}
		if set {
			ts, ok := c.(device.TimeSetter)
			if !ok {
				return clockErr(f.url, "set time", errors.New("this clock's driver cannot set the time"))
			}
			b, ob := out.ClockTime, out.OffsetSeconds
			if err := ts.SetTime(ctx, e.Now().In(loc)); err != nil {
				return clockErr(f.url, "set time", err)
			}
			if clk, host, err = clockTime(ctx, c, f.url, e.Now); err != nil {
				return err
			}
			out = timeJSON{Clock: redactURL(f.url), ClockTime: clk, HostTime: host.In(loc).Truncate(time.Second), OffsetSeconds: clockOffset(clk, host).Seconds(),
				Set: true, Before: &b, OffsetBefore: &ob}
		}
		if f.json {
			return writeJSONLine(e, out)
		}
		tw := newTextTable(e.Stdout)
		if set {
			tw.rowf("was\t%s\t%s", out.Before.Format(time.RFC3339), offsetText(time.Duration(*out.OffsetBefore*float64(time.Second))))
		}
		tw.rowf("clock time\t%s", out.ClockTime.Format(time.RFC3339))
		tw.rowf("host time\t%s", out.HostTime.Format(time.RFC3339))
		tw.rowf("offset\t%s", offsetText(time.Duration(out.OffsetSeconds*float64(time.Second))))
		return tw.flush()
	})
}
