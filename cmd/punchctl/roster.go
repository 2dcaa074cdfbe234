package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/text/width"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/roster"
	"github.com/jinbi/punchd/internal/store"
)

func init() {
	register(command{
		Name:    "roster import",
		Args:    "[--store PATH] [--dry-run] FILE",
		Summary: "replace the roster with FILE (CSV or XLSX: 工号/姓名/职务/单位/考勤方式 or user_id,name,post,unit,tracking)",
		Run:     runRosterImport,
	})
	register(command{
		Name:    "roster list",
		Args:    "[--store PATH] [--unit U] [--json]",
		Summary: "list the roster, with names filled from the clocks, and the people on a clock but not on the roster",
		Run:     runRosterList,
	})
}

// openStore opens the store (read-only or for writing), saying what to do when the daemon holds it.
func openStore(e *env, path string, readOnly bool) (*store.DB, error) {
	cfg, err := e.judgeConfig()
	if err != nil {
		return nil, err
	}
	if path == "" {
		path = cfg.Store.Path
	}
	db, err := store.Open(path, store.Options{ReadOnly: readOnly, Location: cfg.Location(), Logger: e.Logger})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: the daemon has it open; stop punchd (systemctl stop punchd) and run this again", err)
	}
	return db, err
}

func runRosterImport(ctx context.Context, e *env, args []string) (err error) {
	const name = "roster import"
	fs := e.newFlags(name)
	e.configFlag(fs)
	storePath := fs.String("store", "", "store `PATH` (default: [store] path in the config)")
	dry := fs.Bool("dry-run", false, "read and check FILE, print what would be imported, change nothing")
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one roster FILE (.csv or .xlsx)")
	}
	people, err := roster.ParseFile(pos[0])
	if err != nil {
		return err
	}
	counts := map[attendance.Tracking]int{}
	for _, p := range people {
		t := p.Tracking
		if t == "" {
			t = attendance.TrackClock
		}
		counts[t]++
	}
	summary := fmt.Sprintf("%d people (clock %d, village %d, station %d, exempt %d)", len(people),
		counts[attendance.TrackClock], counts[attendance.TrackVillage], counts[attendance.TrackStation], counts[attendance.TrackExempt])
	if *dry {
		fmt.Fprintf(e.Stdout, "roster %s: %s; dry run, nothing stored\n", pos[0], summary)
		return writeRosterText(e.Stdout, people, nil)
	}
	db, err := openStore(e, *storePath, false)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	if err := db.PutRoster(people); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "roster %s: imported %s into %s\n", pos[0], summary, db.Path())
	unknown, err := db.Unknown()
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		fmt.Fprintf(e.Stdout, "on a clock or in the punches but not on the roster (kept, not judged): %d\n", len(unknown))
		return writeRosterText(e.Stdout, nil, unknown)
	}
	return nil
}

func runRosterList(ctx context.Context, e *env, args []string) (err error) {
	const name = "roster list"
	fs := e.newFlags(name)
	e.configFlag(fs)
	storePath := fs.String("store", "", "store `PATH` (default: [store] path in the config)")
	unit := fs.String("unit", "", "only the people of `UNIT`")
	asJSON := fs.Bool("json", false, "one JSON object a line; people not on the roster have \"unknown\":true")
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	db, err := openStore(e, *storePath, true)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	people, err := db.Roster()
	if err != nil {
		return err
	}
	// By user id as the office counts them ("2" before "10"), the order of the monthly table.
	slices.SortStableFunc(people, func(a, b attendance.Person) int { return report.CompareUserIDs(a.UserID, b.UserID) })
	unknown, err := db.Unknown()
	if err != nil {
		return err
	}
	if *unit != "" {
		var units []string
		var kept []attendance.Person
		for _, p := range people {
			if p.Unit == *unit {
				kept = append(kept, p)
			}
			if !slices.Contains(units, p.Unit) {
				units = append(units, p.Unit)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("--unit: %q is not on the roster (units: %s)", *unit, strings.Join(units, ", "))
		}
		people, unknown = kept, nil // unknown people have no unit
	}
	if *asJSON {
		w := bufio.NewWriter(e.Stdout)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, p := range people {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		for _, u := range unknown {
			if err := enc.Encode(struct {
				store.UnknownUser
				Unknown bool `json:"unknown"`
			}{u, true}); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	return writeRosterText(e.Stdout, people, unknown)
}

// writeRosterText prints people and unknown users as aligned columns (Chinese characters are two
// columns wide on a terminal).
func writeRosterText(w io.Writer, people []attendance.Person, unknown []store.UnknownUser) error {
	var rows [][]string
	if len(people) > 0 {
		rows = append(rows, []string{"工号", "姓名", "职务", "单位", "考勤方式", "起止"})
		for _, p := range people {
			span := ""
			if !p.From.IsZero() || !p.To.IsZero() {
				span = dateOr(p.From, "…") + "~" + dateOr(p.To, "…")
			}
			t := p.Tracking
			if t == "" {
				t = attendance.TrackClock
			}
			rows = append(rows, []string{p.UserID, p.Name, p.Post, p.Unit, string(t), span})
		}
	}
	if len(unknown) > 0 {
		if len(rows) > 0 {
			rows = append(rows, nil)
		}
		rows = append(rows, []string{"工号", "姓名", "未在册", "考勤机", "", ""})
		for _, u := range unknown {
			what := "考勤机有此人"
			if u.Punched {
				what = "有打卡记录"
			}
			rows = append(rows, []string{u.UserID, u.Name, what, strings.Join(u.Clocks, ","), "", ""})
		}
	}
	widths := make([]int, 6)
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	bw := bufio.NewWriter(w)
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		bw.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return bw.Flush()
}

func dateOr(d attendance.Date, s string) string {
	if d.IsZero() {
		return s
	}
	return d.String()
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
