// Package event defines what punchd publishes over MQTT: the anomaly event with its stable id,
// the daemon and clock status payloads, the judged day and the monthly report notice, and the
// topic of each. docs/events.md is the prose contract; docs/events.schema.json is the schema of
// the anomaly event. Field names and topics here are checked from outside: extend, never rename.
//
// It owns encoding only. It must not import the store, the MQTT client or the rules, and it
// decides nothing: an event's kind and severity are internal/rules' (attendance.Anomaly), and
// FromAnomaly copies them. The daemon hands the bytes to the outbox.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Status states.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// Clock states.
const (
	ClockUp   = "up"
	ClockDown = "down"
)

// Errors returned by this package.
var (
	// ErrBadTopicLevel: a prefix, clock name or month cannot be used as an MQTT topic level.
	ErrBadTopicLevel = errors.New("event: bad topic level")
	// ErrBadEvent: an event misses a required field or has a value outside its enumeration.
	ErrBadEvent = errors.New("event: bad event")
)

// Event is one anomaly of one slot of one person's day, published on {prefix}/events/{kind}
// at [mqtt] qos (1 by default), not retained. The same anomaly always has the same ID; a changed judgement is
// published again with the same ID and a higher Rev.
type Event struct {
	ID           string               `json:"id"`
	Rev          int                  `json:"rev"`
	Kind         attendance.EventKind `json:"kind"` // late|early|missing|absent, or of a unit: conflict|village_absent (no slot)
	Site         string               `json:"site"`
	Clock        string               `json:"clock"`
	UserID       string               `json:"user_id"`
	Name         string               `json:"name"`
	Unit         string               `json:"unit,omitempty"`
	Date         string               `json:"date"`     // YYYY-MM-DD
	Slot         string               `json:"slot"`     // am_in|am_out|pm_in|pm_out
	Expected     string               `json:"expected"` // RFC 3339 with offset
	Actual       *string              `json:"actual"`   // RFC 3339 with offset; null when no punch counted
	Minutes      int                  `json:"minutes"`
	Severity     attendance.Severity  `json:"severity"` // minor|serious
	Excused      bool                 `json:"excused"`
	Registration *string              `json:"registration"` // id of the registration that excused it (or excused_minutes of it)
	// ExcusedMinutes are minutes of a late arrival or early departure a registration covers while
	// the rest (minutes) still counts; 0 (absent) otherwise. Never counted.
	ExcusedMinutes int `json:"excused_minutes,omitempty"`
	// LateRegistered: the registration was recorded more than [rules] register_within after the
	// slot's expected time. It still excuses.
	LateRegistered bool `json:"late_registered,omitempty"`
	// Retracted is set on a correction when the anomaly no longer stands at all (a punch that
	// arrived late shows the person was on time); consumers should strike the earlier revisions.
	// Never together with Excused.
	Retracted bool   `json:"retracted,omitempty"`
	JudgedAt  string `json:"judged_at"` // RFC 3339 with offset
	// Verify is how the punch in Actual was verified: fingerprint, card, password, face, palm or
	// other; absent when no clock punch counted. A password punch by someone who always uses the
	// finger is how buddy punching (代打卡) shows.
	Verify string `json:"verify,omitempty"`
}

// ID is the stable identity of an anomaly: the same site, person, date, slot and kind give the
// same id across restarts, re-pulls and re-judging. It is the first 16 bytes of a SHA-256 over
// the fields, hex encoded (32 characters).
func ID(site, userID string, date attendance.Date, slot attendance.SlotName, kind attendance.EventKind) string {
	h := sha256.New()
	for _, s := range []string{"punchd-event-v1", site, userID, date.String(), string(slot), string(kind)} {
		// Length-prefix each field so that no two field lists hash the same bytes.
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Validate checks the fields every event must carry and the enumerations.
func (e Event) Validate() error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrBadEvent, field, why) }
	switch {
	case e.ID == "":
		return bad("id", "is empty")
	case e.Rev < 1:
		return bad("rev", fmt.Sprintf("is %d, must be >= 1", e.Rev))
	case !slices.Contains(attendance.EventKinds, e.Kind) && !slices.Contains(attendance.UnitEventKinds, e.Kind):
		return bad("kind", fmt.Sprintf("%q is not one of %s", e.Kind, joinKinds(slices.Concat(attendance.EventKinds, attendance.UnitEventKinds))))
	case e.Site == "":
		return bad("site", "is empty")
	case e.UserID == "":
		return bad("user_id", "is empty")
	case slices.Contains(attendance.UnitEventKinds, e.Kind) && e.Slot != "":
		return bad("slot", fmt.Sprintf("%q: a %s event is of the whole day and has no slot", e.Slot, e.Kind))
	case !slices.Contains(attendance.UnitEventKinds, e.Kind) && !slices.Contains(attendance.Slots[:], attendance.SlotName(e.Slot)):
		return bad("slot", fmt.Sprintf("%q is not one of am_in, am_out, pm_in, pm_out", e.Slot))
	case !slices.Contains(attendance.Severities, e.Severity):
		return bad("severity", fmt.Sprintf("%q is not minor or serious", e.Severity))
	case e.Minutes < 0:
		return bad("minutes", "is negative")
	case e.ExcusedMinutes < 0:
		return bad("excused_minutes", "is negative")
	case e.Retracted && e.Excused:
		return bad("retracted", "and excused in one revision (retracted: the anomaly no longer exists; excused: it exists and is excused)")
	}
	if _, err := attendance.ParseDate(e.Date); err != nil {
		return bad("date", err.Error())
	}
	for f, v := range map[string]string{"expected": e.Expected, "judged_at": e.JudgedAt} {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return bad(f, fmt.Sprintf("%q is not RFC 3339", v))
		}
	}
	if e.Actual != nil {
		if _, err := time.Parse(time.RFC3339, *e.Actual); err != nil {
			return bad("actual", fmt.Sprintf("%q is not RFC 3339", *e.Actual))
		}
	}
	return nil
}

func joinKinds(kinds []attendance.EventKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Source says where an anomaly came from, for FromAnomaly.
type Source struct {
	Site   string // [site] name
	Clock  string // the configured name of the clock the person punches on
	UserID string // the person's clock user id
	Name   string // the person's name
	Unit   string // the person's unit; may be empty
}

// FromAnomaly builds revision rev of the event of one anomaly of a person's day, as the rules
// judged it: kind, severity, minutes and excuse are copied, never re-decided. judgedAt should
// carry the site's zone so that every time in the payload has the same offset.
func FromAnomaly(src Source, date attendance.Date, a attendance.Anomaly, rev int, judgedAt time.Time) Event {
	e := Event{
		ID:        ID(src.Site, src.UserID, date, a.Slot, a.Kind),
		Rev:       rev,
		Kind:      a.Kind,
		Site:      src.Site,
		Clock:     src.Clock,
		UserID:    src.UserID,
		Name:      src.Name,
		Unit:      src.Unit,
		Date:      date.String(),
		Slot:      string(a.Slot),
		Expected:  a.Expected.Format(time.RFC3339),
		Minutes:   a.Minutes,
		Severity:  a.Severity,
		Excused:   a.Excused,
		Retracted: a.Retracted,
		Verify:    a.Verify,

		ExcusedMinutes: a.ExcusedMinutes,
		LateRegistered: a.LateRegistered,
		JudgedAt:       judgedAt.Format(time.RFC3339),
	}
	if a.Registration != "" {
		r := a.Registration
		e.Registration = &r
	}
	if a.Actual != nil {
		t := a.Actual.In(a.Expected.Location()).Format(time.RFC3339)
		e.Actual = &t
	}
	return e
}

// Status is the daemon's presence on {prefix}/status: retained, QoS 1, published "online" on
// every connect and "offline" on a clean shutdown; the broker publishes the Last Will, "offline"
// with reason "lost", when the connection dies.
type Status struct {
	State   string `json:"state"`           // online|offline
	Since   string `json:"since,omitempty"` // RFC 3339: when this state began; absent in the Last Will
	Version string `json:"version"`
	Reason  string `json:"reason,omitempty"` // offline only: "shutdown" or "lost" (the Last Will)
}

// ClockStatus is one clock's state on {prefix}/clocks/{clock}/status: retained, [mqtt] qos.
type ClockStatus struct {
	Clock         string  `json:"clock"`
	State         string  `json:"state"`     // up|down
	Since         string  `json:"since"`     // RFC 3339: when the clock entered this state
	LastPull      *string `json:"last_pull"` // RFC 3339 of the last successful pull; null before the first
	Records       int     `json:"records"`   // attendance records on the clock at the last pull
	Capacity      int     `json:"capacity"`  // attendance record capacity
	OffsetSeconds float64 `json:"offset_seconds"`
	Serial        string  `json:"serial,omitempty"`
	Error         string  `json:"error,omitempty"` // why the clock is down
}

// DaySlot is one slot of a DayPayload.
type DaySlot struct {
	Expected     string  `json:"expected"` // RFC 3339 with offset
	Time         *string `json:"time"`     // the punch that counted; null when none
	Result       string  `json:"result"`   // ok|late|serious_late|early|missing|absent|excused
	Minutes      int     `json:"minutes"`
	Registration *string `json:"registration"`
	Manual       bool    `json:"manual,omitempty"` // the punch is a 补卡
	// ExcusedMinutes are minutes late or early a registration covers (never counted);
	// LateRegistered says that registration was recorded later than [rules] register_within.
	ExcusedMinutes int  `json:"excused_minutes,omitempty"`
	LateRegistered bool `json:"late_registered,omitempty"`
}

// DayPayload is a person's judged day on {prefix}/days once it is final: [mqtt] qos, not retained.
// A day judged again after it was published (a registration, a late log) is published again.
type DayPayload struct {
	Site     string             `json:"site"`
	UserID   string             `json:"user_id"`
	Name     string             `json:"name"`
	Unit     string             `json:"unit"`
	Date     string             `json:"date"`
	DayType  string             `json:"day_type"`
	Status   string             `json:"status"`
	Excuse   string             `json:"excuse,omitempty"`
	Slots    map[string]DaySlot `json:"slots"`
	JudgedAt string             `json:"judged_at"`
}

// FromDay builds the DayPayload of a judged day.
func FromDay(site, name, unit string, d attendance.Day, judgedAt time.Time) DayPayload {
	p := DayPayload{
		Site: site, UserID: d.UserID, Name: name, Unit: unit,
		Date: d.Date.String(), DayType: string(d.DayType), Status: string(d.Status), Excuse: string(d.Excuse),
		Slots:    make(map[string]DaySlot, len(d.Slots)),
		JudgedAt: judgedAt.Format(time.RFC3339),
	}
	for name, s := range d.Slots {
		ds := DaySlot{Result: string(s.Result), Minutes: s.Minutes, Registration: s.Registration, Manual: s.Manual,
			ExcusedMinutes: s.ExcusedMinutes, LateRegistered: s.LateRegistered}
		if !s.Expected.IsZero() {
			ds.Expected = s.Expected.Format(time.RFC3339)
		}
		if s.Time != nil {
			t := s.Time.Format(time.RFC3339)
			if !s.Expected.IsZero() {
				t = s.Time.In(s.Expected.Location()).Format(time.RFC3339)
			}
			ds.Time = &t
		}
		p.Slots[string(name)] = ds
	}
	return p
}

// ReportCounts are the summary counts of a monthly table.
type ReportCounts struct {
	Late    int `json:"late"`    // person-days with a late arrival
	Early   int `json:"early"`   // person-days with an early departure
	Missing int `json:"missing"` // person-days with a missing punch
	Absent  int `json:"absent"`  // person-days absent
	Excused int `json:"excused"` // person-days excused by a registration
}

// ReportNotice announces a filed monthly table on {prefix}/reports/{yyyy-mm}: retained, [mqtt] qos.
type ReportNotice struct {
	Site        string       `json:"site"`
	Month       string       `json:"month"` // yyyy-mm
	GeneratedAt string       `json:"generated_at"`
	People      int          `json:"people"`
	Workdays    int          `json:"workdays"`
	Files       []string     `json:"files"`
	Counts      ReportCounts `json:"counts"`
	// Documents are the filed files themselves, each retained on ReportFileTopic (binary payload).
	Documents []ReportDocument `json:"documents"`
	// Units is the summary by unit of the set of unit forms (with [[unit]] configured).
	Units []ReportUnit `json:"units,omitempty"`
}

// ReportDocument is one filed file as published on {prefix}/reports/{yyyy-mm}/files/{name}.
type ReportDocument struct {
	Name   string `json:"name"`
	Topic  string `json:"topic"`
	Size   int    `json:"size"`   // bytes
	SHA256 string `json:"sha256"` // hex, to check the payload received
}

// ReportUnit is one unit's line of the monthly summary.
type ReportUnit struct {
	Unit        string `json:"unit"`
	Kind        string `json:"kind"` // office, station, village
	People      int    `json:"people"`
	PresentDays int    `json:"present_days"`
	AbsentDays  int    `json:"absent_days"` // × days (marks)
	LateDays    int    `json:"late_days"`
	EarlyDays   int    `json:"early_days"`
	MissingDays int    `json:"missing_days"`
	AbsentClock int    `json:"absent_clock_days"`
	OffsiteDays int    `json:"offsite_days"`
	TripDays    int    `json:"trip_days"`
	LeaveDays   int    `json:"leave_days"`
	Conflicts   int    `json:"conflicts"`
}

// CheckTopicLevel reports whether s can be one level of a topic: not empty, no '/', '+', '#'
// or NUL. Config validation uses it on clock names.
func CheckTopicLevel(s string) error {
	if s == "" || strings.ContainsAny(s, "/+#\x00") {
		return fmt.Errorf("%w: %q (must be non-empty, without / + # or NUL)", ErrBadTopicLevel, s)
	}
	return nil
}

// CheckPrefix reports whether s can be a topic prefix: non-empty levels separated by '/',
// no wildcards, no leading or trailing '/'.
func CheckPrefix(s string) error {
	for _, l := range strings.Split(s, "/") {
		if err := CheckTopicLevel(l); err != nil {
			return fmt.Errorf("%w: prefix %q", ErrBadTopicLevel, s)
		}
	}
	return nil
}

// Topic is the topic of events of a kind: {prefix}/events/{kind}.
func Topic(prefix string, kind attendance.EventKind) string {
	return prefix + "/events/" + string(kind)
}

// EventsFilter subscribes to every event kind: {prefix}/events/#.
func EventsFilter(prefix string) string { return prefix + "/events/#" }

// StatusTopic is the daemon's retained presence: {prefix}/status.
func StatusTopic(prefix string) string { return prefix + "/status" }

// ClockStatusTopic is a clock's retained status: {prefix}/clocks/{clock}/status.
func ClockStatusTopic(prefix, clock string) string { return prefix + "/clocks/" + clock + "/status" }

// DaysTopic carries final judged days: {prefix}/days.
func DaysTopic(prefix string) string { return prefix + "/days" }

// ReportTopic is the retained notice of a month's filed table: {prefix}/reports/{yyyy-mm}.
func ReportTopic(prefix string, year int, month time.Month) string {
	return fmt.Sprintf("%s/reports/%04d-%02d", prefix, year, int(month))
}

// ReportFileTopic is where a filed document goes, retained, its bytes the payload:
// {prefix}/reports/{yyyy-mm}/files/{name}.
func ReportFileTopic(prefix string, year int, month time.Month, name string) string {
	return ReportTopic(prefix, year, month) + "/files/" + name
}

// ReportsFilter subscribes to every report notice: {prefix}/reports/#.
func ReportsFilter(prefix string) string { return prefix + "/reports/#" }
