package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

func date(t testing.TB, s string) attendance.Date {
	t.Helper()
	d, err := attendance.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func md(t testing.TB, s string) attendance.MonthDay {
	t.Helper()
	m, err := attendance.ParseMonthDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tod(t testing.TB, s string) attendance.TimeOfDay {
	t.Helper()
	v, err := attendance.ParseTimeOfDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sched(t testing.TB, name, from, to, amIn, amOut, pmIn, pmOut string) attendance.Schedule {
	return attendance.Schedule{Name: name, From: md(t, from), To: md(t, to),
		AmIn: tod(t, amIn), AmOut: tod(t, amOut), PmIn: tod(t, pmIn), PmOut: tod(t, pmOut)}
}

var testSchedules = []attendance.Schedule{{Name: "all-year", From: attendance.MonthDay{Month: 1, Day: 1}, To: attendance.MonthDay{Month: 12, Day: 31},
	AmIn: 8*3600 + 1800, AmOut: 12 * 3600, PmIn: 14*3600 + 1800, PmOut: 18 * 3600}}

func allYear(t testing.TB) attendance.Schedule {
	return sched(t, "all-year", "01-01", "12-31", "08:30", "12:00", "14:30", "18:00")
}

func mustNew(t testing.TB, o Options) *Calendar {
	t.Helper()
	if len(o.Schedules) == 0 {
		o.Schedules = []attendance.Schedule{allYear(t)}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDayType2026(t *testing.T) {
	c := mustNew(t, Options{})
	cases := []struct {
		date string
		want attendance.DayType
		name string
	}{
		{"2026-01-01", attendance.Holiday, "元旦"},
		{"2026-01-02", attendance.Holiday, "元旦"},
		{"2026-01-03", attendance.Holiday, "元旦"}, // a Saturday inside the holiday
		{"2026-01-04", attendance.MakeupWorkday, "元旦"},
		{"2026-01-05", attendance.Workday, ""},
		{"2026-01-10", attendance.RestDay, ""},
		{"2026-02-14", attendance.MakeupWorkday, "春节"},
		{"2026-02-16", attendance.Holiday, "春节"},
		{"2026-10-01", attendance.Holiday, "国庆节"},
		{"2026-03-02", attendance.Workday, ""},
	}
	for _, tc := range cases {
		got, err := c.DayType(date(t, tc.date))
		if err != nil {
			t.Errorf("%s: %v", tc.date, err)
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.date, got, tc.want)
		}
		if n := c.HolidayName(date(t, tc.date)); n != tc.name {
			t.Errorf("%s: name %q, want %q", tc.date, n, tc.name)
		}
	}
}

func TestYearCrossingFile(t *testing.T) {
	c := mustNew(t, Options{})
	// 2018-12-29..31 sit in 2019.json; 2018 itself has no notice loaded.
	got, err := c.DayType(date(t, "2018-12-29"))
	if err != nil || got != attendance.MakeupWorkday {
		t.Errorf("2018-12-29: %s %v, want makeup_workday and no error", got, err)
	}
	got, err = c.DayType(date(t, "2018-12-31"))
	if err != nil || got != attendance.Holiday {
		t.Errorf("2018-12-31: %s %v, want holiday", got, err)
	}
	// 2022-12-31 is in 2023.json.
	got, err = c.DayType(date(t, "2022-12-31"))
	if err != nil || got != attendance.Holiday {
		t.Errorf("2022-12-31: %s %v, want holiday", got, err)
	}
	// An unlisted 2018 day: the guess, loudly.
	got, err = c.DayType(date(t, "2018-12-28"))
	if !errors.Is(err, ErrNoData) || got != attendance.Workday {
		t.Errorf("2018-12-28: %s %v, want workday guess with ErrNoData", got, err)
	}
}

func TestMissing2027Loud(t *testing.T) {
	c := mustNew(t, Options{})
	got, err := c.DayType(date(t, "2027-02-08")) // a Monday
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("2027: err %v, want ErrNoData", err)
	}
	if !strings.Contains(err.Error(), "2027") {
		t.Errorf("error %q does not name the year", err)
	}
	if got != attendance.Workday {
		t.Errorf("2027-02-08 guess %s, want workday", got)
	}
	got, err = c.DayType(date(t, "2027-02-06")) // a Saturday
	if !errors.Is(err, ErrNoData) || got != attendance.RestDay {
		t.Errorf("2027-02-06: %s %v", got, err)
	}
	if m := c.MissingYears(2017, 2028); !equalInts(m, []int{2017, 2018, 2027, 2028}) {
		t.Errorf("MissingYears = %v", m)
	}
	if c.HasData(2027) || !c.HasData(2026) {
		t.Error("HasData wrong")
	}
	// Next year's notice is needed from December on, not before.
	if m := c.MissingNeeded(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)); len(m) != 0 {
		t.Errorf("MissingNeeded in November = %v, want none", m)
	}
	if m := c.MissingNeeded(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); !equalInts(m, []int{2027}) {
		t.Errorf("MissingNeeded in December = %v, want [2027]", m)
	}
	if n := c.Needed(time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)); len(n) != 2 || n[2027] || n[2028] {
		t.Errorf("Needed in December 2027 = %v, want 2027 and 2028 both missing", n)
	}
}

func TestExtraFileFills2027(t *testing.T) {
	const j = `{"year": 2027, "papers": ["https://example.invalid/notice"], "days": [
		{"name": "元旦", "date": "2027-01-01", "isOffDay": true},
		{"name": "春节", "date": "2027-02-20", "isOffDay": false}]}`
	f, err := LoadHolidayJSON(strings.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, Options{Extra: []HolidayFile{f}})
	if m := c.MissingYears(2026, 2027); len(m) != 0 {
		t.Errorf("MissingYears = %v", m)
	}
	for d, want := range map[string]attendance.DayType{"2027-01-01": attendance.Holiday, "2027-02-20": attendance.MakeupWorkday, "2027-02-08": attendance.Workday} {
		got, err := c.DayType(date(t, d))
		if err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", d, got, err, want)
		}
	}
}

func TestLoadHolidayJSONErrors(t *testing.T) {
	cases := map[string]string{
		`{`:            "unexpected EOF",
		`{"days": []}`: `no "year"`,
		`{"year": 2027, "days": [{"name": "x", "date": "2027-13-01", "isOffDay": true}]}`:                                                        "days[0]",
		`{"year": 2027, "days": [{"name": "x", "date": "2027-01-01"}]}`:                                                                          "isOffDay",
		`{"year": 2027, "days": [{"name": "x", "date": "2030-01-01", "isOffDay": true}]}`:                                                        "not within a year",
		`{"year": 2027, "days": [{"name": "x", "date": "2027-01-01", "isOffDay": true}, {"name": "x", "date": "2027-01-01", "isOffDay": true}]}`: "repeats days[0]",
	}
	for in, want := range cases {
		_, err := LoadHolidayJSON(strings.NewReader(in))
		if !errors.Is(err, ErrBadHolidayFile) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want ErrBadHolidayFile containing %q", in, err, want)
		}
	}
}

func TestOverrides(t *testing.T) {
	c := mustNew(t, Options{Overrides: []Override{
		{Date: date(t, "2026-03-06"), Type: attendance.Holiday, Name: "镇庆"},
		{Date: date(t, "2026-03-07"), Type: attendance.MakeupWorkday, Name: "防汛值班"},
		{Date: date(t, "2026-01-04"), Type: attendance.RestDay, Name: "调整"}, // over the data
		{Date: date(t, "2027-03-01"), Type: attendance.Workday},             // a year without data: no error for this date
	}})
	for d, want := range map[string]attendance.DayType{
		"2026-03-06": attendance.Holiday, "2026-03-07": attendance.MakeupWorkday,
		"2026-01-04": attendance.RestDay, "2027-03-01": attendance.Workday,
	} {
		got, err := c.DayType(date(t, d))
		if err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", d, got, err, want)
		}
	}
	if n := c.HolidayName(date(t, "2026-03-06")); n != "镇庆" {
		t.Errorf("name %q", n)
	}
	_, err := New(Options{Schedules: []attendance.Schedule{allYear(t)}, Overrides: []Override{
		{Date: date(t, "2026-03-06"), Type: attendance.Holiday},
		{Date: date(t, "2026-03-06"), Type: attendance.Workday},
	}})
	if !errors.Is(err, ErrBadOverride) || !strings.Contains(err.Error(), "overrides[1]") {
		t.Errorf("duplicate override: %v", err)
	}
	_, err = New(Options{Schedules: []attendance.Schedule{allYear(t)}, Overrides: []Override{{Date: date(t, "2026-03-06"), Type: "weekend"}}})
	if !errors.Is(err, ErrBadOverride) || !strings.Contains(err.Error(), "weekend") {
		t.Errorf("bad type: %v", err)
	}
}

func TestScheduleSelection(t *testing.T) {
	winter := sched(t, "winter", "11-01", "02-28", "09:00", "12:00", "14:00", "17:30") // wraps the year
	summer := sched(t, "summer", "06-01", "09-30", "08:00", "12:00", "15:00", "18:30")
	all := allYear(t)
	c := mustNew(t, Options{Schedules: []attendance.Schedule{all, summer, winter}})
	for d, want := range map[string]string{
		"2026-05-31": "all-year", "2026-06-01": "summer", "2026-09-30": "summer", "2026-10-01": "all-year",
		"2026-12-31": "winter", "2027-01-01": "winter", "2028-02-28": "winter", "2028-02-29": "all-year",
		"2026-03-01": "all-year",
	} {
		s, err := c.Schedule(date(t, d))
		if err != nil || s.Name != want {
			t.Errorf("%s: %q %v, want %q", d, s.Name, err, want)
		}
	}

	// Only a summer entry: other dates have no schedule.
	c = mustNew(t, Options{Schedules: []attendance.Schedule{summer}})
	if _, err := c.Schedule(date(t, "2026-05-31")); !errors.Is(err, ErrNoSchedule) {
		t.Errorf("uncovered: %v", err)
	}
}

func TestScheduleErrors(t *testing.T) {
	a := sched(t, "a", "06-01", "06-30", "08:00", "12:00", "15:00", "18:30")
	b := sched(t, "b", "06-15", "07-14", "08:00", "12:00", "15:00", "18:30") // 30 days too
	cases := []struct {
		ss   []attendance.Schedule
		want string
	}{
		{nil, "no schedule entries"},
		{[]attendance.Schedule{a, b}, `schedules "a" and "b" both cover 06-15`},
		{[]attendance.Schedule{a, a}, "both named"},
		{[]attendance.Schedule{sched(t, "x", "01-01", "12-31", "08:30", "08:30", "14:30", "18:00")}, "am_out 08:30 is not after am_in 08:30"},
		{[]attendance.Schedule{sched(t, "", "01-01", "12-31", "08:30", "12:00", "14:30", "18:00")}, "has no name"},
	}
	for _, tc := range cases {
		_, err := New(Options{Schedules: tc.ss})
		if !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err %v, want ErrBadSchedule containing %q", err, tc.want)
		}
	}
}

func TestEmbeddedYears(t *testing.T) {
	files, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var years []int
	for _, f := range files {
		if f.HasData() {
			years = append(years, f.Year)
		}
	}
	if !equalInts(years, []int{2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026}) {
		t.Errorf("years with data %v", years)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNoEmbedded(t *testing.T) {
	c := mustNew(t, Options{NoEmbedded: true})
	if m := c.MissingYears(2025, 2026); !equalInts(m, []int{2025, 2026}) {
		t.Errorf("MissingYears = %v", m)
	}
	if got, err := c.DayType(date(t, "2026-01-01")); !errors.Is(err, ErrNoData) || got != attendance.Workday {
		t.Errorf("2026-01-01 without data: %s %v", got, err)
	}
}

func TestExtraOverEmbedded(t *testing.T) {
	// A corrected notice: the extra file wins over the embedded data for the dates it lists.
	f, err := LoadHolidayJSON(strings.NewReader(`{"year": 2026, "papers": ["x"], "days": [{"name": "改", "date": "2026-01-04", "isOffDay": true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, Options{Extra: []HolidayFile{f}})
	if got, err := c.DayType(date(t, "2026-01-04")); err != nil || got != attendance.Holiday {
		t.Errorf("2026-01-04: %s %v", got, err)
	}
	if got, _ := c.DayType(date(t, "2026-02-14")); got != attendance.MakeupWorkday {
		t.Errorf("2026-02-14 from the embedded file lost: %s", got)
	}
	// Two extra files that disagree on a date are refused.
	g, _ := LoadHolidayJSON(strings.NewReader(`{"year": 2027, "papers": ["y"], "days": [{"name": "改", "date": "2026-01-04", "isOffDay": false}]}`))
	if _, err := New(Options{Schedules: []attendance.Schedule{allYear(t)}, Extra: []HolidayFile{f, g}}); !errors.Is(err, ErrBadHolidayFile) || !strings.Contains(err.Error(), "2026-01-04") {
		t.Errorf("disagreeing extra files: %v", err)
	}
}
