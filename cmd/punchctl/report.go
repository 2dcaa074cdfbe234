package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/report"
)

func init() {
	register(command{
		Name:    "report table",
		Args:    "--month YYYY-MM [--unit U|all] [--blank] [--format xlsx|csv|json] -o FILE [--punches FILE [--roster FILE] [--registrations FILE]]",
		Summary: "write the monthly attendance table, or with [[unit]] a unit's own form (village 附件1, station table; all: every form and a summary sheet)",
		Run:     runReportTable,
	})
	register(command{
		Name:    "report bulletin",
		Args:    "--month YYYY-MM [--issue N] [--notes FILE] [--period-end-day 25] [--unit U] [--format md|docx|xlsx] -o FILE [--punches FILE [--roster FILE] [--registrations FILE]]",
		Summary: "write the monthly 通报 (金碧政务督查): discipline by name, by office, station and village, findings, problems and suggestions",
		Run:     runReportBulletin,
	})
}

// The report commands read judged days, the roster and the registrations from a report.Source:
// the running daemon over its API or the store opened directly (openBackend; api.Backend is a
// report.Source), or judge's input files judged on the spot (judgeSource).
var (
	_ report.Source = api.Backend(nil)
	_ report.Source = (*judgeSource)(nil)
)

// judgeSource judges judge's input files (punches, roster, registrations, config) for the dates
// asked, with the same code as `punchctl judge`, so a table from the files equals a table from a
// store the daemon filled from the same punches. Used from one goroutine.
type judgeSource struct {
	in   *judgeInputs
	warn func(string)
}

func (s *judgeSource) Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error) {
	in := *s.in
	in.From, in.To = from, to
	return judgeDays(&in, s.warn)
}

func (s *judgeSource) Roster(ctx context.Context) ([]attendance.Person, error) {
	return s.in.People, nil
}

func (s *judgeSource) Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error) {
	var out []attendance.Registration
	for _, r := range s.in.Regs {
		end := r.To
		if end.IsZero() {
			end = r.From
		}
		if !r.From.After(to) && !end.Before(from) {
			out = append(out, r)
		}
	}
	return out, nil
}

// reportFlags are the flags the two report commands share.
type reportFlags struct {
	year      int // report points --year, report year: the months of this year instead of --month
	month     string
	unit      string
	format    string
	out       string
	storePath string
	files     judgeFiles
}

func (f *reportFlags) define(e *env, fs *flag.FlagSet, formats string) {
	e.configFlag(fs)
	fs.StringVar(&f.month, "month", "", "the month `YYYY-MM`")
	fs.StringVar(&f.unit, "unit", "", "only the people of `UNIT` (a [[unit]], or as on the roster)")
	fs.StringVar(&f.format, "format", "", "output format: "+formats+" (default: from -o's extension)")
	fs.StringVar(&f.out, "o", "", "output `FILE` (- = stdout)")
	fs.StringVar(&f.storePath, "store", "", "read this store `PATH` directly (default: the daemon's API, or [store] path when it is stopped)")
	fs.StringVar(&f.files.Punches, "punches", "", "judge punches from this `FILE` (clock dump format) instead of reading the store")
	fs.StringVar(&f.files.Roster, "roster", "", "with --punches: roster `FILE` (CSV or XLSX)")
	fs.StringVar(&f.files.Registrations, "registrations", "", "with --punches: registrations `FILE` (JSON lines)")
}

// reportRun is a parsed report command line with its data source open.
type reportRun struct {
	month report.Month
	cfg   config.Config
	loc   *time.Location
	cal   *calendar.Calendar
	src   report.Source
	today attendance.Date
	blank bool // report table --blank
}

// open checks the flags and opens the source. formats lists the accepted --format values; the
// first is the default when -o has no known extension.
// A table's month must not be after today's; a bulletin checks its period's start itself.
func (f *reportFlags) open(ctx context.Context, e *env, name string, formats []string, checkMonth bool) (*reportRun, error) {
	if f.month == "" && f.year == 0 {
		return nil, usagef("--month YYYY-MM is required")
	}
	if f.year != 0 {
		f.month = fmt.Sprintf("%04d-01", f.year)
	}
	if f.out == "" {
		return nil, usagef("-o FILE is required (- for stdout)")
	}
	m, err := report.ParseMonth(f.month)
	if err != nil {
		return nil, usagef("--month: %q is not a month YYYY-MM", f.month)
	}
	if f.format == "" {
		f.format = formats[0]
		if ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(f.out)), "."); slices.Contains(formats, ext) {
			f.format = ext
		}
	}
	if !slices.Contains(formats, f.format) {
		return nil, usagef("--format: %q is not one of %s", f.format, strings.Join(formats, ", "))
	}
	if f.out == "-" && binaryFormat(f.format) && isTerminal(e.Stdout) {
		return nil, usagef("-o -: %s is a binary file and stdout is a terminal; write it to a file (-o report.%s) or redirect stdout (-o - > report.%s)",
			strings.ToUpper(f.format), f.format, f.format)
	}
	if f.files.Punches == "" && (f.files.Roster != "" || f.files.Registrations != "") {
		return nil, usagef("--roster and --registrations go with --punches")
	}
	if f.files.Punches != "" && f.storePath != "" {
		return nil, usagef("give --punches or --store, not both")
	}
	cfg, err := e.judgeConfig()
	if err != nil {
		return nil, err
	}
	r := &reportRun{month: m, cfg: cfg, loc: cfg.Location()}
	r.today = attendance.DateOf(e.Now().In(r.loc))
	if checkMonth && m.After(report.MonthOf(r.today)) {
		return nil, fmt.Errorf("--month: %s is in the future (today is %s)", m, r.today)
	}
	warn := e.warner(name)
	if f.files.Punches != "" {
		in, err := e.readJudgeInputs(f.files)
		if err != nil {
			return nil, err
		}
		if len(in.Unknown) > 0 {
			ids := make([]string, 0, len(in.Unknown))
			for id, n := range in.Unknown {
				ids = append(ids, fmt.Sprintf("%s (%d)", id, n))
			}
			slices.Sort(ids)
			warn("punched but not on the roster, not judged: " + strings.Join(ids, ", "))
		}
		r.cal, r.src = in.Cal, &judgeSource{in: in, warn: warn}
		return r, nil
	}
	if r.cal, err = cfg.NewCalendar(); err != nil {
		return nil, err
	}
	if f.storePath != "" {
		// This store and no other: not the daemon's socket, which serves the daemon's own store.
		cfg.Store.Path, cfg.API.Socket = f.storePath, ""
	}
	if r.src, err = e.backend(ctx, cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// dayTypes classifies the dates from..to with the calendar, warning once per year without holiday
// data (the Monday–Friday guess is used, as the daemon does).
func (r *reportRun) dayTypes(from, to attendance.Date, warn func(string)) (func(attendance.Date) attendance.DayType, error) {
	types := map[attendance.Date]attendance.DayType{}
	warned := map[int]bool{}
	for d := from; !d.After(to); d = d.AddDays(1) {
		dt, err := r.cal.DayType(d)
		if err != nil && !errors.Is(err, calendar.ErrNoData) {
			return nil, err
		}
		warnNoData(err, warned, warn)
		types[d] = dt
	}
	return func(d attendance.Date) attendance.DayType {
		if dt, ok := types[d]; ok {
			return dt
		}
		dt, _ := r.cal.DayType(d)
		return dt
	}, nil
}

// load reads the source for the dates from..to.
func (r *reportRun) load(ctx context.Context, from, to attendance.Date) ([]attendance.Day, []attendance.Person, []attendance.Registration, error) {
	days, err := r.src.Days(ctx, from, to)
	if err != nil {
		return nil, nil, nil, err
	}
	people, err := r.src.Roster(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	regs, err := r.src.Registrations(ctx, from.Start(r.loc), to.AddDays(1).Start(r.loc))
	if err != nil {
		return nil, nil, nil, err
	}
	return days, people, regs, nil
}

func (r *reportRun) options(unit string) report.Options {
	return report.Options{
		Site:       r.cfg.SiteTitle(),
		Blank:      r.blank,
		Title:      r.cfg.Reports.Title,
		Unit:       unit,
		Signatures: r.cfg.Reports.Signatures,
		Today:      r.today,
	}
}

// unitError names the --unit flag in an unknown-unit error.
func unitError(err error) error {
	if errors.Is(err, report.ErrUnknownUnit) {
		return fmt.Errorf("--unit: %w", err)
	}
	return err
}

func runReportTable(ctx context.Context, e *env, args []string) error {
	const name = "report table"
	var f reportFlags
	fs := e.newFlags(name)
	f.define(e, fs, "xlsx, csv or json")
	blank := fs.Bool("blank", false, "the empty form with the names filled in, for filling in by hand")
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return err
	}
	r, err := f.open(ctx, e, name, []string{"xlsx", "csv", "json"}, true)
	if err != nil {
		return err
	}
	r.blank = *blank
	warn := e.warner(name)
	if f.unit == report.AllUnits {
		if f.format == "csv" {
			return usagef("--format: csv holds one form; --unit all writes xlsx (a sheet per unit and the summary) or json")
		}
		set, err := r.tableSet(ctx, warn)
		if err != nil {
			return err
		}
		return f.write(e, name, map[string]func(io.Writer) error{
			"xlsx": func(w io.Writer) error { return report.WriteTableSetXLSX(w, set) },
			"json": func(w io.Writer) error { return report.WriteJSON(w, set) },
		}, fmt.Sprintf("%s, %d unit(s)", set.Title, len(set.Tables)))
	}
	tb, err := r.table(ctx, f.unit, warn)
	if err != nil {
		return err
	}
	write := map[string]func(io.Writer, report.Table) error{
		"xlsx": report.WriteTableXLSX, "csv": report.WriteTableCSV, "json": report.WriteTableJSON,
	}[f.format]
	if err := writeOutput(e, f.out, func(w io.Writer) error { return write(w, tb) }); err != nil {
		return err
	}
	if f.out != "-" {
		fmt.Fprintf(e.Stderr, "punchctl %s: %s: %s, %d people\n", name, f.out, tb.Title, len(tb.Rows))
	}
	return nil
}

// table builds the month's table from the run's source: with [[unit]] configured and --unit
// given, the unit's own form (an unknown unit is an error); else the clock table.
func (r *reportRun) table(ctx context.Context, unit string, warn func(string)) (report.Table, error) {
	from, to := r.month.First(), r.month.Last()
	days, people, regs, err := r.load(ctx, from, to)
	if err != nil {
		return report.Table{}, err
	}
	dt, err := r.dayTypes(from, to, warn)
	if err != nil {
		return report.Table{}, err
	}
	in := report.TableInput{Month: r.month, Days: days, Roster: people, DayType: dt, Registrations: regs, Options: r.options(unit)}
	if unit != "" && len(r.cfg.Unit) > 0 {
		u, err := r.cfg.LookupUnit(unit)
		if err != nil {
			return report.Table{}, fmt.Errorf("--unit: %w; or all", err)
		}
		ur, err := r.unitRecords(ctx, from, to)
		if err != nil {
			return report.Table{}, err
		}
		return report.BuildUnitTable(report.UnitInput{Table: in, Unit: u, Marks: ur.marks, Conflicts: ur.conflicts})
	}
	if in.Options.Blank {
		return report.Table{}, fmt.Errorf("--blank: a unit's own form: configure [[unit]] and give --unit")
	}
	tb, err := report.BuildTable(in)
	if err == nil && unit != "" && len(tb.Rows) == 0 {
		// A village's people are kept by its marks, not judged: an empty table is no answer.
		return tb, fmt.Errorf("--unit: nobody of %q is judged from punches in %s; its form needs [[unit]] in %s (a village's 附件1 from its marks)", unit, r.month, configName(r.cfg))
	}
	return tb, unitError(err)
}

// tableSet builds every unit's form (--unit all, the monthly filing).
func (r *reportRun) tableSet(ctx context.Context, warn func(string)) (report.TableSet, error) {
	if len(r.cfg.Unit) == 0 {
		return report.TableSet{}, fmt.Errorf("--unit all: no [[unit]] in %s: the set of forms is one per unit", configName(r.cfg))
	}
	from, to := r.month.First(), r.month.Last()
	days, people, regs, err := r.load(ctx, from, to)
	if err != nil {
		return report.TableSet{}, err
	}
	dt, err := r.dayTypes(from, to, warn)
	if err != nil {
		return report.TableSet{}, err
	}
	ur, err := r.unitRecords(ctx, from, to)
	if err != nil {
		return report.TableSet{}, err
	}
	in := report.TableInput{Month: r.month, Days: days, Roster: people, DayType: dt, Registrations: regs, Options: r.options("")}
	return report.UnitForms(in, r.cfg.Units(), ur.marks, ur.conflicts, r.cfg.SiteTitle())
}

func runReportBulletin(ctx context.Context, e *env, args []string) error {
	const name = "report bulletin"
	var f reportFlags
	fs := e.newFlags(name)
	f.define(e, fs, "md, docx or xlsx")
	endDay := fs.Int("period-end-day", 0, "the period ends on this `DAY` of the month and starts the day after it in the month before (default: the calendar month)")
	issue := fs.Int("issue", 0, "the issue number `N` printed as 第N期 (default: none)")
	notesPath := fs.String("notes", "", "`FILE` of problems and suggestions (存在问题及意见建议): a paragraph per block of lines or list item")
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return err
	}
	if *endDay < 0 || *endDay > 28 {
		return usagef("--period-end-day: %d is not between 1 and 28 (0 = the calendar month)", *endDay)
	}
	if *issue < 0 {
		return usagef("--issue: %d is not an issue number", *issue)
	}
	problems, err := readNotes(*notesPath)
	if err != nil {
		return err
	}
	r, err := f.open(ctx, e, name, []string{"md", "docx", "xlsx"}, false)
	if err != nil {
		return err
	}
	if f.unit != "" && len(r.cfg.Unit) > 0 {
		if _, err := r.cfg.LookupUnit(f.unit); err != nil {
			return fmt.Errorf("--unit: %w", err)
		}
	}
	n, err := r.notice(ctx, *endDay, *issue, f.unit, problems, e.warner(name))
	if err != nil {
		return err
	}
	b := n.Bulletin
	return f.write(e, name, map[string]func(io.Writer) error{
		"md":   func(w io.Writer) error { return report.WriteNoticeMarkdown(w, n) },
		"docx": func(w io.Writer) error { return report.WriteNoticeDOCX(w, n, e.Now()) },
		"xlsx": func(w io.Writer) error { return report.WriteNoticeXLSX(w, n) },
	}, fmt.Sprintf("%s, %s to %s, %d people judged from punches, %d working days", n.Title, b.From, b.To, b.People, b.WorkingDays))
}

// bulletin builds the month's bulletin from the run's source.
func (r *reportRun) bulletin(ctx context.Context, endDay int, unit string, warn func(string)) (report.Bulletin, error) {
	from, to, err := report.Period(r.month, endDay)
	if err != nil {
		return report.Bulletin{}, fmt.Errorf("--period-end-day: %w", err)
	}
	if from.After(r.today) {
		return report.Bulletin{}, fmt.Errorf("--month: %s: the period %s to %s has not started (today is %s)", r.month, from, to, r.today)
	}
	days, people, regs, err := r.load(ctx, from, to)
	if err != nil {
		return report.Bulletin{}, err
	}
	dt, err := r.dayTypes(from, to, warn)
	if err != nil {
		return report.Bulletin{}, err
	}
	// [reports] title is the table's ("…考勤表"); the bulletin has its own heading.
	opts := r.options(unit)
	opts.Title = report.DefaultBulletinTitle
	b, err := report.BuildBulletin(report.BulletinInput{Month: r.month, PeriodEndDay: endDay, Days: days, Roster: people,
		DayType: dt, Registrations: regs, Options: opts})
	return b, unitError(err)
}

// binaryFormat says whether a report format is a binary file (a zip of XML parts), not text.
func binaryFormat(format string) bool { return format == "xlsx" || format == "docx" }

// writeOutput writes to path through a temporary file renamed into place, so a failed run leaves
// no half-written report; the file is 0600, as it holds names and attendance. "-" writes to stdout.
func writeOutput(e *env, path string, write func(io.Writer) error) error {
	if path == "-" {
		return write(e.Stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	// Names and attendance: owner-only (the temporary file is created 0600 and keeps it).
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("-o: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}
