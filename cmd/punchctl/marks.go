package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os/user"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/marks"
	"github.com/jinbi/punchd/internal/regform"
	"github.com/jinbi/punchd/internal/report"
)

func init() {
	register(command{
		Name:    "marks set",
		Args:    "--unit U --user ID --date YYYY-MM-DD --mark √|×|假|差|休 [--by WHO]",
		Summary: "record one day's mark of a person a unit without a clock keeps (a village, a station)",
		Run:     runMarksSet,
	})
	register(command{
		Name:    "marks import",
		Args:    "--unit U --month YYYY-MM [--by WHO] FILE",
		Summary: "import a unit's month of marks from its 附件1 sheet (CSV or XLSX: 姓名, 职务, 1..31; blank = not recorded); a bad sheet is refused whole",
		Run:     runMarksImport,
	})
	register(command{
		Name:    "marks list",
		Args:    "--month YYYY-MM [--unit U] [--json]",
		Summary: "list the marks recorded for a month, a line per person (who recorded them and when with --json)",
		Run:     runMarksList,
	})
	register(command{
		Name:    "finding add",
		Args:    "--date YYYY-MM-DD --unit U [--user ID] --kind positive|negative --text TEXT [--by WHO] [--json]",
		Summary: "record what a check on site found (督查发现): a good example or a breach, of a unit or a person; it goes into the 通报 and the points",
		Run:     runFindingAdd,
	})
	register(command{
		Name:    "finding list",
		Args:    "[--month YYYY-MM] [--json]",
		Summary: "list the findings of a month (default this month), revoked ones marked",
		Run:     runFindingList,
	})
	register(command{
		Name:    "finding revoke",
		Args:    "ID --by WHO [--reason TEXT]",
		Summary: "revoke a finding (kept, marked revoked with who, when and why)",
		Run:     runFindingRevoke,
	})
}

// byFlag is --by: who records; the login name when not given.
func byFlag(fs *flag.FlagSet) *string {
	def := ""
	if u, err := user.Current(); err == nil {
		def = u.Username
	}
	return fs.String("by", def, "`WHO` records it (default: your login name)")
}

// configUnit checks --unit against [[unit]]: it must be configured and keep its people by marks.
func configUnit(cfg config.Config, name string) (attendance.Unit, error) {
	if name == "" {
		return attendance.Unit{}, usagef("--unit is required")
	}
	if len(cfg.Unit) == 0 {
		return attendance.Unit{}, fmt.Errorf("--unit %q: no [[unit]] in %s: marks are kept for the units it names", name, configName(cfg))
	}
	u, err := cfg.LookupUnit(name)
	if err != nil {
		return u, fmt.Errorf("--unit: %w", err)
	}
	if u.HasClock {
		return u, fmt.Errorf("--unit %q: its people punch a clock and are judged from it; marks are for villages and stations without a clock", name)
	}
	return u, nil
}

func runMarksSet(ctx context.Context, e *env, args []string) error {
	const name = "marks set"
	fs := e.newFlags(name)
	e.configFlag(fs)
	unit := fs.String("unit", "", "the `UNIT` ([[unit]] name)")
	id := fs.String("user", "", "the person's `ID` (as on the roster)")
	date := fs.String("date", "", "the day `YYYY-MM-DD`")
	mark := fs.String("mark", "", "√ (worked there), × (did not), 假 (leave), 差 (trip) or 休 (rest)")
	by := byFlag(fs)
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	u, err := configUnit(cfg, *unit)
	if err != nil {
		return err
	}
	d, err := attendance.ParseDate(strings.TrimSpace(*date))
	if err != nil {
		return usagef("--date %q is not a date YYYY-MM-DD", *date)
	}
	if today := attendance.DateOf(e.Now().In(cfg.Location())); d.After(today) {
		return fmt.Errorf("--date %s is after today (%s)", d, today)
	}
	mk, err := attendance.ParseUnitMark(*mark)
	if err != nil {
		return usagef("--mark %q is not one of √ × 假 差 休", *mark)
	}
	if strings.TrimSpace(*id) == "" {
		return usagef("--user is required")
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	m := attendance.DayMark{Unit: u.Name, UserID: strings.TrimSpace(*id), Date: d, Mark: mk, RecordedBy: strings.TrimSpace(*by)}
	if err := b.SetMarks(ctx, []attendance.DayMark{m}); err != nil {
		return daemonErr(err)
	}
	fmt.Fprintf(e.Stdout, "%s %s %s %s (by %s)\n", u.Name, m.UserID, d, mk, m.RecordedBy)
	return nil
}

func runMarksImport(ctx context.Context, e *env, args []string) error {
	const name = "marks import"
	fs := e.newFlags(name)
	e.configFlag(fs)
	unit := fs.String("unit", "", "the `UNIT` whose sheet it is ([[unit]] name)")
	month := fs.String("month", "", "the month `YYYY-MM` the sheet records")
	by := byFlag(fs)
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one marks FILE (.csv or .xlsx)")
	}
	cfg, err := e.judgeConfig()
	if err != nil {
		return err
	}
	u, err := configUnit(cfg, *unit)
	if err != nil {
		return err
	}
	m, err := report.ParseMonth(strings.TrimSpace(*month))
	if err != nil {
		return usagef("--month %q is not a month YYYY-MM", *month)
	}
	if today := attendance.DateOf(e.Now().In(cfg.Location())); m.After(report.MonthOf(today)) {
		return fmt.Errorf("--month %s is in the future (today is %s)", m, today)
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	people, err := b.Roster(ctx)
	if err != nil {
		return fmt.Errorf("read roster: %w", daemonErr(err))
	}
	got, err := marks.ParseFile(pos[0], marks.Sheet{Unit: u.Name, Year: m.Year, Month: m.Month, People: people, Units: cfg.UnitNames()})
	if err != nil {
		return err
	}
	for i := range got {
		got[i].RecordedBy = strings.TrimSpace(*by)
	}
	if err := b.SetMarks(ctx, got); err != nil {
		return fmt.Errorf("marks %s: nothing stored: %w", pos[0], daemonErr(err))
	}
	people2 := map[string]bool{}
	for _, g := range got {
		people2[g.UserID] = true
	}
	fmt.Fprintf(e.Stdout, "marks %s: %s %s: %d mark(s) of %d people stored (by %s)\n", pos[0], u.Name, m, len(got), len(people2), strings.TrimSpace(*by))
	return nil
}

func runMarksList(ctx context.Context, e *env, args []string) error {
	const name = "marks list"
	fs := e.newFlags(name)
	e.configFlag(fs)
	unit := fs.String("unit", "", "only this `UNIT`")
	month := fs.String("month", "", "the month `YYYY-MM`")
	asJSON := fs.Bool("json", false, "one JSON object a line: every mark with who recorded it and when")
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	m, err := report.ParseMonth(strings.TrimSpace(*month))
	if err != nil {
		return usagef("--month %q is not a month YYYY-MM", *month)
	}
	if *unit != "" && len(cfg.Unit) > 0 {
		if _, err := cfg.LookupUnit(*unit); err != nil {
			return fmt.Errorf("--unit: %w", err)
		}
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	ms, err := b.Marks(ctx, *unit, m.First(), m.Last())
	if err != nil {
		return daemonErr(err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		for _, x := range ms {
			x.RecordedAt = x.RecordedAt.In(cfg.Location())
			if err := enc.Encode(x); err != nil {
				return err
			}
		}
		return nil
	}
	people, err := b.Roster(ctx)
	if err != nil {
		return daemonErr(err)
	}
	names := map[string]string{}
	for _, p := range people {
		names[p.UserID] = p.Name
	}
	type key struct{ unit, user string }
	var order []key
	grid := map[key][]string{}
	for _, x := range ms {
		k := key{x.Unit, x.UserID}
		if _, ok := grid[k]; !ok {
			order = append(order, k)
			grid[k] = make([]string, m.Len())
			for i := range grid[k] {
				grid[k][i] = "·"
			}
		}
		grid[k][x.Date.Day-1] = string(x.Mark)
	}
	fmt.Fprintf(e.Stdout, "%s: %d mark(s); · = not recorded\n", m, len(ms))
	for _, k := range order {
		fmt.Fprintf(e.Stdout, "%s\t%s\t%s\t%s\n", k.unit, k.user, names[k.user], strings.Join(grid[k], ""))
	}
	return nil
}

func runFindingAdd(ctx context.Context, e *env, args []string) error {
	const name = "finding add"
	fs := e.newFlags(name)
	e.configFlag(fs)
	date := fs.String("date", "", "the day of the check `YYYY-MM-DD`")
	unit := fs.String("unit", "", "the `UNIT` checked")
	id := fs.String("user", "", "the person's `ID`, when the finding names one")
	kind := fs.String("kind", "", "positive (a good example) or negative (a breach)")
	text := fs.String("text", "", "what was found, as the 通报 should say it")
	by := byFlag(fs)
	asJSON := fs.Bool("json", false, "print the stored finding as JSON")
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	finding, err := regform.ParseFinding(regform.FindingInput{Date: *date, Unit: *unit, User: *id, Kind: *kind, Text: *text, By: *by})
	if err != nil {
		return usagef("%v", err) // the flags are wrong (exit 2), as for register add
	}
	if len(cfg.Unit) > 0 {
		if _, err := cfg.LookupUnit(*unit); err != nil {
			return fmt.Errorf("--unit: %w", err)
		}
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	f, err := b.AddFinding(ctx, finding)
	if err != nil {
		return daemonErr(err)
	}
	return printFinding(e, f, cfg, *asJSON)
}

func printFinding(e *env, f attendance.Finding, cfg config.Config, asJSON bool) error {
	loc := cfg.Location()
	f.RecordedAt, f.RevokedAt = inLoc(f.RecordedAt, loc), inLoc(f.RevokedAt, loc)
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(f)
	}
	who := f.Unit
	if f.UserID != "" {
		who += " " + f.UserID
	}
	line := fmt.Sprintf("%s %s %s %s: %s (by %s at %s)", f.ID, f.Date, f.Kind, who, f.Text, f.RecordedBy, f.RecordedAt.Format(regTimeLayout))
	if f.Revoked() {
		line += fmt.Sprintf(" REVOKED by %s at %s: %s", f.RevokedBy, f.RevokedAt.Format(regTimeLayout), f.RevokeReason)
	}
	_, err := fmt.Fprintln(e.Stdout, line)
	return err
}

func runFindingList(ctx context.Context, e *env, args []string) error {
	const name = "finding list"
	fs := e.newFlags(name)
	e.configFlag(fs)
	month := fs.String("month", "", "`YYYY-MM` (default: this month in the site's zone)")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	m := report.MonthOf(attendance.DateOf(e.Now().In(cfg.Location())))
	if *month != "" {
		if m, err = report.ParseMonth(strings.TrimSpace(*month)); err != nil {
			return usagef("--month %q is not a month YYYY-MM", *month)
		}
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	fs2, err := b.Findings(ctx, m.First(), m.Last())
	if err != nil {
		return daemonErr(err)
	}
	for _, f := range fs2 {
		if err := printFinding(e, f, cfg, *asJSON); err != nil {
			return err
		}
	}
	return nil
}

func runFindingRevoke(ctx context.Context, e *env, args []string) error {
	const name = "finding revoke"
	fs := e.newFlags(name)
	e.configFlag(fs)
	by := fs.String("by", "", "`WHO` revokes it")
	reason := fs.String("reason", "", "why")
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one finding ID (F00000001)")
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required: who revokes it")
	}
	cfg, err := e.judgeConfig()
	if err != nil {
		return err
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	f, err := b.RevokeFinding(ctx, pos[0], strings.TrimSpace(*by), strings.TrimSpace(*reason))
	if err != nil {
		return daemonErr(err)
	}
	return printFinding(e, f, cfg, false)
}
