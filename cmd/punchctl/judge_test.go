package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
)

const judgePunches = `{"user_id":"1001","time":"2026-05-06T08:29:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-06T08:30:10+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-06T12:01:00+08:00","state":1,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-06T14:28:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-06T18:05:00+08:00","state":1,"verify":1,"workcode":0}
{"user_id":"1002","time":"2026-05-06T08:45:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1002","time":"2026-05-06T17:30:00+08:00","state":1,"verify":1,"workcode":0}
{"user_id":"9999","time":"2026-05-06T09:00:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1004","time":"2026-05-06T09:00:00+08:00","state":0,"verify":1,"workcode":0}

{"user_id":"1001","time":"2026-05-09T08:31:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-09T12:01:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-09T12:40:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-09T18:00:00+08:00","state":0,"verify":1,"workcode":0}
{"user_id":"1001","time":"2026-05-10T10:00:00+08:00","state":0,"verify":1,"workcode":0}
`

const judgeRoster = "user_id,name,post,unit,tracking\n" +
	"1001,张三,主任,党政办,clock\n" +
	"1002,李四,干事,党政办,clock\n" +
	"1003,王五,干事,党政办,\n" +
	"1004,赵六,,便民中心,village\n"

const judgeRegs = `{"user_id":"1003","kind":"trip","from":"2026-05-07","to":"2026-05-07","reason":"县里开会","registered_by":"党政办"}
{"id":"BK-1","user_id":"1002","kind":"makeup","from":"2026-05-06T12:02:00+08:00","reason":"忘打卡","registered_by":"党政办"}
`

type jslot struct {
	Time         *string         `json:"time"`
	Result       string          `json:"result"`
	Minutes      int             `json:"minutes"`
	Registration json.RawMessage `json:"registration"`
}

type jday struct {
	UserID  string           `json:"user_id"`
	Date    string           `json:"date"`
	DayType string           `json:"day_type"`
	Status  string           `json:"status"`
	Slots   map[string]jslot `json:"slots"`
}

// TestJudgeEndToEnd judges a small office over five days, each expectation worked out by hand
// from the default rules (08:30/12:00/14:30/18:00, grace 0, serious 30m, absent 2h, repeats 2m)
// and the 2026 calendar (05-09 is a make-up Saturday, 05-10 a Sunday).
func TestJudgeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "[site]\nname = \"jinbi\"\ntimezone = \"Asia/Shanghai\"\n")
	punches := writeFile(t, dir, "punches.jsonl", judgePunches)
	roster := writeFile(t, dir, "roster.csv", judgeRoster)
	regs := writeFile(t, dir, "regs.jsonl", judgeRegs)

	code, out, errs := runCmd(t, "", "judge", "--config", cfg, "--punches", punches, "--roster", roster,
		"--registrations", regs, "--from", "2026-05-06", "--to", "2026-05-10", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "not on the roster, not judged: 9999 (1)") {
		t.Errorf("stderr does not name the unknown puncher: %q", errs)
	}
	var days []jday
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var d jday
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields() // exactly the contract's fields
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		days = append(days, d)
	}
	get := func(user, date string) jday {
		t.Helper()
		for _, d := range days {
			if d.UserID == user && d.Date == date {
				return d
			}
		}
		t.Fatalf("no line for %s on %s", user, date)
		return jday{}
	}
	type want struct {
		time    string // "" = null
		result  string
		minutes int
		reg     string // substring of the registration JSON; "" = null
	}
	check := func(d jday, dayType, status string, slots map[string]want) {
		t.Helper()
		if d.DayType != dayType || d.Status != status {
			t.Errorf("%s %s: day_type %s status %s, want %s %s", d.UserID, d.Date, d.DayType, d.Status, dayType, status)
		}
		if len(d.Slots) != len(slots) {
			t.Errorf("%s %s: %d slots, want %d: %+v", d.UserID, d.Date, len(d.Slots), len(slots), d.Slots)
		}
		for name, w := range slots {
			s, ok := d.Slots[name]
			if !ok {
				t.Errorf("%s %s: no slot %s", d.UserID, d.Date, name)
				continue
			}
			gotTime := ""
			if s.Time != nil {
				gotTime = *s.Time
			}
			if gotTime != w.time || s.Result != w.result || s.Minutes != w.minutes {
				t.Errorf("%s %s %s: time %q result %s minutes %d, want %q %s %d", d.UserID, d.Date, name, gotTime, s.Result, s.Minutes, w.time, w.result, w.minutes)
			}
			switch reg := string(s.Registration); {
			case w.reg == "" && reg != "null":
				t.Errorf("%s %s %s: registration %s, want null", d.UserID, d.Date, name, reg)
			case w.reg != "" && !strings.Contains(reg, w.reg):
				t.Errorf("%s %s %s: registration %s, want one with %s", d.UserID, d.Date, name, reg, w.reg)
			}
		}
	}
	absentAll := map[string]want{"am_in": {"", "absent", 0, ""}, "am_out": {"", "absent", 0, ""}, "pm_in": {"", "absent", 0, ""}, "pm_out": {"", "absent", 0, ""}}

	// 1001: on time all day; the 08:30:10 punch is a repeat of 08:29 (within 2m) and changes nothing.
	check(get("1001", "2026-05-06"), "workday", "normal", map[string]want{
		"am_in":  {"2026-05-06T08:29:00+08:00", "ok", 0, ""},
		"am_out": {"2026-05-06T12:01:00+08:00", "ok", 0, ""},
		"pm_in":  {"2026-05-06T14:28:00+08:00", "ok", 0, ""},
		"pm_out": {"2026-05-06T18:05:00+08:00", "ok", 0, ""},
	})
	check(get("1001", "2026-05-07"), "workday", "absent", absentAll)
	// make-up Saturday: late by a minute; 12:01 leaves for lunch, 12:40 is the afternoon arrival.
	check(get("1001", "2026-05-09"), "makeup_workday", "abnormal", map[string]want{
		"am_in":  {"2026-05-09T08:31:00+08:00", "late", 1, ""},
		"am_out": {"2026-05-09T12:01:00+08:00", "ok", 0, ""},
		"pm_in":  {"2026-05-09T12:40:00+08:00", "ok", 0, ""},
		"pm_out": {"2026-05-09T18:00:00+08:00", "ok", 0, ""},
	})
	// Sunday with a punch: kept, a rest day, no anomaly. The contract's status is one of
	// normal|abnormal|absent|excused (this used to say "rest", which is not in it) and all four
	// slot keys are always there.
	check(get("1001", "2026-05-10"), "rest", "normal", map[string]want{
		"am_in":  {"2026-05-10T10:00:00+08:00", "ok", 0, ""},
		"am_out": {"", "ok", 0, ""},
		"pm_in":  {"", "ok", 0, ""},
		"pm_out": {"", "ok", 0, ""},
	})
	// 1002: 15 minutes late, noon punch forgotten but made up (补卡 BK-1), no afternoon arrival,
	// left 30 minutes early.
	check(get("1002", "2026-05-06"), "workday", "abnormal", map[string]want{
		"am_in":  {"2026-05-06T08:45:00+08:00", "late", 15, ""},
		"am_out": {"2026-05-06T12:02:00+08:00", "ok", 0, `"id":"BK-1","kind":"makeup"`},
		"pm_in":  {"", "missing", 0, ""},
		"pm_out": {"2026-05-06T17:30:00+08:00", "early", 30, ""},
	})
	// 1003: no punch at all is an absent day; the trip registered for 05-07 excuses that day.
	check(get("1003", "2026-05-06"), "workday", "absent", absentAll)
	excused := want{"", "excused", 0, `"id":"regs.jsonl:1","kind":"trip"`}
	check(get("1003", "2026-05-07"), "workday", "excused", map[string]want{"am_in": excused, "am_out": excused, "pm_in": excused, "pm_out": excused})

	// 1004 is village-tracked, 9999 not on the roster: never judged. Nobody else has a line on
	// the Sunday. 1001, 1002, 1003 × 4 working days + 1001's Sunday.
	for _, d := range days {
		if d.UserID == "1004" || d.UserID == "9999" || (d.Date == "2026-05-10" && d.UserID != "1001") {
			t.Errorf("unexpected line %+v", d)
		}
	}
	if len(days) != 13 {
		t.Errorf("%d lines, want 13", len(days))
	}
	// Person by person, date by date.
	if days[0].UserID != "1001" || days[0].Date != "2026-05-06" || days[12].UserID != "1003" || days[12].Date != "2026-05-09" {
		t.Errorf("order: first %s %s, last %s %s", days[0].UserID, days[0].Date, days[12].UserID, days[12].Date)
	}
}

func TestJudgeWithoutRosterOrRange(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "")
	// From stdin; the span is the punches' (05-06..05-08, 05-07 and 05-08 absent for both).
	code, out, errs := runCmd(t,
		`{"user_id":"B2","time":"2026-05-06T08:00:00+08:00"}`+"\n"+`{"user_id":"A1","time":"2026-05-08T18:30:00+08:00"}`+"\n",
		"judge", "--config", cfg, "--punches", "-", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d jday
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		got = append(got, d.UserID+" "+d.Date+" "+d.Status)
	}
	want := []string{
		"A1 2026-05-06 absent", "A1 2026-05-07 absent", "A1 2026-05-08 abnormal",
		"B2 2026-05-06 abnormal", "B2 2026-05-07 absent", "B2 2026-05-08 absent",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestJudgeRegistrationsAndEarlyPunch: a leave 08:30–09:30 and an arrival at 09:40 count 10
// minutes, not 70; the registration's via, approved_by and registered_at come from the file and a
// registration recorded a week later is late_registered; a punch at 00:01 (leaving after overtime)
// is not the next day's arrival and is listed as uncounted.
func TestJudgeRegistrationsAndEarlyPunch(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "[site]\nname = \"jinbi\"\ntimezone = \"Asia/Shanghai\"\n")
	punches := writeFile(t, dir, "punches.jsonl", `{"user_id":"1001","time":"2026-05-06T09:40:00+08:00"}
{"user_id":"1001","time":"2026-05-06T12:01:00+08:00"}
{"user_id":"1001","time":"2026-05-06T14:28:00+08:00"}
{"user_id":"1001","time":"2026-05-06T18:05:00+08:00"}
{"user_id":"1001","time":"2026-05-07T00:01:10+08:00"}
{"user_id":"1001","time":"2026-05-07T09:20:00+08:00"}
{"user_id":"1001","time":"2026-05-07T12:01:00+08:00"}
`)
	regs := writeFile(t, dir, "regs.jsonl", `{"id":"L1","user_id":"1001","kind":"leave","from":"2026-05-06 08:30","to":"2026-05-06 09:30","reason":"看病","registered_by":"党政办","via":"written","approved_by":"李镇长","registered_at":"2026-05-06 08:00"}
{"id":"T1","user_id":"1001","kind":"trip","from":"2026-05-07 13:00","to":"2026-05-07","reason":"县里","registered_by":"党政办","via":"phone","approved_by":"李镇长","registered_at":"2026-05-14 10:00"}
`)
	code, out, errs := runCmd(t, "", "judge", "--config", cfg, "--punches", punches, "--registrations", regs, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	type reg struct {
		ID             string  `json:"id"`
		Via            string  `json:"via"`
		ApprovedBy     string  `json:"approved_by"`
		RegisteredAt   *string `json:"registered_at"`
		LateRegistered bool    `json:"late_registered"`
	}
	type slot struct {
		Time           *string `json:"time"`
		Result         string  `json:"result"`
		Minutes        int     `json:"minutes"`
		ExcusedMinutes int     `json:"excused_minutes"`
		Registration   *reg    `json:"registration"`
	}
	type day struct {
		Date      string          `json:"date"`
		Status    string          `json:"status"`
		Slots     map[string]slot `json:"slots"`
		Uncounted []struct {
			Time   string `json:"time"`
			Reason string `json:"reason"`
		} `json:"uncounted"`
	}
	var days []day
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d day
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		days = append(days, d)
	}
	if len(days) != 2 {
		t.Fatalf("%d days:\n%s", len(days), out)
	}
	in := days[0].Slots["am_in"]
	if in.Result != "late" || in.Minutes != 10 || in.ExcusedMinutes != 60 || in.Registration == nil ||
		in.Registration.ID != "L1" || in.Registration.Via != "written" || in.Registration.ApprovedBy != "李镇长" ||
		in.Registration.RegisteredAt == nil || *in.Registration.RegisteredAt != "2026-05-06T08:00:00+08:00" || in.Registration.LateRegistered {
		t.Errorf("05-06 am_in: %+v %+v", in, in.Registration)
	}
	d := days[1]
	if in := d.Slots["am_in"]; in.Time == nil || *in.Time != "2026-05-07T09:20:00+08:00" || in.Result != "serious_late" || in.Minutes != 50 {
		t.Errorf("05-07 am_in: %+v", in)
	}
	if len(d.Uncounted) != 1 || d.Uncounted[0].Time != "2026-05-07T00:01:10+08:00" || d.Uncounted[0].Reason != "before_open" {
		t.Errorf("05-07 uncounted: %+v", d.Uncounted)
	}
	for _, n := range []string{"pm_in", "pm_out"} {
		if s := d.Slots[n]; s.Result != "excused" || s.Registration == nil || s.Registration.Via != "phone" || !s.Registration.LateRegistered {
			t.Errorf("05-07 %s: %+v %+v", n, s, s.Registration)
		}
	}
	// The line for reading says the same.
	code, out, errs = runCmd(t, "", "judge", "--config", cfg, "--punches", punches, "--registrations", regs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"am_in 09:40 late 10min (60min excused) (leave L1)", "(trip T1, registered late)",
		"[00:01:10 before the day opens ([rules.windows] open): not counted]"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestJudgeBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "")
	good := writeFile(t, dir, "good.jsonl", judgePunches)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad punch line", []string{"--punches", writeFile(t, dir, "p.jsonl", judgePunches+"{\"user_id\":\"1\",\"time\":\"yesterday\"}\n")}, 1,
			"p.jsonl:16: bad line: \"time\": \"yesterday\" is not a time"},
		{"bad registration line", []string{"--punches", good, "--registrations", writeFile(t, dir, "r.jsonl", "{\"user_id\":\"1001\",\"kind\":\"trip\",\"from\":\"2026-05-07\",\"to\":\"2026-05-06\"}\n")}, 1,
			"r.jsonl:1: bad line: to 2026-05-06T23:59:59+08:00 is before from 2026-05-07T00:00:00+08:00"},
		{"registration for unknown user", []string{"--punches", good, "--roster", writeFile(t, dir, "ro.csv", judgeRoster),
			"--registrations", writeFile(t, dir, "u.jsonl", "\n{\"user_id\":\"7\",\"kind\":\"leave\",\"from\":\"2026-05-07\",\"to\":\"2026-05-07\"}\n")}, 1,
			"u.jsonl:2: bad line: user_id \"7\" is not on the roster"},
		{"roster duplicate", []string{"--punches", good, "--roster", writeFile(t, dir, "dup.csv", judgeRoster+"1001,again,,,\n")}, 1,
			"roster " + dir + "/dup.csv:6: bad roster: duplicate user_id \"1001\" (first on line 2)"},
		{"roster missing column", []string{"--punches", good, "--roster", writeFile(t, dir, "col.csv", "user_id,name\n1,a\n")}, 1,
			"col.csv:1: bad roster: missing column post"},
		{"missing file", []string{"--punches", dir + "/none.jsonl"}, 1, "none.jsonl: no such file or directory"},
		{"bad date", []string{"--punches", good, "--from", "2026-5-6", "--to", "2026-05-08"}, 2, `--from: "2026-5-6" is not a date YYYY-MM-DD`},
		{"reversed range", []string{"--punches", good, "--from", "2026-05-08", "--to", "2026-05-06"}, 2, "--to 2026-05-06 is before --from 2026-05-08"},
		{"no punches flag", nil, 2, "--punches FILE is required"},
		{"bad config", []string{"--punches", good, "--config", writeFile(t, dir, "bad.toml", "[rules]\ngrace = \"x\"\n")}, 1, "bad.toml: rules.grace: \"x\" is not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", append([]string{"judge", "--config", cfg, "--json"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", code, errs, tt.code, tt.want)
			}
			if out != "" {
				t.Errorf("judged half the data: %q", out)
			}
		})
	}
}

// BenchmarkJudgeMonth judges a month for 200 people (four punches a working day, 2026-03) from
// files, the whole command: read, judge, write JSON.
func BenchmarkJudgeMonth(b *testing.B) {
	punches, cfg := monthOfPunches(b)
	b.ResetTimer()
	for b.Loop() {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"judge", "--config", cfg, "--punches", punches, "--json"}, nil, &out, &errb); code != 0 {
			b.Fatal(errb.String())
		}
	}
}

// TestJudgeHolidayContract: a holiday with punches is a "normal" day (day_type "holiday") with all
// four slot keys; a village-tracked person's punches on it (status not_judged) give no line; the
// help documents the format.
func TestJudgeHolidayContract(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "[site]\nname = \"jinbi\"\ntimezone = \"Asia/Shanghai\"\n")
	punches := writeFile(t, dir, "p.jsonl", `{"user_id":"1001","time":"2026-05-01T09:00:00+08:00"}
{"user_id":"1001","time":"2026-05-01T17:00:00+08:00"}
{"user_id":"1004","time":"2026-05-01T09:10:00+08:00"}
`)
	roster := writeFile(t, dir, "roster.csv", judgeRoster)
	code, out, errs := runCmd(t, "", "judge", "--config", cfg, "--punches", punches, "--roster", roster, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line (1001 on the holiday), got %d:\n%s", len(lines), out)
	}
	var d jday
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.UserID != "1001" || d.Date != "2026-05-01" || d.DayType != "holiday" || d.Status != "normal" {
		t.Errorf("line %s", lines[0])
	}
	want := map[string]string{"am_in": "2026-05-01T09:00:00+08:00", "am_out": "", "pm_in": "", "pm_out": "2026-05-01T17:00:00+08:00"}
	if len(d.Slots) != 4 {
		t.Errorf("%d slot keys, want 4: %s", len(d.Slots), lines[0])
	}
	for name, wt := range want {
		s, ok := d.Slots[name]
		got := ""
		if ok && s.Time != nil {
			got = *s.Time
		}
		if !ok || got != wt || s.Result != "ok" || s.Minutes != 0 || string(s.Registration) != "null" {
			t.Errorf("slot %s = %+v (present %v), want time %q result ok", name, s, ok, wt)
		}
	}
	// The raw line has "time":null for the slots without a punch (not a missing key).
	if strings.Count(lines[0], `"time":null`) != 2 {
		t.Errorf("want two \"time\":null: %s", lines[0])
	}

	code, out, _ = runCmd(t, "", "judge", "-h")
	for _, s := range []string{`"status"`, "normal | abnormal | absent | excused", "rest | holiday", `"time": null`, "result is ok"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Errorf("judge -h lacks %q:\n%s", s, out)
		}
	}
	code, out, _ = runCmd(t, "", "help", "judge")
	if code != 0 || !strings.Contains(out, "A rest day or holiday with punches is normal.") {
		t.Errorf("help judge:\n%s", out)
	}
}

// monthOfPunches writes March 2026 for 200 people (four punches a working day, in dump format) and
// an empty config, for the benchmarks of whole commands.
func monthOfPunches(b *testing.B) (punches, cfg string) {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	for p := range 200 {
		for d := 1; d <= 31; d++ {
			for _, hm := range []string{"08:2", "12:0", "14:2", "18:0"} {
				fmt.Fprintf(&sb, `{"user_id":"%d","time":"2026-03-%02dT%s%d:00+08:00","state":0,"verify":1,"workcode":0}`+"\n", 1000+p, d, hm, (p+d)%10)
			}
		}
	}
	punches = filepath.Join(dir, "p.jsonl")
	cfg = filepath.Join(dir, "c.toml")
	if err := os.WriteFile(punches, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return punches, cfg
}

// TestWarnNoDataOncePerYear: judge and report say each year without holiday data once, in the
// calendar's words, however many people and dates ran into it.
func TestWarnNoDataOncePerYear(t *testing.T) {
	cfg := config.Default()
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, s := range []string{"2031-01-05", "2031-01-06", "2032-03-01"} {
		d, _ := attendance.ParseDate(s)
		if _, err := cal.DayType(d); err != nil {
			errs = append(errs, err)
		}
	}
	var got []string
	warned := map[int]bool{}
	for range 3 { // three people
		warnNoData(errors.Join(errs...), warned, func(s string) { got = append(got, s) })
	}
	warnNoData(errors.New("something else"), warned, func(s string) { got = append(got, s) })
	if len(got) != 2 || !strings.Contains(got[0], "2031") || !strings.Contains(got[1], "2032") || !strings.Contains(got[0], "holiday_files") {
		t.Errorf("warnings %q, want one for 2031 and one for 2032", got)
	}
}
