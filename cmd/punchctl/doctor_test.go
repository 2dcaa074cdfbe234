package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/mqtttest"
)

// doctorConfig writes a config for broker with a store and socket that do not exist yet.
func doctorConfig(t *testing.T, broker, extraMQTT string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	sockDir, err := os.MkdirTemp("", "pctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	return writeFile(t, dir, "punchd.toml", fmt.Sprintf(`
[site]
name = "jinbi"
timezone = "Asia/Shanghai"
roster = ""
[store]
path = %q
[api]
socket = %q
[mqtt]
broker = %q
topic_prefix = "punchd/jinbi"
%s
[[clock]]
name = "main"
url = "zk+tcp://127.0.0.1:4370"
`, filepath.Join(dir, "punchd.db"), filepath.Join(sockDir, "punchd.sock"), broker, extraMQTT)), dir
}

func runDoctorCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"doctor"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// goodMosquittoConf is a Mosquitto config as docs/operations.md asks for, writable by the user
// running the test.
func goodMosquittoConf(t *testing.T, dir string) string {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "mosquitto")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(inc, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, inc, "punchd.conf", "autosave_interval 60\nmax_queued_messages 100000\n")
	writeFile(t, dir, "mosquitto.log", "1700000000: Saving in-memory database to "+db+"/mosquitto.db.\n")
	return writeFile(t, dir, "mosquitto.conf", fmt.Sprintf("# as Debian ships it\npersistence true\npersistence_location %s/\nuser %s\nlog_dest file %s\ninclude_dir %s\n",
		db, me.Username, filepath.Join(dir, "mosquitto.log"), inc))
}

// TestDoctorAgainstMosquitto: a reachable broker that keeps a persistent session's QoS 1 message,
// no daemon and no store yet: exit 0 with the warnings said.
func TestDoctorAgainstMosquitto(t *testing.T) {
	b := mqtttest.Start(t)
	cfg, dir := doctorConfig(t, b.URL(), "")
	conf := goodMosquittoConf(t, dir)
	code, out, errs := runDoctorCmd(t, "--config", cfg, "--broker-conf", conf)
	if code != 0 || errs != "" {
		t.Fatalf("doctor = %d\n%s%s", code, out, errs)
	}
	want := []string{
		"ok    config: " + cfg + ": site jinbi, 1 clock(s), broker " + b.URL() + "\n",
		"WARN  daemon: not running (no answer on ",
		"WARN  store: no store at " + filepath.Join(dir, "punchd.db") + " yet: punchd creates it at its first start\n",
		"ok    broker: " + b.URL() + " accepts punchd's credentials",
		"ok    broker session: a QoS 1 message published while a persistent subscriber was away reached it when it came back",
		"ok    broker persistence: " + conf + ": persistence true, " + dir + "/mosquitto/ writable by ",
		"ok    broker persistence: autosave_interval 60 s\n",
		"ok    broker persistence: max_queued_messages 100000\n",
		"ok    broker persistence: no \"Error saving in-memory database\" in " + filepath.Join(dir, "mosquitto.log") + "\n",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("doctor output lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "\n") != len(want) {
		t.Errorf("doctor printed %d lines, want %d:\n%s", strings.Count(out, "\n"), len(want), out)
	}
}

// TestDoctorBrokerRefuses: credentials the broker refuses are a failure, exit 1, and the
// session check is not attempted; the right ones pass.
func TestDoctorBrokerRefuses(t *testing.T) {
	b := mqtttest.StartWith(t, mqtttest.Config{Users: map[string]string{"punchd": "s3cret"}})
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "wrong\n")
	cfg, _ := doctorConfig(t, b.URL(), fmt.Sprintf("username = \"punchd\"\npassword_file = %q", pw))
	code, out, _ := runDoctorCmd(t, "--config", cfg, "--broker-conf", goodMosquittoConf(t, t.TempDir()))
	if code != 1 || !strings.Contains(out, "FAIL  broker: "+b.URL()+": ") || strings.Contains(out, "broker session") {
		t.Errorf("doctor with a wrong password = %d\n%s", code, out)
	}

	writeFile(t, dir, "pw", "s3cret\n")
	code, out, _ = runDoctorCmd(t, "--config", cfg, "--broker-conf", goodMosquittoConf(t, t.TempDir()))
	if code != 0 || !strings.Contains(out, "ok    broker session: ") {
		t.Errorf("doctor with the right password = %d\n%s", code, out)
	}
}

// TestDoctorMosquittoConf: the broker settings at-least-once depends on, each refused with why.
func TestDoctorMosquittoConf(t *testing.T) {
	for _, c := range []struct {
		name, conf, log string
		failed          bool
		want            string
	}{
		{"persistence off", "persistence false\n", "", true,
			"FAIL  broker persistence: CONF: persistence is not true (Mosquitto's default is false)"},
		{"persistence unset", "max_queued_messages 100000\n", "", true,
			"FAIL  broker persistence: CONF: persistence is not true"},
		{"location not writable", "persistence true\npersistence_location DIR/locked/\nuser nobody\n", "", true,
			"FAIL  broker persistence: CONF: persistence_location DIR/locked/: not writable by nobody"},
		{"location missing", "persistence true\npersistence_location DIR/nowhere/\n", "", true,
			"FAIL  broker persistence: CONF: persistence_location DIR/nowhere/: stat DIR/nowhere/: no such file or directory"},
		{"defaults", "persistence true\npersistence_location DIR/\nuser ME\n", "", false,
			"WARN  broker persistence: autosave_interval 1800 s: a crash or power cut takes back up to that much (set it to 300 or less)\n" +
				"WARN  broker persistence: max_queued_messages 1000: a consumer away longer than that many events loses the rest (set 10000 or more)\n"},
		{"message size limits", "persistence true\npersistence_location DIR/\nuser ME\nautosave_interval 60\nmax_queued_messages 0\nmessage_size_limit 65536\nmax_packet_size 2000000\n", "", false,
			"WARN  broker persistence: message_size_limit 65536: Mosquitto acknowledges a bigger message and drops it: a monthly file over it reaches nobody (unset it, or set 1048576 or more)\n"},
		{"packet size limit", "persistence true\npersistence_location DIR/\nuser ME\nautosave_interval 60\nmax_queued_messages 0\nmax_packet_size 100000\n", "", false,
			"WARN  broker persistence: max_packet_size 100000: Mosquitto disconnects punchd at a bigger message: the outbox waits behind a monthly file over it (unset it, or set 1048576 or more)\n"},
		{"save errors in the log", "persistence true\npersistence_location DIR/\nuser ME\nautosave_interval 60\nmax_queued_messages 0\nlog_dest file DIR/m.log\n",
			"1700000000: Saving in-memory database to DIR/mosquitto.db.\n1700000001: Error saving in-memory database, unable to open DIR/mosquitto.db.new for writing.\n", true,
			"ok    broker persistence: max_queued_messages 0\nFAIL  broker persistence: DIR/m.log: 1700000001: Error saving in-memory database, unable to open DIR/mosquitto.db.new for writing.\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			me, err := user.Current()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "locked"), 0o700); err != nil {
				t.Fatal(err)
			}
			fill := strings.NewReplacer("DIR", dir, "ME", me.Username)
			conf := writeFile(t, dir, "mosquitto.conf", fill.Replace(c.conf))
			if c.log != "" {
				writeFile(t, dir, "m.log", fill.Replace(c.log))
			}
			var out bytes.Buffer
			d := &doctor{w: &out}
			d.mosquitto(conf)
			want := strings.NewReplacer("DIR", dir, "CONF", conf).Replace(c.want)
			if d.failed != c.failed || !strings.Contains(out.String(), want) {
				t.Errorf("failed %v, want %v; output lacks %q:\n%s", d.failed, c.failed, want, out.String())
			}
		})
	}
}

// TestDoctorFindsTheRunningMosquitto: with no --broker-conf, the broker persistence checked is that
// of the Mosquitto listening on the configured port — here one started without persistence, which
// /etc/mosquitto/mosquitto.conf knows nothing about.
func TestDoctorFindsTheRunningMosquitto(t *testing.T) {
	b := mqtttest.StartWith(t, mqtttest.Config{NoPersistence: true})
	if runningMosquittoConf("1") != "" {
		t.Error("a Mosquitto config found for port 1")
	}
	if got := runningMosquittoConf(brokerPort(b.URL())); got != b.ConfigPath() {
		t.Skipf("the running broker's config not found through /proc (%q): not Linux, or /proc hidden", got)
	}
	cfg, _ := doctorConfig(t, b.URL(), "")
	code, out, _ := runDoctorCmd(t, "--config", cfg)
	want := "FAIL  broker persistence: " + b.ConfigPath() + ": persistence is not true"
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("doctor against a broker without persistence = %d, want 1 and %q:\n%s", code, want, out)
	}
}
