package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/punchio"
	"github.com/jinbi/punchd/internal/roster"
	"github.com/jinbi/punchd/internal/rules"
)

func init() {
	register(command{
		Name:    "judge",
		Args:    "--config FILE --punches FILE [--roster FILE] [--registrations FILE] [--from DATE --to DATE] --json",
		Summary: "judge punches from files (clock dump format) with the rules, no daemon or store",
		Help: `--json prints one object per person and day:
  {"user_id","date","day_type","status","slots":{"am_in":{…},"am_out":{…},"pm_in":{…},"pm_out":{…}}}
  day_type: workday | makeup_workday, and rest | holiday for a day off on which the person punched
  (days off without punches are left out; so are people not tracked by this clock: village,
  station, exempt, or outside their roster dates).
  status: normal | abnormal | absent | excused. A rest day or holiday with punches is normal.
  Every slot: {"time": RFC 3339 or null, "result", "minutes", "registration": {…} or null}.
  result: ok | late | serious_late | early | missing | absent | excused. All four slots are always
  present; on a rest day or holiday nothing is judged: punches are shown in their slots and every
  slot's result is ok ("time": null where no punch counted).
  minutes are the minutes late or early no registration covers; "excused_minutes" (when not 0) the
  ones a registration covers, never counted. "registration" is the registration that excused the
  slot (or those minutes), or the 补卡 that supplied its punch: {"id", "kind", "from", "to",
  "reason", "via", "approved_by", "registered_by", "registered_at", "late_registered"};
  late_registered: recorded more than [rules] register_within after the slot.
  "uncounted" (when any) lists the day's punches outside [rules.windows] open..close, e.g.
  {"time": "…T00:01:10+08:00", "reason": "before_open"}: they count for no slot.`,
		Run: runJudge,
	})
}

// judgeFiles are the inputs of a judge run as given on the command line.
type judgeFiles struct {
	Punches       string // dump JSON lines; "-" = stdin
	Roster        string // CSV or XLSX; "" = everyone who punched, clock-tracked
	Registrations string // JSON lines; "" = none
	From, To      string // YYYY-MM-DD; "" = the span of the punches
}

// judgeInputs are the inputs of a judge run, read and checked. report commands reuse it to build
// the monthly table from the same files.
type judgeInputs struct {
	Config  config.Config
	Loc     *time.Location
	Cal     *calendar.Calendar
	People  []attendance.Person // in roster order (or by user id without a roster)
	Punches []device.Punch
	Regs    []attendance.Registration
	From    attendance.Date
	To      attendance.Date
	// Unknown counts the punches of user ids that are not on the roster (not judged).
	Unknown map[string]int
}

// judgeConfig reads --config; when it was not given and the default file does not exist, the
// defaults are used (and said so on stderr).
func (e *env) judgeConfig() (config.Config, error) {
	if !e.ConfigSet {
		if _, err := os.Stat(e.ConfigPath); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(e.Stderr, "punchctl: no config at %s: using the defaults\n", e.ConfigPath)
			return config.Default(), nil
		}
	}
	return e.loadConfig()
}

// readJudgeInputs reads and checks every input file. Any bad line fails the whole run.
func (e *env) readJudgeInputs(f judgeFiles) (*judgeInputs, error) {
	cfg, err := e.judgeConfig()
	if err != nil {
		return nil, err
	}
	in := &judgeInputs{Config: cfg, Loc: cfg.Location(), Unknown: map[string]int{}}
	if in.Cal, err = cfg.NewCalendar(); err != nil {
		return nil, err
	}

	if in.Punches, err = readFileWith(e, f.Punches, func(r io.Reader, name string) ([]device.Punch, error) {
		return punchio.ReadJSONLines(r, name, in.Loc)
	}); err != nil {
		return nil, err
	}

	if f.Roster != "" {
		switch strings.ToLower(filepath.Ext(f.Roster)) {
		case ".xlsx", ".xlsm":
			in.People, err = roster.ParseFile(f.Roster)
		default:
			in.People, err = readFileWith(e, f.Roster, roster.ParseCSV)
		}
		if err != nil {
			return nil, err
		}
		if in.People, err = cfg.ApplyUnits(in.People); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Roster, err)
		}
	}
	known := map[string]bool{}
	for _, p := range in.People {
		known[p.UserID] = true
	}

	var regs []punchio.RegistrationLine
	if f.Registrations != "" {
		if regs, err = readFileWith(e, f.Registrations, func(r io.Reader, name string) ([]punchio.RegistrationLine, error) {
			return punchio.ReadRegistrationLines(r, name, in.Loc)
		}); err != nil {
			return nil, err
		}
	}

	if f.Roster == "" {
		// Everyone who punched (or was registered), tracked by this clock.
		for _, p := range in.Punches {
			known[p.UserID] = true
		}
		for _, r := range regs {
			known[r.UserID] = true
		}
		ids := make([]string, 0, len(known))
		for id := range known {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			in.People = append(in.People, attendance.Person{UserID: id, Tracking: attendance.TrackClock})
		}
	} else {
		for _, p := range in.Punches {
			if !known[p.UserID] {
				in.Unknown[p.UserID]++
			}
		}
		for _, r := range regs {
			if !known[r.UserID] {
				return nil, punchio.LineError(f.Registrations, r.Line, "user_id %q is not on the roster %s", r.UserID, f.Roster)
			}
		}
	}
	for _, r := range regs {
		in.Regs = append(in.Regs, r.Registration)
	}

	// The dates: given, or the span of the punches.
	var lo, hi attendance.Date
	for _, p := range in.Punches {
		d := attendance.DateOf(p.Time.In(in.Loc))
		if lo.IsZero() || d.Before(lo) {
			lo = d
		}
		if hi.IsZero() || d.After(hi) {
			hi = d
		}
	}
	in.From, in.To = lo, hi
	if f.From != "" {
		if in.From, err = attendance.ParseDate(f.From); err != nil {
			return nil, usagef("--from: %q is not a date YYYY-MM-DD", f.From)
		}
	}
	if f.To != "" {
		if in.To, err = attendance.ParseDate(f.To); err != nil {
			return nil, usagef("--to: %q is not a date YYYY-MM-DD", f.To)
		}
	}
	if in.From.IsZero() != in.To.IsZero() {
		// one bound given and no punches to take the other from
		return nil, usagef("with no punches, give both --from and --to")
	}
	if !in.From.IsZero() && in.To.Before(in.From) {
		return nil, usagef("--to %s is before --from %s", in.To, in.From)
	}
	return in, nil
}

// readFileWith opens path ("-" = stdin) and parses it with parse, which names path in its errors.
func readFileWith[T any](e *env, path string, parse func(io.Reader, string) (T, error)) (T, error) {
	if path == "-" {
		return parse(e.Stdin, "stdin")
	}
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(bufio.NewReaderSize(f, 256*1024), path)
}

// farFuture is SyncedUntil and Now of a judge run: all the data is in.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// judgeDays judges every person on every date From..To with rules.JudgeRange, person by person
// in People order. It returns working days and the rest days on which the person punched; people
// the rules do not judge (village, station, exempt, off the roster's dates) are left out. warn is
// told once per year without holiday data (see warnNoData).
func judgeDays(in *judgeInputs, warn func(string)) ([]attendance.Day, error) {
	if in.From.IsZero() {
		return nil, nil
	}
	punchesBy := map[string][]device.Punch{}
	for _, p := range in.Punches {
		punchesBy[p.UserID] = append(punchesBy[p.UserID], p)
	}
	regsBy := map[string][]attendance.Registration{}
	for _, r := range in.Regs {
		regsBy[r.UserID] = append(regsBy[r.UserID], r)
	}
	params := in.Config.RulesParams()
	warned := map[int]bool{}
	var out []attendance.Day
	for _, person := range in.People {
		days, err := rules.JudgeRange(in.Cal, rules.Range{Person: person, From: in.From, To: in.To, Loc: in.Loc, Params: params,
			Punches: punchesBy[person.UserID], Registrations: regsBy[person.UserID], SyncedUntil: farFuture, Now: farFuture})
		if days == nil && err != nil {
			return nil, err
		}
		warnNoData(err, warned, warn)
		for _, day := range days {
			if day.Status == rules.StatusNotJudged || (!day.DayType.IsWorking() && day.Punches == 0) {
				continue
			}
			out = append(out, day)
		}
	}
	return out, nil
}

// warnNoData tells warn, once per year (warned remembers), of each calendar error in err that says
// a year has no holiday data: the calendar's own words, as the daemon logs them.
func warnNoData(err error, warned map[int]bool, warn func(string)) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	for _, e := range errs {
		var nd *calendar.NoDataError
		if errors.As(e, &nd) && !warned[nd.Year] {
			warned[nd.Year] = true
			warn(e.Error())
		}
	}
}

// judgeSlot and judgeDay are the output lines of judge --json, field for field.
type judgeSlot struct {
	Time           *string           `json:"time"`
	Result         attendance.Result `json:"result"`
	Minutes        int               `json:"minutes"`
	ExcusedMinutes int               `json:"excused_minutes,omitempty"`
	Registration   *judgeReg         `json:"registration"`
}

type judgeReg struct {
	ID             string          `json:"id"`
	Kind           attendance.Kind `json:"kind"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Reason         string          `json:"reason"`
	Via            attendance.Via  `json:"via,omitempty"`
	ApprovedBy     string          `json:"approved_by,omitempty"`
	RegisteredBy   string          `json:"registered_by"`
	RegisteredAt   *string         `json:"registered_at"` // null when the file did not say
	LateRegistered bool            `json:"late_registered"`
}

type judgeUncounted struct {
	Time   string                     `json:"time"`
	Reason attendance.UncountedReason `json:"reason"`
}

type judgeDay struct {
	UserID    string               `json:"user_id"`
	Date      string               `json:"date"`
	DayType   attendance.DayType   `json:"day_type"`
	Status    attendance.Status    `json:"status"`
	Slots     map[string]judgeSlot `json:"slots"`
	Uncounted []judgeUncounted     `json:"uncounted,omitempty"`
}

// judgeLine is a judged day as the contract has it: status one of normal|abnormal|absent|excused
// (a rest day or holiday with punches is "normal", never an anomaly; day_type still says "rest"
// or "holiday"), and always all four slot keys — a slot no punch counted for has "time": null,
// and on a rest day or holiday, where nothing is judged, "result": "ok".
func judgeLine(d attendance.Day, regs map[string]attendance.Registration) judgeDay {
	status := d.Status
	if status == attendance.StatusRest || !d.DayType.IsWorking() {
		status = attendance.StatusNormal
	}
	out := judgeDay{UserID: d.UserID, Date: d.Date.String(), DayType: d.DayType, Status: status, Slots: make(map[string]judgeSlot, len(attendance.Slots))}
	for _, name := range attendance.Slots {
		s, ok := d.Slots[name]
		if !ok {
			// The rules leave out only the slots of a rest day nobody punched for (a working day
			// judged with all the data in has all four); pending if that ever changes.
			res := attendance.ResultOK
			if d.DayType.IsWorking() {
				res = attendance.ResultPending
			}
			out.Slots[string(name)] = judgeSlot{Result: res}
			continue
		}
		js := judgeSlot{Result: s.Result, Minutes: s.Minutes, ExcusedMinutes: s.ExcusedMinutes}
		if s.Time != nil {
			t := s.Time.Format(time.RFC3339)
			js.Time = &t
		}
		if s.Registration != nil {
			r := regs[*s.Registration]
			js.Registration = &judgeReg{ID: *s.Registration, Kind: r.Kind, Reason: r.Reason, Via: r.Via, ApprovedBy: r.ApprovedBy,
				RegisteredBy: r.RegisteredBy, LateRegistered: s.LateRegistered}
			if !r.From.IsZero() {
				js.Registration.From = r.From.Format(time.RFC3339)
				js.Registration.To = r.To.Format(time.RFC3339)
			}
			if !r.RegisteredAt.IsZero() {
				at := r.RegisteredAt.Format(time.RFC3339)
				js.Registration.RegisteredAt = &at
			}
		}
		out.Slots[string(name)] = js
	}
	for _, u := range d.Uncounted {
		out.Uncounted = append(out.Uncounted, judgeUncounted{Time: u.Time.Format(time.RFC3339), Reason: u.Reason})
	}
	return out
}

func runJudge(ctx context.Context, e *env, args []string) error {
	var f judgeFiles
	var asJSON bool
	fs := e.newFlags("judge")
	e.configFlag(fs)
	fs.StringVar(&f.Punches, "punches", "", "punches `FILE` in the clock dump format, one JSON object a line (- = stdin)")
	fs.StringVar(&f.Roster, "roster", "", "roster `FILE` (CSV user_id,name,post,unit,tracking, or XLSX); default: everyone who punched")
	fs.StringVar(&f.Registrations, "registrations", "", "registrations `FILE`, one JSON object a line")
	fs.StringVar(&f.From, "from", "", "first `DATE` judged (default: first day with a punch)")
	fs.StringVar(&f.To, "to", "", "last `DATE` judged (default: last day with a punch)")
	fs.BoolVar(&asJSON, "json", false, "one JSON object per person and day (default: a line for reading)")
	if err := e.parseNoArgs(fs, "judge", args); err != nil {
		return err
	}
	if f.Punches == "" {
		return usagef("--punches FILE is required")
	}
	in, err := e.readJudgeInputs(f)
	if err != nil {
		return err
	}
	if len(in.Unknown) > 0 {
		ids := make([]string, 0, len(in.Unknown))
		for id := range in.Unknown {
			ids = append(ids, fmt.Sprintf("%s (%d)", id, in.Unknown[id]))
		}
		slices.Sort(ids)
		fmt.Fprintf(e.Stderr, "punchctl judge: not on the roster, not judged: %s\n", strings.Join(ids, ", "))
	}
	days, err := judgeDays(in, func(msg string) { fmt.Fprintf(e.Stderr, "punchctl judge: warning: %s\n", msg) })
	if err != nil {
		return err
	}
	regs := map[string]attendance.Registration{}
	for _, r := range in.Regs {
		regs[r.ID] = r
	}
	names := map[string]string{}
	for _, p := range in.People {
		names[p.UserID] = p.Name
	}
	w := bufio.NewWriter(e.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range days {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := judgeLine(d, regs)
		if asJSON {
			if err := enc.Encode(line); err != nil {
				return err
			}
			continue
		}
		writeJudgeText(w, line, names[d.UserID])
	}
	return w.Flush()
}

// writeJudgeText is the line for reading: date, person, day, then each slot.
func writeJudgeText(w io.Writer, d judgeDay, name string) {
	who := d.UserID
	if name != "" {
		who += " " + name
	}
	fmt.Fprintf(w, "%s  %s %-14s %-8s", d.Date, padRight(who, 14), d.DayType, d.Status)
	for _, n := range attendance.Slots {
		s, ok := d.Slots[string(n)]
		if !ok {
			continue
		}
		t := "--:--"
		if s.Time != nil {
			if tt, err := time.Parse(time.RFC3339, *s.Time); err == nil {
				t = tt.Format("15:04")
			}
		}
		fmt.Fprintf(w, "  %s %s %s", n, t, s.Result)
		if s.Minutes != 0 {
			fmt.Fprintf(w, " %dmin", s.Minutes)
		}
		if s.ExcusedMinutes != 0 {
			fmt.Fprintf(w, " (%dmin excused)", s.ExcusedMinutes)
		}
		if s.Registration != nil {
			fmt.Fprintf(w, " (%s %s", s.Registration.Kind, s.Registration.ID)
			if s.Registration.LateRegistered {
				w.Write([]byte(", registered late"))
			}
			w.Write([]byte(")"))
		}
	}
	for _, u := range d.Uncounted {
		t := u.Time
		if tt, err := time.Parse(time.RFC3339, u.Time); err == nil {
			t = tt.Format("15:04:05")
		}
		why := "not counted"
		switch u.Reason {
		case attendance.BeforeOpen:
			why = "before the day opens ([rules.windows] open): not counted"
		case attendance.AfterClose:
			why = "after the day closes ([rules.windows] close): not counted"
		}
		fmt.Fprintf(w, "  [%s %s]", t, why)
	}
	fmt.Fprintln(w)
}
