package event

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// AlertKind is what a clock itself did that the 督查室 wants to hear of: the "kind" field of a
// ClockAlert. It is spelled here; sync/ingest decides, from one pull against the previous one,
// which alerts a pull raises.
type AlertKind string

// Alert kinds (docs/events.md, "Clock alerts").
const (
	AlertLogCleared   AlertKind = "log_cleared"   // the log was emptied, or rewritten from its start
	AlertLogShrunk    AlertKind = "log_shrunk"    // the log holds fewer records than at the last pull
	AlertUserEnrolled AlertKind = "user_enrolled" // a user appeared in the clock's user table
	AlertUserRemoved  AlertKind = "user_removed"  // a user disappeared from it
	AlertAdminChanged AlertKind = "admin_changed" // a user's privilege changed
	AlertTimeMoved    AlertKind = "time_moved"    // the clock's time jumped, and not by punchd
	AlertLogNearFull  AlertKind = "log_near_full" // the log reached 90 % of its capacity
)

// AlertKinds lists every alert kind, in the order they are documented.
var AlertKinds = []AlertKind{AlertLogCleared, AlertLogShrunk, AlertUserEnrolled, AlertUserRemoved,
	AlertAdminChanged, AlertTimeMoved, AlertLogNearFull}

// ClockAlert is one thing a clock did, published on {prefix}/clocks/{clock}/alerts, not retained.
// Its ID is stable: a redelivery carries the same ID, and one detection is never queued twice
// (it is committed with the pull that found it). Fields that do not apply to a kind are omitted.
type ClockAlert struct {
	ID     string    `json:"id"`
	Kind   AlertKind `json:"kind"`
	Site   string    `json:"site"`
	Clock  string    `json:"clock"`            // the configured clock name
	Serial string    `json:"serial,omitempty"` // the clock's serial number
	At     string    `json:"at"`               // RFC 3339: when punchd noticed it (the end of the pull)
	Detail string    `json:"detail"`           // one sentence for a person

	// The log kinds (log_cleared, log_shrunk, log_near_full).
	Records    *int `json:"records,omitempty"`     // records on the clock now
	RecordsWas *int `json:"records_was,omitempty"` // records at the previous pull
	Capacity   *int `json:"capacity,omitempty"`    // the log's capacity, when the clock says

	// The user kinds (user_enrolled, user_removed, admin_changed).
	UserID       string `json:"user_id,omitempty"`
	Name         string `json:"name,omitempty"`
	Privilege    *int   `json:"privilege,omitempty"`     // the clock's privilege code now (0 user, 14 admin on most firmware)
	PrivilegeWas *int   `json:"privilege_was,omitempty"` // before

	// time_moved.
	OffsetSeconds    *float64 `json:"offset_seconds,omitempty"`     // clock time minus host time now
	OffsetWasSeconds *float64 `json:"offset_was_seconds,omitempty"` // at the previous pull (after any correction by punchd)
}

// AlertID is the stable identity of a clock alert: the same site, clock, kind, subject (a user
// id, or "") and detection time give the same id. Like ID, the first 16 bytes of a SHA-256 over
// length-prefixed fields, hex encoded.
func AlertID(site, clock string, kind AlertKind, subject string, at time.Time) string {
	h := sha256.New()
	for _, s := range []string{"punchd-alert-v1", site, clock, string(kind), subject, at.UTC().Format(time.RFC3339Nano)} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ClockAlertsTopic carries a clock's alerts: {prefix}/clocks/{clock}/alerts.
func ClockAlertsTopic(prefix, clock string) string { return prefix + "/clocks/" + clock + "/alerts" }

// ClockAlertsFilter subscribes to every clock's alerts: {prefix}/clocks/+/alerts.
func ClockAlertsFilter(prefix string) string { return prefix + "/clocks/+/alerts" }
