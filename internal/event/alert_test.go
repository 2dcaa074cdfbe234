package event_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/event"
)

func TestAlertSchema(t *testing.T) {
	raw, err := os.ReadFile("../../docs/alerts.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("alerts.schema.json: %v", err)
	}
	if len(s.Properties["kind"].Enum) != len(event.AlertKinds) {
		t.Fatalf("schema kinds %v, want %v", s.Properties["kind"].Enum, event.AlertKinds)
	}
	for i, k := range event.AlertKinds {
		if s.Properties["kind"].Enum[i] != string(k) {
			t.Errorf("schema kind %d = %v, want %s", i, s.Properties["kind"].Enum[i], k)
		}
	}
	n, f := 3, 1.5
	all := event.ClockAlert{ID: "x", Records: &n, RecordsWas: &n, Capacity: &n, UserID: "u", Name: "n", Privilege: &n, PrivilegeWas: &n,
		OffsetSeconds: &f, OffsetWasSeconds: &f, Serial: "s"}
	var fields map[string]any
	_ = json.Unmarshal(mustJSON(t, all), &fields)
	for name := range fields {
		if _, ok := s.Properties[name]; !ok {
			t.Errorf("ClockAlert field %q is not in the schema", name)
		}
	}

	at := time.Date(2021, 3, 1, 8, 43, 0, 0, cst)
	samples := [][]byte{mustJSON(t, event.ClockAlert{ID: event.AlertID("jinbi", "dzb", event.AlertTimeMoved, "", at), Kind: event.AlertTimeMoved,
		Site: "jinbi", Clock: "dzb", At: at.Format(time.RFC3339), Detail: "moved", OffsetSeconds: &f, OffsetWasSeconds: &f})}
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)## Clock alerts\n.*?```\n(.*?)```").FindSubmatch(doc)
	if section == nil {
		t.Fatal("docs/events.md has no Clock alerts section with examples")
	}
	for _, line := range regexp.MustCompile(`(?m)^\{.*\}$`).FindAll(section[1], -1) {
		samples = append(samples, line)
		var a event.ClockAlert
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatalf("docs example %s: %v", line, err)
		}
		when, _ := time.Parse(time.RFC3339, a.At)
		if id := event.AlertID(a.Site, a.Clock, a.Kind, a.UserID, when); a.ID != id {
			t.Errorf("docs example %s: id %s, AlertID gives %s", a.Kind, a.ID, id)
		}
	}
	if len(samples) < 4 {
		t.Fatalf("%d samples, want the docs' three examples too", len(samples))
	}
	for _, b := range samples {
		if errs := checkAgainst(s, b); len(errs) > 0 {
			t.Errorf("alert %s does not match the schema: %v", b, errs)
		}
	}
	bad := `{"id":"5d0c3f1f2b8e0d7a9c1e4b6a8f2d3c10","kind":"clock_sad","site":"jinbi","clock":"d","at":"2021-03-01T08:43:00+08:00","detail":"x"}`
	if errs := checkAgainst(s, []byte(bad)); !slices.ContainsFunc(errs, func(e string) bool { return regexp.MustCompile(`^kind:`).MatchString(e) }) {
		t.Errorf("an unknown kind passed the schema check: %v", errs)
	}
}

func TestAlertID(t *testing.T) {
	at := time.Date(2021, 3, 1, 8, 43, 0, 0, cst)
	id := event.AlertID("jinbi", "dzb", event.AlertUserEnrolled, "900", at)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || id != event.AlertID("jinbi", "dzb", event.AlertUserEnrolled, "900", at.UTC()) {
		t.Errorf("AlertID = %q: 32 hex digits, the same for the same instant in any zone", id)
	}
	for _, other := range []string{
		event.AlertID("jinbi", "dzb", event.AlertUserRemoved, "900", at),
		event.AlertID("jinbi", "dzb", event.AlertUserEnrolled, "901", at),
		event.AlertID("jinbi", "dzb", event.AlertUserEnrolled, "900", at.Add(time.Second)),
		event.AlertID("jinbi", "dzbx", event.AlertUserEnrolled, "900", at),
	} {
		if other == id {
			t.Error("two different alerts share an id")
		}
	}
}
