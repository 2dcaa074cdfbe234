package calendar_test

import (
	"errors"
	"fmt"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
)

func Example() {
	all := attendance.Schedule{Name: "all-year",
		From: attendance.MonthDay{Month: 1, Day: 1}, To: attendance.MonthDay{Month: 12, Day: 31},
		AmIn: 8*3600 + 1800, AmOut: 12 * 3600, PmIn: 14*3600 + 1800, PmOut: 18 * 3600}
	cal, err := calendar.New(calendar.Options{Schedules: []attendance.Schedule{all}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"2026-01-01", "2026-01-04", "2026-01-05", "2027-01-04"} {
		d, _ := attendance.ParseDate(s)
		t, err := cal.DayType(d)
		fmt.Println(s, t, cal.HolidayName(d), errors.Is(err, calendar.ErrNoData))
	}
	fmt.Println("missing:", cal.MissingYears(2025, 2027))
	// Output:
	// 2026-01-01 holiday 元旦 false
	// 2026-01-04 makeup_workday 元旦 false
	// 2026-01-05 workday  false
	// 2027-01-04 workday  true
	// missing: [2027]
}
