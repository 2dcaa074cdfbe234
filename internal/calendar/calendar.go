// Package calendar says which dates are working days and which schedule applies on them: the
// Monday–Friday week, corrected by the State Council's public holidays and make-up workdays (调休),
// corrected again by local overrides from the config, plus the seasonal [[schedule]] entries.
//
// The holiday data of 2019–2026 is embedded (holidays/, from NateScarlet/holiday-cn, MIT). A year
// the data does not cover is never silently guessed: DayType returns the Monday–Friday guess together
// with an error wrapping ErrNoData, and MissingYears lists such years for metrics and status.
//
// Precedence for a date's type, highest first:
//  1. a local Override (Options.Overrides);
//  2. a day listed in holiday data — extra files (Options.Extra) over the embedded ones;
//  3. the Monday–Friday guess; if the date's year has no data, with an ErrNoData error.
//
// A year "has data" when a holiday file named after it (its "year" field) lists at least one day or
// one notice (papers). A date listed explicitly (e.g. 2018-12-30 in 2019.json) is known even when its
// own year has no data.
//
// Schedules: the entry whose From..To (month-days, may wrap the year end) covers the date applies.
// When several cover it, the shortest range (fewest days, counted in a leap year) wins, so a
// "summer" entry inside an "all-year" entry needs no gap; two covering entries of the same length are
// a construction error. A date no entry covers is an error from Schedule.
//
// The package is pure: no clock, no files other than the embedded data and what the caller passes.
// A Calendar is immutable after New and safe for concurrent use.
package calendar

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Errors.
var (
	// ErrNoData: the holiday notice of a year is not in the data; the Monday–Friday guess was used.
	ErrNoData = errors.New("calendar: no holiday data for year")
	// ErrNoSchedule: no [[schedule]] entry covers the date.
	ErrNoSchedule = errors.New("calendar: no schedule covers date")
	// ErrBadSchedule: a schedule entry is invalid or ambiguous.
	ErrBadSchedule = errors.New("calendar: bad schedule")
	// ErrBadHolidayFile: a holiday JSON file cannot be used.
	ErrBadHolidayFile = errors.New("calendar: bad holiday file")
	// ErrBadOverride: a local override is invalid.
	ErrBadOverride = errors.New("calendar: bad override")
)

//go:embed holidays/*.json
var embedded embed.FS

// HolidayDay is one exception to the Monday–Friday week.
type HolidayDay struct {
	Date     attendance.Date
	Name     string // e.g. 春节
	IsOffDay bool   // true: day off (holiday); false: a weekend day worked (调休)
}

// HolidayFile is one parsed holiday-cn file: the notice of Year and the days it lists (which may
// belong to neighbouring years).
type HolidayFile struct {
	Year   int
	Papers []string
	Days   []HolidayDay
}

// HasData reports whether the file carries a notice (days or papers).
func (f HolidayFile) HasData() bool { return len(f.Days) > 0 || len(f.Papers) > 0 }

type jsonFile struct {
	Year   *int     `json:"year"`
	Papers []string `json:"papers"`
	Days   []struct {
		Name     string `json:"name"`
		Date     string `json:"date"`
		IsOffDay *bool  `json:"isOffDay"`
	} `json:"days"`
}

// LoadHolidayJSON parses a holiday-cn JSON file ({"year", "papers", "days":[{"name","date","isOffDay"}]}).
// Errors wrap ErrBadHolidayFile and name the offending entry.
func LoadHolidayJSON(r io.Reader) (HolidayFile, error) {
	var j jsonFile
	dec := json.NewDecoder(r)
	if err := dec.Decode(&j); err != nil {
		return HolidayFile{}, fmt.Errorf("%w: %v", ErrBadHolidayFile, err)
	}
	if j.Year == nil {
		return HolidayFile{}, fmt.Errorf("%w: no \"year\" field", ErrBadHolidayFile)
	}
	if *j.Year < 1949 || *j.Year > 9999 {
		return HolidayFile{}, fmt.Errorf("%w: year %d out of range", ErrBadHolidayFile, *j.Year)
	}
	f := HolidayFile{Year: *j.Year, Papers: j.Papers}
	seen := map[attendance.Date]int{}
	for i, d := range j.Days {
		date, err := attendance.ParseDate(d.Date)
		if err != nil {
			return HolidayFile{}, fmt.Errorf("%w: year %d: days[%d]: %v", ErrBadHolidayFile, f.Year, i, err)
		}
		if d.IsOffDay == nil {
			return HolidayFile{}, fmt.Errorf("%w: year %d: days[%d] (%s): no \"isOffDay\"", ErrBadHolidayFile, f.Year, i, d.Date)
		}
		if date.Year < f.Year-1 || date.Year > f.Year+1 {
			return HolidayFile{}, fmt.Errorf("%w: year %d: days[%d]: date %s is not within a year of the notice", ErrBadHolidayFile, f.Year, i, d.Date)
		}
		if k, dup := seen[date]; dup {
			return HolidayFile{}, fmt.Errorf("%w: year %d: days[%d]: date %s repeats days[%d]", ErrBadHolidayFile, f.Year, i, d.Date, k)
		}
		seen[date] = i
		f.Days = append(f.Days, HolidayDay{Date: date, Name: d.Name, IsOffDay: *d.IsOffDay})
	}
	return f, nil
}

// Embedded returns the holiday files compiled into the binary, in year order.
func Embedded() ([]HolidayFile, error) {
	names, err := fs.Glob(embedded, "holidays/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]HolidayFile, 0, len(names))
	for _, n := range names {
		b, err := embedded.Open(n)
		if err != nil {
			return nil, err
		}
		f, err := LoadHolidayJSON(b)
		b.Close()
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", n, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Override sets the type of one date locally (a local holiday, a declared workday), above the data.
type Override struct {
	Date attendance.Date
	Type attendance.DayType
	Name string
}

// Options configure a Calendar.
type Options struct {
	Schedules  []attendance.Schedule // the [[schedule]] entries; at least one
	Overrides  []Override            // local overrides; a date at most once
	Extra      []HolidayFile         // extra holiday files (e.g. [calendar] holiday_files), over the embedded data
	NoEmbedded bool                  // ignore the embedded data (tests, or a site that supplies all files itself)
}

type entry struct {
	typ  attendance.DayType
	name string
}

// Calendar answers day types, holiday names and schedules. Immutable, safe for concurrent use.
type Calendar struct {
	days      map[attendance.Date]entry // from holiday data
	overrides map[attendance.Date]entry
	years     map[int]bool // years with a notice
	schedules []attendance.Schedule
	byDay     [13][32]int16 // month, day -> index into schedules, -1 none
}

// New builds a Calendar. Every error names the entry at fault.
func New(opts Options) (*Calendar, error) {
	c := &Calendar{
		days:      map[attendance.Date]entry{},
		overrides: map[attendance.Date]entry{},
		years:     map[int]bool{},
	}
	var files []HolidayFile
	if !opts.NoEmbedded {
		emb, err := Embedded()
		if err != nil {
			return nil, err
		}
		files = emb
	}
	if err := c.addFiles(files, "embedded"); err != nil {
		return nil, err
	}
	if err := c.addFiles(opts.Extra, "extra"); err != nil {
		return nil, err
	}
	for i, o := range opts.Overrides {
		switch o.Type {
		case attendance.Workday, attendance.MakeupWorkday, attendance.RestDay, attendance.Holiday:
		default:
			return nil, fmt.Errorf("%w: overrides[%d] (%s): type %q is not one of workday, makeup_workday, rest, holiday", ErrBadOverride, i, o.Date, o.Type)
		}
		if o.Date.IsZero() {
			return nil, fmt.Errorf("%w: overrides[%d]: no date", ErrBadOverride, i)
		}
		if _, dup := c.overrides[o.Date]; dup {
			return nil, fmt.Errorf("%w: overrides[%d]: date %s overridden twice", ErrBadOverride, i, o.Date)
		}
		c.overrides[o.Date] = entry{o.Type, o.Name}
	}
	if err := c.setSchedules(opts.Schedules); err != nil {
		return nil, err
	}
	return c, nil
}

// addFiles merges files; within one group the same date must agree, a later group wins over an earlier.
func (c *Calendar) addFiles(files []HolidayFile, group string) error {
	mine := map[attendance.Date]int{}
	for fi, f := range files {
		if f.HasData() {
			c.years[f.Year] = true
		}
		for _, d := range f.Days {
			e := entry{typ: attendance.Holiday, name: d.Name}
			if !d.IsOffDay {
				e.typ = attendance.MakeupWorkday
			}
			if k, ok := mine[d.Date]; ok && c.days[d.Date].typ != e.typ {
				return fmt.Errorf("%w: %s files of years %d and %d disagree on %s", ErrBadHolidayFile, group, files[k].Year, f.Year, d.Date)
			}
			mine[d.Date] = fi
			c.days[d.Date] = e
		}
	}
	return nil
}

// ValidateSchedule checks one schedule: a name and four strictly increasing times within the day.
func ValidateSchedule(s attendance.Schedule) error {
	name := s.Name
	if name == "" {
		return fmt.Errorf("%w: schedule %s..%s has no name", ErrBadSchedule, s.From, s.To)
	}
	for _, md := range []attendance.MonthDay{s.From, s.To} {
		if md.Month < 1 || md.Month > 12 || md.Day < 1 || md.Day > daysIn(md.Month) {
			return fmt.Errorf("%w: schedule %q: month-day %s does not exist", ErrBadSchedule, name, md)
		}
	}
	e := s.Expected()
	for i, t := range e {
		if t < 0 || t >= 24*3600 {
			return fmt.Errorf("%w: schedule %q: %s %s is not a time of day", ErrBadSchedule, name, attendance.Slots[i], t)
		}
		if i > 0 && t <= e[i-1] {
			return fmt.Errorf("%w: schedule %q: %s %s is not after %s %s", ErrBadSchedule, name, attendance.Slots[i], t, attendance.Slots[i-1], e[i-1])
		}
	}
	return nil
}

func daysIn(m time.Month) int {
	return time.Date(2024, m+1, 0, 0, 0, 0, 0, time.UTC).Day() // 2024: a leap year, so 02-29 exists
}

func (c *Calendar) setSchedules(ss []attendance.Schedule) error {
	if len(ss) == 0 {
		return fmt.Errorf("%w: no schedule entries", ErrBadSchedule)
	}
	names := map[string]int{}
	lengths := make([]int, len(ss))
	for i, s := range ss {
		if err := ValidateSchedule(s); err != nil {
			return fmt.Errorf("schedule[%d]: %w", i, err)
		}
		if j, dup := names[s.Name]; dup {
			return fmt.Errorf("%w: schedule[%d] and schedule[%d] are both named %q", ErrBadSchedule, j, i, s.Name)
		}
		names[s.Name] = i
	}
	c.schedules = append([]attendance.Schedule(nil), ss...)
	for m := range c.byDay {
		for d := range c.byDay[m] {
			c.byDay[m][d] = -1
		}
	}
	// count each entry's length over a leap year
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2024; d = d.AddDate(0, 0, 1) {
		date := attendance.DateOf(d)
		for i, s := range ss {
			if attendance.Covers(s.From, s.To, date) {
				lengths[i]++
			}
		}
	}
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2024; d = d.AddDate(0, 0, 1) {
		date := attendance.DateOf(d)
		best := -1
		for i, s := range ss {
			if !attendance.Covers(s.From, s.To, date) {
				continue
			}
			switch {
			case best < 0 || lengths[i] < lengths[best]:
				best = i
			case lengths[i] == lengths[best]:
				return fmt.Errorf("%w: schedules %q and %q both cover %02d-%02d and are equally long (%d days): make one shorter or remove the overlap",
					ErrBadSchedule, ss[best].Name, s.Name, date.Month, date.Day, lengths[i])
			}
		}
		c.byDay[date.Month][date.Day] = int16(best)
	}
	return nil
}

// Schedule returns the schedule that applies on d. Error wraps ErrNoSchedule when none covers it.
func (c *Calendar) Schedule(d attendance.Date) (attendance.Schedule, error) {
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return attendance.Schedule{}, fmt.Errorf("%w: %v is not a date", ErrNoSchedule, d)
	}
	i := c.byDay[d.Month][d.Day]
	if i < 0 {
		return attendance.Schedule{}, fmt.Errorf("%w: %s", ErrNoSchedule, d)
	}
	return c.schedules[i], nil
}

// DayType classes d. When nothing but the Monday–Friday guess is known and d's year has no holiday
// data, it returns the guess together with an error wrapping ErrNoData that names the year.
func (c *Calendar) DayType(d attendance.Date) (attendance.DayType, error) {
	if e, ok := c.overrides[d]; ok {
		return e.typ, nil
	}
	if e, ok := c.days[d]; ok {
		return e.typ, nil
	}
	guess := attendance.Workday
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		guess = attendance.RestDay
	}
	if !c.years[d.Year] {
		return guess, &NoDataError{Year: d.Year, Date: d, Guess: guess}
	}
	return guess, nil
}

// NoDataError is DayType's error for a date whose year has no holiday data: it wraps ErrNoData,
// and its text is the one warning every caller (the daemon's log, punchctl) gives, once a year.
type NoDataError struct {
	Year  int
	Date  attendance.Date    // the date asked about
	Guess attendance.DayType // what DayType returned: the Monday–Friday week's answer
}

func (e *NoDataError) Error() string {
	return fmt.Sprintf("%v %d (no State Council notice loaded; %s judged as a %s by weekday): add the year's holiday file ([calendar] holiday_files)",
		ErrNoData, e.Year, e.Date, e.Guess)
}

func (e *NoDataError) Unwrap() error { return ErrNoData }

// HolidayName is the name of the holiday or make-up workday on d (override name first), or "".
func (c *Calendar) HolidayName(d attendance.Date) string {
	if e, ok := c.overrides[d]; ok {
		return e.name
	}
	return c.days[d].name
}

// HasData reports whether year's holiday notice is loaded.
func (c *Calendar) HasData(year int) bool { return c.years[year] }

// MissingYears lists the years in [from, to] without holiday data, ascending.
func (c *Calendar) MissingYears(from, to int) []int {
	var out []int
	for y := from; y <= to; y++ {
		if !c.years[y] {
			out = append(out, y)
		}
	}
	return out
}

// Needed are the years whose holiday data matters at now, each true when its notice is loaded:
// now's year, and the next one from December on (the State Council's notice for it usually
// comes out in the autumn). The daemon's metrics and every status report ask here.
func (c *Calendar) Needed(now time.Time) map[int]bool {
	years := map[int]bool{now.Year(): c.years[now.Year()]}
	if now.Month() == time.December {
		years[now.Year()+1] = c.years[now.Year()+1]
	}
	return years
}

// MissingNeeded lists the Needed years at now without holiday data, ascending.
func (c *Calendar) MissingNeeded(now time.Time) []int {
	var out []int
	for y, ok := range c.Needed(now) {
		if !ok {
			out = append(out, y)
		}
	}
	sort.Ints(out)
	return out
}

// Schedules returns a copy of the configured schedule entries.
func (c *Calendar) Schedules() []attendance.Schedule {
	return append([]attendance.Schedule(nil), c.schedules...)
}
