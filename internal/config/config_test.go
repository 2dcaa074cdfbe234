package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestExampleParsesAndValidates(t *testing.T) {
	path := filepath.Join("testdata", "punchd.example.toml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// The example shows the defaults: reading it must change nothing.
	def := Default()
	def.source = path
	if got, want := cfg.Schedules(), def.Schedules(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("schedules = %+v, want %+v", got, want)
	}
	if cfg.Rules != def.Rules || cfg.MQTT != def.MQTT || cfg.HTTP != def.HTTP || cfg.Store != def.Store || cfg.Site != def.Site {
		t.Errorf("example differs from Default():\n got %+v\nwant %+v", cfg, def)
	}
	if cfg.Reports.FileDay != 1 || cfg.Reports.FileTime != hm(8, 0) || cfg.Reports.Title != def.Reports.Title {
		t.Errorf("reports = %+v", cfg.Reports)
	}
	if len(cfg.Clock) != 0 || len(cfg.Calendar.Overrides) != 0 {
		t.Errorf("example has clocks %v overrides %v, want none", cfg.Clock, cfg.Calendar.Overrides)
	}
	// With its commented clock switched on, it still validates and gives the documented values.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = Parse(uncommentClock(data), "uncommented")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := DefaultClock()
	want.Name, want.URL = "dangzhengban", "zk+tcp://192.168.1.201:4370"
	if len(cfg.Clock) != 1 || cfg.Clock[0] != want {
		t.Errorf("clocks = %+v, want [%+v]", cfg.Clock, want)
	}
}

// uncommentClock switches on the example's commented [[clock]] section.
func uncommentClock(data []byte) []byte {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if line == "# [[clock]]" {
			in = true
		}
		if in && strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "# # ") {
			line = strings.TrimPrefix(line, "# ")
		}
		if in && line == "" {
			in = false
		}
		b.WriteString(line + "\n")
	}
	return []byte(b.String())
}

func TestParseValues(t *testing.T) {
	src := `
[site]
name = "dongcun"
timezone = "Asia/Urumqi"
events_since = "2026-03-01"
[[schedule]]
name = "summer"
from = "05-01"
to = "09-30"
am_in = "08:00"
am_out = "12:00"
pm_in = "15:00"
pm_out = "18:30"
[[schedule]]
name = "winter"
from = "10-01"
to = "04-30"
am_in = "08:30"
am_out = "12:00"
pm_in = "14:30"
pm_out = "18:00"
[rules]
grace = "1m"
repeat_window = "90s"
use_state_key = true
[rules.windows]
open = ""
noon = "13:00"
close = "24:00"
[calendar]
overrides = [{date = "2026-05-06", type = "holiday", name = "local"}, {date = "2026-05-09", type = "makeup_workday"}]
[[clock]]
name = "a"
url = "zk+udp://10.0.0.5"
comm_key = 4294967295
max_offset = "0"
[[clock]]
name = "b"
url = "zk+serial:///dev/ttyUSB0?baud=115200&id=2"
poll_interval = "10s"
realtime = false
timezone = "UTC"
clear_log = true
clear_older_than = "90d"
[reports]
file_day = 3
file_time = "07:15"
`
	cfg, err := Parse([]byte(src), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.ClientID != "punchd-dongcun" || cfg.MQTT.TopicPrefix != "punchd/dongcun" {
		t.Errorf("derived mqtt names = %q %q", cfg.MQTT.ClientID, cfg.MQTT.TopicPrefix)
	}
	if got := cfg.Site.EventsSince.Std(); got != (attendance.Date{Year: 2026, Month: 3, Day: 1}) {
		t.Errorf("events_since = %v", got)
	}
	if cfg.Location().String() != "Asia/Urumqi" {
		t.Errorf("Location = %v", cfg.Location())
	}
	s := cfg.Schedules()
	if len(s) != 2 || s[0].Name != "summer" || s[0].PmIn != hm(15, 0) || s[1].From != (attendance.MonthDay{Month: 10, Day: 1}) {
		t.Errorf("schedules = %+v", s)
	}
	if p := cfg.RulesParams(); p.Grace != time.Minute || p.RepeatWindow != 90*time.Second || !p.UseStateKey || p.AbsentAfter != 2*time.Hour ||
		p.Windows.Noon != hm(13, 0) || p.Windows.Close != 24*3600 || p.Windows.Open != hm(5, 0) || p.RegisterWithin != 24*time.Hour {
		t.Errorf("RulesParams = %+v", p)
	}
	if cfg.Rules.Grace.Std() != time.Minute || cfg.Rules.RepeatWindow.Std() != 90*time.Second || !cfg.Rules.UseStateKey ||
		cfg.Rules.SeriousLateAfter.Std() != 30*time.Minute {
		t.Errorf("rules = %+v", cfg.Rules)
	}
	if o := cfg.Calendar.Overrides; len(o) != 2 || o[1].Type != attendance.MakeupWorkday || o[0].Date.String() != "2026-05-06" {
		t.Errorf("overrides = %+v", o)
	}
	a, b := cfg.Clock[0], cfg.Clock[1]
	if a.CommKey != 4294967295 || a.MaxOffset != 0 || a.PollInterval.Std() != time.Minute || !a.Realtime || a.Encoding != "gbk" {
		t.Errorf("clock a = %+v", a)
	}
	if b.PollInterval.Std() != 10*time.Second || b.Realtime || b.ClearOlderThan.Std() != 90*24*time.Hour || b.Timeout.Std() != 5*time.Second {
		t.Errorf("clock b = %+v", b)
	}
	if cfg.ClockLocation(a).String() != "Asia/Urumqi" || cfg.ClockLocation(b) != time.UTC {
		t.Errorf("clock zones = %v %v", cfg.ClockLocation(a), cfg.ClockLocation(b))
	}
	if o := cfg.DeviceOptions(a, nil); o.CommKey != 4294967295 || o.Timeout != 5*time.Second || o.Encoding != "gbk" {
		t.Errorf("device options = %+v", o)
	}
	if cfg.Reports.FileDay != 3 || cfg.Reports.FileTime != hm(7, 15) {
		t.Errorf("reports = %+v", cfg.Reports)
	}
	if got := cfg.Reports.RenderTitle("金碧镇", 2026, time.March); got != "金碧镇 2026年3月考勤表" {
		t.Errorf("title = %q", got)
	}
}

// TestBadConfigs checks that each bad file is refused with a message naming the file and the key.
func TestBadConfigs(t *testing.T) {
	const sched = "[[schedule]]\nname=\"s\"\nfrom=\"01-01\"\nto=\"12-31\"\nam_in=\"08:30\"\nam_out=\"12:00\"\npm_in=\"14:30\"\npm_out=\"18:00\"\n"
	const clock = "[[clock]]\nname=\"c\"\nurl=\"zk+tcp://10.0.0.5:4370\"\n"
	tests := []struct {
		name, src string
		want      string // the whole message of one of the errors
	}{
		{"bad time", "[[schedule]]\nname=\"s\"\nam_in=\"8:3\"\nam_out=\"12:00\"\npm_in=\"14:30\"\npm_out=\"18:00\"",
			`config punchd.toml: schedule[0].am_in: "8:3" is not a time HH:MM`},
		{"bad time second entry", sched + "[[schedule]]\nname=\"t\"\nam_in=\"08:30\"\nam_out=\"25:00\"\npm_in=\"14:30\"\npm_out=\"18:00\"",
			`config punchd.toml: schedule[1].am_out: "25:00" is not a time HH:MM`},
		{"missing time", "[[schedule]]\nname=\"s\"\nam_in=\"08:30\"\nam_out=\"12:00\"\npm_in=\"14:30\"",
			`config punchd.toml: schedule[0].pm_out: is missing`},
		{"times not increasing", "[[schedule]]\nname=\"s\"\nam_in=\"08:30\"\nam_out=\"12:00\"\npm_in=\"11:30\"\npm_out=\"18:00\"",
			`config punchd.toml: schedule[0].pm_in: 11:30 is not after am_out (12:00): the four times must increase`},
		{"bad month-day", "[[schedule]]\nname=\"s\"\nfrom=\"13-01\"\nam_in=\"08:30\"\nam_out=\"12:00\"\npm_in=\"14:30\"\npm_out=\"18:00\"",
			`config punchd.toml: schedule[0].from: "13-01" is not a month-day MM-DD`},
		{"year not covered", strings.Replace(sched, `to="12-31"`, `to="11-30"`, 1),
			`config punchd.toml: schedule: no entry covers 12-01: the from..to ranges must cover the whole year`},
		{"overlap", sched + strings.Replace(sched, `name="s"`, `name="t"`, 1),
			`config punchd.toml: schedule[1].from: "t" and "s" both cover 01-01 and are equally long (366 days): make one shorter or remove the overlap`},
		{"schedule name dup", sched + strings.Replace(sched, `from="01-01"`, `from="06-01"`, 1),
			`config punchd.toml: schedule[1].name: "s" is already the name of schedule[0]`},
		{"no schedule", "schedule = []", `config punchd.toml: schedule: no [[schedule]] entry: at least one is needed`},
		{"unknown top key", "[sitee]\nname=\"x\"", `config punchd.toml: sitee: unknown key`},
		{"unknown nested key", "[site]\nnmae=\"x\"", `config punchd.toml: site.nmae: unknown key`},
		{"unknown clock key", clock + "pol_interval=\"1m\"", `config punchd.toml: clock[0].pol_interval: unknown key`},
		{"unknown override key", "[calendar]\noverrides=[{date=\"2026-05-06\", type=\"holiday\", nmae=\"x\"}]",
			`config punchd.toml: calendar.overrides[0].nmae: unknown key`},
		{"bad duration", "[rules]\ngrace=\"5 minutes\"", `config punchd.toml: rules.grace: "5 minutes" is not a duration (like "90s", "5m", "2h", "90d")`},
		{"negative duration", "[rules]\ngrace=\"-5m\"", `config punchd.toml: rules.grace: "-5m" is negative`},
		{"duration as number", clock + "poll_interval=60", `config punchd.toml: clock[0].poll_interval: "60" is not a duration (like "90s", "5m", "2h", "90d")`},
		{"wrong type", "[site]\nname=3", `config punchd.toml: site.name: is a integer, want a string`},
		{"wrong type bool", clock + "realtime=\"yes\"", `config punchd.toml: clock[0].realtime: is a string, want true or false`},
		{"bad timezone", "[site]\ntimezone=\"Asia/Shanghia\"", `config punchd.toml: site.timezone: "Asia/Shanghia" is not a known time zone (like "Asia/Shanghai")`},
		{"bad site name", "[site]\nname=\"jin bi\"", `config punchd.toml: site.name: "jin bi" must not contain '+', '#', '/', spaces or control characters (it is an MQTT topic level)`},
		{"bad events_since", "[site]\nevents_since=\"2026-13-01\"", `config punchd.toml: site.events_since: "2026-13-01" is not a date YYYY-MM-DD`},
		{"serious before grace", "[rules]\ngrace=\"40m\"", `config punchd.toml: rules.serious_late_after: 30m0s is shorter than rules.grace (40m0s)`},
		{"absent before serious", "[rules]\nabsent_after=\"20m\"", `config punchd.toml: rules.absent_after: 20m0s is shorter than rules.serious_late_after (30m0s)`},
		{"unit kind", "[[unit]]\nname=\"金碧村\"\nkind=\"hamlet\"", `config punchd.toml: unit[0].kind: "hamlet" is not one of office, station, village`},
		{"unit name dup", "[[unit]]\nname=\"u\"\nkind=\"office\"\n[[unit]]\nname=\"u\"\nkind=\"station\"", `config punchd.toml: unit[1].name: "u" is already the name of unit[0]`},
		{"unit leader of a station", "[[unit]]\nname=\"水务站\"\nkind=\"station\"\nleader=\"李四\"",
			`config punchd.toml: unit[0].leader: leader and secretary are a village's (包村挂点领导, 党组织书记); "水务站" is a station`},
		{"unit unknown key", "[[unit]]\nname=\"u\"\nkind=\"office\"\nleadr=\"x\"", `config punchd.toml: unit[0].leadr: unknown key`},
		{"clock unit unknown", clock + "unit=\"农技\"", `config punchd.toml: clock[0].unit: "农技" is not the name of a [[unit]]`},
		{"clock unit village", "[[unit]]\nname=\"金碧村\"\nkind=\"village\"\n" + clock + "unit=\"金碧村\"",
			`config punchd.toml: clock[0].unit: "金碧村" is a village: villages keep marks, not clocks`},
		{"points type", "[points]\nlate=\"-1\"", `config punchd.toml: points.late: is a string, want a number`},
		{"empty issuer", "[reports]\nbulletin_issuer=\"\"", `config punchd.toml: reports.bulletin_issuer: is empty`},
		{"window time", "[rules.windows]\nnoon=\"12:60\"", `config punchd.toml: rules.windows.noon: "12:60" is not a time HH:MM`},
		{"window unknown", "[rules.windows]\nlunch=\"12:30\"", `config punchd.toml: rules.windows.lunch: unknown key`},
		{"window misfit", "[rules.windows]\nnoon=\"11:00\"", `config punchd.toml: rules.windows: do not fit schedule[0]: schedule "all-year": window noon does not fit (effective 05:00 10:15 13:15 16:15 24:00)`},
		{"open misfit", "[rules.windows]\nopen=\"09:00\"", `config punchd.toml: rules.windows: do not fit schedule[0]: schedule "all-year": window open does not fit (effective 00:00 10:15 13:15 16:15 24:00)`},
		{"open time", "[rules.windows]\nopen=\"5am\"", `config punchd.toml: rules.windows.open: "5am" is not a time HH:MM`},
		{"register_within", "[rules]\nregister_within=\"soon\"", `config punchd.toml: rules.register_within: "soon" is not a duration (like "90s", "5m", "2h", "90d")`},
		{"bad override type", "[calendar]\noverrides=[{date=\"2026-05-06\", type=\"party\"}]",
			`config punchd.toml: calendar.overrides[0].type: "party" is not one of workday, makeup_workday, rest, holiday`},
		{"override no date", "[calendar]\noverrides=[{type=\"holiday\"}]", `config punchd.toml: calendar.overrides[0].date: is missing`},
		{"override dup", "[calendar]\noverrides=[{date=\"2026-05-06\", type=\"holiday\"},{date=\"2026-05-06\", type=\"rest\"}]",
			`config punchd.toml: calendar.overrides[1].date: 2026-05-06 is already overridden by calendar.overrides[0]`},
		{"clock name empty", "[[clock]]\nurl=\"zk+tcp://10.0.0.5:4370\"", `config punchd.toml: clock[0].name: is empty`},
		{"clock name wildcard", "[[clock]]\nname=\"a/b\"\nurl=\"zk+tcp://10.0.0.5:4370\"",
			`config punchd.toml: clock[0].name: "a/b" must not contain '+', '#', '/', spaces or control characters (it is an MQTT topic level)`},
		{"clock name dup", clock + clock, `config punchd.toml: clock[1].name: "c" is already the name of clock[0]`},
		{"clock url scheme", "[[clock]]\nname=\"c\"\nurl=\"tcp://10.0.0.5:4370\"",
			`config punchd.toml: clock[0].url: "tcp://10.0.0.5:4370": scheme "tcp" is not one of zk+tcp, zk+udp, zk+serial, zk+push`},
		{"clock url push without sn", "[[clock]]\nname=\"c\"\nurl=\"zk+push://0.0.0.0:8088\"",
			`config punchd.toml: clock[0].url: "zk+push://0.0.0.0:8088": sn="" is not a serial number (1..64 letters, digits, - or _)`},
		{"clock url no host", "[[clock]]\nname=\"c\"\nurl=\"zk+tcp://:4370\"",
			`config punchd.toml: clock[0].url: "zk+tcp://:4370" has no host (like zk+tcp://192.168.1.201:4370)`},
		{"clock url port", "[[clock]]\nname=\"c\"\nurl=\"zk+udp://10.0.0.5:99999\"",
			`config punchd.toml: clock[0].url: "zk+udp://10.0.0.5:99999": port "99999" is not 1..65535`},
		{"clock url serial", "[[clock]]\nname=\"c\"\nurl=\"zk+serial://ttyUSB0\"",
			`config punchd.toml: clock[0].url: "zk+serial://ttyUSB0": not a serial port: want zk+serial:///dev/ttyUSB0 (Linux) or zk+serial://COM3 (Windows), with ?baud=115200&id=1`},
		{"clock url baud", "[[clock]]\nname=\"c\"\nurl=\"zk+serial:///dev/ttyS0?baud=abc\"",
			`config punchd.toml: clock[0].url: "zk+serial:///dev/ttyS0?baud=abc": baud="abc" is not a positive number`},
		{"clock url query", "[[clock]]\nname=\"c\"\nurl=\"zk+tcp://10.0.0.5:4370?comm_key=x\"",
			`config punchd.toml: clock[0].url: "zk+tcp://10.0.0.5:4370?comm_key=x": comm_key="x" is not a number 0..4294967295`},
		{"comm key range", clock + "comm_key=4294967296", `config punchd.toml: clock[0].comm_key: 4294967296 is not in 0..4294967295`},
		{"comm key negative", clock + "comm_key=-1", `config punchd.toml: clock[0].comm_key: -1 is not in 0..4294967295`},
		{"poll too short", clock + "poll_interval=\"500ms\"", `config punchd.toml: clock[0].poll_interval: 500ms is shorter than 1s`},
		{"full pull before poll", clock + "poll_interval=\"2h\"\nfull_pull_interval=\"1h\"", `config punchd.toml: clock[0].full_pull_interval: 1h0m0s is shorter than poll_interval 2h0m0s`},
		{"timeout zero", clock + "timeout=\"0s\"", `config punchd.toml: clock[0].timeout: 0s is not a positive duration`},
		{"clock timezone", clock + "timezone=\"Mars/Olympus\"", `config punchd.toml: clock[0].timezone: "Mars/Olympus" is not a known time zone`},
		{"clear too soon", clock + "clear_log=true\nclear_older_than=\"1h\"",
			`config punchd.toml: clock[0].clear_older_than: 1h0m0s is shorter than a day: with clear_log a clock keeps at least a day of punches`},
		{"broker scheme", "[mqtt]\nbroker=\"http://x:1883\"", `config punchd.toml: mqtt.broker: "http://x:1883": scheme "http" is not one of tcp, ssl, tls, ws, wss, mqtt, mqtts`},
		{"broker no host", "[mqtt]\nbroker=\"tcp://\"", `config punchd.toml: mqtt.broker: "tcp://" needs host:port (like tcp://127.0.0.1:1883)`},
		{"broker no port", "[mqtt]\nbroker=\"tcp://10.0.0.9\"", `config punchd.toml: mqtt.broker: "tcp://10.0.0.9" needs host:port (like tcp://127.0.0.1:1883)`},
		{"tls files on tcp", "[mqtt]\nbroker=\"tcp://10.0.0.9:1883\"\nca_file=\"/ca.pem\"", `config punchd.toml: mqtt.ca_file: TLS files are set but broker "tcp://10.0.0.9:1883" is not one of ssl, tls, wss, mqtts`},
		{"topic wildcard", "[mqtt]\ntopic_prefix=\"punchd/#\"", `config punchd.toml: mqtt.topic_prefix: "punchd/#" must not contain the wildcards '+' or '#'`},
		{"topic slash", "[mqtt]\ntopic_prefix=\"/punchd\"", `config punchd.toml: mqtt.topic_prefix: "/punchd" must not start or end with '/' or have empty levels`},
		{"qos", "[mqtt]\nqos=3", `config punchd.toml: mqtt.qos: 3 is not 0, 1 or 2`},
		{"inflight", "[mqtt]\ninflight=0", `config punchd.toml: mqtt.inflight: 0 is not in 1..1000`},
		{"inflight beyond the publisher's window", "[mqtt]\ninflight=5000", `config punchd.toml: mqtt.inflight: 5000 is not in 1..1000`},
		{"cert without key", "[mqtt]\nbroker=\"ssl://10.0.0.9:8883\"\ncert_file=\"/c.pem\"", `config punchd.toml: mqtt.cert_file: cert_file and key_file go together: set both or neither`},
		{"http cert without key", "[http]\ntls_cert=\"/c.pem\"", `config punchd.toml: http.tls_cert: tls_cert and tls_key go together: set both or neither`},
		{"http listen", "[http]\nlisten=\"9810\"", `config punchd.toml: http.listen: "9810" is not host:port`},
		{"http port", "[http]\nlisten=\"127.0.0.1:http\"", `config punchd.toml: http.listen: "127.0.0.1:http": port "http" is not a number 0..65535`},
		{"store path", "[store]\npath=\"\"", `config punchd.toml: store.path: is empty`},
		{"file_at", "[reports]\nfile_at=\"first 08:00\"", `config punchd.toml: reports.file_at: "first 08:00" is not a day of month and a time "DD HH:MM"`},
		{"file_at disagrees", "[reports]\nfile_at=\"02 08:00\"\nfile_day=3", `config punchd.toml: reports.file_at: "02 08:00" disagrees with reports.file_day/file_time; set one or the other`},
		{"file_day", "[reports]\nfile_day=31", `config punchd.toml: reports.file_day: 31 is not a day 1..28 (a day every month has)`},
		{"log level", "[log]\nlevel=\"verbose\"", `config punchd.toml: log.level: "verbose" is not one of debug, info, warn, error`},
		{"log format", "[log]\nformat=\"xml\"", `config punchd.toml: log.format: "xml" is not text or json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.src), "punchd.toml")
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if line == tt.want {
					return
				}
			}
			t.Errorf("got\n%s\nwant a line\n%s", err, tt.want)
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("[site\nname = 1"), "punchd.toml")
	if !errors.Is(err, ErrSyntax) || !strings.HasPrefix(err.Error(), "config punchd.toml: line 2: not valid TOML: ") {
		t.Fatalf("err = %v", err)
	}
	_, err = Load(filepath.Join(t.TempDir(), "missing.toml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.toml") {
		t.Fatalf("err = %v", err)
	}
	for _, content := range []string{"", " \n\t\n"} {
		empty := filepath.Join(t.TempDir(), "empty.toml")
		if err := os.WriteFile(empty, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err = LoadDaemon(empty); !errors.Is(err, ErrEmpty) || !strings.HasPrefix(err.Error(), "config "+empty+": the file is empty") {
			t.Fatalf("empty file %q: err = %v", content, err)
		}
		if _, err = Load(empty); err != nil {
			t.Fatalf("empty file %q for offline tools: %v", content, err)
		}
	}
}

func TestDurationText(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "0m": 0, "90s": 90 * time.Second, "2h": 2 * time.Hour, "90d": 90 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		d, err := ParseDuration(in)
		if err != nil || d.Std() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
		b, _ := d.MarshalText()
		var back Duration
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("round trip %q -> %q -> %v, %v", in, b, back, err)
		}
	}
	for _, in := range []string{"", "d", "-1d", "5 m", "1x"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

func TestErrorsListEveryProblem(t *testing.T) {
	_, err := Parse([]byte("[site]\nnmae=1\n[rules]\ngrace=\"x\"\n"), "p.toml")
	want := "config p.toml: rules.grace: \"x\" is not a duration (like \"90s\", \"5m\", \"2h\", \"90d\")\n" +
		"config p.toml: site.nmae: unknown key"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	var ke *KeyError
	if !errors.As(err, &ke) || ke.File != "p.toml" || ke.Key != "rules.grace" {
		t.Errorf("errors.As KeyError = %+v", ke)
	}
}

func TestNestedSchedulesAndCalendar(t *testing.T) {
	dir := t.TempDir()
	hol := filepath.Join(dir, "2031.json")
	if err := os.WriteFile(hol, []byte(`{"year":2031,"papers":[],"days":[{"name":"劳动节","date":"2031-05-01","isOffDay":true}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
[[schedule]]
name = "all-year"
am_in = "08:30"
am_out = "12:00"
pm_in = "14:30"
pm_out = "18:00"
[[schedule]]
name = "summer"
from = "06-01"
to = "08-31"
am_in = "08:00"
am_out = "12:00"
pm_in = "15:00"
pm_out = "18:30"
[calendar]
overrides = [{date = "2031-05-02", type = "holiday", name = "本地"}]
holiday_files = ["` + hol + `"]
`
	cfg, err := Parse([]byte(src), "n.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	s, err := cal.Schedule(attendance.Date{Year: 2031, Month: time.June, Day: 1})
	if err != nil || s.Name != "summer" {
		t.Errorf("Schedule(06-01) = %v, %v; want summer", s.Name, err)
	}
	s, err = cal.Schedule(attendance.Date{Year: 2031, Month: time.May, Day: 31})
	if err != nil || s.Name != "all-year" {
		t.Errorf("Schedule(05-31) = %v, %v; want all-year", s.Name, err)
	}
	for d, want := range map[int]attendance.DayType{1: attendance.Holiday, 2: attendance.Holiday, 5: attendance.Workday} {
		if got, err := cal.DayType(attendance.Date{Year: 2031, Month: time.May, Day: d}); got != want || err != nil {
			t.Errorf("DayType(2031-05-%02d) = %v, %v; want %v", d, got, err, want)
		}
	}

	cfg.Calendar.HolidayFiles = []string{filepath.Join(dir, "none.json")}
	if _, err := cfg.NewCalendar(); err == nil || !strings.HasPrefix(err.Error(), "config n.toml: calendar.holiday_files[0]: ") {
		t.Errorf("missing holiday file: err = %v", err)
	}
}

func TestUnitsDecideTracking(t *testing.T) {
	src := `
[site]
display_name = "金碧镇"
[[unit]]
name = "党政办"
kind = "office"
[[unit]]
name = "农技中心"
kind = "station"
[[unit]]
name = "水务站"
kind = "station"
signatures = ["站所长审核签字"]
[[unit]]
name = "金碧村"
kind = "village"
leader = "李四"
secretary = "王五"
[[clock]]
name = "nongji"
url = "zk+tcp://10.0.0.6:4370"
unit = "农技中心"
`
	cfg, err := Parse([]byte(src), "units.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.SiteTitle() != "金碧镇" || cfg.Site.Name != "jinbi" {
		t.Errorf("title %q name %q", cfg.SiteTitle(), cfg.Site.Name)
	}
	people := []attendance.Person{
		{UserID: "1", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "2", Unit: "农技中心", Tracking: attendance.TrackStation},
		{UserID: "3", Unit: "水务站", Tracking: attendance.TrackClock},
		{UserID: "4", Unit: "金碧村", Tracking: attendance.TrackClock},
		{UserID: "5", Unit: "金碧村", Tracking: attendance.TrackExempt},
	}
	got, err := cfg.ApplyUnits(people)
	if err != nil {
		t.Fatal(err)
	}
	want := []attendance.Tracking{attendance.TrackClock, attendance.TrackClock, attendance.TrackStation, attendance.TrackVillage, attendance.TrackExempt}
	for i, p := range got {
		if p.Tracking != want[i] {
			t.Errorf("user %s in %s: tracking %s, want %s", p.UserID, p.Unit, p.Tracking, want[i])
		}
	}
	_, err = cfg.ApplyUnits([]attendance.Person{{UserID: "9", Name: "赵六", Unit: "金碧"}})
	if !errors.Is(err, ErrUnknownUnit) || err.Error() != `roster: user 9 (赵六): unit "金碧" is not a [[unit]] of the config units.toml (known: 党政办, 农技中心, 水务站, 金碧村)` {
		t.Errorf("unknown unit: %v", err)
	}
	if u, ok := cfg.UnitByName("金碧村"); !ok || u.Leader != "李四" || u.Secretary != "王五" || u.HasClock {
		t.Errorf("village = %+v", u)
	}
}
