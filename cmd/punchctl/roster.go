package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/text/width"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/roster"
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

// rosterBackend opens the daemon's API, or the store when the daemon is stopped (--store: that store
// directly).
func (e *env) rosterBackend(ctx context.Context, storePath string) (api.Backend, error) {
	cfg, err := e.judgeConfig()
	if err != nil {
		return nil, err
	}
	return e.rosterBackendFor(ctx, cfg, storePath)
}

func (e *env) rosterBackendFor(ctx context.Context, cfg config.Config, storePath string) (api.Backend, error) {
	if storePath != "" {
		cfg.Store.Path, cfg.API.Socket = storePath, ""
	}
	return e.backend(ctx, cfg)
}

// configuredRosterWarning is the warning for importing file while the config names a roster file
// of its own ([site] roster), which punchd loads at start and on SIGHUP, replacing the import;
// "" when there is none or it is file itself.
func configuredRosterWarning(cfg config.Config, file string) string {
	conf := cfg.Site.Roster
	if conf == "" {
		return ""
	}
	if a, err := os.Stat(conf); err == nil {
		if b, err := os.Stat(file); err == nil && os.SameFile(a, b) {
			return ""
		}
	}
	src := cfg.Source()
	if src == "" {
		src = "the config"
	}
	return fmt.Sprintf("warning: %s sets [site] roster = %s: punchd loads that file at start and on SIGHUP and will replace this import with it; to keep %s, copy it there (cp %s %s)",
		src, conf, file, shellQuote(file), shellQuote(conf))
}

// shellQuote quotes s for a shell command line when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// unknownUser is someone on a clock's user table who is not on the roster.
type unknownUser struct {
	UserID  string `json:"user_id"`
	Name    string `json:"name"`
	Unknown bool   `json:"unknown"`
}

// unknownUsers lists the clocks' users who are not on the roster, by user id, once each.
func unknownUsers(ctx context.Context, b api.Backend, people []attendance.Person) ([]unknownUser, error) {
	users, err := b.ClockUsers(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range people {
		seen[p.UserID] = true
	}
	var out []unknownUser
	for _, u := range users {
		if seen[u.UserID] {
			continue
		}
		seen[u.UserID] = true
		out = append(out, unknownUser{UserID: u.UserID, Name: u.Name, Unknown: true})
	}
	slices.SortFunc(out, func(a, b unknownUser) int { return report.CompareUserIDs(a.UserID, b.UserID) })
	return out, nil
}

func runRosterImport(ctx context.Context, e *env, args []string) error {
	const name = "roster import"
	fs := e.newFlags(name)
	e.configFlag(fs)
	storePath := fs.String("store", "", "use this store `PATH` directly (default: the daemon's API, or [store] path when it is stopped)")
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
	cfg, err := e.judgeConfig()
	if err != nil {
		return err
	}
	if people, err = cfg.ApplyUnits(people); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if w := configuredRosterWarning(cfg, pos[0]); w != "" {
		fmt.Fprintf(e.Stderr, "punchctl %s: %s\n", name, w)
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
	b, err := e.rosterBackendFor(ctx, cfg, *storePath)
	if err != nil {
		return err
	}
	if err := b.PutRoster(ctx, people); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "roster %s: imported %s\n", pos[0], summary)
	if sb, ok := b.(*storeBackend); ok && sb.Queued() > 0 {
		fmt.Fprintf(e.Stdout, "re-judged the open days: %d event(s) queued for punchd to publish when it starts\n", sb.Queued())
	}
	unknown, err := unknownUsers(ctx, b, people)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		fmt.Fprintf(e.Stdout, "on a clock but not on the roster (kept, not judged): %d\n", len(unknown))
		return writeRosterText(e.Stdout, nil, unknown)
	}
	return nil
}

func runRosterList(ctx context.Context, e *env, args []string) error {
	const name = "roster list"
	fs := e.newFlags(name)
	e.configFlag(fs)
	storePath := fs.String("store", "", "use this store `PATH` directly (default: the daemon's API, or [store] path when it is stopped)")
	unit := fs.String("unit", "", "only the people of `UNIT`")
	asJSON := fs.Bool("json", false, "one JSON object a line; people not on the roster have \"unknown\":true")
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return err
	}
	b, err := e.rosterBackend(ctx, *storePath)
	if err != nil {
		return err
	}
	people, err := b.Roster(ctx)
	if err != nil {
		return err
	}
	// By user id as the office counts them ("2" before "10"), the order of the monthly table.
	slices.SortStableFunc(people, func(a, b attendance.Person) int { return report.CompareUserIDs(a.UserID, b.UserID) })
	unknown, err := unknownUsers(ctx, b, people)
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
			if err := enc.Encode(u); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	return writeRosterText(e.Stdout, people, unknown)
}

// writeRosterText prints people and unknown users as aligned columns (Chinese characters are two
// columns wide on a terminal).
func writeRosterText(w io.Writer, people []attendance.Person, unknown []unknownUser) error {
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
		rows = append(rows, []string{"工号", "姓名", "未在册", "", "", ""})
		for _, u := range unknown {
			rows = append(rows, []string{u.UserID, u.Name, "考勤机有此人，花名册无", "", "", ""})
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
