package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Errors returned by the builders. Wrapped with details; compare with errors.Is.
var (
	ErrBadMonth    = errors.New("report: bad month")
	ErrFutureMonth = errors.New("report: month is in the future")
	ErrUnknownUnit = errors.New("report: unknown unit")
	ErrBadPeriod   = errors.New("report: bad period end day")
	ErrNoCalendar  = errors.New("report: no calendar classification given")
	ErrBadTitle    = errors.New("report: bad title template")
)

// Month is a calendar month.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	y, m, ok := strings.Cut(s, "-")
	if !ok || len(y) != 4 || len(m) != 2 {
		return Month{}, fmt.Errorf("%w: %q is not YYYY-MM", ErrBadMonth, s)
	}
	yy, err1 := strconv.Atoi(y)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || yy < 1 || mm < 1 || mm > 12 {
		return Month{}, fmt.Errorf("%w: %q is not YYYY-MM", ErrBadMonth, s)
	}
	return Month{yy, time.Month(mm)}, nil
}

// MonthOf is the month containing d.
func MonthOf(d attendance.Date) Month { return Month{d.Year, d.Month} }

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// IsZero reports whether m is the zero Month.
func (m Month) IsZero() bool { return m == Month{} }

// Len is the number of days in the month.
func (m Month) Len() int { return time.Date(m.Year, m.Month+1, 0, 12, 0, 0, 0, time.UTC).Day() }

// First is the first day of the month.
func (m Month) First() attendance.Date { return attendance.Date{Year: m.Year, Month: m.Month, Day: 1} }

// Last is the last day of the month.
func (m Month) Last() attendance.Date {
	return attendance.Date{Year: m.Year, Month: m.Month, Day: m.Len()}
}

// Prev is the month before m.
func (m Month) Prev() Month {
	if m.Month == time.January {
		return Month{m.Year - 1, time.December}
	}
	return Month{m.Year, m.Month - 1}
}

// After reports whether m is after o.
func (m Month) After(o Month) bool {
	return m.Year > o.Year || (m.Year == o.Year && m.Month > o.Month)
}

// MarshalText formats m as YYYY-MM.
func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses YYYY-MM.
func (m *Month) UnmarshalText(b []byte) error {
	v, err := ParseMonth(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Period returns the bulletin period of month m: the calendar month when endDay is 0, otherwise from
// day endDay+1 of the previous month to day endDay of m. endDay must be 0 or 1..28.
func Period(m Month, endDay int) (from, to attendance.Date, err error) {
	if m.Month < time.January || m.Month > time.December {
		return from, to, fmt.Errorf("%w: %v", ErrBadMonth, m)
	}
	switch {
	case endDay == 0:
		return m.First(), m.Last(), nil
	case endDay < 1 || endDay > 28:
		return from, to, fmt.Errorf("%w: %d is not between 1 and 28", ErrBadPeriod, endDay)
	}
	to = attendance.Date{Year: m.Year, Month: m.Month, Day: endDay}
	p := m.Prev()
	from = attendance.Date{Year: p.Year, Month: p.Month, Day: endDay}.AddDays(1)
	return from, to, nil
}

var weekdayCN = [7]string{"日", "一", "二", "三", "四", "五", "六"}

// WeekdayCN is the one-character Chinese weekday (一…六, 日).
func WeekdayCN(d attendance.Date) string { return weekdayCN[d.Weekday()] }

// expandTitle fills {site}, {year}, {month} and {unit} in a title template.
func expandTitle(tmpl, site string, m Month, unit string) (string, error) {
	r := strings.NewReplacer("{site}", site, "{year}", strconv.Itoa(m.Year),
		"{month}", strconv.Itoa(int(m.Month)), "{unit}", unit)
	out := r.Replace(tmpl)
	if i := strings.IndexAny(out, "{}"); i >= 0 {
		return "", fmt.Errorf("%w: %q has an unknown placeholder (known: {site} {year} {month} {unit})", ErrBadTitle, tmpl)
	}
	return strings.TrimSpace(out), nil
}
