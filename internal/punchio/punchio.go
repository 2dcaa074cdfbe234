// Package punchio reads and writes punches and registrations as JSON lines, the format of
// `punchctl clock dump --json` that `punchctl judge` and the reports read back:
//
//	{"user_id":"1001","time":"2026-05-06T08:31:05+08:00","state":0,"verify":1,"workcode":0}
//
// one object a line, time in RFC 3339 with the zone's offset. Every read error names the file and
// the line, and a file with any bad line is refused whole.
//
// It owns this text format only: it does not talk to clocks or the store.
package punchio

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// ErrBadLine is wrapped by every error about a line's content.
var ErrBadLine = errors.New("bad line")

// maxLine bounds one line; longer ones are errors, not silent truncation.
const maxLine = 1 << 20

// Line is one punch as written by the dump, field for field.
type Line struct {
	UserID   string `json:"user_id"`
	Time     string `json:"time"` // RFC 3339 with offset
	State    uint8  `json:"state"`
	Verify   uint8  `json:"verify"`
	WorkCode uint32 `json:"workcode"`
}

// LineOf is the dump line of p.
func LineOf(p device.Punch) Line {
	return Line{
		UserID:   p.UserID,
		Time:     p.Time.Format(time.RFC3339),
		State:    p.State,
		Verify:   p.Verify,
		WorkCode: p.WorkCode,
	}
}

// WriteJSONLine writes p as one JSON object and a newline.
func WriteJSONLine(w io.Writer, p device.Punch) error {
	b, err := json.Marshal(LineOf(p))
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// inLine is what a punch line may hold; pointers tell a missing field from a zero one.
type inLine struct {
	UserID   *string `json:"user_id"`
	Time     *string `json:"time"`
	State    uint8   `json:"state"`
	Verify   uint8   `json:"verify"`
	WorkCode uint32  `json:"workcode"`
	Clock    string  `json:"clock"` // optional: the clock's serial number
}

// ReadJSONLines reads punches, one JSON object a line, blank lines skipped. Times with an offset
// are moved into loc; times without one ("2026-05-06T08:31:05") are read as wall time in loc.
// Any bad line fails the whole read with an error naming name and the line number.
func ReadJSONLines(r io.Reader, name string, loc *time.Location) ([]device.Punch, error) {
	var out []device.Punch
	err := eachLine(r, name, func(n int, line []byte) error {
		var in inLine
		if err := unmarshal(line, &in); err != nil {
			return err
		}
		switch {
		case in.UserID == nil:
			return errors.New(`no "user_id"`)
		case strings.TrimSpace(*in.UserID) == "":
			return errors.New(`"user_id" is empty`)
		case in.Time == nil:
			return errors.New(`no "time"`)
		}
		t, err := ParseTime(*in.Time, loc)
		if err != nil {
			return fmt.Errorf(`"time": %w`, err)
		}
		out = append(out, device.Punch{
			Clock:    in.Clock,
			UserID:   *in.UserID,
			Time:     t,
			State:    in.State,
			Verify:   in.Verify,
			WorkCode: in.WorkCode,
			Raw:      append([]byte(nil), line...),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ParseTime reads an instant: RFC 3339 with an offset (moved into loc), or a wall time in loc
// written "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05" or "2006-01-02 15:04".
// Times before 1970 are refused: no clock punch is that old, and zones then had odd offsets.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	t, err := parseTime(s, loc)
	if err == nil && t.Year() < 1970 {
		return time.Time{}, fmt.Errorf("%q is before 1970", s)
	}
	return t, err
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time in RFC 3339 (2006-01-02T15:04:05+08:00) or 2006-01-02T15:04[:05]", s)
}

// inReg is a registration line.
type inReg struct {
	ID           string  `json:"id"`
	UserID       string  `json:"user_id"`
	Kind         string  `json:"kind"`
	From         *string `json:"from"`
	To           *string `json:"to"`
	Reason       string  `json:"reason"`
	Via          string  `json:"via"`
	ApprovedBy   string  `json:"approved_by"`
	RegisteredBy string  `json:"registered_by"`
	RegisteredAt string  `json:"registered_at"`
}

// ReadRegistrations reads registrations, one JSON object a line:
//
//	{"user_id":"1001","kind":"offsite","from":"2026-05-06T08:00:00+08:00","to":"2026-05-06T12:00:00+08:00","reason":"…","registered_by":"…"}
//
// from/to are times as ParseTime reads them, or dates: a from date is the start of that day, a to
// date its end (23:59:59). A makeup (补卡) needs only from. When present, via (written or phone),
// approved_by (the leader who agreed) and registered_at (when it was recorded; a time as for from)
// are kept: registered_at decides whether the registration was late_registered. A line without "id" gets
// "<file>:<line>". Any bad line fails the whole read, naming the file and line.
func ReadRegistrations(r io.Reader, name string, loc *time.Location) ([]attendance.Registration, error) {
	lines, err := ReadRegistrationLines(r, name, loc)
	if err != nil {
		return nil, err
	}
	out := make([]attendance.Registration, len(lines))
	for i, l := range lines {
		out[i] = l.Registration
	}
	return out, nil
}

// RegistrationLine is a registration and the line it was read from, for callers that check more
// (e.g. that the user is on the roster) and must name the line.
type RegistrationLine struct {
	Line int
	attendance.Registration
}

// LineError is an error about line n of file name, worded like the read errors.
func LineError(name string, n int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %w: %s", name, n, ErrBadLine, fmt.Sprintf(format, args...))
}

// ReadRegistrationLines is ReadRegistrations keeping each registration's line number.
func ReadRegistrationLines(r io.Reader, name string, loc *time.Location) ([]RegistrationLine, error) {
	var out []RegistrationLine
	base := filepath.Base(name)
	ids := map[string]int{}
	err := eachLine(r, name, func(n int, line []byte) error {
		var in inReg
		if err := unmarshal(line, &in); err != nil {
			return err
		}
		kind, err := attendance.ParseKind(in.Kind)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "attendance: "))
		}
		reg := attendance.Registration{
			ID:           in.ID,
			UserID:       in.UserID,
			Kind:         kind,
			Reason:       in.Reason,
			ApprovedBy:   strings.TrimSpace(in.ApprovedBy),
			RegisteredBy: in.RegisteredBy,
		}
		if reg.Via, err = attendance.ParseVia(in.Via); err != nil {
			return fmt.Errorf(`"via": %q is not written or phone`, in.Via)
		}
		if reg.ID == "" {
			reg.ID = fmt.Sprintf("%s:%d", base, n)
		}
		if first, dup := ids[reg.ID]; dup {
			return fmt.Errorf("id %q repeats line %d", reg.ID, first)
		}
		ids[reg.ID] = n
		if in.From == nil {
			return errors.New(`no "from"`)
		}
		if reg.From, err = parseBound(*in.From, loc, false); err != nil {
			return fmt.Errorf(`"from": %w`, err)
		}
		switch {
		case in.To != nil:
			if reg.To, err = parseBound(*in.To, loc, true); err != nil {
				return fmt.Errorf(`"to": %w`, err)
			}
		case kind == attendance.KindMakeup:
			reg.To = reg.From
		default:
			return errors.New(`no "to"`)
		}
		if in.RegisteredAt != "" {
			if reg.RegisteredAt, err = ParseTime(in.RegisteredAt, loc); err != nil {
				return fmt.Errorf(`"registered_at": %w`, err)
			}
		}
		if err := reg.Validate(); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "registration: "))
		}
		out = append(out, RegistrationLine{n, reg})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseBound reads a registration bound: a time, or a date meaning its start (or end).
func parseBound(s string, loc *time.Location, end bool) (time.Time, error) {
	if d, err := attendance.ParseDate(s); err == nil {
		if end {
			return d.AddDays(1).Start(loc).Add(-time.Second), nil
		}
		return d.Start(loc), nil
	}
	return ParseTime(s, loc)
}

// eachLine calls fn with each non-blank line and its 1-based number; an error from fn or the reader
// is returned naming the file and line.
func eachLine(r io.Reader, name string, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if n == 1 {
			line = []byte(strings.TrimPrefix(string(line), "\ufeff"))
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("%s:%d: %w: %v", name, n, ErrBadLine, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: %w: longer than %d bytes", name, n+1, ErrBadLine, maxLine)
		}
		return fmt.Errorf("%s: read: %w", name, err)
	}
	return nil
}

// unmarshal decodes one line as one JSON object, with a short message on failure.
func unmarshal(line []byte, v any) error {
	if err := json.Unmarshal(line, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return fmt.Errorf("not a JSON object but %s", te.Value)
			}
			return fmt.Errorf("%q: %s is not a %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("not a JSON object: %v", err)
	}
	return nil
}
