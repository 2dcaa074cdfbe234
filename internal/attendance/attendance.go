// Package attendance holds punchd's domain types: the civil date, the roster entry, the
// registration that excuses, the schedule of a working day and the judged day with its four slots.
//
// It owns no behaviour beyond parsing and formatting these values: the store persists them,
// internal/rules produces judged days, internal/report renders them. It must not import any of those.
package attendance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a civil date with no zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ErrBadDate is returned when a date, time of day or month-day cannot be parsed.
var ErrBadDate = errors.New("attendance: bad date or time")

// DateOf is the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("%w: %q is not a date YYYY-MM-DD", ErrBadDate, s)
	}
	return DateOf(t), nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// At is the instant of hh:mm:ss offset on d in loc. Offsets past 24h roll into later days.
func (d Date) At(tod TimeOfDay, loc *time.Location) time.Time {
	s := int(tod)
	return time.Date(d.Year, d.Month, d.Day, s/3600, (s/60)%60, s%60, 0, loc)
}

// Start is midnight at the start of d in loc.
func (d Date) Start(loc *time.Location) time.Time { return d.At(0, loc) }

// AddDays is d moved by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return sign(d.Year - o.Year)
	case d.Month != o.Month:
		return sign(int(d.Month) - int(o.Month))
	default:
		return sign(d.Day - o.Day)
	}
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// MarshalText formats d as YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// TimeOfDay is a wall-clock time as seconds since midnight.
type TimeOfDay int

// ParseTimeOfDay parses "15:04" or "15:04:05".
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("%w: %q is not a time HH:MM", ErrBadDate, s)
	}
	lim := []int{24, 60, 60}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) != 2 || n < 0 || n >= lim[i] {
			return 0, fmt.Errorf("%w: %q is not a time HH:MM", ErrBadDate, s)
		}
		v[i] = n
	}
	return TimeOfDay(v[0]*3600 + v[1]*60 + v[2]), nil
}

func (t TimeOfDay) String() string {
	s := int(t)
	if s%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, (s/60)%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/3600, (s/60)%60)
}

// MarshalText formats t as HH:MM.
func (t TimeOfDay) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses HH:MM.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	v, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MonthDay is a day of the year without the year ("06-01"), used by seasonal schedules.
type MonthDay struct {
	Month time.Month
	Day   int
}

// ParseMonthDay parses "MM-DD".
func ParseMonthDay(s string) (MonthDay, error) {
	t, err := time.Parse("01-02", s)
	if err != nil {
		// Feb 29 does not parse without a year; accept it explicitly.
		if s == "02-29" {
			return MonthDay{time.February, 29}, nil
		}
		return MonthDay{}, fmt.Errorf("%w: %q is not a month-day MM-DD", ErrBadDate, s)
	}
	return MonthDay{t.Month(), t.Day()}, nil
}

func (m MonthDay) String() string { return fmt.Sprintf("%02d-%02d", m.Month, m.Day) }

// MarshalText formats m as MM-DD.
func (m MonthDay) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses MM-DD.
func (m *MonthDay) UnmarshalText(b []byte) error {
	v, err := ParseMonthDay(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Covers reports whether the range from..to (inclusive, may wrap the year end) covers d.
func Covers(from, to MonthDay, d Date) bool {
	k := func(m time.Month, day int) int { return int(m)*100 + day }
	f, t, x := k(from.Month, from.Day), k(to.Month, to.Day), k(d.Month, d.Day)
	if f <= t {
		return f <= x && x <= t
	}
	return x >= f || x <= t
}

// Tracking says how a person's attendance is kept.
type Tracking string

// The ways of tracking. Only TrackClock people are judged from this clock.
const (
	TrackClock   Tracking = "clock"   // must punch here, four times a working day
	TrackVillage Tracking = "village" // posted to a village (包村挂点): the village keeps the record
	TrackStation Tracking = "station" // an outlying station with its own clock
	TrackExempt  Tracking = "exempt"
)

// ParseTracking accepts the English words and the Chinese ones a roster may use.
func ParseTracking(s string) (Tracking, error) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "clock", "打卡", "指纹", "指纹打卡", "机关", "":
		return TrackClock, nil
	case "village", "包村", "包村挂点", "驻村":
		return TrackVillage, nil
	case "station", "站所", "外围站所":
		return TrackStation, nil
	case "exempt", "免签", "免打卡":
		return TrackExempt, nil
	}
	return "", fmt.Errorf("attendance: tracking %q is not one of clock, village, station, exempt", s)
}

// Person is one roster entry. The UserID is the clock's user id (PIN2).
type Person struct {
	UserID   string   `json:"user_id"`
	Name     string   `json:"name"`
	Post     string   `json:"post"` // 职务
	Unit     string   `json:"unit"` // office or station
	Tracking Tracking `json:"tracking"`
	From     Date     `json:"from,omitzero"` // first day on the roster; zero = always
	To       Date     `json:"to,omitzero"`   // last day on the roster; zero = open
}

// Active reports whether the person is on the roster on d.
func (p Person) Active(d Date) bool {
	if !p.From.IsZero() && d.Before(p.From) {
		return false
	}
	if !p.To.IsZero() && d.After(p.To) {
		return false
	}
	return true
}

// Kind is the kind of a registration.
type Kind string

// Registration kinds. Makeup is a 补卡: a punch entered by hand at one time (From == To).
const (
	KindOffsite Kind = "offsite" // 外出: working in a village or at a county office
	KindTrip    Kind = "trip"    // 出差
	KindLeave   Kind = "leave"   // 请假
	KindMeeting Kind = "meeting" // 会议
	KindMakeup  Kind = "makeup"  // 补卡
	// KindReturn is a village-posted person's return to the office during the posting, with the
	// consent of the village's 挂点领导 (ApprovedBy). It excuses nothing the clock judges: it is what
	// the cross-check of a village's √ against the clock accepts.
	KindReturn Kind = "return"
)

// Label is the kind's name in Chinese, as forms, pages and reports show it ("外出"); "" for a
// kind that has none (return).
func (k Kind) Label() string {
	switch k {
	case KindOffsite:
		return "外出"
	case KindTrip:
		return "出差"
	case KindLeave:
		return "请假"
	case KindMeeting:
		return "会议"
	case KindMakeup:
		return "补卡"
	}
	return ""
}

// ParseKind checks a registration kind.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindOffsite, KindTrip, KindLeave, KindMeeting, KindMakeup, KindReturn:
		return k, nil
	}
	return "", fmt.Errorf("attendance: registration kind %q is not one of offsite, trip, leave, meeting, makeup, return", s)
}

// Via is how a registration reached the office. The 2021 order asks for off-site work to be
// reported in writing or by phone, with a leader's consent.
type Via string

// The ways a registration is made.
const (
	ViaWritten Via = "written" // 书面
	ViaPhone   Via = "phone"   // 电话
)

// Label is the way's name in Chinese ("书面", "电话"); "" when it was not recorded.
func (v Via) Label() string {
	switch v {
	case ViaWritten:
		return "书面"
	case ViaPhone:
		return "电话"
	}
	return ""
}

// ParseVia checks how a registration was made, by its name or its Chinese one; "" (not recorded)
// is accepted.
func ParseVia(s string) (Via, error) {
	switch v := Via(strings.TrimSpace(strings.ToLower(s))); v {
	case ViaWritten, ViaPhone, "":
		return v, nil
	case Via(ViaWritten.Label()):
		return ViaWritten, nil
	case Via(ViaPhone.Label()):
		return ViaPhone, nil
	}
	return "", fmt.Errorf("attendance: via %q is not written or phone", s)
}

// Registration excuses a person over [From, To], or (Makeup) adds a manual punch at From.
// Registrations are never edited: a revocation is recorded beside it.
type Registration struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	Kind         Kind      `json:"kind"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Reason       string    `json:"reason"`
	Via          Via       `json:"via,omitempty"`         // written or phone; "" when not recorded
	ApprovedBy   string    `json:"approved_by,omitempty"` // the leader who agreed
	RegisteredBy string    `json:"registered_by"`         // who recorded it
	RegisteredAt time.Time `json:"registered_at"`         // when it was recorded (set by the system)
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

// Revoked reports whether the registration was revoked.
func (r Registration) Revoked() bool { return !r.RevokedAt.IsZero() }

// Validate checks the fields a registration must have.
func (r Registration) Validate() error {
	switch {
	case r.UserID == "":
		return errors.New("registration: user_id is empty")
	case r.From.IsZero():
		return errors.New("registration: from is missing")
	case r.Kind != KindMakeup && r.To.IsZero():
		return errors.New("registration: to is missing")
	case r.Kind != KindMakeup && r.To.Before(r.From):
		return fmt.Errorf("registration: to %s is before from %s", r.To.Format(time.RFC3339), r.From.Format(time.RFC3339))
	}
	if v, err := ParseVia(string(r.Via)); err != nil || v != r.Via {
		return fmt.Errorf("registration: via %q is not written or phone", r.Via)
	}
	_, err := ParseKind(string(r.Kind))
	return err
}

// Schedule is the expected times of a working day over a range of month-days (seasonal schedules).
// Window bounds are optional; zero means "split the gap to the neighbouring slot at its midpoint".
type Schedule struct {
	Name  string    `json:"name"`
	From  MonthDay  `json:"from"`
	To    MonthDay  `json:"to"`
	AmIn  TimeOfDay `json:"am_in"`
	AmOut TimeOfDay `json:"am_out"`
	PmIn  TimeOfDay `json:"pm_in"`
	PmOut TimeOfDay `json:"pm_out"`
}

// Expected returns the four expected times in slot order.
func (s Schedule) Expected() [4]TimeOfDay { return [4]TimeOfDay{s.AmIn, s.AmOut, s.PmIn, s.PmOut} }

// SlotName names one of the four punches of a day.
type SlotName string

// The four slots, in order.
const (
	AmIn  SlotName = "am_in"
	AmOut SlotName = "am_out"
	PmIn  SlotName = "pm_in"
	PmOut SlotName = "pm_out"
)

// Slots lists the four slots in order.
var Slots = [4]SlotName{AmIn, AmOut, PmIn, PmOut}

// IsIn reports whether the slot is an arrival.
func (s SlotName) IsIn() bool { return s == AmIn || s == PmIn }

// Result is the judgement of one slot.
type Result string

// Slot results.
const (
	ResultOK          Result = "ok"
	ResultLate        Result = "late"
	ResultSeriousLate Result = "serious_late"
	ResultEarly       Result = "early"
	ResultMissing     Result = "missing"
	ResultAbsent      Result = "absent"
	ResultExcused     Result = "excused"
	ResultPending     Result = "pending" // cannot be decided yet: the window is open or a clock has not synced past it
)

// DayType is how the calendar classes a date.
type DayType string

// Day types.
const (
	Workday       DayType = "workday"
	MakeupWorkday DayType = "makeup_workday" // a weekend day that is a working day (调休)
	RestDay       DayType = "rest"
	Holiday       DayType = "holiday"
)

// IsWorking reports whether people must punch on such a day.
func (t DayType) IsWorking() bool { return t == Workday || t == MakeupWorkday }

// Status is the judgement of a whole day.
type Status string

// Day statuses.
const (
	StatusNormal   Status = "normal"
	StatusAbnormal Status = "abnormal"
	StatusAbsent   Status = "absent"
	StatusExcused  Status = "excused"
	StatusPending  Status = "pending"
	StatusRest     Status = "rest" // a rest day or holiday (only kept when someone punched)
)

// Slot is the judgement of one of the four punches.
type Slot struct {
	Name     SlotName   `json:"-"`
	Expected time.Time  `json:"expected"`
	Time     *time.Time `json:"time"`   // the punch that counted; nil when none
	Result   Result     `json:"result"` // the judgement of the minutes no registration covers
	// Minutes are the minutes late or early that count against the person: those no registration
	// covers. 0 for ok, excused, missing and pending slots and for an absence without a punch.
	Minutes int `json:"minutes"`
	// ExcusedMinutes are the minutes late or early a registration covers: never counted.
	ExcusedMinutes int `json:"excused_minutes,omitempty"`
	// Registration is the id of the registration that excused the slot (wholly, or ExcusedMinutes of
	// it), else of the makeup (补卡) that supplied the punch.
	Registration *string `json:"registration"`
	Manual       bool    `json:"manual,omitempty"`
	// LateRegistered: the excusing registration was recorded more than [rules] register_within
	// after the slot's expected time. It still excuses; the reports show it.
	LateRegistered bool   `json:"late_registered,omitempty"`
	Unexcused      Result `json:"unexcused,omitempty"` // for an excused slot: the result it would have had without the registration
	Clock          string `json:"clock,omitempty"`     // serial of the clock the punch came from
	Verify         string `json:"verify,omitempty"`    // how the punch was verified (device.VerifyMethod); "" for none or a 补卡
}

// Uncounted is a punch of the day that counts for no slot, and why.
type Uncounted struct {
	Time   time.Time       `json:"time"`
	Clock  string          `json:"clock,omitempty"`
	Reason UncountedReason `json:"reason"`
}

// UncountedReason says why a punch of the day counted for no slot.
type UncountedReason string

// Why a punch did not count.
const (
	// BeforeOpen: before [rules.windows] open (default 05:00): e.g. leaving after overtime past
	// midnight. It is not the day's arrival, and not the previous day's departure either.
	BeforeOpen UncountedReason = "before_open"
	// AfterClose: at or after [rules.windows] close.
	AfterClose UncountedReason = "after_close"
)

// Day is a person's judged day.
type Day struct {
	UserID  string            `json:"user_id"`
	Date    Date              `json:"date"`
	DayType DayType           `json:"day_type"`
	Status  Status            `json:"status"`
	Excuse  Kind              `json:"excuse,omitempty"` // the kind of registration that excused most of the day, if any
	Slots   map[SlotName]Slot `json:"slots"`
	Punches int               `json:"punches"` // punches seen that day (after folding repeats)
	Final   bool              `json:"final"`   // no slot is pending
	// Uncounted are the punches of the date outside the day's window, in time order.
	Uncounted []Uncounted `json:"uncounted,omitempty"`
}
