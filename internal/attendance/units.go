package attendance

import (
	"fmt"
	"strings"
	"time"
)

// UnitKind is the kind of a township unit ([[unit]] kind).
type UnitKind string

// The kinds of unit the 2021 order names: the compound's offices punch the 党政办 clock, the outlying
// stations keep their own attendance (or have their own clock), the villages keep 附件1.
const (
	UnitOffice  UnitKind = "office"  // 机关
	UnitStation UnitKind = "station" // 站所
	UnitVillage UnitKind = "village" // 村（社区）
)

// Unit is one unit of the township and who signs its monthly form.
type Unit struct {
	Name       string   `json:"name"`
	Kind       UnitKind `json:"kind"`
	Signatures []string `json:"signatures,omitempty"`
	Leader     string   `json:"leader,omitempty"`    // village: 包村挂点领导
	Secretary  string   `json:"secretary,omitempty"` // village: 党组织书记
	HasClock   bool     `json:"has_clock"`           // its people punch a clock (the office, a station with a [[clock]])
}

// Tracking is how the unit's people are kept: by a clock, or by the unit's own marks.
func (u Unit) Tracking() Tracking {
	switch {
	case u.HasClock:
		return TrackClock
	case u.Kind == UnitVillage:
		return TrackVillage
	}
	return TrackStation
}

// KindCN is the unit kind as the bulletin's sections name it.
func (k UnitKind) KindCN() string {
	switch k {
	case UnitOffice:
		return "机关"
	case UnitStation:
		return "站所"
	case UnitVillage:
		return "村（社区）"
	}
	return string(k)
}

// UnitMark is a day's mark kept by a unit without a clock (a village's 附件1, a station's table).
type UnitMark string

// The marks a unit records for a day. √ and × are the order's (在村开展工作 / 未在村开展工作).
const (
	MarkPresent UnitMark = "√"
	MarkAbsent  UnitMark = "×"
	MarkLeave   UnitMark = "假"
	MarkTrip    UnitMark = "差"
	MarkRest    UnitMark = "休"
)

// UnitMarks lists the marks in the order the forms' legends give them.
var UnitMarks = []UnitMark{MarkPresent, MarkAbsent, MarkLeave, MarkTrip, MarkRest}

// ParseUnitMark accepts the marks and the variants a hand-filled sheet uses (✓ ✔ v for √, x X ✗ ✘ for ×).
func ParseUnitMark(s string) (UnitMark, error) {
	switch strings.TrimSpace(s) {
	case "√", "✓", "✔", "v", "V":
		return MarkPresent, nil
	case "×", "x", "X", "✗", "✘":
		return MarkAbsent, nil
	case "假":
		return MarkLeave, nil
	case "差":
		return MarkTrip, nil
	case "休":
		return MarkRest, nil
	}
	return "", fmt.Errorf("attendance: mark %q is not one of √ × 假 差 休", s)
}

// DayMark is one person's mark for one day, with who recorded it and when.
type DayMark struct {
	Unit       string    `json:"unit"`
	UserID     string    `json:"user_id"`
	Date       Date      `json:"date"`
	Mark       UnitMark  `json:"mark"`
	RecordedBy string    `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
	Source     string    `json:"source,omitempty"` // the imported file, or "" when set by hand
}

// FindingKind says whether a finding on site is a good example or a breach.
type FindingKind string

// Finding kinds.
const (
	FindingPositive FindingKind = "positive"
	FindingNegative FindingKind = "negative"
)

// Finding is what the 督查室 saw on a check on site: a unit (and maybe a person) on a day.
// Findings are never edited: a revocation is recorded beside it.
type Finding struct {
	ID           string      `json:"id"`
	Date         Date        `json:"date"`
	Unit         string      `json:"unit"`
	UserID       string      `json:"user_id,omitempty"`
	Kind         FindingKind `json:"kind"`
	Text         string      `json:"text"`
	RecordedBy   string      `json:"recorded_by"`
	RecordedAt   time.Time   `json:"recorded_at"`
	RevokedBy    string      `json:"revoked_by,omitempty"`
	RevokedAt    time.Time   `json:"revoked_at,omitzero"`
	RevokeReason string      `json:"revoke_reason,omitempty"`
}

// Revoked reports whether the finding was revoked.
func (f Finding) Revoked() bool { return !f.RevokedAt.IsZero() }

// VillageSuffix ends the village line of 附件1: 「_____村（居）委会」.
const VillageSuffix = "村（居）委会"

// VillageLine is the 附件1 village line for a unit: "金碧村" gives "金碧村（居）委会".
func VillageLine(unit string) string {
	return strings.TrimSuffix(unit, "村") + VillageSuffix
}

// Conflict is the cross-check no paper can do: a village person punched a clock during working hours
// on a day the village marked √, with no return to the office approved by the village's leader.
type Conflict struct {
	UserID string    `json:"user_id"`
	Unit   string    `json:"unit"`
	Date   Date      `json:"date"`
	Punch  time.Time `json:"punch"` // the first such punch of the day
	Clock  string    `json:"clock"` // the serial of the clock it was on
}

// PointValues are the assessment points (大比拼考核加减分) of each fact; a deduction is negative.
type PointValues struct {
	Late            float64 `json:"late"`
	SeriousLate     float64 `json:"serious_late"`
	Early           float64 `json:"early"`
	Missing         float64 `json:"missing"`
	AbsentHalfDay   float64 `json:"absent_half_day"`
	VillageAbsent   float64 `json:"village_absent"`
	Conflict        float64 `json:"conflict"`
	NegativeFinding float64 `json:"negative_finding"`
	PositiveFinding float64 `json:"positive_finding"`
}

// UnitEventKinds are the event kinds of the units' own records: no judged slot yields them, their
// events have no slot.
var UnitEventKinds = []EventKind{EventConflict, EventVillageAbsent}
