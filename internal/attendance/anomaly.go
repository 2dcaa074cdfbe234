package attendance

import "time"

// EventKind is the kind of an anomaly event: the "kind" field of the published event and the
// last level of its topic {prefix}/events/{kind}. It is spelled here and nowhere else;
// internal/rules decides which kind a judged slot is, internal/event serialises it.
type EventKind string

// Event kinds of a judged slot (docs/events.md).
const (
	EventLate    EventKind = "late"
	EventEarly   EventKind = "early"
	EventMissing EventKind = "missing"
	EventAbsent  EventKind = "absent"
)

// Event kinds reserved for the cross-check of units (issue 10); no judged slot yields them.
const (
	EventConflict      EventKind = "conflict"
	EventVillageAbsent EventKind = "village_absent"
)

// EventKinds lists the kinds of a judged slot, in the order they are documented.
var EventKinds = []EventKind{EventLate, EventEarly, EventMissing, EventAbsent}

// Severity grades an anomaly: the "severity" field of the published event.
type Severity string

// Severities (docs/events.md: minor|serious).
const (
	SeverityMinor   Severity = "minor"   // late within serious_late_after, early within absent_after
	SeveritySerious Severity = "serious" // seriously late, a missing punch, a half-day or whole-day absence
)

// Severities lists every severity.
var Severities = []Severity{SeverityMinor, SeveritySerious}

// Anomaly is one slot's final anomaly, excused or not, as internal/rules judged it: what the
// daemon publishes as an event. Kind and Severity are decided by the rules; whoever publishes
// it copies them.
type Anomaly struct {
	Slot         SlotName
	Kind         EventKind
	Severity     Severity
	Minutes      int // minutes late or early no registration covers (when Excused: the minutes excused); 0 for missing and for absent without a punch
	Expected     time.Time
	Actual       *time.Time // the punch; nil when missing or absent without a punch
	Excused      bool
	Registration string // the excusing registration's id when Excused or ExcusedMinutes > 0; else "" (or the makeup's id when the punch was manual)
	Manual       bool   // the punch is a 补卡
	Verify       string // how the punch was verified (fingerprint, card, password, face, …); "" without a clock punch
	// ExcusedMinutes are the minutes of a late arrival or early departure a registration covers
	// while the rest still counts (not Excused).
	ExcusedMinutes int
	// LateRegistered: the registration named was recorded later than [rules] register_within
	// after the slot's expected time.
	LateRegistered bool
	// Retracted: the anomaly of this kind no longer stands at this slot (see rules.Retraction).
	Retracted bool
}
