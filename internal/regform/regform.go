// Package regform turns what a person types for a registration — punchctl register's flags or the
// web console's form — into an attendance.Registration, with one set of checks and one wording of
// what is wrong, so the terminal and the browser refuse the same things the same way. The messages
// name the fields by punchctl's flags (--user, --from, …); the web form's fields carry the same names.
//
// It checks what can be checked without the store (and the person against the roster it is given);
// the service behind the API checks again when it stores.
package regform

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/punchio"
)

// TimeLayout is how registration times are shown: wall time in the site's zone.
const TimeLayout = "2006-01-02 15:04"

// Input is a registration as typed.
type Input struct {
	User       string // the clock's user id
	Kind       string // offsite, trip, leave, meeting, makeup or return
	From       string // RFC 3339, "2006-01-02 15:04", "2006-01-02T15:04" or a date
	To         string
	Reason     string
	Via        string // how it reached the office: written (书面), phone (电话) or "" (not recorded)
	ApprovedBy string // the leader who agreed to it
	By         string // who records it
}

// ParseTime reads a --from/--to: RFC 3339, "2006-01-02 15:04" in loc, or a date alone meaning the
// start of the day (from) or its last second (end). dateOnly reports the last case.
func ParseTime(field, s string, loc *time.Location, end bool) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	if d, derr := attendance.ParseDate(s); derr == nil {
		if end {
			return d.AddDays(1).Start(loc).Add(-time.Second), true, nil
		}
		return d.Start(loc), true, nil
	}
	t, err = punchio.ParseTime(s, loc)
	if err != nil {
		return t, false, fmt.Errorf("--%s %q is not a time: want RFC 3339 (2006-01-02T15:04:05+08:00), \"2006-01-02 15:04\" or a date 2006-01-02", field, s)
	}
	return t.Truncate(time.Second), false, nil
}

// Parse checks in, field by field in the order of the form, and returns the registration.
func Parse(in Input, loc *time.Location) (attendance.Registration, error) {
	r := attendance.Registration{UserID: strings.TrimSpace(in.User), Reason: strings.TrimSpace(in.Reason), RegisteredBy: strings.TrimSpace(in.By),
		ApprovedBy: strings.TrimSpace(in.ApprovedBy)}
	if r.UserID == "" {
		return r, errors.New("--user is required: the person's id on the clock and the roster")
	}
	if strings.TrimSpace(in.Kind) == "" {
		return r, errors.New("--kind is required: offsite, trip, leave, meeting, makeup or return")
	}
	k, err := attendance.ParseKind(strings.TrimSpace(in.Kind))
	if err != nil {
		return r, fmt.Errorf("--kind %q is not one of offsite, trip, leave, meeting, makeup, return", in.Kind)
	}
	if k == attendance.KindReturn && r.ApprovedBy == "" {
		return r, errors.New("--approved-by is required for --kind return: the village's 挂点领导 who agreed to the return")
	}
	r.Kind = k
	if strings.TrimSpace(in.From) == "" {
		return r, errors.New("--from is required")
	}
	var fromDate bool
	if r.From, fromDate, err = ParseTime("from", in.From, loc, false); err != nil {
		return r, err
	}
	to := strings.TrimSpace(in.To)
	if k == attendance.KindMakeup {
		if fromDate {
			return r, fmt.Errorf("--from %q: a makeup (补卡) is one punch at a time of day, e.g. \"%s 08:30\"", in.From, in.From)
		}
		if to != "" {
			t, _, err := ParseTime("to", to, loc, false)
			if err != nil {
				return r, err
			}
			if !t.Equal(r.From) {
				return r, fmt.Errorf("--to %q: a makeup (补卡) is one punch at --from; leave --to out", in.To)
			}
		}
		r.To = r.From
	} else {
		if to == "" {
			return r, fmt.Errorf("--to is required for kind %s (a date alone means the end of that day)", k)
		}
		if r.To, _, err = ParseTime("to", to, loc, true); err != nil {
			return r, err
		}
		if r.To.Before(r.From) {
			return r, fmt.Errorf("--to %s is before --from %s", r.To.In(loc).Format(TimeLayout), r.From.In(loc).Format(TimeLayout))
		}
	}
	if r.Reason == "" {
		return r, errors.New("--reason is required: every registration says why")
	}
	if r.Via, err = attendance.ParseVia(in.Via); err != nil {
		return r, fmt.Errorf("--via %q is not written (书面) or phone (电话)", in.Via)
	}
	if r.RegisteredBy == "" {
		return r, errors.New("--by is required: every registration says who registered it")
	}
	return r, nil
}

// OnRoster finds the registration's person. With no roster, everyone on the clocks is judged and
// the service checks; ok is then false with no error.
func OnRoster(people []attendance.Person, id string) (p attendance.Person, ok bool, err error) {
	for _, p := range people {
		if p.UserID == id {
			return p, true, nil
		}
	}
	if len(people) > 0 {
		return attendance.Person{}, false, fmt.Errorf("--user %q is not on the roster (%d people; see punchctl roster list)", id, len(people))
	}
	return attendance.Person{}, false, nil
}

// idPattern is the form of the ids the store assigns.
var idPattern = regexp.MustCompile(`^R[0-9]{8,}$`)

// CheckRevoke checks a revocation as typed and returns the trimmed id, by and reason.
func CheckRevoke(id, by, reason string) (string, string, string, error) {
	id, by, reason = strings.TrimSpace(id), strings.TrimSpace(by), strings.TrimSpace(reason)
	switch {
	case !idPattern.MatchString(id):
		return id, by, reason, fmt.Errorf("registration ID %q is not R followed by 8 digits (see punchctl register list)", id)
	case by == "":
		return id, by, reason, errors.New("--by is required: every revocation says who made it")
	case reason == "":
		return id, by, reason, errors.New("--reason is required: every revocation says why")
	}
	return id, by, reason, nil
}

// Revocable finds id among all and says plainly why it cannot be revoked (unknown, or revoked
// before); the service checks again when it writes.
func Revocable(all []attendance.Registration, id string, loc *time.Location) (attendance.Registration, error) {
	for _, r := range all {
		if r.ID != id {
			continue
		}
		if r.Revoked() {
			return r, fmt.Errorf("registration %s was already revoked by %s at %s (%s): a revocation is final",
				id, r.RevokedBy, r.RevokedAt.In(loc).Format(TimeLayout), r.RevokeReason)
		}
		return r, nil
	}
	return attendance.Registration{}, fmt.Errorf("registration %s: no such registration (see punchctl register list)", id)
}

// Kinds lists the kinds in the order a form offers them.
var Kinds = []attendance.Kind{attendance.KindOffsite, attendance.KindTrip, attendance.KindLeave, attendance.KindMeeting, attendance.KindMakeup}

// How says how a registration was made and who agreed, as a short text ("by phone (电话),
// approved by 李镇长"); "" when neither was recorded.
func How(r attendance.Registration) string {
	var parts []string
	switch r.Via {
	case attendance.ViaWritten:
		parts = append(parts, "written ("+r.Via.Label()+")")
	case attendance.ViaPhone:
		parts = append(parts, "by phone ("+r.Via.Label()+")")
	}
	if r.ApprovedBy != "" {
		parts = append(parts, "approved by "+r.ApprovedBy)
	}
	return strings.Join(parts, ", ")
}

// Span is a registration's time range as a short text in loc: one time for a makeup, one day's
// hours, or two times.
func Span(r attendance.Registration, loc *time.Location) string {
	from, to := r.From.In(loc), r.To.In(loc)
	switch {
	case r.Kind == attendance.KindMakeup || to.Equal(from):
		return from.Format(TimeLayout)
	case attendance.DateOf(from) == attendance.DateOf(to):
		return from.Format(TimeLayout) + "–" + to.Format("15:04")
	}
	return from.Format(TimeLayout) + " – " + to.Format(TimeLayout)
}

// FindingInput is a finding of a check on site as typed (punchctl finding add, the web console).
type FindingInput struct {
	Date, Unit, User, Kind, Text, By string
}

// ParseFinding checks a finding as typed; the service checks the unit and the person again when it
// stores it.
func ParseFinding(in FindingInput) (attendance.Finding, error) {
	d, err := attendance.ParseDate(strings.TrimSpace(in.Date))
	if err != nil {
		return attendance.Finding{}, fmt.Errorf("--date %q is not a date YYYY-MM-DD", in.Date)
	}
	k := attendance.FindingKind(strings.TrimSpace(in.Kind))
	if k != attendance.FindingPositive && k != attendance.FindingNegative {
		return attendance.Finding{}, fmt.Errorf("--kind %q is not positive or negative", in.Kind)
	}
	if strings.TrimSpace(in.Text) == "" {
		return attendance.Finding{}, errors.New("--text is required: what was found")
	}
	if strings.TrimSpace(in.Unit) == "" {
		return attendance.Finding{}, errors.New("--unit is required")
	}
	return attendance.Finding{Date: d, Unit: strings.TrimSpace(in.Unit), UserID: strings.TrimSpace(in.User), Kind: k,
		Text: strings.TrimSpace(in.Text), RecordedBy: strings.TrimSpace(in.By)}, nil
}
