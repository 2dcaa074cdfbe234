package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zkpush"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/rules"
)

// clockSchemes are the URL schemes of clock drivers punchd ships. Checked as text: config does
// not import the pull drivers. A push URL is checked by the one parser that serves it (zkpush.ParseURL).
var clockSchemes = []string{"zk+tcp", "zk+udp", "zk+serial", zkpush.Scheme}

// brokerSchemes are the MQTT broker URL schemes paho understands.
var brokerSchemes = []string{"tcp", "ssl", "tls", "ws", "wss", "mqtt", "mqtts"}

// MaxInflight bounds [mqtt] inflight, the publisher's window: it must leave MQTT packet
// identifiers (65535 per connection) for the presence and for publishes whose acknowledgement
// timed out. Checked here only; the publisher takes what the config says.
const MaxInflight = 1000

// secureBrokerSchemes are those of brokerSchemes over TLS.
var secureBrokerSchemes = []string{"ssl", "tls", "wss", "mqtts"}

// Validate checks the meaning of every value. It returns all problems found, joined, each a
// *KeyError naming the file and the key.
func (c Config) Validate() error {
	v := &validator{file: c.source}

	// [site]
	v.topicSafe("site.name", c.Site.Name)
	if _, err := time.LoadLocation(c.Site.Timezone); err != nil || c.Site.Timezone == "" {
		v.bad("site.timezone", "%q is not a known time zone (like \"Asia/Shanghai\")", c.Site.Timezone)
	}

	// [[schedule]]
	c.validateSchedules(v)

	// [rules]
	if c.Rules.SeriousLateAfter < c.Rules.Grace {
		v.bad("rules.serious_late_after", "%s is shorter than rules.grace (%s)", c.Rules.SeriousLateAfter, c.Rules.Grace)
	}
	if c.Rules.AbsentAfter < c.Rules.SeriousLateAfter {
		v.bad("rules.absent_after", "%s is shorter than rules.serious_late_after (%s)", c.Rules.AbsentAfter, c.Rules.SeriousLateAfter)
	}
	if c.Rules.RepeatWindow > Duration(time.Hour) {
		v.bad("rules.repeat_window", "%s is longer than an hour: punches that far apart are not repeats", c.Rules.RepeatWindow)
	}

	if len(v.errs) == 0 {
		if err := c.RulesParams().Validate(); err != nil {
			v.bad("rules", "%s", strings.TrimPrefix(err.Error(), rules.ErrBadParams.Error()+": "))
		}
	}
	for i, s := range c.Schedule {
		if err := c.RulesParams().CheckSchedule(s.std()); err != nil {
			v.bad("rules.windows", "do not fit schedule[%d]: %s", i, strings.TrimPrefix(err.Error(), rules.ErrBadParams.Error()+": "))
			break
		}
	}

	// [calendar]
	seen := map[attendance.Date]int{}
	for i, o := range c.Calendar.Overrides {
		k := fmt.Sprintf("calendar.overrides[%d]", i)
		if o.Date.IsZero() {
			v.bad(k+".date", "is missing")
		} else if j, dup := seen[o.Date]; dup {
			v.bad(k+".date", "%s is already overridden by calendar.overrides[%d]", o.Date, j)
		} else {
			seen[o.Date] = i
		}
		switch o.Type {
		case attendance.Workday, attendance.MakeupWorkday, attendance.RestDay, attendance.Holiday:
		default:
			v.bad(k+".type", "%q is not one of workday, makeup_workday, rest, holiday", o.Type)
		}
	}
	for i, f := range c.Calendar.HolidayFiles {
		if strings.TrimSpace(f) == "" {
			v.bad(fmt.Sprintf("calendar.holiday_files[%d]", i), "is empty")
		}
	}

	// [store]
	if c.Store.Path == "" {
		v.bad("store.path", "is empty")
	}

	// [[clock]]
	names := map[string]int{}
	for i, cl := range c.Clock {
		k := fmt.Sprintf("clock[%d]", i)
		v.topicSafe(k+".name", cl.Name)
		if j, dup := names[cl.Name]; dup && cl.Name != "" {
			v.bad(k+".name", "%q is already the name of clock[%d]", cl.Name, j)
		}
		names[cl.Name] = i
		v.clockURL(k+".url", cl.URL)
		if cl.CommKey < 0 || cl.CommKey > 1<<32-1 {
			v.bad(k+".comm_key", "%d is not in 0..4294967295", cl.CommKey)
		}
		if cl.Encoding == "" || strings.ContainsAny(cl.Encoding, " /\\") {
			v.bad(k+".encoding", "%q is not a code page name (like \"gbk\", \"utf-8\")", cl.Encoding)
		}
		if cl.PollInterval < Duration(time.Second) {
			v.bad(k+".poll_interval", "%s is shorter than 1s", cl.PollInterval)
		}
		if cl.FullPullInterval < cl.PollInterval {
			v.bad(k+".full_pull_interval", "%s is shorter than poll_interval %s", cl.FullPullInterval, cl.PollInterval)
		}
		v.positive(k+".timeout", cl.Timeout)
		v.positive(k+".heartbeat", cl.Heartbeat)
		if cl.ClearLog && cl.ClearOlderThan < Duration(24*time.Hour) {
			v.bad(k+".clear_older_than", "%s is shorter than a day: with clear_log a clock keeps at least a day of punches", cl.ClearOlderThan)
		}
		if cl.Timezone != "" {
			if _, err := time.LoadLocation(cl.Timezone); err != nil {
				v.bad(k+".timezone", "%q is not a known time zone", cl.Timezone)
			}
		}
	}

	// [mqtt]
	v.broker("mqtt.broker", c.MQTT.Broker)
	if c.MQTT.ClientID == "" {
		v.bad("mqtt.client_id", "is empty")
	} else if len(c.MQTT.ClientID) > 65535 {
		v.bad("mqtt.client_id", "is longer than 65535 bytes")
	}
	v.topicPrefix("mqtt.topic_prefix", c.MQTT.TopicPrefix)
	if c.MQTT.QoS < 0 || c.MQTT.QoS > 2 {
		v.bad("mqtt.qos", "%d is not 0, 1 or 2", c.MQTT.QoS)
	}
	if c.MQTT.Inflight < 1 || c.MQTT.Inflight > MaxInflight {
		v.bad("mqtt.inflight", "%d is not in 1..%d", c.MQTT.Inflight, MaxInflight)
	}
	if c.MQTT.OutboxMaxEntries < 1 {
		v.bad("mqtt.outbox_max_entries", "%d is not a positive number", c.MQTT.OutboxMaxEntries)
	}
	v.positive("mqtt.outbox_max_age", c.MQTT.OutboxMaxAge)
	if c.MQTT.Keepalive < Duration(time.Second) {
		v.bad("mqtt.keepalive", "%s is shorter than 1s", c.MQTT.Keepalive)
	}
	if (c.MQTT.CertFile == "") != (c.MQTT.KeyFile == "") {
		v.bad("mqtt.cert_file", "cert_file and key_file go together: set both or neither")
	}
	if u, err := url.Parse(c.MQTT.Broker); err == nil && !slices.Contains(secureBrokerSchemes, u.Scheme) &&
		(c.MQTT.CAFile != "" || c.MQTT.CertFile != "") {
		v.bad("mqtt.ca_file", "TLS files are set but broker %q is not one of %s", c.MQTT.Broker, strings.Join(secureBrokerSchemes, ", "))
	}

	// [http], [api]
	if c.HTTP.Listen != "" {
		host, port, err := net.SplitHostPort(c.HTTP.Listen)
		if err != nil {
			v.bad("http.listen", "%q is not host:port", c.HTTP.Listen)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			v.bad("http.listen", "%q: port %q is not a number 0..65535", c.HTTP.Listen, port)
		} else if strings.ContainsAny(host, " /") {
			v.bad("http.listen", "%q: %q is not a host", c.HTTP.Listen, host)
		}
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		v.bad("http.tls_cert", "tls_cert and tls_key go together: set both or neither")
	}
	if c.API.Socket == "" {
		v.bad("api.socket", "is empty")
	}

	// [reports]
	if c.Reports.Dir == "" {
		v.bad("reports.dir", "is empty")
	}
	if c.Reports.FileDay < 1 || c.Reports.FileDay > 28 {
		v.bad("reports.file_day", "%d is not a day 1..28 (a day every month has)", c.Reports.FileDay)
	}
	if c.Reports.Title == "" {
		v.bad("reports.title", "is empty")
	}

	// [[unit]], [[clock]] unit, [reports] bulletin_issuer
	c.validateUnits(v)

	// [log]
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.Log.Level)); err != nil {
		v.bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		v.bad("log.format", "%q is not text or json", c.Log.Format)
	}
	return errors.Join(v.errs...)
}

func (c Config) validateSchedules(v *validator) {
	if len(c.Schedule) == 0 {
		v.bad("schedule", "no [[schedule]] entry: at least one is needed")
		return
	}
	ok := true
	names := map[string]int{}
	for i, s := range c.Schedule {
		k := fmt.Sprintf("schedule[%d]", i)
		if s.Name == "" {
			v.bad(k+".name", "is empty")
		} else if j, dup := names[s.Name]; dup {
			v.bad(k+".name", "%q is already the name of schedule[%d]", s.Name, j)
		}
		names[s.Name] = i
		times := []struct {
			key string
			t   attendance.TimeOfDay
		}{{"am_in", s.AmIn}, {"am_out", s.AmOut}, {"pm_in", s.PmIn}, {"pm_out", s.PmOut}}
		for j := 1; j < len(times); j++ {
			if times[j].t <= times[j-1].t {
				v.bad(k+"."+times[j].key, "%s is not after %s (%s): the four times must increase", times[j].t, times[j-1].key, times[j-1].t)
				ok = false
			}
		}
	}
	if !ok {
		return
	}
	// Every day of the year (a leap year, so 02-29 too) must be covered. Where entries overlap the
	// shortest range wins (so a "summer" entry may sit inside an "all-year" one), as in
	// internal/calendar; two equally long entries covering one day are ambiguous.
	length := make([]int, len(c.Schedule))
	days := func(yield func(attendance.Date) bool) {
		for d := (attendance.Date{Year: 2024, Month: time.January, Day: 1}); d.Year == 2024; d = d.AddDays(1) {
			if !yield(d) {
				return
			}
		}
	}
	for d := range days {
		for i, s := range c.Schedule {
			if attendance.Covers(s.From, s.To, d) {
				length[i]++
			}
		}
	}
	for d := range days {
		best := -1
		md := attendance.MonthDay{Month: d.Month, Day: d.Day}
		for i, s := range c.Schedule {
			if !attendance.Covers(s.From, s.To, d) {
				continue
			}
			switch {
			case best < 0 || length[i] < length[best]:
				best = i
			case length[i] == length[best]:
				v.bad(fmt.Sprintf("schedule[%d].from", i), "%q and %q both cover %s and are equally long (%d days): make one shorter or remove the overlap",
					s.Name, c.Schedule[best].Name, md, length[i])
				return
			}
		}
		if best < 0 {
			v.bad("schedule", "no entry covers %s: the from..to ranges must cover the whole year", md)
			return
		}
	}
}

type validator struct {
	file string
	errs []error
}

func (v *validator) bad(key, format string, args ...any) {
	v.errs = append(v.errs, &KeyError{v.file, key, fmt.Sprintf(format, args...)})
}

func (v *validator) positive(key string, d Duration) {
	if d <= 0 {
		v.bad(key, "%s is not a positive duration", d)
	}
}

// topicSafe checks a name used as one MQTT topic level and a metric label.
func (v *validator) topicSafe(key, s string) {
	switch {
	case s == "":
		v.bad(key, "is empty")
	case strings.ContainsAny(s, "+#/ \t\r\n\x00"):
		v.bad(key, "%q must not contain '+', '#', '/', spaces or control characters (it is an MQTT topic level)", s)
	}
}

func (v *validator) topicPrefix(key, s string) {
	switch {
	case s == "":
		v.bad(key, "is empty")
	case strings.ContainsAny(s, "+#\x00"):
		v.bad(key, "%q must not contain the wildcards '+' or '#'", s)
	case strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//"):
		v.bad(key, "%q must not start or end with '/' or have empty levels", s)
	case strings.HasPrefix(s, "$"):
		v.bad(key, "%q must not start with '$' (reserved for the broker)", s)
	}
}

func (v *validator) clockURL(key, raw string) {
	if raw == "" {
		v.bad(key, "is empty")
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.bad(key, "%q is not a URL", raw)
		return
	}
	switch u.Scheme {
	case "zk+tcp", "zk+udp":
		if u.Hostname() == "" {
			v.bad(key, "%q has no host (like %s://192.168.1.201:4370)", raw, u.Scheme)
			return
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				v.bad(key, "%q: port %q is not 1..65535", raw, p)
				return
			}
		}
	case zkpush.Scheme:
		if _, _, err := zkpush.ParseURL(raw); err != nil {
			v.bad(key, "%s", strings.TrimPrefix(err.Error(), zkpush.ErrBadURL.Error()+" "))
			return
		}
	case "zk+serial":
		if _, err := device.SerialPort(u); err != nil {
			v.bad(key, "%s", strings.TrimPrefix(err.Error(), device.ErrBadURL.Error()+" "))
			return
		}
		if _, _, err := device.SerialParams(u); err != nil {
			v.bad(key, "%s", strings.TrimPrefix(err.Error(), device.ErrBadURL.Error()+" "))
			return
		}
	default:
		v.bad(key, "%q: scheme %q is not one of %s", raw, u.Scheme, strings.Join(clockSchemes, ", "))
		return
	}
	// Query options are those device.ApplyQuery understands; check them the same way.
	if _, err := device.ApplyQuery(u, device.Options{}); err != nil {
		v.bad(key, "%s", strings.TrimPrefix(err.Error(), device.ErrBadURL.Error()+" "))
	}
}

func (v *validator) broker(key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		v.bad(key, "%q is not a URL (like tcp://127.0.0.1:1883)", raw)
		return
	}
	known := false
	for _, s := range brokerSchemes {
		known = known || u.Scheme == s
	}
	if !known {
		v.bad(key, "%q: scheme %q is not one of %s", raw, u.Scheme, strings.Join(brokerSchemes, ", "))
		return
	}
	if u.Hostname() == "" || u.Port() == "" {
		v.bad(key, "%q needs host:port (like %s://127.0.0.1:1883)", raw, u.Scheme)
	}
}
