package main

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zk/zksim/zksimtest"
	"github.com/jinbi/punchd/internal/punchio"
)

// startSim serves a simulated clock over TCP on loopback until the test ends.
func startSim(t *testing.T, cfg zksim.Config) (*zksim.Sim, string) {
	t.Helper()
	s, err := zksim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, "zk+tcp://" + zksimtest.ServeTCP(t, s)
}

func simData(t *testing.T, people, days int) zksim.Data {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	d, err := zksim.Generate(zksim.GenConfig{People: people, Days: days, Seed: 7, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestClockDumpMatchesTruth(t *testing.T) {
	s, url := startSim(t, zksim.Config{Data: simData(t, 12, 10)})
	truth := s.Truth()
	code, out, errs := runCmd(t, "", "clock", "dump", "--clock", url, "--tz", "Asia/Shanghai", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(truth.Records) || len(lines) == 0 {
		t.Fatalf("%d lines, truth has %d records", len(lines), len(truth.Records))
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if len(got) != 5 {
			t.Fatalf("line %d has fields %v, want user_id,time,state,verify,workcode", i+1, got)
		}
		r := truth.Records[i]
		want := punchio.Line{UserID: r.UserID, Time: r.Time.Format(time.RFC3339), State: r.State, Verify: r.Verify, WorkCode: r.WorkCode}
		b, _ := json.Marshal(want)
		if line != string(b) {
			t.Fatalf("line %d = %s, want %s (in the clock's order)", i+1, line, b)
		}
		if !strings.HasSuffix(got["time"].(string), "+08:00") {
			t.Fatalf("line %d time %v not in the zone's offset", i+1, got["time"])
		}
	}
	// The dump reads back as judge input.
	ps, err := punchio.ReadJSONLines(strings.NewReader(out), "dump", time.UTC)
	if err != nil || len(ps) != len(truth.Records) {
		t.Fatalf("dump does not read back: %v", err)
	}
}

func TestClockUsersMatchesTruth(t *testing.T) {
	s, url := startSim(t, zksim.Config{Data: simData(t, 15, 1)})
	truth := s.Truth()
	code, out, errs := runCmd(t, "", "clock", "users", "--clock", url, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(truth.Users) {
		t.Fatalf("%d lines, truth has %d users", len(lines), len(truth.Users))
	}
	for i, line := range lines {
		b, _ := json.Marshal(truth.Users[i])
		var got, want map[string]any
		json.Unmarshal([]byte(line), &got)
		json.Unmarshal(b, &want)
		if len(got) != 4 || got["user_id"] != want["user_id"] || got["name"] != want["name"] ||
			got["privilege"] != want["privilege"] || got["card"] != want["card"] {
			t.Errorf("line %d = %s, want %s", i+1, line, b)
		}
	}
}

func TestClockInfoAndTime(t *testing.T) {
	s, url := startSim(t, zksim.Config{Data: simData(t, 5, 2), Offset: 5 * time.Minute, CommKey: 12})
	truth := s.Truth()

	// Wrong comm key: one line naming the clock, exit 1.
	code, _, errs := runCmd(t, "", "clock", "info", "--clock", url)
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, strings.TrimPrefix(url, "zk+tcp://")) {
		t.Errorf("wrong comm key: exit %d stderr %q", code, errs)
	}

	code, out, errs := runCmd(t, "", "clock", "info", "--clock", url, "--comm-key", "12", "--tz", "Asia/Shanghai", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var info struct {
		Clock         string  `json:"clock"`
		Serial        string  `json:"serial"`
		Firmware      string  `json:"firmware"`
		Platform      string  `json:"platform"`
		Users         int     `json:"users"`
		UserCap       int     `json:"user_capacity"`
		Records       int     `json:"records"`
		RecordCap     int     `json:"record_capacity"`
		Time          string  `json:"time"`
		OffsetSeconds float64 `json:"offset_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Clock != url || info.Serial != truth.Info.Serial || info.Firmware != truth.Info.Firmware || info.Platform != truth.Info.Platform ||
		info.Users != len(truth.Users) || info.Records != len(truth.Records) || info.UserCap != 3000 || info.RecordCap != 100000 {
		t.Errorf("info = %+v, truth %+v", info, truth.Info)
	}
	if info.OffsetSeconds < 290 || info.OffsetSeconds > 310 {
		t.Errorf("offset %v s, the clock runs 300 s ahead", info.OffsetSeconds)
	}

	code, out, _ = runCmd(t, "", "clock", "info", "--clock", url, "--comm-key", "12", "--tz", "Asia/Shanghai")
	for _, want := range []string{"serial number  " + truth.Info.Serial, "firmware", "records", "clock time", "(clock ahead of this computer)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("text info lacks %q:\n%s", want, out)
		}
	}
	// The clock shows whole seconds: the offset is 5m within a second.
	if !regexp.MustCompile(`offset +\+(4m59s|5m0s|5m1s) `).MatchString(out) {
		t.Errorf("text info offset is not 5m:\n%s", out)
	}

	code, out, errs = runCmd(t, "", "clock", "time", "--clock", url, "--comm-key", "12", "--tz", "Asia/Shanghai", "--set", "--json")
	if code != 0 {
		t.Fatalf("clock time --set: exit %d: %s", code, errs)
	}
	var tj struct {
		Set          bool    `json:"set"`
		Offset       float64 `json:"offset_seconds"`
		OffsetBefore float64 `json:"offset_seconds_before"`
	}
	if err := json.Unmarshal([]byte(out), &tj); err != nil {
		t.Fatal(err)
	}
	if !tj.Set || tj.OffsetBefore < 290 || tj.Offset < -2 || tj.Offset > 2 {
		t.Errorf("clock time --set = %s", out)
	}
	if off := s.Offset(); off < -2*time.Second || off > 2*time.Second {
		t.Errorf("simulator offset after --set = %v", off)
	}
}

func TestClockUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	code, _, errs := runCmd(t, "", "clock", "dump", "--clock", "zk+tcp://"+addr, "--timeout", "2s")
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, addr) || !strings.Contains(errs, "connect") {
		t.Errorf("exit %d stderr %q: want one line naming the clock and the step", code, errs)
	}
}

func TestClockByNameFromConfig(t *testing.T) {
	s, url := startSim(t, zksim.Config{Data: simData(t, 3, 2), CommKey: 45})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "[site]\ntimezone = \"Asia/Shanghai\"\n[[clock]]\nname = \"office\"\nurl = \""+url+"\"\ncomm_key = 45\n")
	code, out, errs := runCmd(t, "", "--config", cfg, "clock", "dump", "--clock", "office")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	ps, err := punchio.ReadJSONLines(strings.NewReader(out), "dump", time.UTC)
	if err != nil || len(ps) != len(s.Truth().Records) || !strings.Contains(out, "+08:00\"") {
		t.Fatalf("dump by name: %v, %d punches, truth %d\n%s", err, len(ps), len(s.Truth().Records), out)
	}
	code, _, errs = runCmd(t, "", "clock", "dump", "--config", cfg, "--clock", "attic")
	if code != 2 || !strings.Contains(errs, `--clock "attic" is neither a URL nor the name of a [[clock]] in `+cfg) {
		t.Errorf("unknown name: exit %d stderr %q", code, errs)
	}
}

// TestClockFaults: a busy clock and a transfer cut short end with one line naming the clock and
// the step, exit 1, and no partial dump on stdout.
func TestClockFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults zksim.Faults
		step   string
	}{
		{"busy", zksim.Faults{Busy: true}, "connect"},
		{"dropped mid-transfer", zksim.Faults{DropAfterPackets: 2}, "attendance"},
		// Every answer arrives with a bad checksum: named as such, not as a clock busy at its
		// keypad; the client's retries stay off stderr.
		{"bad checksums", zksim.Faults{BadChecksums: true}, "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startSim(t, zksim.Config{Data: simData(t, 40, 30), Faults: tt.faults})
			addr := strings.TrimPrefix(url, "zk+tcp://")
			code, out, errs := runCmd(t, "", "clock", "dump", "--clock", url, "--timeout", "300ms", "--json")
			if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, addr) || !strings.Contains(errs, tt.step) {
				t.Errorf("exit %d stderr %q: want one line naming %s and %q", code, errs, addr, tt.step)
			}
			if out != "" {
				t.Errorf("partial dump written: %d bytes", len(out))
			}
			t.Logf("%s", errs)
		})
	}
}

// TestClockZoneDefaultsToSite: with neither --tz nor --config, a clock's wall time is read in the
// default site zone (Asia/Shanghai), not in this computer's zone; --tz and the config still win.
func TestClockZoneDefaultsToSite(t *testing.T) {
	saved := time.Local
	time.Local = time.UTC // a service PC set to UTC
	t.Cleanup(func() { time.Local = saved })

	s, url := startSim(t, zksim.Config{Data: simData(t, 3, 2)})
	truth := s.Truth()
	wantFirst := truth.Records[0].Time.Format(time.RFC3339)
	if !strings.HasSuffix(wantFirst, "+08:00") {
		t.Fatalf("ground truth %s is not in Shanghai time", wantFirst)
	}
	first := func(out string) string {
		t.Helper()
		var l punchio.Line
		line, _, _ := strings.Cut(out, "\n")
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("first line %q: %v", line, err)
		}
		return l.Time
	}

	code, out, errs := runCmd(t, "", "clock", "dump", "--clock", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := first(out); got != wantFirst {
		t.Errorf("no --tz on a UTC host: first punch %s, want %s", got, wantFirst)
	}

	// --tz wins.
	code, out, errs = runCmd(t, "", "clock", "dump", "--clock", url, "--tz", "UTC")
	wall := truth.Records[0].Time
	wantUTC := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, time.UTC).Format(time.RFC3339)
	if code != 0 || first(out) != wantUTC {
		t.Errorf("--tz UTC: exit %d %s first %s, want %s", code, errs, first(out), wantUTC)
	}

	// The config's [site] timezone and a [[clock]]'s own timezone win over the default.
	dir := t.TempDir()
	site := writeFile(t, dir, "site.toml", "[site]\ntimezone = \"Asia/Urumqi\"\n")
	code, out, errs = runCmd(t, "", "--config", site, "clock", "dump", "--clock", url)
	if code != 0 || !strings.HasSuffix(first(out), "+06:00") {
		t.Errorf("[site] timezone Asia/Urumqi: exit %d %s first %s", code, errs, first(out))
	}
	clk := writeFile(t, dir, "clock.toml", "[site]\ntimezone = \"Asia/Urumqi\"\n[[clock]]\nname = \"office\"\nurl = \""+url+"\"\ntimezone = \"Asia/Tokyo\"\n")
	code, out, errs = runCmd(t, "", "--config", clk, "clock", "dump", "--clock", "office")
	if code != 0 || !strings.HasSuffix(first(out), "+09:00") {
		t.Errorf("[[clock]] timezone Asia/Tokyo: exit %d %s first %s", code, errs, first(out))
	}

	// clock time and info show the host time in the same zone.
	code, out, errs = runCmd(t, "", "clock", "time", "--clock", url, "--json")
	if code != 0 || !strings.Contains(out, `"host_time":"`) || !strings.Contains(out, `+08:00","offset_seconds"`) {
		t.Errorf("clock time: exit %d %s %s", code, errs, out)
	}
}

// TestClockRecoveredFaultIsQuiet: a fault the client recovers from (a corrupted packet, once or
// the same packet of every transfer) leaves only the final count on stderr; -v logs the chunks
// and the retry.
func TestClockRecoveredFaultIsQuiet(t *testing.T) {
	for _, tt := range []struct {
		name   string
		faults zksim.Faults
	}{
		{"corrupted once", zksim.Faults{CorruptPacket: 2, Once: true}},
		{"corrupted every time", zksim.Faults{CorruptPacket: 2}},
		{"every data packet damaged on the line", zksim.Faults{CorruptEvery: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, url := startSim(t, zksim.Config{Data: simData(t, 40, 30), Faults: tt.faults})
			code, out, errs := runCmd(t, "", "clock", "dump", "--clock", url, "--timeout", "300ms")
			if want := fmt.Sprintf("%d records in ", len(s.Truth().Records)); code != 0 || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
				t.Fatalf("exit %d stderr %q: want 0 and only the final count on stderr", code, errs)
			}
			if n := strings.Count(out, "\n"); n != len(s.Truth().Records) {
				t.Errorf("%d lines, truth has %d records", n, len(s.Truth().Records))
			}
		})
	}
	_, url := startSim(t, zksim.Config{Data: simData(t, 40, 30), Faults: zksim.Faults{CorruptPacket: 2, Once: true}})
	code, _, errs := runCmd(t, "", "-v", "clock", "dump", "--clock", url, "--timeout", "300ms")
	if code != 0 || !strings.Contains(errs, "chunk failed") || !strings.Contains(errs, "chunk read") {
		t.Errorf("-v: exit %d stderr %q: want the chunks and the retry logged", code, errs)
	}
}

// TestClockDumpSkipsBadRecords: two records with impossible dates among 500 (a clock whose
// battery died once): the dump prints the good ones and says on stderr which it skipped.
func TestClockDumpSkipsBadRecords(t *testing.T) {
	s, url := startSim(t, zksim.Config{Data: simData(t, 10, 12)})
	good := len(s.Truth().Records)
	if err := s.AppendBadDates(zksim.Year2000, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendBadDates(zksim.FarFuture, 1); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, "", "clock", "dump", "--clock", url, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out, "\n"); n != good {
		t.Fatalf("%d lines, want the %d good records", n, good)
	}
	for _, want := range []string{"skipped 2 records", fmt.Sprintf("record %d: year 2000 (bad_date)", good), fmt.Sprintf("record %d: 2099-07-15", good+1)} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q does not say %q", errs, want)
		}
	}
}

// TestDumpProgress: on a terminal the progress line shows records of the total, the rate and the
// time left, redrawn in place; the final count ends it.
func TestDumpProgress(t *testing.T) {
	var b strings.Builder
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	p := &progress{w: &b, tty: true, now: func() time.Time { return now }, start: now}
	now = now.Add(10 * time.Second)
	p.update(25000, 100000)
	now = now.Add(100 * time.Millisecond)
	p.update(26000, 100000) // too soon: not redrawn
	now = now.Add(20 * time.Second)
	p.update(100000, 100000)
	p.finish(99998, 2)
	want := "\r\033[K25000/100000 records, 2500 records/s, 30s left" +
		"\r\033[K100000/100000 records, 3322 records/s, 0s left" +
		"\r\033[K99998 records in 30.1s (2 skipped)\n"
	if b.String() != want {
		t.Errorf("progress wrote %q\nwant %q", b.String(), want)
	}
	// Not a terminal: only the final count.
	b.Reset()
	p = newProgress(&b, func() time.Time { return now })
	p.update(5, 10)
	p.finish(10, 0)
	if b.String() != "10 records in 0s\n" {
		t.Errorf("not a terminal: %q", b.String())
	}
}

// TestClockUsersTextEscapes: names and ids from the clock are printed with their control bytes
// and escape sequences escaped; ids that are not valid text stay distinguishable (in the table
// and, as user_id_hex, in JSON).
func TestClockUsersTextEscapes(t *testing.T) {
	_, url := startSim(t, zksim.Config{Data: zksim.Data{Users: []zksim.User{
		{UserID: "X\xff", Name: "\x1b[2J张三"},
		{UserID: "X\xfe", Name: "李四\a"},
		{UserID: `A\x01`, Name: "王五"},
		{UserID: "A\x01", Name: "赵六"},
	}}})
	code, out, errs := runCmd(t, "", "clock", "users", "--clock", url, "--text")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, c := range []byte{0x1b, '\a', 0x01, 0xff, 0xfe} {
		if strings.IndexByte(out, c) >= 0 {
			t.Fatalf("raw byte %#x printed: %q", c, out)
		}
	}
	for _, want := range []string{`X\xff`, `X\xfe`, `\x1b[2J张三`, `李四\x07`, `A\\x01`, `A\x01`} {
		if !strings.Contains(out, want) {
			t.Errorf("table %q does not show %q", out, want)
		}
	}
	code, out, errs = runCmd(t, "", "clock", "users", "--clock", url)
	if code != 0 || !strings.Contains(out, `"user_id_hex":"58ff"`) || !strings.Contains(out, `"user_id_hex":"58fe"`) || strings.Count(out, "user_id_hex") != 2 {
		t.Errorf("JSON: exit %d %s\n%s", code, errs, out)
	}
}
