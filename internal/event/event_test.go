package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/rules"
)

var cst = time.FixedZone("CST", 8*3600)

func day(y int, m time.Month, d int) attendance.Date {
	return attendance.Date{Year: y, Month: m, Day: d}
}

func TestIDIsStableAndDistinct(t *testing.T) {
	d := day(2021, 3, 1)
	id := event.ID("jinbi", "A1023", d, attendance.AmIn, attendance.EventLate)
	// Golden: the id must never change across versions, or consumers would see new anomalies.
	// Computed outside Go: printf '15:punchd-event-v1;5:jinbi;5:A1023;10:2021-03-01;5:am_in;4:late;' | sha256sum | cut -c1-32
	const golden = "a96a28038cf0c232a0d68fd4454a6d90"
	if got := event.ID("jinbi", "A1023", d, attendance.AmIn, attendance.EventLate); got != id {
		t.Fatalf("ID not deterministic: %s then %s", id, got)
	}
	if ok, _ := regexp.MatchString(`^[0-9a-f]{32}$`, id); !ok {
		t.Fatalf("ID %q is not 32 hex characters", id)
	}
	if id != golden {
		t.Errorf("ID = %s, golden %s: the id derivation changed", id, golden)
	}
	others := []string{
		event.ID("jinbi2", "A1023", d, attendance.AmIn, attendance.EventLate),
		event.ID("jinbi", "A1024", d, attendance.AmIn, attendance.EventLate),
		event.ID("jinbi", "A1023", day(2021, 3, 2), attendance.AmIn, attendance.EventLate),
		event.ID("jinbi", "A1023", d, attendance.PmIn, attendance.EventLate),
		event.ID("jinbi", "A1023", d, attendance.AmIn, attendance.EventMissing),
		// Field boundaries matter: "ab"+"c" must not equal "a"+"bc".
		event.ID("jinbiA", "1023", d, attendance.AmIn, attendance.EventLate),
	}
	seen := map[string]bool{id: true}
	for i, o := range others {
		if seen[o] {
			t.Errorf("variant %d collides: %s", i, o)
		}
		seen[o] = true
	}
}

func TestTopics(t *testing.T) {
	p := "punchd/jinbi"
	for got, want := range map[string]string{
		event.Topic(p, attendance.EventLate):      "punchd/jinbi/events/late",
		event.EventsFilter(p):                     "punchd/jinbi/events/#",
		event.StatusTopic(p):                      "punchd/jinbi/status",
		event.ClockStatusTopic(p, "dangzhengban"): "punchd/jinbi/clocks/dangzhengban/status",
		event.DaysTopic(p):                        "punchd/jinbi/days",
		event.ReportTopic(p, 2021, time.March):    "punchd/jinbi/reports/2021-03",
		event.ReportsFilter(p):                    "punchd/jinbi/reports/#",
	} {
		if got != want {
			t.Errorf("topic %q, want %q", got, want)
		}
	}
	for _, bad := range []string{"", "a/b", "a+", "#", "x\x00"} {
		if err := event.CheckTopicLevel(bad); !errors.Is(err, event.ErrBadTopicLevel) {
			t.Errorf("CheckTopicLevel(%q) = %v, want ErrBadTopicLevel", bad, err)
		}
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", "a/+/b", "a/#"} {
		if err := event.CheckPrefix(bad); !errors.Is(err, event.ErrBadTopicLevel) {
			t.Errorf("CheckPrefix(%q) = %v, want ErrBadTopicLevel", bad, err)
		}
	}
	if err := event.CheckPrefix("punchd/jinbi"); err != nil {
		t.Errorf("CheckPrefix(punchd/jinbi) = %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func judgedDay() attendance.Day {
	d := day(2021, 3, 1)
	at := func(h, m int) time.Time { return time.Date(2021, 3, 1, h, m, 0, 0, cst) }
	return attendance.Day{
		UserID: "A1023", Date: d, DayType: attendance.Workday, Status: attendance.StatusAbnormal, Punches: 3,
		Slots: map[attendance.SlotName]attendance.Slot{
			attendance.AmIn:  {Name: attendance.AmIn, Expected: at(8, 30), Time: ptr(at(8, 42)), Result: attendance.ResultLate, Minutes: 12},
			attendance.AmOut: {Name: attendance.AmOut, Expected: at(12, 0), Result: attendance.ResultMissing},
			attendance.PmIn:  {Name: attendance.PmIn, Expected: at(14, 30), Time: ptr(at(14, 20)), Result: attendance.ResultOK},
			attendance.PmOut: {Name: attendance.PmOut, Expected: at(18, 0), Time: ptr(at(17, 15)), Result: attendance.ResultExcused, ExcusedMinutes: 45,
				Registration: ptr("R7"), Unexcused: attendance.ResultEarly},
		},
	}
}

// anomaly is what the rules judge of one slot of judgedDay.
func anomaly(t *testing.T, slot attendance.SlotName) attendance.Anomaly {
	t.Helper()
	for _, a := range rules.Events(judgedDay()) {
		if a.Slot == slot {
			return a
		}
	}
	t.Fatalf("no anomaly at %s", slot)
	return attendance.Anomaly{}
}

func TestFromAnomaly(t *testing.T) {
	d := judgedDay()
	src := event.Source{Site: "jinbi", Clock: "dangzhengban", UserID: d.UserID, Name: "张三", Unit: "党政办"}
	judged := time.Date(2021, 3, 1, 18, 30, 0, 0, cst)
	cases := []struct {
		slot     attendance.SlotName
		kind     attendance.EventKind
		severity attendance.Severity
		minutes  int
		actual   *string
		excused  bool
	}{
		{attendance.AmIn, attendance.EventLate, attendance.SeverityMinor, 12, ptr("2021-03-01T08:42:00+08:00"), false},
		{attendance.AmOut, attendance.EventMissing, attendance.SeveritySerious, 0, nil, false},
		{attendance.PmOut, attendance.EventEarly, attendance.SeverityMinor, 45, ptr("2021-03-01T17:15:00+08:00"), true},
	}
	for _, c := range cases {
		e := event.FromAnomaly(src, d.Date, anomaly(t, c.slot), 1, judged)
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", c.slot, err)
		}
		if e.Kind != c.kind || e.Severity != c.severity || e.Minutes != c.minutes || e.Excused != c.excused {
			t.Errorf("%s: got kind %s severity %s minutes %d excused %v", c.slot, e.Kind, e.Severity, e.Minutes, e.Excused)
		}
		if (e.Actual == nil) != (c.actual == nil) || (e.Actual != nil && *e.Actual != *c.actual) {
			t.Errorf("%s: actual %v, want %v", c.slot, deref(e.Actual), deref(c.actual))
		}
		if e.ID != event.ID("jinbi", "A1023", d.Date, c.slot, c.kind) {
			t.Errorf("%s: id not derived from site, user, date, slot, kind", c.slot)
		}
		if e.Expected[len(e.Expected)-6:] != "+08:00" || e.JudgedAt != "2021-03-01T18:30:00+08:00" {
			t.Errorf("%s: times not RFC 3339 with offset: %s %s", c.slot, e.Expected, e.JudgedAt)
		}
	}
	// The correction rule: a registration excuses a published late arrival -> same id, rev 2.
	late := anomaly(t, attendance.AmIn)
	e1 := event.FromAnomaly(src, d.Date, late, 1, judged)
	late.Excused, late.Registration = true, "R9"
	e2 := event.FromAnomaly(src, d.Date, late, 2, judged.Add(time.Hour))
	if e1.ID != e2.ID || e2.Rev != 2 || !e2.Excused || e2.Kind != attendance.EventLate || e2.Minutes != 12 || deref(e2.Registration) != "R9" {
		t.Errorf("correction: %+v -> %+v; want same id, rev 2, excused by R9, still late 12 min", e1, e2)
	}
}

// TestEventFollowsRules: the event package decides nothing. Whatever kind and severity the
// rules give an anomaly, the event carries, even one the rules would never give today.
func TestEventFollowsRules(t *testing.T) {
	d := judgedDay()
	src := event.Source{Site: "jinbi", UserID: d.UserID}
	judged := time.Date(2021, 3, 1, 18, 30, 0, 0, cst)
	got := rules.Events(d)
	if len(got) != 3 {
		t.Fatalf("rules.Events = %d anomalies, want 3", len(got))
	}
	for _, a := range got {
		for _, sev := range attendance.Severities {
			a.Severity = sev
			e := event.FromAnomaly(src, d.Date, a, 1, judged)
			if e.Kind != a.Kind || e.Severity != sev || e.Minutes != a.Minutes || e.Excused != a.Excused {
				t.Errorf("%s: event %s/%s/%d/%v, rules said %s/%s/%d/%v", a.Slot, e.Kind, e.Severity, e.Minutes, e.Excused,
					a.Kind, sev, a.Minutes, a.Excused)
			}
		}
	}
	// A retraction carries the kind it withdraws and the slot as judged now.
	r := event.FromAnomaly(src, d.Date, rules.Retraction(attendance.Day{}, d, attendance.PmIn, attendance.EventLate), 3, judged)
	if !r.Retracted || r.Kind != attendance.EventLate || r.ID != event.ID("jinbi", d.UserID, d.Date, attendance.PmIn, attendance.EventLate) ||
		deref(r.Actual) != "2021-03-01T14:20:00+08:00" || r.Validate() != nil {
		t.Errorf("retraction %+v", r)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestValidateRejects(t *testing.T) {
	d := judgedDay()
	good := event.FromAnomaly(event.Source{Site: "jinbi", UserID: d.UserID}, d.Date, anomaly(t, attendance.AmIn), 1, time.Date(2021, 3, 1, 9, 0, 0, 0, cst))
	for field, mod := range map[string]func(*event.Event){
		"id":        func(e *event.Event) { e.ID = "" },
		"rev":       func(e *event.Event) { e.Rev = 0 },
		"kind":      func(e *event.Event) { e.Kind = "sleepy" },
		"slot":      func(e *event.Event) { e.Slot = "noon" },
		"severity":  func(e *event.Event) { e.Severity = "awful" },
		"date":      func(e *event.Event) { e.Date = "2021-13-01" },
		"expected":  func(e *event.Event) { e.Expected = "08:30" },
		"actual":    func(e *event.Event) { e.Actual = ptr("yesterday") },
		"judged_at": func(e *event.Event) { e.JudgedAt = "" },
		"minutes":   func(e *event.Event) { e.Minutes = -1 },
		"retracted": func(e *event.Event) { e.Retracted, e.Excused = true, true },
	} {
		e := good
		mod(&e)
		if err := e.Validate(); !errors.Is(err, event.ErrBadEvent) || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: Validate() = %v", field, err)
		}
	}
}

// schema is the part of JSON Schema that docs/events.schema.json uses.
type schema struct {
	Schema     string             `json:"$schema"`
	Required   []string           `json:"required"`
	Properties map[string]propDef `json:"properties"`
}

type propDef struct {
	Type      any      `json:"type"` // string or []string
	Enum      []any    `json:"enum"`
	Pattern   string   `json:"pattern"`
	Minimum   *float64 `json:"minimum"`
	MinLength *int     `json:"minLength"`
	Format    string   `json:"format"`
}

func loadSchema(t *testing.T) schema {
	t.Helper()
	raw, err := os.ReadFile("../../docs/events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("events.schema.json: %v", err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q, want draft 2020-12", s.Schema)
	}
	return s
}

// checkAgainst is a hand check of a payload against the schema: required fields, types,
// enumerations, patterns, minimums and date-time formats.
func checkAgainst(s schema, payload []byte) []string {
	var obj map[string]any
	if err := json.Unmarshal(payload, &obj); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	for _, f := range s.Required {
		if _, ok := obj[f]; !ok {
			errs = append(errs, "missing "+f)
		}
	}
	for name, v := range obj {
		p, ok := s.Properties[name]
		if !ok {
			continue // additional properties are allowed: the payload is extended, never renamed
		}
		var types []string
		switch tt := p.Type.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, x.(string))
			}
		}
		if len(types) > 0 && !slices.Contains(types, jsonType(v)) && (jsonType(v) != "integer" || !slices.Contains(types, "number")) {
			errs = append(errs, fmt.Sprintf("%s: type %s, want %v", name, jsonType(v), types))
			continue
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
			errs = append(errs, fmt.Sprintf("%s: %v not in %v", name, v, p.Enum))
		}
		if str, ok := v.(string); ok {
			if p.Pattern != "" && !regexp.MustCompile(p.Pattern).MatchString(str) {
				errs = append(errs, fmt.Sprintf("%s: %q does not match %s", name, str, p.Pattern))
			}
			if p.MinLength != nil && len(str) < *p.MinLength {
				errs = append(errs, fmt.Sprintf("%s: shorter than %d", name, *p.MinLength))
			}
			if p.Format == "date-time" {
				if _, err := time.Parse(time.RFC3339, str); err != nil {
					errs = append(errs, fmt.Sprintf("%s: %q is not date-time", name, str))
				}
			}
		}
		if n, ok := v.(float64); ok && p.Minimum != nil && n < *p.Minimum {
			errs = append(errs, fmt.Sprintf("%s: %v below %v", name, n, *p.Minimum))
		}
	}
	slices.Sort(errs)
	return errs
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

func TestSchemaMatchesEvents(t *testing.T) {
	s := loadSchema(t)
	// Every JSON field of Event is described, and the required list is exactly the documented one.
	wantRequired := []string{"id", "rev", "kind", "site", "clock", "user_id", "name", "date", "slot",
		"expected", "actual", "minutes", "severity", "excused", "registration", "judged_at"}
	if !slices.Equal(s.Required, wantRequired) {
		t.Errorf("schema required = %v, want %v", s.Required, wantRequired)
	}
	raw, _ := json.Marshal(event.Event{Retracted: true, Unit: "x", Actual: ptr(""), ExcusedMinutes: 1, LateRegistered: true})
	var all map[string]any
	_ = json.Unmarshal(raw, &all)
	for f := range all {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("Event field %q is not in the schema", f)
		}
	}

	d := judgedDay()
	src := event.Source{Site: "jinbi", Clock: "dangzhengban", UserID: d.UserID, Name: "张三", Unit: "党政办"}
	n := 0
	for _, a := range rules.Events(d) {
		e := event.FromAnomaly(src, d.Date, a, 1, time.Date(2021, 3, 1, 18, 30, 0, 0, cst))
		b, _ := json.Marshal(e)
		if errs := checkAgainst(s, b); len(errs) > 0 {
			t.Errorf("sample %s does not match the schema: %v\n%s", a.Slot, errs, b)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("checked %d samples, want 3", n)
	}
	// A lateness partly covered by a registration recorded late: the rules' excused minutes and
	// late_registered reach the payload.
	a := attendance.Anomaly{Slot: attendance.AmIn, Kind: attendance.EventLate, Severity: attendance.SeverityMinor, Minutes: 10,
		ExcusedMinutes: 60, LateRegistered: true, Registration: "R00000003",
		Expected: time.Date(2021, 3, 1, 8, 30, 0, 0, cst), Actual: ptr(time.Date(2021, 3, 1, 9, 40, 0, 0, cst))}
	b, _ := json.Marshal(event.FromAnomaly(src, d.Date, a, 2, time.Date(2021, 3, 2, 9, 0, 0, 0, cst)))
	if errs := checkAgainst(s, b); len(errs) > 0 || !strings.Contains(string(b), `"minutes":10,`) ||
		!strings.Contains(string(b), `"excused":false,"registration":"R00000003","excused_minutes":60,"late_registered":true`) {
		t.Errorf("partly excused, late registered: %v\n%s", errs, b)
	}
	// The example payload in docs/events.md is checked too.
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile("(?s)```json\n(\\{\"id\".*?)\n```").FindAllSubmatch(doc, -1)
	if len(examples) == 0 {
		t.Fatal("docs/events.md has no ```json event example")
	}
	for _, ex := range examples {
		if errs := checkAgainst(s, ex[1]); len(errs) > 0 {
			t.Errorf("docs/events.md example does not match the schema: %v\n%s", errs, ex[1])
		}
	}
	// And the check does reject: a wrong type, a missing field, a value outside an enum.
	bad := []string{
		`{"id":"3c7eb1d3f7cc0a3a3b2e4c4c1ea8bc0e","rev":"1"}`,
		strings.Replace(string(mustJSON(t, e0(t, s))), `"kind":"late"`, `"kind":"sleepy"`, 1),
		strings.Replace(string(mustJSON(t, e0(t, s))), `"actual":"2021-03-01T08:42:00+08:00",`, ``, 1),
	}
	for _, b := range bad {
		if errs := checkAgainst(s, []byte(b)); len(errs) == 0 {
			t.Errorf("bad payload passed the schema check: %s", b)
		}
	}
}

func e0(t *testing.T, _ schema) event.Event {
	d := judgedDay()
	return event.FromAnomaly(event.Source{Site: "jinbi", Clock: "c", UserID: d.UserID, Name: "n"}, d.Date, anomaly(t, attendance.AmIn), 1,
		time.Date(2021, 3, 1, 9, 0, 0, 0, cst))
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPayloadFieldNames(t *testing.T) {
	d := judgedDay()
	p := event.FromDay("jinbi", "张三", "党政办", d, time.Date(2021, 3, 1, 18, 30, 0, 0, cst))
	b := mustJSON(t, p)
	for _, f := range []string{`"user_id":"A1023"`, `"name":"张三"`, `"unit":"党政办"`, `"date":"2021-03-01"`,
		`"day_type":"workday"`, `"status":"abnormal"`, `"am_in":{"expected":"2021-03-01T08:30:00+08:00","time":"2021-03-01T08:42:00+08:00","result":"late","minutes":12,"registration":null}`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("DayPayload lacks %s:\n%s", f, b)
		}
	}
	cs := mustJSON(t, event.ClockStatus{Clock: "dzb", State: event.ClockUp, Since: "x"})
	for _, f := range []string{`"state":"up"`, `"last_pull":null`, `"records":0`, `"capacity":0`, `"offset_seconds":0`} {
		if !strings.Contains(string(cs), f) {
			t.Errorf("ClockStatus lacks %s: %s", f, cs)
		}
	}
	st := mustJSON(t, event.Status{State: event.StateOffline, Version: "1", Reason: "lost"})
	if string(st) != `{"state":"offline","version":"1","reason":"lost"}` {
		t.Errorf("Status = %s", st)
	}
	rn := mustJSON(t, event.ReportNotice{Month: "2021-03", Counts: event.ReportCounts{Late: 3}})
	for _, f := range []string{`"month":"2021-03"`, `"counts":{"late":3,`, `"files":null`} {
		if !strings.Contains(string(rn), f) {
			t.Errorf("ReportNotice lacks %s: %s", f, rn)
		}
	}
}
