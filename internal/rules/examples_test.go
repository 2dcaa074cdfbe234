package rules

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
)

// The worked examples of docs/rules.md are fenced ```example blocks: input lines, a "=>" line, and
// the judged result. TestDocExamples judges every input with the real calendar and the real rules
// and compares the rendering with the doc; `go test ./internal/rules -run TestDocExamples -update`
// rewrites the results in the doc from the code.

var update = flag.Bool("update", false, "rewrite the results of docs/rules.md's examples from the code")

const docPath = "../../docs/rules.md"

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		l = time.FixedZone("CST", 8*3600)
	}
	return l
}()

// testCalendar: all-year 08:30/12:00/14:30/18:00 and a summer schedule 06-01..09-30 08:00/12:00/15:00/18:30.
func testCalendar(t testing.TB) *calendar.Calendar {
	t.Helper()
	c, err := calendar.New(calendar.Options{Schedules: []attendance.Schedule{
		{Name: "all-year", From: attendance.MonthDay{Month: 1, Day: 1}, To: attendance.MonthDay{Month: 12, Day: 31},
			AmIn: 8*3600 + 30*60, AmOut: 12 * 3600, PmIn: 14*3600 + 30*60, PmOut: 18 * 3600},
		{Name: "summer", From: attendance.MonthDay{Month: 6, Day: 1}, To: attendance.MonthDay{Month: 9, Day: 30},
			AmIn: 8 * 3600, AmOut: 12 * 3600, PmIn: 15 * 3600, PmOut: 18*3600 + 30*60},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type example struct {
	name   string
	in     Input
	result string // as in the doc
}

var blockRE = regexp.MustCompile("(?s)```example\n(.*?)```")

// parseExample reads the input lines of one block (before "=>").
func parseExample(cal *calendar.Calendar, text string) (example, error) {
	var ex example
	in := Input{Person: attendance.Person{UserID: "1001", Tracking: attendance.TrackClock}, Loc: shanghai, Params: DefaultParams()}
	head, result, ok := strings.Cut(text, "=>")
	if !ok {
		return ex, fmt.Errorf("no => line")
	}
	ex.result = "=>" + result
	var nowS, syncS string
	onDate := func(s string) (time.Time, error) {
		if strings.Contains(s, "T") {
			return time.ParseInLocation("2006-01-02T15:04", s, shanghai)
		}
		tod, err := attendance.ParseTimeOfDay(s)
		if err != nil {
			return time.Time{}, err
		}
		return in.Date.At(tod, shanghai), nil
	}
	for _, line := range strings.Split(strings.TrimSpace(head), "\n") {
		key, val, _ := strings.Cut(line, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if i := strings.Index(val, "  #"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		switch key {
		case "example":
			ex.name = val
		case "date":
			d, err := attendance.ParseDate(strings.Fields(val)[0])
			if err != nil {
				return ex, err
			}
			in.Date = d
			in.DayType, err = cal.DayType(d)
			if err != nil {
				return ex, err
			}
			if in.Schedule, err = cal.Schedule(d); err != nil {
				return ex, err
			}
		case "tracking":
			in.Person.Tracking = attendance.Tracking(val)
		case "punches":
			for _, f := range strings.Fields(val) {
				ts, st, hasKey := strings.Cut(f, "/")
				t, err := onDate(ts)
				if err != nil {
					return ex, fmt.Errorf("punch %q: %w", f, err)
				}
				p := device.Punch{Clock: "CLK1", UserID: "1001", Time: t}
				if hasKey {
					var k int
					fmt.Sscan(st, &k)
					p.State = uint8(k)
				}
				in.Punches = append(in.Punches, p)
			}
		case "register":
			// ID KIND FROM [TO] [revoked] [registered WHEN]
			f := strings.Fields(val)
			if len(f) < 3 {
				return ex, fmt.Errorf("register %q: want ID KIND FROM [TO] [revoked] [registered WHEN]", val)
			}
			r := attendance.Registration{ID: f[0], UserID: "1001", Kind: attendance.Kind(f[1])}
			var err error
			if r.From, err = onDate(f[2]); err != nil {
				return ex, err
			}
			r.To = r.From
			rest := f[3:]
			if len(rest) > 0 && rest[0] != "revoked" && rest[0] != "registered" {
				if r.To, err = onDate(rest[0]); err != nil {
					return ex, err
				}
				rest = rest[1:]
			}
			for len(rest) > 0 {
				switch {
				case rest[0] == "revoked":
					r.RevokedAt, r.RevokedBy = r.From, "office"
					rest = rest[1:]
				case rest[0] == "registered" && len(rest) > 1:
					if r.RegisteredAt, err = onDate(rest[1]); err != nil {
						return ex, err
					}
					rest = rest[2:]
				default:
					return ex, fmt.Errorf("register %q: unexpected %q", val, rest[0])
				}
			}
			in.Registrations = append(in.Registrations, r)
		case "now":
			nowS = val
		case "synced":
			syncS = val
		case "grace":
			d, err := time.ParseDuration(val)
			if err != nil {
				return ex, err
			}
			in.Params.Grace = d
		case "state_key":
			in.Params.UseStateKey = val == "true"
		case "open", "pm_split":
			tod, err := attendance.ParseTimeOfDay(val)
			if err != nil {
				return ex, err
			}
			if key == "open" {
				in.Params.Windows.Open = tod
			} else {
				in.Params.Windows.PmSplit = tod
			}
		default:
			return ex, fmt.Errorf("unknown input line %q", line)
		}
	}
	in.Now = in.Date.AddDays(1).Start(shanghai)
	var err error
	if nowS != "" {
		if in.Now, err = onDate(nowS); err != nil {
			return ex, err
		}
	}
	in.SyncedUntil = in.Now
	if syncS != "" {
		if in.SyncedUntil, err = onDate(syncS); err != nil {
			return ex, err
		}
	}
	ex.in = in
	return ex, nil
}

// render prints a judged day as the doc shows it.
func render(d attendance.Day) string {
	var b strings.Builder
	fmt.Fprintf(&b, "=> %s, %s", d.DayType, d.Status)
	if d.Final {
		b.WriteString(", final")
	}
	if d.Excuse != "" {
		fmt.Fprintf(&b, ", excuse %s", d.Excuse)
	}
	b.WriteString("\n")
	for _, name := range attendance.Slots {
		s, ok := d.Slots[name]
		if !ok {
			continue
		}
		t := "—"
		if s.Time != nil {
			t = s.Time.Format("15:04:05")
			t = strings.TrimSuffix(t, ":00")
		}
		fmt.Fprintf(&b, "%-7s %-9s %s", name, t, s.Result)
		switch {
		case s.Result == attendance.ResultExcused && s.ExcusedMinutes != 0:
			fmt.Fprintf(&b, " (%s %d min)", s.Unexcused, s.ExcusedMinutes)
		case s.Result == attendance.ResultExcused:
			fmt.Fprintf(&b, " (%s)", s.Unexcused)
		case s.ExcusedMinutes != 0:
			fmt.Fprintf(&b, " %d min, %d min excused", s.Minutes, s.ExcusedMinutes)
		case s.Minutes != 0:
			fmt.Fprintf(&b, " %d min", s.Minutes)
		}
		if s.Manual {
			b.WriteString(" manual")
		}
		if s.Registration != nil {
			fmt.Fprintf(&b, " by %s", *s.Registration)
		}
		if s.LateRegistered {
			b.WriteString(" (registered late)")
		}
		b.WriteString("\n")
	}
	for _, u := range d.Uncounted {
		fmt.Fprintf(&b, "uncounted %s %s\n", strings.TrimSuffix(u.Time.Format("15:04:05"), ":00"), u.Reason)
	}
	return b.String()
}

func loadExamples(t *testing.T) (string, [][]int, []example) {
	t.Helper()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	cal := testCalendar(t)
	locs := blockRE.FindAllStringSubmatchIndex(doc, -1)
	if len(locs) < 12 {
		t.Fatalf("docs/rules.md has %d examples, want at least 12", len(locs))
	}
	var exs []example
	for i, l := range locs {
		ex, err := parseExample(cal, doc[l[2]:l[3]])
		if err != nil {
			t.Fatalf("docs/rules.md example %d: %v", i+1, err)
		}
		exs = append(exs, ex)
	}
	return doc, locs, exs
}

func TestDocExamples(t *testing.T) {
	doc, locs, exs := loadExamples(t)
	var out strings.Builder
	last := 0
	for i, ex := range exs {
		got := render(Judge(ex.in))
		if *update {
			block := doc[locs[i][2]:locs[i][3]]
			head, _, _ := strings.Cut(block, "=>")
			out.WriteString(doc[last:locs[i][2]])
			out.WriteString(head + got)
			last = locs[i][3]
			continue
		}
		if got != ex.result {
			t.Errorf("example %q:\n got:\n%s want (docs/rules.md):\n%s", ex.name, got, ex.result)
		}
	}
	if *update {
		out.WriteString(doc[last:])
		if err := os.WriteFile(docPath, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
