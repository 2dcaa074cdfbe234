package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/report"
)

func init() {
	register(command{
		Name:    "report points",
		Args:    "--month YYYY-MM | --year YYYY [--format xlsx|csv|json] -o FILE",
		Summary: "write the assessment points (大比拼考核加减分, [points]) per person with the reasons, for a month or a year",
		Run:     runReportPoints,
	})
	register(command{
		Name:    "report year",
		Args:    "--year YYYY [--format xlsx|csv|json] -o FILE",
		Summary: "write each person's attendance record of a year (the basis for 评先推优)",
		Run:     runReportYear,
	})
}

// unitsSource is a report source that also keeps the units' own records: the daemon's API and the
// store (api.Backend). Judge's input files have none.
type unitsSource interface {
	Marks(ctx context.Context, unit string, from, to attendance.Date) ([]attendance.DayMark, error)
	Findings(ctx context.Context, from, to attendance.Date) ([]attendance.Finding, error)
	Conflicts(ctx context.Context, from, to attendance.Date) ([]attendance.Conflict, error)
}

// unitRecords are the units' records of a period.
type unitRecords struct {
	marks     []attendance.DayMark
	findings  []attendance.Finding
	conflicts []attendance.Conflict
}

func (r *reportRun) unitRecords(ctx context.Context, from, to attendance.Date) (unitRecords, error) {
	var ur unitRecords
	us, ok := r.src.(unitsSource)
	if !ok {
		return ur, nil
	}
	var err error
	if ur.marks, err = us.Marks(ctx, "", from, to); err != nil {
		return ur, fmt.Errorf("marks %s..%s: %w", from, to, err)
	}
	if ur.findings, err = us.Findings(ctx, from, to); err != nil {
		return ur, fmt.Errorf("findings %s..%s: %w", from, to, err)
	}
	if ur.conflicts, err = us.Conflicts(ctx, from, to); err != nil {
		return ur, fmt.Errorf("cross-check %s..%s: %w", from, to, err)
	}
	return ur, nil
}

// monthFacts gathers a period's clock bulletin and the units' records.
func (r *reportRun) monthFacts(ctx context.Context, month report.Month, endDay int, unit string, warn func(string)) (report.Bulletin, unitRecords, []attendance.Person, error) {
	saved := r.month
	r.month = month
	b, err := r.bulletin(ctx, endDay, unit, warn)
	r.month = saved
	if err != nil {
		return b, unitRecords{}, nil, err
	}
	people, err := r.src.Roster(ctx)
	if err != nil {
		return b, unitRecords{}, nil, fmt.Errorf("roster: %w", err)
	}
	ur, err := r.unitRecords(ctx, b.From, b.To)
	return b, ur, people, err
}

// notice builds the 通报 of the run's month.
func (r *reportRun) notice(ctx context.Context, endDay, issue int, unit string, problems []string, warn func(string)) (report.Notice, error) {
	b, ur, people, err := r.monthFacts(ctx, r.month, endDay, unit, warn)
	if err != nil {
		return report.Notice{}, err
	}
	return report.BuildNotice(report.NoticeInput{Bulletin: b, Month: r.month, Site: r.cfg.SiteTitle(), Issue: issue,
		Issuer: r.cfg.Reports.BulletinIssuer, Date: r.today, Units: r.cfg.Units(), Roster: people, Marks: ur.marks,
		Conflicts: ur.conflicts, Findings: ur.findings, Problems: problems, Unit: unit})
}

// readNotes reads the problems and suggestions of the 通报: one paragraph per block of lines,
// blank lines between them; a leading list marker ("- ", "1. ", "1、") is dropped.
func readNotes(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--notes: %w", err)
	}
	defer fh.Close()
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			flush()
			continue
		}
		if l, ok := cutListMarker(line); ok {
			flush()
			line = l
		}
		cur.WriteString(line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--notes %s: %w", path, err)
	}
	flush()
	return out, nil
}

func cutListMarker(line string) (string, bool) {
	for _, p := range []string{"- ", "* ", "• "} {
		if s, ok := strings.CutPrefix(line, p); ok {
			return s, true
		}
	}
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i > 0 {
		for _, sep := range []string{". ", "、", "．", "."} {
			if s, ok := strings.CutPrefix(line[i:], sep); ok {
				return strings.TrimSpace(s), true
			}
		}
	}
	return line, false
}

// points builds the points of the months of the run: its month, or each month of --year up to today.
func (r *reportRun) pointsInputs(ctx context.Context, year int, warn func(string)) ([]report.PointsInput, error) {
	months := []report.Month{r.month}
	if year != 0 {
		months = nil
		for m := time.January; m <= time.December; m++ {
			rm := report.Month{Year: year, Month: m}
			if rm.After(report.MonthOf(r.today)) {
				break
			}
			months = append(months, rm)
		}
		if len(months) == 0 {
			return nil, fmt.Errorf("--year: %d is in the future (today is %s)", year, r.today)
		}
	}
	var out []report.PointsInput
	for _, m := range months {
		b, ur, people, err := r.monthFacts(ctx, m, 0, "", warn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		out = append(out, report.PointsInput{Title: fmt.Sprintf("%s%d年%d月考核加减分", r.cfg.SiteTitle(), m.Year, int(m.Month)),
			Bulletin: b, Roster: people, Marks: ur.marks, Conflicts: ur.conflicts, Findings: ur.findings, Values: r.cfg.PointValues()})
	}
	return out, nil
}

// pointsRun is the opening report points and report year share: their flags (yearHelp says what
// --year means), check (the usage rule on --month and --year), the source, and the points of each
// month the command covers.
func (e *env) pointsRun(ctx context.Context, name, yearHelp string, args []string, check func(f *reportFlags) error) (*reportFlags, *reportRun, []report.PointsInput, error) {
	f := new(reportFlags)
	fs := e.newFlags(name)
	f.define(e, fs, "xlsx, csv or json")
	fs.IntVar(&f.year, "year", 0, yearHelp)
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return nil, nil, nil, err
	}
	if err := check(f); err != nil {
		return nil, nil, nil, err
	}
	r, err := f.open(ctx, e, name, []string{"xlsx", "csv", "json"}, false)
	if err != nil {
		return nil, nil, nil, err
	}
	ins, err := r.pointsInputs(ctx, f.year, e.warner(name))
	if err != nil {
		return nil, nil, nil, err
	}
	return f, r, ins, nil
}

func runReportPoints(ctx context.Context, e *env, args []string) error {
	const name = "report points"
	f, r, ins, err := e.pointsRun(ctx, name, "every month of `YYYY` (up to this month), one row per person", args, func(f *reportFlags) error {
		if (f.month == "") == (f.year == 0) {
			return usagef("give --month YYYY-MM or --year YYYY")
		}
		return nil
	})
	if err != nil {
		return err
	}
	p := report.BuildPoints(ins[0])
	if f.year != 0 {
		p = report.YearPoints(f.year, r.cfg.SiteTitle(), ins)
	}
	return f.write(e, name, map[string]func(io.Writer) error{
		"xlsx": func(w io.Writer) error { return report.WritePointsXLSX(w, p) },
		"csv":  func(w io.Writer) error { return report.WritePointsCSV(w, p) },
		"json": func(w io.Writer) error { return report.WriteJSON(w, p) },
	}, fmt.Sprintf("%s, %d people", p.Title, len(p.Rows)))
}

// write writes the report in the chosen format to -o and, unless that is stdout, says what it
// wrote on stderr.
func (f *reportFlags) write(e *env, name string, writers map[string]func(io.Writer) error, summary string) error {
	if err := writeOutput(e, f.out, writers[f.format]); err != nil {
		return err
	}
	if f.out != "-" {
		fmt.Fprintf(e.Stderr, "punchctl %s: %s: %s\n", name, f.out, summary)
	}
	return nil
}

func runReportYear(ctx context.Context, e *env, args []string) error {
	const name = "report year"
	f, r, ins, err := e.pointsRun(ctx, name, "the year `YYYY`", args, func(f *reportFlags) error {
		if f.year == 0 || f.month != "" {
			return usagef("--year YYYY is required (and --month does not apply)")
		}
		return nil
	})
	if err != nil {
		return err
	}
	y := report.BuildYear(f.year, r.cfg.SiteTitle(), ins)
	return f.write(e, name, map[string]func(io.Writer) error{
		"xlsx": func(w io.Writer) error { return report.WriteYearXLSX(w, y) },
		"csv":  func(w io.Writer) error { return report.WriteYearCSV(w, y) },
		"json": func(w io.Writer) error { return report.WriteJSON(w, y) },
	}, fmt.Sprintf("%s, %d people", y.Title, len(y.Rows)))
}
