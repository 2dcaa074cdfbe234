package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/regform"
)

func init() {
	register(command{
		Name:    "register add",
		Args:    "--user ID --kind offsite|trip|leave|meeting|makeup|return --from TIME [--to TIME] --reason TEXT --by WHO [--via written|phone] [--approved-by NAME] [--json]",
		Summary: "register off-site work, a trip, leave, a meeting, or a 补卡 (makeup: one punch at --from); re-judges the days it covers",
		Run:     runRegisterAdd,
	})
	register(command{
		Name:    "register list",
		Args:    "[--month YYYY-MM] [--user ID] [--json]",
		Summary: "list the registrations overlapping a month (default this month), revoked ones marked",
		Run:     runRegisterList,
	})
	register(command{
		Name:    "register revoke",
		Args:    "ID --by WHO --reason TEXT [--json]",
		Summary: "revoke a registration (kept, marked revoked with who, when and why); re-judges its days",
		Run:     runRegisterRevoke,
	})
}

// regTimeLayout is how registration times are shown: wall time in the site's zone.
const regTimeLayout = regform.TimeLayout

func runRegisterAdd(ctx context.Context, e *env, args []string) error {
	const name = "register add"
	fs := e.newFlags(name)
	e.configFlag(fs)
	user := fs.String("user", "", "the person's `ID` (the clock's user id, as on the roster)")
	kind := fs.String("kind", "", "offsite (外出), trip (出差), leave (请假), meeting (会议), makeup (补卡) or return (a village-posted person back at the office, with the village leader's consent)")
	from := fs.String("from", "", "start `TIME` (RFC 3339, \"2006-01-02 15:04\" or a date: its start), in the site's zone; a makeup's punch time")
	to := fs.String("to", "", "end `TIME` (a date alone: the end of that day); a makeup takes none")
	reason := fs.String("reason", "", "why (the written registration, or the approved phone report)")
	by := fs.String("by", "", "`WHO` records it (the office clerk)")
	via := fs.String("via", "", "how it reached the office: written (书面) or phone (电话)")
	approvedBy := fs.String("approved-by", "", "the leader who agreed to it (`NAME`); required for --kind return: the village's 挂点领导")
	asJSON := fs.Bool("json", false, "print the stored registration as JSON")
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	loc := cfg.Location()

	// Everything that can be checked without the data is checked first, naming the flag.
	r, err := regform.Parse(regform.Input{User: *user, Kind: *kind, From: *from, To: *to, Reason: *reason,
		Via: *via, ApprovedBy: *approvedBy, By: *by}, loc)
	if err != nil {
		return usagef("%v", err) // the flags are wrong (exit 2), whatever the data says
	}

	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	people, err := b.Roster(ctx)
	if err != nil {
		return fmt.Errorf("read roster: %w", err)
	}
	person, _, err := regform.OnRoster(people, r.UserID)
	if err != nil {
		return err
	}
	saved, err := b.AddRegistration(ctx, r)
	if saved.ID == "" && err != nil {
		return daemonErr(err)
	}
	if perr := printRegistration(e.Stdout, saved, person.Name, cfg, *asJSON); perr != nil {
		return perr
	}
	if err != nil {
		return daemonErr(err)
	}
	noteRejudge(e.Stderr, b)
	return nil
}

func runRegisterList(ctx context.Context, e *env, args []string) error {
	const name = "register list"
	fs := e.newFlags(name)
	e.configFlag(fs)
	month := fs.String("month", "", "`YYYY-MM` (default: this month in the site's zone)")
	user := fs.String("user", "", "only this person's registrations")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	loc := cfg.Location()
	start := e.Now().In(loc)
	start = time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, loc)
	if *month != "" {
		m, err := time.ParseInLocation("2006-01", strings.TrimSpace(*month), loc)
		if err != nil {
			return usagef("--month %q is not a month YYYY-MM", *month)
		}
		start = m
	}
	end := start.AddDate(0, 1, 0)

	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	regs, err := b.Registrations(ctx, start, end)
	if err != nil {
		return daemonErr(err)
	}
	people, err := b.Roster(ctx)
	if err != nil {
		return daemonErr(err)
	}
	names := make(map[string]string, len(people))
	for _, p := range people {
		names[p.UserID] = p.Name
	}
	want := strings.TrimSpace(*user)
	n := 0
	for _, r := range regs {
		if want != "" && r.UserID != want {
			continue
		}
		if err := printRegistration(e.Stdout, r, names[r.UserID], cfg, *asJSON); err != nil {
			return err
		}
		n++
	}
	if !*asJSON {
		who := ""
		if want != "" {
			who = " of " + want
		}
		fmt.Fprintf(e.Stderr, "punchctl: %d registration(s)%s overlapping %s\n", n, who, start.Format("2006-01"))
	}
	return nil
}

func runRegisterRevoke(ctx context.Context, e *env, args []string) error {
	const name = "register revoke"
	fs := e.newFlags(name)
	e.configFlag(fs)
	by := fs.String("by", "", "`WHO` revokes it")
	reason := fs.String("reason", "", "why it is revoked")
	asJSON := fs.Bool("json", false, "print the revoked registration as JSON")
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one registration ID (see punchctl register list)")
	}
	id, revBy, revReason, err := regform.CheckRevoke(pos[0], *by, *reason)
	if err != nil {
		return usagef("%v", err)
	}
	cfg, err := e.judgeConfig()
	if err != nil {
		return err
	}
	loc := cfg.Location()
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return err
	}
	// Look first, to say plainly what is wrong; the backend checks again when it writes.
	all, err := b.Registrations(ctx, time.Time{}, time.Time{})
	if err != nil {
		return daemonErr(err)
	}
	if _, err := regform.Revocable(all, id, loc); err != nil {
		return err
	}
	r, err := b.RevokeRegistration(ctx, id, revBy, revReason)
	if r.ID == "" && err != nil {
		return daemonErr(err)
	}
	people, rerr := b.Roster(ctx)
	if rerr != nil {
		return daemonErr(rerr)
	}
	p, _ := findPerson(people, r.UserID)
	if perr := printRegistration(e.Stdout, r, p.Name, cfg, *asJSON); perr != nil {
		return perr
	}
	if err != nil {
		return daemonErr(err)
	}
	noteRejudge(e.Stderr, b)
	return nil
}

func findPerson(people []attendance.Person, id string) (attendance.Person, bool) {
	for _, p := range people {
		if p.UserID == id {
			return p, true
		}
	}
	return attendance.Person{}, false
}

// regJSON is a registration as register prints it: the stored fields, the person's name and an
// explicit revoked flag.
type regJSON struct {
	attendance.Registration
	Name    string `json:"name,omitempty"`
	Revoked bool   `json:"revoked"`
	// LateRegistered: recorded more than [rules] register_within after its start, so at least the
	// first slot it excuses is judged late_registered.
	LateRegistered bool `json:"late_registered"`
}

// printRegistration writes one registration: a JSON line, or a readable line with the revocation
// (if any) on the next, indented.
func printRegistration(w io.Writer, r attendance.Registration, name string, cfg config.Config, asJSON bool) error {
	loc := cfg.Location()
	late := r.Kind != attendance.KindMakeup && cfg.RulesParams().LateRegistered(r, r.From)
	if asJSON {
		r.From, r.To, r.RegisteredAt = inLoc(r.From, loc), inLoc(r.To, loc), inLoc(r.RegisteredAt, loc)
		r.RevokedAt = inLoc(r.RevokedAt, loc)
		b, err := json.Marshal(regJSON{Registration: r, Name: name, Revoked: r.Revoked(), LateRegistered: late})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	who := r.UserID
	if name != "" {
		who += " " + name
	}
	span := regform.Span(r, loc)
	how := regform.How(r)
	if how != "" {
		how = "  " + strings.ReplaceAll(how, ", ", "  ")
	}
	lateNote := ""
	if late {
		within := strings.TrimSuffix(strings.TrimSuffix(cfg.Rules.RegisterWithin.String(), "0s"), "0m") // 24h0m0s -> 24h
		lateNote = fmt.Sprintf("  LATE: more than %s after it began (late_registered)", within)
	}
	_, err := fmt.Fprintf(w, "%s  %s  %s %s  %s  %q%s  registered by %s at %s%s\n", r.ID, who, r.Kind, r.Kind.Label(), span,
		r.Reason, how, r.RegisteredBy, r.RegisteredAt.In(loc).Format(regTimeLayout), lateNote)
	if err == nil && r.Revoked() {
		_, err = fmt.Fprintf(w, "    REVOKED by %s at %s: %q\n", r.RevokedBy, r.RevokedAt.In(loc).Format(regTimeLayout), r.RevokeReason)
	}
	return err
}

func inLoc(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

// daemonErr drops the API's prefix from the daemon's own message.
func daemonErr(err error) error {
	if errors.Is(err, api.ErrRemote) {
		return fmt.Errorf("daemon: %s", strings.TrimPrefix(err.Error(), api.ErrRemote.Error()+": "))
	}
	return err
}

// noteRejudge tells the user where the corrections of a change went.
func noteRejudge(w io.Writer, b api.Backend) {
	if sb, ok := b.(*storeBackend); ok {
		if sb.Queued() > 0 {
			fmt.Fprintf(w, "punchctl: days re-judged; %d correction(s) queued in the outbox: punchd publishes them when it starts\n", sb.Queued())
		} else {
			fmt.Fprintln(w, "punchctl: days re-judged; no correction to publish")
		}
		return
	}
	fmt.Fprintln(w, "punchctl: the daemon re-judged the days and publishes any corrections")
}
