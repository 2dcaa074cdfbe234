package zkpush

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jinbi/punchd/device"
)

// UserChange is one fact an OPERLOG upload states about the terminal's user table, in the order
// the terminal wrote it: a user record (enrolled or changed at the keypad: its whole entry), or a
// user deleted.
type UserChange struct {
	User    device.User // the entry as the terminal holds it now; only UserID when Removed
	Removed bool
}

// Operation log codes that remove a user (PROTOCOL.md, "Operation log"): 9 in the SDK's table of
// operations, 103 on newer firmware.
const (
	opDeleteUser    = 9
	opDeleteUserNew = 103
)

// ParseOperLogLine reads one line of an OPERLOG upload. A user record ("USER PIN=…\tName=…\tPri=…",
// or the USERINFO form "PIN=…\tName=…\tPrivilege=…") is an enrolment or a change; "OPLOG <op>\t
// <admin>\t<time>\t<pin>\t…" with a delete-user op removes that user. Every other line (other
// operations, fingerprint and face templates) says nothing about the user table: ok is false.
func ParseOperLogLine(line string) (c UserChange, ok bool, err error) {
	line = strings.TrimRight(line, "\r")
	switch {
	case strings.HasPrefix(line, "OPLOG "):
		f := strings.Split(strings.TrimPrefix(line, "OPLOG "), "\t")
		op, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil {
			return c, false, fmt.Errorf("%w: operation %q is not a number", ErrMalformedOperLog, f[0])
		}
		if op != opDeleteUser && op != opDeleteUserNew {
			return c, false, nil
		}
		if len(f) < 4 || strings.TrimSpace(f[3]) == "" {
			return c, false, fmt.Errorf("%w: delete-user operation %d without the user's PIN", ErrMalformedOperLog, op)
		}
		return UserChange{User: device.User{UserID: strings.TrimSpace(f[3])}, Removed: true}, true, nil
	case strings.HasPrefix(line, "USER "), strings.HasPrefix(line, "PIN="):
		return parseUser(strings.TrimPrefix(line, "USER "))
	}
	return c, false, nil
}

// parseUser reads the key=value fields of a user record.
func parseUser(s string) (UserChange, bool, error) {
	var u device.User
	for _, kv := range strings.Split(s, "\t") {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.TrimSpace(k) {
		case "PIN":
			u.UserID = strings.TrimSpace(v)
		case "Name":
			u.Name = v
		case "Pri", "Privilege":
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8)
			if err != nil {
				return UserChange{}, false, fmt.Errorf("%w: privilege %q is not a number 0..255", ErrMalformedOperLog, v)
			}
			u.Privilege = uint8(n)
		case "Card":
			if v = strings.TrimSpace(v); v != "" {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return UserChange{}, false, fmt.Errorf("%w: card %q is not a number", ErrMalformedOperLog, v)
				}
				u.Card = uint32(n)
			}
		case "Grp":
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8); err == nil {
				u.Group = uint8(n)
			}
		}
	}
	if u.UserID == "" {
		return UserChange{}, false, fmt.Errorf("%w: user record without a PIN", ErrMalformedOperLog)
	}
	return UserChange{User: u}, true, nil
}

// ApplyUserChanges is the user table after changes, from table (the one stored): a record replaces
// the entry with its PIN or adds one, a removal drops it. The order of table is kept; new users
// follow it.
func ApplyUserChanges(table []device.User, changes []UserChange) []device.User {
	out := append([]device.User{}, table...)
	for _, c := range changes {
		i := -1
		for j, u := range out {
			if u.UserID == c.User.UserID {
				i = j
				break
			}
		}
		switch {
		case c.Removed && i >= 0:
			out = append(out[:i], out[i+1:]...)
		case c.Removed:
		case i >= 0:
			out[i] = c.User
		default:
			out = append(out, c.User)
		}
	}
	return out
}
