package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/rules"
)

// Duration is a non-negative length of time written as Go writes durations ("90s", "5m", "2h",
// "1h30m", "0") or as whole days ("90d").
type Duration time.Duration

// Std is d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText formats d like time.Duration.String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration; negative ones are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses what Duration.UnmarshalText accepts.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(t, "d"); ok {
		days, err := strconv.Atoi(n)
		if err == nil && days >= 0 && days <= 36500 {
			return Duration(time.Duration(days) * 24 * time.Hour), nil
		}
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like \"90s\", \"5m\", \"2h\", \"90d\")", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return Duration(v), nil
}

// Date is an optional civil date: "" is the zero Date.
type Date attendance.Date

// Std is d as an attendance.Date.
func (d Date) Std() attendance.Date { return attendance.Date(d) }

// IsZero reports whether d was not set.
func (d Date) IsZero() bool { return attendance.Date(d).IsZero() }

// MarshalText formats d as YYYY-MM-DD, or "" when zero.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return nil, nil
	}
	return []byte(attendance.Date(d).String()), nil
}

// UnmarshalText parses YYYY-MM-DD or "".
func (d *Date) UnmarshalText(b []byte) error {
	if strings.TrimSpace(string(b)) == "" {
		*d = Date{}
		return nil
	}
	v, err := attendance.ParseDate(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a date YYYY-MM-DD", b)
	}
	*d = Date(v)
	return nil
}

// WindowTime is an optional time of day, "HH:MM" up to "24:00"; "" (zero) means the default.
type WindowTime attendance.TimeOfDay

func (t WindowTime) String() string {
	if t == 0 {
		return ""
	}
	return attendance.TimeOfDay(t).String()
}

// MarshalText formats t as HH:MM, or "" when unset.
func (t WindowTime) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses HH:MM, "24:00" or "".
func (t *WindowTime) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch s {
	case "":
		*t = 0
		return nil
	case "24:00":
		*t = WindowTime(24 * 3600)
		return nil
	}
	v, err := attendance.ParseTimeOfDay(s)
	if err != nil {
		return fmt.Errorf("%q is not a time HH:MM", b)
	}
	*t = WindowTime(v)
	return nil
}

// OpenTime is [rules.windows] open: "HH:MM", where the day starts; "" (the zero value) means the
// default, rules.DefaultOpen (05:00). Unlike the other bounds, "00:00" is a setting of its own:
// the day opens at midnight.
type OpenTime struct {
	set bool
	t   attendance.TimeOfDay
}

// Std is the time of day the setting means.
func (o OpenTime) Std() attendance.TimeOfDay {
	if !o.set {
		return rules.DefaultOpen
	}
	return o.t
}

func (o OpenTime) String() string {
	if !o.set {
		return ""
	}
	return o.t.String()
}

// MarshalText formats o as HH:MM, or "" when unset.
func (o OpenTime) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses HH:MM or "".
func (o *OpenTime) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*o = OpenTime{}
		return nil
	}
	v, err := attendance.ParseTimeOfDay(s)
	if err != nil {
		return fmt.Errorf("%q is not a time HH:MM", b)
	}
	*o = OpenTime{set: true, t: v}
	return nil
}
